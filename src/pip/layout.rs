//! Where an installer put things in a prefix, found after the build (no
//! `lib/pythonX.Y/site-packages` is assumed) and kept in its marker, and
//! the checks that the prefix still holds what was built.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::pip::PipMode;

/// Where pip put things, found after the build and kept in the marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// How it was found (`FORMAT`): a layout found by earlier rules is
    /// not trusted (a version before 2 put a wheel's `a:.` on PATH, and
    /// let a planted `*.dist-info` hide the real site directory), and its
    /// prefix is built again.
    #[serde(default)]
    pub format: u32,
    /// Directories holding the installed distributions.
    #[serde(with = "crate::fsutil::paths")]
    pub site_dirs: Vec<PathBuf>,
    /// Where console scripts went, if any were installed.
    #[serde(with = "crate::fsutil::paths")]
    pub scripts_dir: Option<PathBuf>,
    /// Directories the site directories' `.pth` files add (an editable
    /// install's source tree).
    #[serde(default, with = "crate::fsutil::paths")]
    pub pth_dirs: Vec<PathBuf>,
    /// Every `*.dist-info` directory the build left: what the prefix holds.
    #[serde(default, with = "crate::fsutil::paths")]
    pub dists: Vec<PathBuf>,
    /// The canonical inputs, for whoever looks into the cache.
    pub inputs: String,
    /// What the wheels' ELF files got from Guix (on a Guix interpreter).
    #[serde(default)]
    pub libraries: crate::libraries::Linked,
}

impl Layout {
    /// The cheap check, made on entering: the same distributions are
    /// installed as when the prefix was built. `Some` says what differs.
    pub fn changed(&self) -> Option<String> {
        if let Some(gone) = self.site_dirs.iter().find(|d| !d.is_dir()) {
            return Some(format!("{} is gone", gone.display()));
        }
        let now = dists_in(&self.site_dirs);
        let added: Vec<String> = now
            .iter()
            .filter(|d| !self.dists.contains(d))
            .map(|d| dist_name(d))
            .collect();
        let removed: Vec<String> = self
            .dists
            .iter()
            .filter(|d| !now.contains(d))
            .map(|d| dist_name(d))
            .collect();
        let mut said = Vec::new();
        if !added.is_empty() {
            said.push(format!("installed since: {}", added.join(" ")));
        }
        if !removed.is_empty() {
            said.push(format!("removed since: {}", removed.join(" ")));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// The full check, made by `status`: `changed`, then every file each
    /// distribution's RECORD lists in `generation` (the built prefix or
    /// venv) is there with the recorded hash. Returns what is wrong, the
    /// first few things of it.
    pub fn verify(&self, generation: &Path) -> Vec<String> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut problems: Vec<String> = self.changed().into_iter().collect();
        // Each file once, however many rows name it: a RECORD cannot make
        // the check hash a large file again and again. Two distributions
        // may ship one file (a script both name), each RECORD with its own
        // hash for it: the file is the last one installed, and matches one.
        let mut wants: Vec<(PathBuf, HashSet<String>)> = Vec::new();
        let mut at = HashMap::new();
        // A distribution gone altogether is said by `changed` above.
        for dist in self.dists.iter().filter(|d| d.is_dir()) {
            let Some(site) = dist.parent() else { continue };
            let Some(record) = read_record(dist) else {
                problems.push(format!("{}: no RECORD, or not one to read", dist.display()));
                continue;
            };
            for (path, want) in record_entries(generation, site, &record) {
                let Some(want) = want else { continue };
                // A file whose RUNPATH was set after the build is held to
                // its content then.
                let want = self
                    .libraries
                    .patched
                    .get(&path.display().to_string())
                    .map_or(want, String::as_str);
                let want = b64
                    .decode(want)
                    .map(|d| fsutil::hex(&d))
                    .unwrap_or_default();
                let i = *at.entry(path.clone()).or_insert_with(|| {
                    wants.push((path, HashSet::new()));
                    wants.len() - 1
                });
                wants[i].1.insert(want);
            }
        }
        for (path, want) in wants {
            // A link leads where the RECORD does not say (a venv's
            // `bin/python3`, to the interpreter): not followed.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
                problems.push(format!(
                    "{} is a link, not the file its RECORD lists",
                    path.display()
                ));
            } else {
                // Streamed, and only from a regular file: one put in a
                // file's place (a FIFO, a device) is said, not read.
                match crate::pip::hash_file(&path, crate::pip::DIST_LIMIT) {
                    Ok(got) if want.contains(&got) => {}
                    Ok(_) => problems.push(format!("{} was changed", path.display())),
                    Err(_) if std::fs::symlink_metadata(&path).is_err() => {
                        problems.push(format!("{} is missing", path.display()))
                    }
                    Err(e) => problems.push(format!("{} cannot be read: {e}", path.display())),
                }
            }
            if problems.len() >= 10 {
                return problems;
            }
        }
        problems
    }
}

