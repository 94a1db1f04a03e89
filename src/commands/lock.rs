use std::path::Path;

use anyhow::{Context as _, bail};

use crate::context::Context;
use crate::guix::{self, Profile};
use crate::manifest::Project;
use crate::pip::Scan;
use crate::pip::lock::{self, LockError, Resolver, Wanted};
use crate::pip::{Installer, PipMode};
use crate::rewrite::{self, Change, Edit};
use crate::{interpreter, log};

/// Lock the project's pip packages: resolve them once, into pylock.toml
///
/// Resolves what [pip] asks for, for the project's interpreter (leaving
/// out what its Guix profile has), and writes every file to install, with
/// its sha256, into `pylock.toml` beside the manifest (PEP 751): by uv when
/// the project's installer is uv or uv is on your PATH, else by the
/// interpreter's pip. The manifest then names it ([pip] lock), and builds
/// install exactly those files, each checked against its hash, resolving
/// nothing. A local project installed editable (`-e .`) is locked as an
/// editable directory: its dependencies by hash, itself installed
/// editable, with no resolution, after them. Versions already locked are
/// kept while they fit. A manifest allowed before is allowed after.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
    /// Resolve every package afresh, to the newest versions that fit
    #[arg(long)]
    upgrade: bool,
    /// Resolve NAME afresh, keeping the others as locked
    #[arg(long, value_name = "NAME")]
    upgrade_package: Vec<String>,
    /// Exit 1, saying why, if the lock is missing, stale or edited; change nothing
    ///
    /// Checks three things, resolving and fetching nothing. The manifest
    /// names a lock ([pip] lock) that reads as one. The inputs digest the
    /// lock records ([tool.pyenv-guix] inputs) is the one made now from
    /// the requirements and constraints files (by content, followed), the
    /// [pip] packages, editable paths and options (a find-links directory
    /// or local index by where it is, not by the files in it), each
    /// editable project's pyproject.toml, setup.cfg and setup.py (by
    /// content: its dependencies are there; its source is live), the
    /// interpreter's identity, the pip mode, system-site-packages and the
    /// Guix profile's key. And its packages (names, versions, markers,
    /// files by name and sha256) are the ones 'pyenv-guix lock' wrote
    /// ([tool.pyenv-guix] packages). The files themselves are not hashed:
    /// each build checks every file against the lock's sha256. The
    /// recorded digests tell a lock edited by mistake (a merge, a line
    /// dropped), not one forged on purpose: trust, which covers the lock's
    /// bytes, is for that.
    #[arg(long, conflicts_with_all = ["upgrade", "upgrade_package"])]
    check: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, scan) = args.project.load_allowed(&ctx)?;
    let asked = Asked {
        upgrade: args.upgrade,
        upgrade_package: &args.upgrade_package,
        check: args.check,
    };
    lock_project(&ctx, &project, &scan, &asked)
}

/// What `lock` is asked to do.
pub(super) struct Asked<'a> {
    pub upgrade: bool,
    pub upgrade_package: &'a [String],
    pub check: bool,
}

