use std::collections::BTreeSet;
use std::path::Path;

use crate::activation;
use crate::inputs::Scan;
use crate::manifest::Project;
use crate::materialise::{self, Mode};
use crate::{log, trust};

/// Remove prefixes and Guix profiles that no trusted manifest still needs
///
/// Keeps everything that a manifest on disk, trusted as it is now, needs
/// with the interpreter found on this shell's PATH. Removing a profile link
/// drops its Guix GC root; `guix gc` then frees the store items. Anything
/// removed by mistake is rebuilt on the next entry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (cache, data) = (&ctx.cache_dir, &ctx.data_dir);
    let user_path = activation::user_path(&ctx);
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for manifest in trust::allowed_manifests(data) {
        let Ok(project) = Project::load(&manifest) else {
            continue;
        };
        let Ok(record) = trust::record_path(data, &manifest) else {
            continue;
        };
        let scan = Scan::new(&project.root, &project.manifest.pip);
        if !matches!(
            trust::check(&record, &project, &scan),
            trust::Trust::Allowed(_)
        ) {
            continue;
        }
        match materialise::materialise(&ctx, &project, &scan, user_path.as_deref(), Mode::Look) {
            Ok(m) => {
                keep.extend(m.profile.map(|p| p.key));
                keep.extend(m.prefix.map(|p| p.key));
            }
            Err(e) => log::warn(&format!(
                "{}: {e}; keeping what it may need",
                manifest.display()
            )),
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut freed = 0;
    for kind in ["prefixes", "profiles", "staging"] {
        let Ok(entries) = std::fs::read_dir(cache.join(kind)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
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
            if key.len() != 64 || keep.contains(key) {
                continue;
            }
            let size = disk_usage(&path);
            let shown = name == key || name.ends_with("-link");
            if shown {
                println!("{verb} {} ({})", path.display(), human(size));
            }
            freed += size;
            if !args.dry_run {
                let meta = std::fs::symlink_metadata(&path)?;
                if meta.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    log::info(&format!(
        "{verb} {} in all; kept {} in use",
        human(freed),
        keep.len()
    ));
    Ok(0)
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
