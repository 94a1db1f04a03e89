//! What running processes use in the cache, as gc must know before it
//! removes anything: a process whose program, working directory, open
//! files, mapped libraries, arguments or environment lead into a prefix
//! generation or a profile; and an open shell (one the hook marked) whose
//! directory is in a project, which uses what that project last loaded
//! (a shell's variables are its own: no other process can read them).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cache::{Bucket, Cache};

/// Past these, the scan stops and gc cannot tell: a machine with more is
/// not one gc should guess on.
const MAX_PROCESSES: usize = 100_000;
const MAX_FDS: usize = 10_000;
const MAX_READ: u64 = 8 << 20;
const DEADLINE: Duration = Duration::from_secs(10);

/// Who uses what: each value says who (`process 12 (python3)`).
#[derive(Default)]
pub struct Users {
    /// Entry names under the prefixes directory (`KEY`, `KEY.g2`).
    pub prefixes: BTreeMap<String, String>,
    /// Keys of profiles whose store item is in use.
    pub profiles: BTreeMap<String, String>,
    /// Keys a live shell has loaded (every generation of them).
    pub shells: BTreeMap<String, String>,
}

/// Why gc cannot tell what running processes use.
#[derive(Debug, thiserror::Error)]
pub enum CannotTell {
    #[error("cannot read /proc: {0}")]
    Proc(std::io::Error),
    #[error("more than {MAX_PROCESSES} processes, or {} s, to look at", DEADLINE.as_secs())]
    TooMany,
}

/// Scan `/proc` for what uses `cache`. `projects` are each project's root
/// with the keys it last used.
pub fn scan(cache: &Cache, projects: &[(PathBuf, Vec<String>)]) -> Result<Users, CannotTell> {
    let mut users = Users::default();
    let prefixes = cache.bucket(Bucket::Prefixes);
    let mut roots = vec![prefixes.clone()];
    if let Ok(real) = std::fs::canonicalize(&prefixes)
        && real != prefixes
    {
        roots.push(real);
    }
    let profiles = profile_targets(cache);
    let me = std::process::id().to_string();
    let entries = std::fs::read_dir("/proc").map_err(CannotTell::Proc)?;
    let start = Instant::now();
    let mut seen = 0;
    for e in entries.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        seen += 1;
        if seen > MAX_PROCESSES || start.elapsed() > DEADLINE {
            return Err(CannotTell::TooMany);
        }
        let proc_dir = e.path();
        let mut described = None;
        let mut note = |path: &[u8]| {
            let who = || {
                described
                    .get_or_insert_with(|| describe(&proc_dir, &pid))
                    .clone()
            };
            for root in &roots {
                if let Some(name) = first_component_under(path, root.as_os_str().as_bytes()) {
                    users.prefixes.entry(name).or_insert_with(who);
                    return;
                }
            }
            for (target, key) in &profiles {
                if under(path, target.as_os_str().as_bytes()) {
                    users.profiles.entry(key.clone()).or_insert_with(who);
                    return;
                }
            }
        };
        for link in ["exe", "cwd", "root"] {
            if let Ok(target) = std::fs::read_link(proc_dir.join(link)) {
                note(target.as_os_str().as_bytes());
            }
        }
        if let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) {
            for fd in fds.flatten().take(MAX_FDS) {
                if let Ok(target) = std::fs::read_link(fd.path()) {
                    note(target.as_os_str().as_bytes());
                }
            }
        }
        if let Some(maps) = read(&proc_dir.join("maps")) {
            for line in maps.split(|&b| b == b'\n') {
                if let Some(i) = line.iter().position(|&b| b == b'/') {
                    note(&line[i..]);
                }
            }
        }
        // A program started from a loaded shell carries its PATH and
        // PYTHONPATH; its arguments may name a prefix's script.
        for file in ["environ", "cmdline"] {
            if let Some(bytes) = read(&proc_dir.join(file)) {
                for word in bytes.split(|&b| b == 0) {
                    let value = match word.iter().position(|&b| b == b'=') {
                        Some(i) if file == "environ" => &word[i + 1..],
                        _ => word,
                    };
                    for path in value.split(|&b| b == b':') {
                        note(path);
                    }
                }
            }
        }
    }
    shells(cache, projects, &mut users);
    Ok(users)
}

/// Live shells the hook marked (`cache/marks/PID`), each in the project
/// its working directory is in.
fn shells(cache: &Cache, projects: &[(PathBuf, Vec<String>)], users: &mut Users) {
    for (pid, _) in cache.shell_marks() {
        let Ok(cwd) = std::fs::read_link(Path::new("/proc").join(pid.to_string()).join("cwd"))
        else {
            continue;
        };
        for (root, keys) in projects {
            if cwd.starts_with(root) {
                for key in keys {
                    users.shells.entry(key.clone()).or_insert_with(|| {
                        format!("an open shell (process {pid}) in {}", root.display())
                    });
                }
            }
        }
    }
}

/// Each profile link's store item (`KEY` → its generation link → the
/// store), by key.
fn profile_targets(cache: &Cache) -> Vec<(PathBuf, String)> {
    cache
        .keys(Bucket::Profiles)
        .into_keys()
        .filter_map(|key| {
            let target = std::fs::canonicalize(cache.entry(Bucket::Profiles, &key)).ok()?;
            Some((target, key))
        })
        .collect()
}

fn describe(proc_dir: &Path, pid: &str) -> String {
    let comm = std::fs::read(proc_dir.join("comm")).unwrap_or_default();
    let comm = String::from_utf8_lossy(&comm);
    let comm: String = comm.trim().chars().filter(|c| !c.is_control()).collect();
    format!("process {pid} ({comm})")
}

fn read(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_READ)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// `path` is `dir` or inside it.
fn under(path: &[u8], dir: &[u8]) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

/// The name of the entry of `dir` that `path` is or is inside.
fn first_component_under(path: &[u8], dir: &[u8]) -> Option<String> {
    let rest = path.strip_prefix(dir)?.strip_prefix(b"/")?;
    let name = rest.split(|&b| b == b'/').next()?;
    // A mapped file that was removed: `... (deleted)`.
    let name = name.strip_suffix(b" (deleted)").unwrap_or(name);
    (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_entry_a_path_is_in() {
        let dir = b"/c/prefixes";
        assert_eq!(
            first_component_under(b"/c/prefixes/K.g2/lib/x.so", dir).as_deref(),
            Some("K.g2")
        );
        assert_eq!(
            first_component_under(b"/c/prefixes/K.g2", dir).as_deref(),
            Some("K.g2")
        );
        assert_eq!(
            first_component_under(b"/c/prefixes/K.g1 (deleted)", dir).as_deref(),
            Some("K.g1")
        );
        assert_eq!(first_component_under(b"/c/prefixes-other/K", dir), None);
        assert_eq!(first_component_under(b"/c/prefixes", dir), None);
        assert!(under(
            b"/gnu/store/x-profile/bin/python3",
            b"/gnu/store/x-profile"
        ));
        assert!(!under(b"/gnu/store/x-profile2", b"/gnu/store/x-profile"));
    }
}
