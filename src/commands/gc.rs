use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use crate::activation;
use crate::inputs::Scan;
use crate::manifest::Project;
use crate::materialise::{self, Mode};
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
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also remove prefixes that no project used for this many days.
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let user_path = activation::user_path(&ctx);
    // Each manifest trusted as it is now, with what was read to tell.
    let trusted: Vec<(Project, Box<Scan>)> = trust::allowed_manifests(&ctx.data_dir)
        .into_iter()
        .filter_map(|manifest| {
            let project = Project::load(&manifest).ok()?;
            let record = trust::record_path(&ctx.data_dir, &manifest).ok()?;
            match trust::check(&record, &project) {
                trust::Trust::Allowed(_, scan) => Some((project, scan)),
                _ => None,
            }
        })
        .collect();
    // One manifest spelled two ways is one project.
    let canonical: BTreeSet<PathBuf> = trusted
        .iter()
        .filter_map(|(p, _)| std::fs::canonicalize(&p.manifest_path).ok())
        .collect();
    // What trusted projects used, and when each key was last used by any.
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut last_used: BTreeMap<String, SystemTime> = BTreeMap::new();
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
        .map(|days| SystemTime::now() - Duration::from_secs(days * 86_400));
    let keep = |kind: &str, key: &str| {
        if unsure.is_some() || (kind == "profiles" && profiles_needed.contains(key)) {
            return true;
        }
        let recent = match cutoff {
            Some(cutoff) => last_used.get(key).is_some_and(|t| *t >= cutoff),
            None => true,
        };
        needed.contains(key) && recent
    };

    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut freed = 0;
    let mut kept = BTreeSet::new();
    for kind in ["prefixes", "profiles", "staging"] {
        let dir = ctx.cache_dir.join(kind);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = name
                .trim_start_matches('.')
                .split(['.', '-'])
                .next()
                .unwrap_or("");
            if key.len() != 64 {
                continue;
            }
            if keep(kind, key) {
                kept.insert(key.to_string());
                // A kept prefix's replaced generations go all the same.
                if !(kind == "prefixes" && is_old_generation(&dir, key, &path)) {
                    continue;
                }
            }
            let size = disk_usage(&path);
            let shown = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
                || name.ends_with("-link");
            if shown {
                println!("{verb} {} ({})", path.display(), human(size));
            }
            freed += size;
            if !args.dry_run {
                remove(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
    }
    if !args.dry_run {
        remove_stale_temporaries(&ctx);
    }
    log::info(&format!(
        "{verb} {} in all; kept {} in use",
        human(freed),
        kept.len()
    ));
    Ok(0)
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
    let generations = crate::prefix::generations(&dir.join(key));
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