/// Lock `project`, whose inputs are `scan` (read as trust read them, or,
/// for `init --lock`, as the manifest just written names them).
pub(super) fn lock_project(
    ctx: &Context,
    project: &Project,
    scan: &Scan,
    args: &Asked,
) -> anyhow::Result<i32> {
    let pip = &project.manifest.pip;
    if pip.is_uv_project() {
        return uv_lock(ctx, project, args);
    }
    let asks = !pip.packages.is_empty() || !pip.requirements.is_empty() || !pip.editable.is_empty();
    if !asks {
        bail!(
            "{} asks pip for nothing ([pip] packages, requirements): there is nothing to lock",
            project.manifest_path.display(),
        );
    }
    let user_path = crate::activation::user_path(ctx);
    let user_path = user_path.as_deref();
    let profile = match project.manifest.guix.packages.is_empty() {
        true => None,
        false => Some(guix::profile(ctx, project, scan, user_path, true, false)?),
    };
    let python = match profile.as_ref().and_then(Profile::python) {
        Some(p) => p,
        None => interpreter::locate(
            &project.manifest.python.interpreter,
            user_path,
            &project.root,
        )?,
    };
    let facts = interpreter::facts(ctx, &python, &project.root, user_path)?;
    let digest = lock::inputs_digest(
        scan,
        &project.root,
        pip,
        &facts,
        profile.as_ref().map(|p| p.key.as_str()),
    )
    .with_context(|| format!("{}: an input cannot be read", project.root.display()))?;
    if args.check {
        return check(project, scan, &digest);
    }
    if let Some(lock) = &scan.lock {
        not_locked(lock, args.upgrade_package)?;
    }
    let name = pip
        .lock
        .as_ref()
        .map(|l| l.get_ref().clone())
        .unwrap_or_else(|| lock::DEFAULT_NAME.to_string());
    let target = project.root.join(&name);
    crate::fsutil::check_inside(&project.root, &target)?;
    if pip.lock.is_none() && !owned_lock_file(&target)? {
        bail!(
            "refusing to lock into {}: it is not a lock file (PEP 751); name another in [pip].lock, or remove it",
            target.display()
        );
    }
    // A Guix profile's packages are seen only by pip, as the build sees them.
    let see_installed = profile.is_some() && pip.mode == PipMode::Prefix;
    let uv = match (see_installed, pip.installer) {
        (true, _) | (_, Installer::Pip) => None,
        (false, installer) => match crate::pip::install::uv::find(ctx, user_path, &project.root) {
            Ok(uv) => Some(uv),
            Err(e) if installer == Installer::Uv => return Err(e.needed_by(pip).into()),
            Err(_) => None,
        },
    };
    let by = match &uv {
        Some(uv) => Resolver::Uv(&uv.path),
        None => Resolver::Pip,
    };
    let guix_env = profile
        .as_ref()
        .map(Profile::python_env)
        .unwrap_or_default();
    let env = ctx.build_env(user_path, &guix_env);
    let prefer = kept(scan, args);
    let mut wanted = Wanted {
        facts: &facts,
        env: &env,
        root: &project.root,
        lock_dir: target.parent().unwrap_or(&project.root),
        see_installed,
        prefer: &prefer,
    };
    log::info(&format!(
        "resolving {}'s pip packages with {}",
        project.root.display(),
        if uv.is_some() { "uv" } else { "pip" }
    ));
    let text = match lock::resolve(scan, by, &wanted) {
        Err(LockError::Resolver { .. }) if !prefer.is_empty() => {
            log::info("the locked versions no longer fit what is asked: resolving afresh");
            wanted.prefer = &[];
            let by = match &uv {
                Some(uv) => Resolver::Uv(&uv.path),
                None => Resolver::Pip,
            };
            lock::resolve(scan, by, &wanted)?
        }
        other => other?,
    };
    let written = lock::parse(&text, &project.root, wanted.lock_dir)
        .map_err(|e| anyhow::anyhow!("the resolver's lock cannot be installed: {e}"))?;
    let text = lock::with_our_table(&text, &digest, &written.packages_digest())
        .map_err(|e| anyhow::anyhow!("the resolver's lock cannot be read: {e}"))?;
    let mut edit = Edit::open(project)?;
    edit.set_pip_lock(&name)?;
    let changes = [
        Change::new(target, text.into_bytes()),
        Change::new(project.manifest_path.clone(), edit.to_bytes()),
    ];
    rewrite::write(ctx, project, &changes)?;
    log::info(&format!(
        "locked {} into {name}{}: builds install exactly these",
        packages(written.packages.len()),
        editable_said(&written)
    ));
    if let Some(before) = &scan.lock {
        log::info(&moved(before, &written));
    }
    Ok(0)
}

