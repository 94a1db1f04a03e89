use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use notify::{EventKindMask, RecursiveMode, Watcher as _};

use crate::buildlock::KeyBuild;
use crate::cache::{Bucket, Records};
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
/// sleeps on the kernel's file notifications: no polling, and no wake-up
/// for files that are not inputs (a log written in a project). When its
/// binary is replaced (an upgrade), it exits with status 75, for the
/// service manager to start the new one.
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

/// How watch ends when its binary was replaced: non-zero, for the service
/// manager to start the new one (EX_TEMPFAIL).
const REPLACED: i32 = 75;

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    // The binary this process runs: an upgrade puts a new file at its path.
    let exe = std::env::current_exe().context("cannot tell where pyenv-guix is")?;
    let exe_file = identity(&exe);
    let (tx, rx) = mpsc::channel();
    // Two kinds of watch, told apart in the kernel: a directory holding an
    // input is watched for names only (created, removed, renamed), so that
    // a log written there without pause sends nothing; inputs themselves,
    // and directories where anything counts, for their content too. Never
    // opens: they would wake it at every program started from /usr/bin.
    // (A rename is a change of name to notify: without MODIFY_NAME it
    // drops the moves the kernel sends for CREATE and REMOVE.)
    let names = EventKindMask::CREATE | EventKindMask::REMOVE | EventKindMask::MODIFY_NAME;
    let mut by_name = Watches::new(&tx, names)?;
    let mut by_content = Watches::new(&tx, EventKindMask::CORE)?;
    let mut said = None;
    loop {
        if identity(&exe) != exe_file {
            log::error(&format!(
                "{} was replaced (an upgrade?): exiting, for the service manager to start the new one",
                exe.display()
            ));
            return Ok(REPLACED);
        }
        let projects = recent(&ctx, args.days);
        let mut interest = Interest::default();
        interest.whole.extend([
            Records::Trust.dir(&ctx.data_dir),
            materialise::usage_dir(&ctx),
            ctx.cache.root().to_path_buf(),
        ]);
        interest.names.insert(exe.clone());
        for (manifest, user_path) in &projects {
            look_after(&ctx, manifest, user_path.as_ref(), &mut interest);
        }
        let (name_dirs, content) = interest.to_watch();
        by_name.set(name_dirs);
        by_content.set(content);
        if said != Some(projects.len()) {
            said = Some(projects.len());
            log::info(&format!(
                "watching {} projects used in the last {} days ({} directories)",
                projects.len(),
                args.days,
                by_name.watched.len() + by_content.watched.len()
            ));
        }
        // Sleep until an input changes, then until the burst is over. What
        // is not an input is dropped before any work.
        let relevant = |e: &notify::Result<notify::Event>| match e {
            Ok(e) if e.kind.is_access() => false,
            Ok(e) if !e.paths.iter().any(|p| interest.counts(p)) => false,
            Ok(e) => {
                log::debug(&format!("changed: {:?} {:?}", e.kind, e.paths));
                true
            }
            Err(_) => true,
        };
        loop {
            let event = rx.recv().context("the file watcher stopped")?;
            if relevant(&event) {
                break;
            }
        }
        // Never more than a few seconds: an input written without pause
        // must not keep builds waiting.
        let woke = std::time::Instant::now();
        while woke.elapsed() < SETTLE_AT_MOST
            && let Ok(event) = rx.recv_timeout(SETTLE)
        {
            relevant(&event);
        }
    }
}

/// One watcher, for one kind of watch, and what it watches now: each
/// path with the file it was (a kernel watch follows the file, so a path
/// replaced by a rename is watched again).
struct Watches {
    watcher: notify::RecommendedWatcher,
    watched: BTreeMap<PathBuf, Option<(u64, u64)>>,
}

impl Watches {
    fn new(
        tx: &mpsc::Sender<notify::Result<notify::Event>>,
        kinds: EventKindMask,
    ) -> anyhow::Result<Watches> {
        let config = notify::Config::default().with_event_kinds(kinds);
        let watcher =
            notify::RecommendedWatcher::new(tx.clone(), config).context("cannot watch files")?;
        Ok(Watches {
            watcher,
            watched: BTreeMap::new(),
        })
    }

    fn set(&mut self, wanted: BTreeSet<PathBuf>) {
        let mut now = BTreeMap::new();
        for path in wanted {
            let file = identity(&path);
            match self.watched.remove(&path) {
                Some(was) if was == file => {}
                Some(_) => {
                    let _ = self.watcher.unwatch(&path);
                    self.watch(&path);
                }
                None => self.watch(&path),
            }
            now.insert(path, file);
        }
        for gone in std::mem::replace(&mut self.watched, now).keys() {
            let _ = self.watcher.unwatch(gone);
        }
    }

    fn watch(&mut self, path: &Path) {
        if let Err(e) = self.watcher.watch(path, RecursiveMode::NonRecursive) {
            log::debug(&format!("cannot watch {}: {e}", path.display()));
        }
    }
}

/// The file at `path` (device and inode), through links.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// What watch wakes for.
#[derive(Default)]
struct Interest {
    /// Directories where any change counts: pyenv-guix's own records,
    /// a project's input directories (find-links, a source tree).
    whole: BTreeSet<PathBuf>,
    /// Paths whose creation, removal or replacement counts (a link
    /// swapped, an interpreter put earlier on PATH).
    names: BTreeSet<PathBuf>,
    /// Files whose content counts too.
    files: BTreeSet<PathBuf>,
}

