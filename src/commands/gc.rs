use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

mod in_use;

use crate::activation;
use crate::buildlock::Slot;
use crate::manifest::Project;
use crate::materialise::{self, Mode};
use crate::pip::Scan;
use crate::{log, trust};

/// Remove prefixes and Guix profiles that no trusted project still needs
///
/// Keeps what each manifest on disk that is trusted as it is now needs: what
/// it used when it was last activated (recorded then, so the PATH, the
/// PYENV_VERSION or the directory gc runs with change nothing), and what it
/// would use now. If gc cannot tell what a trusted project needs, it keeps
/// everything. With --older-than DAYS, it also removes prefixes no project
/// used for DAYS days (a trusted project's Guix profile is always kept).
/// Removing a profile link drops its Guix GC root; `guix gc` then frees the
/// store items. A project whose prefix was removed rebuilds it on entry.
///
/// Never removed: a key being built (gc takes its build lock to remove
/// anything of it), and a generation a running process uses (its program,
/// working directory, open or mapped files, arguments or environment lead
/// into it) or a shell open in a project has loaded, unless --older-than
/// covers it: then it goes, and gc says who still used it. Staged copies
/// a killed build left go, and build logs after --older-than DAYS (30 by
/// default), or an hour after their key is gone.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also remove prefixes that no project used for this many days, even
    /// in use; and logs this old.
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let user_path = activation::user_path(&ctx);
    // Each manifest trusted as it is now, with what was read to tell.
    let trusted: Vec<(Project, Box<Scan>)> = trust::allowed_manifests(&ctx.data_dir)
        .into_iter()
        .filter_map(|manifest| trust::open(&ctx.data_dir, &manifest).ok()?.allowed())
        .collect();
    // One manifest spelled two ways is one project.
    let canonical: BTreeSet<PathBuf> = trusted
        .iter()
        .filter_map(|(p, _)| std::fs::canonicalize(&p.manifest_path).ok())
        .collect();
    // What trusted projects used, and when each key was last used by any.
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut last_used: BTreeMap<String, SystemTime> = BTreeMap::new();
    // Each project's root, with the keys it last used: what a shell open
    // in it has loaded.
    let mut projects: Vec<(PathBuf, Vec<String>)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(materialise::usage_dir(&ctx)) {
        for e in entries.flatten() {
            let Ok(text) = crate::fsutil::read_limited(e.path().as_path(), 1 << 16)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
            else {
                continue;
            };
            let when = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let materialise::Usage { manifest, keys, .. } = materialise::read_usage(&text);
            let is_trusted = std::fs::canonicalize(&manifest).is_ok_and(|m| canonical.contains(&m));
            if let Some(root) = manifest.parent() {
                projects.push((root.to_path_buf(), keys.clone()));
            }
            for key in keys {
                if is_trusted {
                    needed.insert(key.clone());
                }
                let latest = last_used.entry(key).or_insert(when);
                *latest = (*latest).max(when);
            }
        }
    }
    let mut profiles_needed: BTreeSet<String> = BTreeSet::new();
    let mut unsure = None;
    for (project, scan) in &trusted {
        match materialise::materialise(&ctx, project, scan, user_path.as_deref(), Mode::Look) {
            Ok(m) => {
                profiles_needed.extend(m.profile.map(|p| p.key));
                // The profile of the libraries the prefix's wheels got
                // from Guix roots the store items in their RUNPATHs.
                let libraries = m.prefix.as_ref().and_then(|p| p.built.as_ref());
                let libraries = libraries.and_then(|(_, l)| l.libraries.profile.as_deref());
                profiles_needed.extend(
                    libraries
                        .and_then(|p| p.file_name()?.to_str())
                        .map(str::to_string),
                );
                needed.extend(m.prefix.map(|p| p.key));
            }
            Err(e) => {
                log::warn(&format!(
                    "cannot tell what {} needs now ({e}); keeping everything",
                    project.manifest_path.display()
                ));
                unsure = Some(project.manifest_path.clone());
            }
        }
    }
    needed.extend(profiles_needed.iter().cloned());
    let cutoff = args
        .older_than
        .map(|days| SystemTime::now() - Duration::from_secs(days.saturating_mul(86_400)));
    // Told by --older-than: last used before the cutoff (or never).
    let aged = |key: &str| cutoff.is_some_and(|c| last_used.get(key).is_none_or(|t| *t < c));
    let keep = |kind: &str, key: &str| {
        if unsure.is_some() || (kind == "profiles" && profiles_needed.contains(key)) {
            return true;
        }
        needed.contains(key) && !aged(key)
    };
    let users = match in_use::scan(&ctx.cache_dir, &projects) {
        Ok(users) => Some(users),
        Err(why) => {
            log::warn(&format!(
                "cannot tell what running processes use ({why}); keeping all that may be in use"
            ));
            None
        }
    };
    let mut gc = Gc {
        dry_run: args.dry_run,
        freed: 0,
        kept: BTreeSet::new(),
    };
    for kind in ["prefixes", "profiles"] {
        let dir = ctx.cache_dir.join(kind);
        for (key, paths) in by_key(&dir) {
            let mut doomed: Vec<(PathBuf, Option<String>)> = Vec::new();
            for path in paths {
                let old = kind == "prefixes" && is_old_generation(&dir, &key, &path);
                // A kept prefix's replaced generations go all the same.
                if keep(kind, &key) && !old {
                    gc.kept.insert(key.clone());
                    continue;
                }
                let user = match &users {
                    Some(users) => user_of(users, kind, &dir, &key, &path, old),
                    None => Some("a process gc could not look at".to_string()),
                };
                match user {
                    Some(who) if !aged(&key) => {
                        if shown(&path) {
                            log::info(&format!("keeping {}: in use by {who}", path.display()));
                        }
                        gc.kept.insert(key.clone());
                    }
                    user => doomed.push((path, user)),
                }
            }
            gc.remove_under_lock(&dir, &key, kind, doomed)?;
        }
    }
    // What a killed build left: its staged copies, unless a build of the
    // key runs now.
    let staging = ctx.cache_dir.join("staging");
    for path in sorted_entries(&staging) {
        let name = file_name(&path);
        let (kind, key) = match name.strip_prefix("profile-") {
            Some(key) => ("profiles", key),
            None => ("prefixes", name.as_str()),
        };
        if is_key(key) {
            let dir = ctx.cache_dir.join(kind);
            gc.remove_under_lock(&dir, key, kind, vec![(path.clone(), None)])?;
        }
    }
    gc.remove_logs(&ctx, args.older_than.unwrap_or(LOG_DAYS));
    if !args.dry_run {
        remove_stale_temporaries(&ctx);
    }
    log::info(&format!(
        "{} {} in all; kept {} in use",
        gc.verb(),
        human(gc.freed),
        gc.kept.len()
    ));
    Ok(0)
}