/// `--upgrade-package NAME` of a package the lock does not hold (a typo,
/// say) is refused: nothing would move.
fn not_locked(lock: &lock::Lock, upgrade: &[String]) -> anyhow::Result<()> {
    use crate::requirement::normal_name;
    let locked: std::collections::BTreeSet<String> = (lock.packages.iter().map(|p| &p.name))
        .chain(lock.editable.iter().map(|e| &e.name))
        .map(|n| normal_name(n))
        .collect();
    if let Some(name) = upgrade.iter().find(|n| !locked.contains(&normal_name(n))) {
        let names: Vec<&str> = locked.iter().map(String::as_str).collect();
        bail!(
            "--upgrade-package {name}: the lock holds no such package (it holds {})",
            names.join(", ")
        );
    }
    Ok(())
}

/// What changed between two locks, by package: `alpha 1.0 -> 2.0`, added
/// and removed ones, so that an upgrade says what it did.
fn moved(before: &lock::Lock, after: &lock::Lock) -> String {
    use std::collections::{BTreeMap, BTreeSet};
    let versions = |l: &lock::Lock| {
        let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &l.packages {
            by.entry(crate::requirement::normal_name(&p.name))
                .or_default()
                .insert(p.version.clone());
        }
        by.into_iter()
            .map(|(n, v)| (n, v.into_iter().collect::<Vec<_>>().join(", ")))
            .collect::<BTreeMap<_, _>>()
    };
    let (was, now) = (versions(before), versions(after));
    let mut said = Vec::new();
    for (name, v) in &now {
        match was.get(name) {
            None => said.push(format!("{name} {v} (new)")),
            Some(old) if old != v => said.push(format!("{name} {old} -> {v}")),
            Some(_) => {}
        }
    }
    for (name, v) in &was {
        if !now.contains_key(name) {
            said.push(format!("{name} {v} (gone)"));
        }
    }
    match said.is_empty() {
        true => "no package changed version".into(),
        false => format!("changed: {}", said.join("; ")),
    }
}

/// A uv project's lock is its `uv.lock`: `uv lock` (with `--check`,
/// `--upgrade`, `--upgrade-package`) does the work, as the user would run
/// it (trust covers the project's `uv.toml`, which it reads). A lock it
/// changes stays allowed, as any lock `lock` writes: the user asked for
/// exactly this change.
fn uv_lock(ctx: &Context, project: &Project, args: &Asked) -> anyhow::Result<i32> {
    let user_path = crate::activation::user_path(ctx);
    let uv = crate::pip::install::uv::find(ctx, user_path.as_deref(), &project.root)
        .map_err(|e| e.needed_by(&project.manifest.pip))?;
    let path =
        crate::pip::uv_lock_for(&project.root).unwrap_or_else(|| project.root.join("uv.lock"));
    // uv writes through a link; the lock would then change where no one
    // looks, and could not be put back.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: uv would write through it; make it a file",
            path.display()
        );
    }
    // Read as the scan reads it: a regular file, no larger than a lock.
    let read = |path: &Path| crate::fsutil::read_limited(path, lock::LOCK_LIMIT);
    let before = read(&path).ok();
    let locked = crate::pip::uv_locked_names(before.as_deref().unwrap_or_default());
    if let Some(name) = (args.upgrade_package.iter())
        .find(|n| !locked.contains(&crate::requirement::normal_name(n)))
    {
        bail!(
            "--upgrade-package {name}: {} holds no such package",
            path.display()
        );
    }
    // As the user would run it, but without what any project set (a
    // project left, or the one this is run from inside).
    let mut cmd = crate::pip::uv_lock_command(ctx, &uv.path, &project.root, user_path.as_deref());
    if args.check {
        cmd.arg("--check");
    }
    if args.upgrade {
        cmd.arg("--upgrade");
    }
    for name in args.upgrade_package {
        cmd.arg("--upgrade-package").arg(name);
    }
    log::info(&format!(
        "{} is a uv project: running {}",
        project.root.display(),
        crate::pip::run::words(&cmd)
    ));
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", uv.path.display()))?;
    if !status.success() {
        return Ok(status.code().unwrap_or(1).max(1));
    }
    if args.check {
        log::info(&format!("{} is up to date", path.display()));
        return Ok(0);
    }
    let after = read(&path).with_context(|| format!("{}", path.display()))?;
    if before.as_deref() == Some(&after[..]) {
        log::info(&format!("{} is as it was", path.display()));
        return Ok(0);
    }
    if !path.starts_with(&project.root) {
        // A workspace's lock, above the project: others' too, to review.
        log::notice(&format!(
            "{} changed: review it, then run 'pyenv-guix allow'",
            path.display()
        ));
        return Ok(0);
    }
    // Put back what trust knows, and write uv's lock as the change asked
    // for, so that an allowed project stays allowed.
    if let Some(before) = &before {
        crate::fsutil::write_in_project(&project.root, &path, before)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    rewrite::write(ctx, project, &[Change::new(path, after)])?;
    Ok(0)
}

