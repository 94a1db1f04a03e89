use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use notify::{RecursiveMode, Watcher as _};

use crate::buildlock::Slot;
use crate::context::Context;
use crate::manifest::Project;
use crate::materialise::{self, Materialised, Mode};
use crate::{activation, guix, interpreter, log, trust};

/// Rebuild trusted projects' environments as soon as their inputs change
///
/// Runs in the foreground until stopped, for a systemd user unit or a
/// Shepherd service (the README shows both). It watches the projects used
/// in the last DAYS days and, when what one needs is not built (after
/// `guix pull`, a new or upgraded interpreter or uv, an `allow`), builds it
/// in the background under the same locks as a prompt, its output in the
/// same logs (cache/logs). It builds a project only if it is allowed as it
/// is now, with the PATH its user had when it was last used. Idle, it
/// sleeps on the kernel's file notifications: no polling.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Watch the projects used in the last DAYS days
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    days: u64,
}

/// How long the files must be quiet before a look: a `guix pull` or a
/// `pip install` changes many files in a burst.
const SETTLE: Duration = Duration::from_millis(300);
const SETTLE_AT_MOST: Duration = Duration::from_secs(3);

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (tx, rx) = mpsc::channel();
    // Changes only: asking for opens too would wake the watcher at every
    // program started from a watched directory such as /usr/bin.
    let config = notify::Config::default().with_event_kinds(notify::EventKindMask::CORE);
    let mut watcher = notify::RecommendedWatcher::new(tx, config).context("cannot watch files")?;
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut said = None;
    loop {
        let projects = recent(&ctx, args.days);
        let mut dirs: BTreeSet<PathBuf> = [
            ctx.data_dir.join("trust"),
            materialise::usage_dir(&ctx),
            ctx.cache_dir.clone(),
        ]
        .into_iter()
        .collect();
        for (manifest, user_path) in &projects {
            dirs.extend(look_after(&ctx, manifest, user_path.as_ref()));
        }
        let dirs: BTreeSet<PathBuf> = dirs.iter().filter_map(|d| existing(d)).collect();
        for gone in watched.difference(&dirs) {
            let _ = watcher.unwatch(gone);
        }
        for new in dirs.difference(&watched) {
            if let Err(e) = watcher.watch(new, RecursiveMode::NonRecursive) {
                log::debug(&format!("cannot watch {}: {e}", new.display()));
            }
        }
        watched = dirs;
        if said != Some(projects.len()) {
            said = Some(projects.len());
            log::info(&format!(
                "watching {} projects used in the last {} days ({} directories)",
                projects.len(),
                args.days,
                watched.len()
            ));
        }
        // Sleep until something changes, then until the burst is over.
        let changed = |e: &notify::Result<notify::Event>| match e {
            Ok(e) if e.kind.is_access() => false,
            Ok(e) => {
                log::debug(&format!("changed: {:?} {:?}", e.kind, e.paths));
                true
            }
            Err(_) => true,
        };
        loop {
            let event = rx.recv().context("the file watcher stopped")?;
            if changed(&event) {
                break;
            }
        }
        // Never more than a few seconds: a log written without pause in a
        // watched directory must not keep builds waiting.
        let woke = std::time::Instant::now();
        while woke.elapsed() < SETTLE_AT_MOST
            && let Ok(event) = rx.recv_timeout(SETTLE)
        {
            changed(&event);
        }
    }
}

/// The manifests used in the last `days` days, each with the PATH its
/// user had then.
fn recent(ctx: &Context, days: u64) -> Vec<(PathBuf, Option<OsString>)> {
    let cutoff = SystemTime::now() - Duration::from_secs(days.saturating_mul(86_400));
    let Ok(entries) = std::fs::read_dir(materialise::usage_dir(ctx)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let recent = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= cutoff);
        if !recent {
            continue;
        }
        if let Ok(text) = crate::fsutil::read_limited(e.path().as_path(), 1 << 16)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            let usage = materialise::read_usage(&text);
            out.push((usage.manifest, usage.user_path));
        }
    }
    out.sort();
    out
}