/// How long a build's log is kept, by default: it says how the last
/// build went, which `status` and the user may want to read.
const LOG_DAYS: u64 = 30;

struct Gc {
    dry_run: bool,
    freed: u64,
    kept: BTreeSet<String>,
}

impl Gc {
    fn verb(&self) -> &'static str {
        if self.dry_run {
            "would remove"
        } else {
            "removed"
        }
    }

    /// Remove `doomed` (each with who uses it, if anyone) holding the
    /// key's build lock, so that no build starts meanwhile; a build under
    /// way keeps it all. The lock file itself stays: removing it would let
    /// two builds take two locks.
    fn remove_under_lock(
        &mut self,
        dir: &Path,
        key: &str,
        kind: &str,
        doomed: Vec<(PathBuf, Option<String>)>,
    ) -> anyhow::Result<()> {
        if doomed.is_empty() {
            return Ok(());
        }
        let what = if kind == "profiles" {
            "profile"
        } else {
            "prefix"
        };
        let lock = if self.dry_run {
            None
        } else {
            match take_lock(dir, key) {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => {
                    self.leave(what, key);
                    return Ok(());
                }
                Err(e) => {
                    log::warn(&format!("leaving {what} {key} alone: cannot lock it: {e}"));
                    return Ok(());
                }
            }
        };
        if self.dry_run && Slot::new(dir, key).under_way() {
            self.leave(what, key);
            return Ok(());
        }
        for (path, user) in doomed {
            let size = disk_usage(&path);
            if shown(&path) {
                let though = user
                    .map(|who| format!(" though in use by {who}"))
                    .unwrap_or_default();
                println!(
                    "{} {} ({}){though}",
                    self.verb(),
                    path.display(),
                    human(size)
                );
            }
            self.freed += size;
            if !self.dry_run {
                remove(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        drop(lock);
        Ok(())
    }

    fn leave(&mut self, what: &str, key: &str) {
        log::info(&format!("leaving {what} {key} alone: it is being built"));
        self.kept.insert(key.to_string());
    }

    /// Build logs (`cache/logs/KEY.log`) older than `days`, or, after an
    /// hour, of a key with nothing left (no prefix, no profile, no failure
    /// the log explains); never while the key builds.
    fn remove_logs(&mut self, ctx: &crate::context::Context, days: u64) {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(days.saturating_mul(86_400));
        let hour_ago = now - Duration::from_secs(3600);
        let dirs = [
            ctx.cache_dir.join("prefixes"),
            ctx.cache_dir.join("profiles"),
        ];
        for path in sorted_entries(&ctx.cache_dir.join("logs")) {
            let name = file_name(&path);
            let Some(key) = name.strip_suffix(".log").filter(|k| is_key(k)) else {
                continue;
            };
            let Ok(modified) = std::fs::symlink_metadata(&path).and_then(|m| m.modified()) else {
                continue;
            };
            if dirs.iter().any(|d| Slot::new(d, key).under_way()) {
                continue;
            }
            let gone = dirs.iter().all(|d| {
                std::fs::symlink_metadata(d.join(key)).is_err()
                    && Slot::new(d, key).failed_before().is_none()
            });
            if modified < old || (gone && modified < hour_ago) {
                let size = disk_usage(&path);
                println!("{} {} ({})", self.verb(), path.display(), human(size));
                self.freed += size;
                if !self.dry_run
                    && let Err(e) = std::fs::remove_file(&path)
                {
                    log::warn(&format!("cannot remove {}: {e}", path.display()));
                }
            }
        }
    }
}

/// The key's build lock, taken; `None` when a build holds it.
fn take_lock(dir: &Path, key: &str) -> std::io::Result<Option<std::fs::File>> {
    std::fs::create_dir_all(dir)?;
    let file = crate::fsutil::create_private(&dir.join(format!("{key}.lock")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Who uses `path`, an entry of `key` under `dir`: an old generation
/// only itself; the rest (the link, the current generation, the records)
/// whatever the link leads to. A shell that loaded the key uses all.
fn user_of(
    users: &in_use::Users,
    kind: &str,
    dir: &Path,
    key: &str,
    path: &Path,
    old: bool,
) -> Option<String> {
    if let Some(who) = users.shells.get(key) {
        return Some(who.clone());
    }
    if kind == "profiles" {
        return users.profiles.get(key).cloned();
    }
    let names: Vec<String> = if old {
        vec![file_name(path)]
    } else {
        let current = std::fs::read_link(dir.join(key))
            .map(|t| t.to_string_lossy().into_owned())
            .ok();
        std::iter::once(key.to_string()).chain(current).collect()
    };
    names.iter().find_map(|n| users.prefixes.get(n).cloned())
}

/// The entries of `dir` with a key in their name (`KEY`, `KEY.g2`,
/// `KEY-1-link`, `.KEY.x.tmp`), by key, build locks left out.
fn by_key(dir: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for path in sorted_entries(dir) {
        let name = file_name(&path);
        let key = name
            .trim_start_matches('.')
            .split(['.', '-'])
            .next()
            .unwrap_or("");
        if is_key(key) && !name.ends_with(".lock") {
            out.entry(key.to_string()).or_default().push(path);
        }
    }
    out
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a line is printed for: directories and links, not their records.
fn shown(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
        || file_name(path).ends_with("-link")
        || std::fs::read_link(path).is_ok()
}

/// Temporary files and directories an interrupted write left behind
/// (`*.tmp`), once they are an hour old: no write takes that long; and the
/// marks of shells not seen for a week.
fn remove_stale_temporaries(ctx: &crate::context::Context) {
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let week_ago = SystemTime::now() - Duration::from_secs(7 * 86_400);
    if let Ok(entries) = std::fs::read_dir(ctx.cache_dir.join("marks")) {
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < week_ago);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let dirs = [
        ctx.data_dir.clone(),
        ctx.data_dir.join("trust"),
        ctx.data_dir.join("used"),
        ctx.cache_dir.join("prefixes"),
        ctx.cache_dir.join("profiles"),
        ctx.cache_dir.join("interpreters"),
        ctx.cache_dir.join("python-bin"),
    ];
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let stale = e.path().extension().is_some_and(|x| x == "tmp")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < hour_ago);
            if stale {
                let _ = remove(&e.path());
            }
        }
    }
}

/// A prefix generation `KEY.gN` that the link `KEY` no longer points at.
fn is_old_generation(dir: &Path, key: &str, path: &Path) -> bool {
    let generations = crate::pip::generations(&dir.join(key));
    let current = std::fs::read_link(dir.join(key)).ok();
    generations.iter().any(|g| g == path) && path.file_name().map(PathBuf::from) != current
}

fn remove(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Bytes under `path`, not following symlinks (a profile link is a link).
fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum())
        .unwrap_or(0)
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