fn dists_in(site_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = site_dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dist-info"))
        .collect();
    out.sort();
    out
}

fn dist_name(dist: &Path) -> String {
    dist.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Plain paths in the site directories' `.pth` files (not `import` lines,
/// which only the `site` module can run), that exist.
fn pth_dirs(site_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for site in site_dirs {
        let Ok(entries) = std::fs::read_dir(site) else {
            continue;
        };
        let mut pth: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pth"))
            .collect();
        pth.sort();
        for file in pth {
            let text = fsutil::read_limited(&file, crate::pip::TEXT_LIMIT).ok();
            let Some(text) = text.and_then(|b| String::from_utf8(b).ok()) else {
                continue;
            };
            for line in text.lines().map(str::trim_end) {
                if line.is_empty() || line.starts_with('#') || line.starts_with("import") {
                    continue;
                }
                let dir = site.join(line);
                if dir.is_dir() && searchable(&dir) && !out.contains(&dir) {
                    out.push(dir);
                }
            }
        }
    }
    out
}

/// Whether something removed part of `generation` while it was built (a
/// gc, a hand): the directory itself, or a file a RECORD lists. Existence
/// only: pip has just written them.
pub(super) fn incomplete(generation: &Path, layout: &Layout) -> Option<String> {
    if !generation.is_dir() {
        return Some(format!("{} is gone", generation.display()));
    }
    if let Some(changed) = layout.changed() {
        return Some(changed);
    }
    for dist in &layout.dists {
        let site = dist.parent()?;
        let Some(record) = read_record(dist) else {
            return Some(format!("{}: no RECORD, or not one to read", dist.display()));
        };
        for (path, _) in record_entries(generation, site, &record) {
            if std::fs::symlink_metadata(&path).is_err() {
                return Some(format!("{} is missing", path.display()));
            }
        }
    }
    None
}

/// Find where pip put things: site directories are those holding
/// `*.dist-info`; the scripts directory is where their RECORDs put
/// executables. Nothing is assumed about `lib/pythonX.Y/site-packages`.
pub(super) fn discover(path: &Path, mode: PipMode, key_text: &str) -> Layout {
    let mut site_dirs = Vec::new();
    find_site_dirs(path, 0, &mut site_dirs);
    site_dirs.sort();
    let scripts_dir = match mode {
        PipMode::Venv => Some(path.join("bin")),
        _ => site_dirs
            .iter()
            .find_map(|site| scripts_from_records(path, site)),
    };
    Layout {
        format: FORMAT,
        pth_dirs: pth_dirs(&site_dirs),
        dists: dists_in(&site_dirs),
        site_dirs,
        scripts_dir,
        inputs: key_text.to_string(),
        libraries: Default::default(),
    }
}

fn find_site_dirs(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    let mut is_site = false;
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if e.file_name().to_string_lossy().ends_with(".dist-info") {
            is_site = true;
        } else {
            subdirs.push(e.path());
        }
    }
    if is_site && searchable(dir) {
        found.push(dir.to_path_buf());
    }
    // The interpreter's own site directory ends the walk down (a package
    // may vendor a `*.dist-info` of its own). Any other directory a
    // `*.dist-info` is found in (a wheel's data files land anywhere in the
    // prefix) does not: one planted above the real one cannot hide it.
    let scheme = dir
        .file_name()
        .is_some_and(|n| n == "site-packages" || n == "dist-packages");
    if !(is_site && scheme) && depth < 6 {
        for d in subdirs {
            find_site_dirs(&d, depth + 1, found);
        }
    }
}

/// Whether `dir` can go on a search path (`PATH`, `PYTHONPATH`) as one
/// entry: not if its name holds `:`, which would split it, making a
/// directory named `a:.` the current directory. A wheel names its data
/// files' directories as it likes; those are said and left off.
fn searchable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let whole = !dir.as_os_str().as_bytes().contains(&b':');
    if !whole {
        crate::log::warn(&format!(
            "{} is left off the search paths: its name holds `:`, which would split it",
            dir.display()
        ));
    }
    whole
}

/// A distribution's RECORD the installer left that cannot be read (see
/// `read_record`): not a file lost meanwhile, and the same at every build.
pub(super) fn unreadable_record(layout: &Layout) -> Option<PathBuf> {
    (layout.dists.iter())
        .find(|dist| dist.join("RECORD").is_file() && read_record(dist).is_none())
        .map(|dist| dist.join("RECORD"))
}