/// `--check`: 0 when the lock is there and made from the inputs as they
/// are, else 1 and why.
fn check(project: &Project, scan: &Scan, now: &lock::Inputs) -> anyhow::Result<i32> {
    let Some(name) = &project.manifest.pip.lock else {
        log::error(&format!(
            "no lock: {} names none ([pip] lock); run 'pyenv-guix lock' to write one",
            project.manifest_path.display()
        ));
        return Ok(1);
    };
    let path = project.root.join(name.get_ref());
    let Some(lock) = &scan.lock else {
        // Trust read it; a lock it could not read blocks the project first.
        log::error(&format!("no lock: {} cannot be read", path.display()));
        return Ok(1);
    };
    if lock.inputs.as_deref() != Some(now.whole.as_str()) {
        log::error(&format!(
            "{} is stale: {}; run 'pyenv-guix lock' to renew it",
            path.display(),
            lock::stale_because(lock, now)
        ));
        return Ok(1);
    }
    if lock.packages_written.as_deref() != Some(lock.packages_digest().as_str()) {
        let why = match lock.packages_written {
            Some(_) => "its packages were edited since 'pyenv-guix lock' wrote them",
            None => "it has no record of the packages 'pyenv-guix lock' wrote",
        };
        log::error(&format!(
            "{}: {why}; run 'pyenv-guix lock' to write it again",
            path.display()
        ));
        return Ok(1);
    }
    log::info(&format!(
        "{} is up to date ({}{})",
        path.display(),
        packages(lock.packages.len()),
        editable_said(lock)
    ));
    Ok(0)
}

fn packages(n: usize) -> String {
    match n {
        1 => "1 package".into(),
        n => format!("{n} packages"),
    }
}

/// `, and NAME editable` for the local projects a lock installs editable.
fn editable_said(lock: &lock::Lock) -> String {
    let names: Vec<&str> = lock.editable.iter().map(|e| e.name.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        names => format!(", and {} editable", names.join(", ")),
    }
}

/// The versions the lock has now, to keep where they still fit: all but
/// those to upgrade.
fn kept(scan: &Scan, args: &Asked) -> Vec<String> {
    let Some(lock) = scan.lock.as_ref().filter(|_| !args.upgrade) else {
        return Vec::new();
    };
    let upgrade: Vec<String> = args
        .upgrade_package
        .iter()
        .map(|n| crate::requirement::normal_name(n))
        .collect();
    lock.packages
        .iter()
        .filter(|p| !upgrade.contains(&crate::requirement::normal_name(&p.name)))
        .map(|p| match &p.marker {
            Some(m) => format!("{}=={} ; {m}", p.name, p.version),
            None => format!("{}=={}", p.name, p.version),
        })
        .collect()
}

/// Whether `lock` may write `path`: absent, or a PEP 751 lock already.
fn owned_lock_file(path: &Path) -> anyhow::Result<bool> {
    let bytes = match crate::fsutil::read_limited(path, lock::LOCK_LIMIT) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let table = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(t).ok());
    Ok(table.is_some_and(|t| t.contains_key("lock-version")))
}