/// Build what the project at `manifest` needs if it is allowed as it is
/// now, and return the directories whose change may change that.
fn look_after(ctx: &Context, manifest: &Path, user_path: Option<&OsString>) -> Vec<PathBuf> {
    let root = manifest.parent().unwrap_or(Path::new("/")).to_path_buf();
    let ctx = ctx.outside_projects(root.clone(), user_path.map(OsString::as_os_str));
    let user_path = user_path.map(OsString::as_os_str);
    // A project gone (or never a file) is not watched: its nearest parent
    // would be, and wake the watcher for nothing.
    if !manifest.is_file() {
        return Vec::new();
    }
    // The manifest's directory (an edit, a new file) and the trust record's.
    let mut dirs = vec![root.clone()];
    let Ok(project) = Project::load(manifest) else {
        return dirs;
    };
    let Ok(record) = trust::record_path(&ctx.data_dir, manifest) else {
        return dirs;
    };
    let scan = match trust::check(&record, &project) {
        trust::Trust::Allowed(_, scan) => scan,
        _ => {
            log::debug(&format!(
                "{} is not allowed as it is now: not built",
                manifest.display()
            ));
            return dirs;
        }
    };
    for path in scan.watched() {
        dirs.extend(path.parent().map(Path::to_path_buf));
        if path.is_dir() {
            dirs.push(path);
        }
    }
    // What the keys follow outside the project: the Guix the user runs,
    // the interpreter and uv as PATH finds them, through every link.
    let mut followed = Vec::new();
    if !project.manifest.guix.packages.is_empty() && project.manifest.guix.channels.is_none() {
        followed.extend(guix::followed(&ctx, user_path));
    }
    let declared = &project.manifest.python.interpreter;
    followed.extend(interpreter::locate(declared, user_path, &project.root).ok());
    followed.extend(crate::fsutil::find_program(
        "uv".as_ref(),
        user_path,
        &project.root,
    ));
    for start in followed {
        dirs.extend(chain_dirs(&start));
    }
    // A new interpreter or uv earlier on PATH is found instead.
    if let Some(path) = user_path {
        dirs.extend(std::env::split_paths(path).filter(|d| d.is_absolute()));
    }
    match materialise::materialise(&ctx, &project, &scan, user_path, Mode::Look) {
        Ok(built) => {
            if let Some(missing) = missing(&built) {
                build(&ctx, &project, &missing);
            }
        }
        Err(e) => log::warn(&format!("{}: {e}", manifest.display())),
    }
    dirs
}

/// What is not built yet: the profile first, as a build goes. A build
/// that failed is not tried again by itself (its log keeps what went
/// wrong): the user's `reload` clears the record, and then it is.
fn missing(built: &Materialised) -> Option<PathBuf> {
    let unbuilt = if let Some(p) = built.profile.as_ref().filter(|p| p.store_path.is_none()) {
        p.path.clone()
    } else {
        built
            .prefix
            .as_ref()
            .filter(|p| p.built.is_none())
            .map(|p| p.path.clone())?
    };
    let (dir, key) = (unbuilt.parent()?, unbuilt.file_name()?.to_str()?);
    if Slot::new(dir, key).failed_before().is_some() {
        log::debug(&format!(
            "{} failed before: not built again",
            unbuilt.display()
        ));
        return None;
    }
    Some(unbuilt)
}

/// One build at a time, as a prompt starts it (the same lock, the same log).
fn build(ctx: &Context, project: &Project, what: &Path) {
    let name = project.manifest_path.display();
    match activation::build_in_background(ctx, project, what) {
        Ok(activation::Background::Running(log_path)) => log::info(&format!(
            "{name}: another process builds {} (log: {})",
            what.display(),
            log_path.display()
        )),
        Ok(activation::Background::Died(log_path)) => log::warn(&format!(
            "{name}: the last build of {} stopped without finishing; see {}",
            what.display(),
            log_path.display()
        )),
        Ok(activation::Background::Started(mut child, log_path)) => {
            log::info(&format!(
                "{name} changed: building {} (log: {})",
                what.display(),
                log_path.display()
            ));
            match child.wait() {
                Ok(status) if status.success() => log::info(&format!("{name}: built")),
                Ok(status) => log::warn(&format!(
                    "{name}: the build failed ({status}); see {}",
                    log_path.display()
                )),
                Err(e) => log::warn(&format!("{name}: {e}")),
            }
        }
        Err(e) => log::warn(&format!("{name}: cannot start a build: {e}")),
    }
}

/// The directories holding each link from `start` to what it resolves to:
/// a link swapped in one of them (as `guix pull` swaps its profile link)
/// changes where the chain leads. A pyenv shim adds the versions it picks
/// from and the global version file's directory.
fn chain_dirs(start: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut here = start.to_path_buf();
    for _ in 0..40 {
        let Some(parent) = here.parent() else { break };
        // Store items never change: a new one comes with a new link.
        if parent.starts_with("/gnu/store") {
            break;
        }
        dirs.push(parent.to_path_buf());
        if parent.file_name().is_some_and(|n| n == "shims")
            && let Some(root) = parent.parent()
        {
            dirs.push(root.to_path_buf());
            dirs.push(root.join("versions"));
        }
        match std::fs::read_link(&here) {
            Ok(target) => here = parent.join(target),
            Err(_) => break,
        }
    }
    dirs
}

/// `dir`, or its nearest existing ancestor: a directory made later (the
/// first `guix pull`) shows up as a change there.
fn existing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.is_dir()).map(Path::to_path_buf)
}