/// The text of the RECORD of the distribution `dist`, if it is there, at
/// most `RECORD_LIMIT` bytes, and UTF-8.
pub(crate) fn read_record(dist: &Path) -> Option<String> {
    let bytes = fsutil::read_limited(&dist.join("RECORD"), RECORD_LIMIT).ok()?;
    String::from_utf8(bytes).ok()
}

fn scripts_from_records(root: &Path, site: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(site).ok()?;
    for e in entries.flatten() {
        let Some(text) = read_record(&e.path()) else {
            continue;
        };
        for (full, _) in record_entries(root, site, &text) {
            let dir = full.parent().filter(|d| searchable(d));
            if !full.starts_with(site) && fsutil::is_executable(&full) && dir.is_some() {
                return dir.map(Path::to_path_buf);
            }
        }
    }
    None
}

/// The rules `discover` follows, as `Layout::format` records them.
pub const FORMAT: u32 = 2;

/// A RECORD larger than this is not read: taken as unreadable.
pub(crate) const RECORD_LIMIT: u64 = 64 << 20;

/// The files a distribution's RECORD (read from `site`'s `*.dist-info`)
/// lists under `root` (the prefix or venv), where they are, each with its
/// SHA-256 as RECORD writes it (URL-safe base64, unpadded) when it gives
/// one. A line is `path,hash,size`, the path quoted when it holds a comma.
/// pip keeps a wheel's rows as the wheel gives them, a path from `/` or
/// `..` enough times too: what a row names outside `root` is not the
/// build's, and is never looked at.
pub(crate) fn record_entries<'a>(
    root: &'a Path,
    site: &'a Path,
    record: &'a str,
) -> impl Iterator<Item = (PathBuf, Option<&'a str>)> + 'a {
    record.lines().filter_map(move |line| {
        let mut fields = line.rsplitn(3, ',');
        let (_size, hash, file) = (fields.next(), fields.next(), fields.next()?);
        let file = file.trim_matches('"');
        let sha256 = hash.and_then(|h| h.strip_prefix("sha256="));
        let path = resolve_dots(&site.join(file));
        (!file.is_empty() && path.starts_with(root) && path != root).then_some((path, sha256))
    })
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn resolve_dots(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prefix holding one distribution, `x`, whose RECORD is `record`.
    fn one_dist(record: &[u8]) -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("lib/site-packages");
        let dist = site.join("x-1.0.dist-info");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("RECORD"), record).unwrap();
        let layout = discover(dir.path(), PipMode::Prefix, "");
        assert_eq!(layout.dists, [dist]);
        (dir, layout)
    }

    /// HOLE (attack pass): a RECORD listing one large file 100,000 times
    /// had `status` hash it 100,000 times (hours, for a 256 MiB file).
    #[test]
    fn a_file_listed_many_times_is_checked_once() {
        let (dir, layout) = one_dist("x/gone.py,sha256=a,1\n".repeat(50).as_bytes());
        assert_eq!(
            layout.verify(dir.path()),
            [format!(
                "{} is missing",
                dir.path().join("lib/site-packages/x/gone.py").display()
            )]
        );
    }

    /// HOLE (attack pass): a RECORD was read whole, however large (1.5 GiB
    /// of newlines from a 1.5 MB wheel), at each build and each `status`.
    #[test]
    fn a_record_larger_than_the_limit_is_not_read() {
        let (dir, layout) = one_dist(b"");
        let record = dir.path().join("lib/site-packages/x-1.0.dist-info/RECORD");
        let f = std::fs::File::options().write(true).open(&record).unwrap();
        f.set_len(RECORD_LIMIT + 1).unwrap();
        let said = layout.verify(dir.path());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("RECORD"), "{said:?}");
        assert!(incomplete(dir.path(), &layout).is_some());
    }

    #[test]
    fn a_record_lists_only_what_is_under_its_root() {
        let root = Path::new("/cache/prefixes/k.g1");
        let site = root.join("lib/python3.11/site-packages");
        let record = "x/__init__.py,sha256=a,1\n\
                      ../../../bin/x,sha256=b,2\n\
                      \"x/a,b.py\",sha256=c,3\n\
                      /dev/zero,sha256=d,1\n\
                      ../../../../../../../../etc/passwd,sha256=e,1\n\
                      ../../../../k.g2/bin/y,sha256=f,1\n\
                      ../../..,,\n";
        let listed: Vec<_> = record_entries(root, &site, record).collect();
        assert_eq!(
            listed,
            [
                (site.join("x/__init__.py"), Some("a")),
                (root.join("bin/x"), Some("b")),
                (site.join("x/a,b.py"), Some("c")),
            ]
        );
    }
}