impl Interest {
    /// The directories to watch by name and the paths to watch by
    /// content, as they exist (for a path not made yet, its nearest
    /// existing directory, by name).
    fn to_watch(&self) -> (BTreeSet<PathBuf>, BTreeSet<PathBuf>) {
        let mut by_name = BTreeSet::new();
        let mut by_content = BTreeSet::new();
        for path in self.names.iter().chain(&self.files) {
            by_name.extend(path.parent().and_then(existing));
        }
        for file in &self.files {
            if file.is_file() {
                by_content.insert(file.clone());
            }
        }
        for dir in &self.whole {
            if dir.is_dir() {
                by_content.insert(dir.clone());
            } else {
                by_name.extend(existing(dir));
            }
        }
        (by_name, by_content)
    }

    /// Whether a change at `path` may change what a project needs.
    fn counts(&self, path: &Path) -> bool {
        if self.names.contains(path) || self.files.contains(path) || self.whole.contains(path) {
            return true;
        }
        if path.parent().is_some_and(|d| self.whole.contains(d)) {
            return true;
        }
        // A directory on the way to one of them: made, removed, renamed.
        self.names
            .iter()
            .chain(&self.files)
            .chain(&self.whole)
            .any(|p| p.starts_with(path))
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
/// now, and add to `interest` what may change that.
fn look_after(
    ctx: &Context,
    manifest: &Path,
    user_path: Option<&OsString>,
    interest: &mut Interest,
) {
    let root = manifest.parent().unwrap_or(Path::new("/")).to_path_buf();
    let ctx = ctx.outside_projects(root.clone(), user_path.map(OsString::as_os_str));
    let user_path = user_path.map(OsString::as_os_str);
    // The manifest: an edit, or a new one. Its directory is watched by
    // name, so that the project's other files wake nothing.
    interest.files.insert(manifest.to_path_buf());
    if !manifest.is_file() {
        return;
    }
    let Some((project, scan)) = trust::open(&ctx.data_dir, manifest)
        .ok()
        .and_then(trust::Opened::allowed)
    else {
        log::debug(&format!(
            "{} is not allowed as it is now: not built",
            manifest.display()
        ));
        return;
    };
    for path in scan.watched() {
        if path.is_dir() {
            interest.whole.insert(path);
        } else {
            interest.files.insert(path);
        }
    }
    // What the keys follow outside the project: the Guix the user runs,
    // the interpreter and uv as PATH finds them, through every link.
    let mut followed = Vec::new();
    let mut programs = vec!["uv".to_string()];
    if !project.manifest.guix.packages.is_empty() && project.manifest.guix.channels.is_none() {
        followed.extend(guix::followed(&ctx, user_path));
        programs.extend(ctx.guix_command().first().cloned());
    }
    let declared = &project.manifest.python.interpreter;
    programs.push(declared.clone());
    followed.extend(interpreter::locate(declared, user_path, &project.root).ok());
    followed.extend(crate::fsutil::find_program(
        "uv".as_ref(),
        user_path,
        &project.root,
    ));
    for start in followed {
        chain(&start, interest);
    }
    // A new interpreter, uv or guix earlier on PATH is found instead.
    if let Some(path) = user_path {
        for dir in std::env::split_paths(path).filter(|d| d.is_absolute()) {
            for program in programs.iter().filter(|p| !p.contains('/')) {
                interest.names.insert(dir.join(program));
            }
        }
    }
    match materialise::materialise(&ctx, &project, &scan, user_path, Mode::Look) {
        Ok(built) => {
            if let Some(missing) = missing(&ctx, &built) {
                build(&ctx, &project, &missing);
            }
        }
        Err(e) => log::warn(&format!("{}: {e}", manifest.display())),
    }
}

/// What is not built yet: the profile first, as a build goes. A build
/// that failed is not tried again by itself (its log keeps what went
/// wrong): the user's `reload` clears the record, and then it is.
fn missing(ctx: &Context, built: &Materialised) -> Option<PathBuf> {
    let (bucket, key, unbuilt) =
        if let Some(p) = built.profile.as_ref().filter(|p| p.store_path.is_none()) {
            (Bucket::Profiles, &p.key, p.path.clone())
        } else {
            let p = built.prefix.as_ref().filter(|p| p.built.is_none())?;
            (Bucket::Prefixes, &p.key, p.path.clone())
        };
    if KeyBuild::new(&ctx.cache, bucket, key)
        .failed_before()
        .is_some()
    {
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

/// Each link from `start` to what it resolves to, by name (a link swapped,
/// as `guix pull` swaps its profile link, changes where the chain leads),
/// and what it resolves to by content too. A pyenv shim adds the versions
/// it picks from and the global version file's directory.
fn chain(start: &Path, interest: &mut Interest) {
    let mut here = start.to_path_buf();
    for _ in 0..40 {
        let Some(parent) = here.parent() else { break };
        // Store items never change: a new one comes with a new link.
        if parent.starts_with("/gnu/store") {
            return;
        }
        if parent.file_name().is_some_and(|n| n == "shims")
            && let Some(root) = parent.parent()
        {
            interest.whole.insert(root.to_path_buf());
            interest.whole.insert(root.join("versions"));
        }
        match std::fs::read_link(&here) {
            Ok(target) => {
                interest.names.insert(here.clone());
                here = parent.join(target);
            }
            Err(_) => break,
        }
    }
    interest.files.insert(here);
}

/// `dir`, or its nearest existing ancestor: a directory made later (the
/// first `guix pull`) shows up as a change there.
fn existing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.is_dir()).map(Path::to_path_buf)
}
