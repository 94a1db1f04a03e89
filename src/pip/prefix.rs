//! Hash-keyed prefixes for the pip fallbacks, in the cache: keyed by
//! everything that decides what pip puts there, built complete or not at
//! all, once, under the key's lock; each build a new generation, switched
//! to in one rename.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Installer;
use super::error::{BuildError, io};
use super::install::Job;
use super::key::{Key, PrefixInputs};
use super::layout::{Layout, discover, incomplete, unreadable_record};
use super::run::Failure;
use crate::buildlock::{KeyBuild, Missed};
use crate::cache::{Bucket, Cache};
use crate::context::Context;
use crate::{fsutil, log};

/// Written last into a finished prefix: its presence means "complete".
const MARKER: &str = ".pyenv-guix-prefix.json";

pub fn path_for(cache: &Cache, key: &str) -> PathBuf {
    cache.entry(Bucket::Prefixes, key)
}

/// The current generation of a complete prefix and its layout, from the
/// prefix's link; `None` if it is absent, unfinished, or its layout was
/// found by earlier rules (built again, then).
pub fn built(link: &Path) -> Option<(PathBuf, Layout)> {
    let generation = link.parent()?.join(std::fs::read_link(link).ok()?);
    let bytes = std::fs::read(generation.join(MARKER)).ok()?;
    let layout: Layout = serde_json::from_slice(&bytes).ok()?;
    (layout.format == super::layout::FORMAT).then_some((generation, layout))
}

/// Build the prefix unless it is built (or always, with `force`), once
/// under the key's lock, and return its current generation and layout.
/// Each build goes into a new generation directory,
/// `KEY.gN`; the link `KEY` is switched to it only once pip succeeded and
/// the marker is written, in one rename: a prefix is complete or absent,
/// and a rebuild replaces it atomically. An unfinished generation (Ctrl-C,
/// SIGKILL, full disk) is removed before the next build.
pub fn ensure(
    ctx: &Context,
    inputs: &PrefixInputs,
    key: &Key,
    env: &[(OsString, OsString)],
    force: bool,
) -> Result<(PathBuf, Layout), BuildError> {
    let link = path_for(&ctx.cache, &key.hash);
    let slot = KeyBuild::new(&ctx.cache, Bucket::Prefixes, &key.hash);
    let key_hash = || key.hash.clone();
    match slot.once(
        &format!(
            "{} {}",
            match inputs.pip.mode {
                crate::pip::PipMode::Prefix => "prefix",
                crate::pip::PipMode::Venv => "venv",
                crate::pip::PipMode::User => "user site",
            },
            key.hash
        ),
        ctx.how(force),
        || built(&link),
        || build_generation(ctx, inputs, key, &link, env, force),
    ) {
        Ok(done) => Ok(done),
        Err(Missed::Pending(pending)) => Err(BuildError::Pending(pending)),
        Err(Missed::FailedBefore(message)) => Err(BuildError::FailedBefore {
            key: key_hash(),
            message,
        }),
        Err(Missed::Failed(e)) => Err(e),
        Err(Missed::Lock(e)) => Err(io(format!("cannot lock prefix {}", key.hash))(e)),
    }
}

/// One build, under the key's lock, into a fresh generation that `link`
/// is switched to when it is complete. `Err` carries what the failure
/// record keeps, if the failure is the key's.
fn build_generation(
    ctx: &Context,
    inputs: &PrefixInputs,
    key: &Key,
    link: &Path,
    env: &[(OsString, OsString)],
    force: bool,
) -> Result<(PathBuf, Layout), (BuildError, Option<String>)> {
    let io_err = |what: String| move |e| (io(what)(e), None);
    let hash = &key.hash;
    let generation = fresh_generation(link).map_err(io_err(format!(
        "cannot clear old builds of {}",
        link.display()
    )))?;
    if let Some(why) = &inputs.installer.instead {
        let said = format!("{why}: pip installs prefix {hash}");
        match inputs.pip.installer {
            Installer::Uv => log::warn(&said),
            _ => log::info(&said),
        }
    }
    log::info(&format!(
        "building prefix {} ({} mode, {})",
        link.display(),
        inputs.pip.mode,
        inputs.installer.name()
    ));
    let plan = super::replay::plan(ctx, inputs, key);
    let laid = !force && plan.as_ref().is_some_and(|plan| lay_out(plan, &generation));
    if !laid {
        install(ctx, inputs, env, hash, &generation, plan.as_ref())?;
    }
    let mut layout = discover(&generation, inputs.pip.mode, &key.text);
    // A layout that lacks what its RECORDs list (a record cut short) is
    // not kept: uv builds instead.
    if laid && (unreadable_record(&layout).is_some() || incomplete(&generation, &layout).is_some())
    {
        log::debug("uv installs instead: the layout lacks what its RECORDs list");
        let _ = std::fs::remove_dir_all(&generation);
        install(ctx, inputs, env, hash, &generation, plan.as_ref())?;
        layout = discover(&generation, inputs.pip.mode, &key.text);
    } else if laid {
        log::info("every locked package laid out from the pool, as uv installed it before");
    }
    if let Some(record) = unreadable_record(&layout) {
        let _ = std::fs::remove_dir_all(&generation);
        let e = BuildError::UnreadableRecord {
            key: hash.to_string(),
            record,
        };
        let said = e.to_string();
        return Err((e, Some(said)));
    }
    if let Some(why) = incomplete(&generation, &layout) {
        let _ = std::fs::remove_dir_all(&generation);
        return Err((
            BuildError::LostFiles {
                key: hash.to_string(),
                why,
            },
            None,
        ));
    }
    if let Some(build_profile) = inputs.library_profile {
        let mut dirs = layout.site_dirs.clone();
        dirs.extend(layout.scripts_dir.clone());
        let request = crate::libraries::Request {
            facts: inputs.facts,
            generation: &generation,
            dirs: &dirs,
            profile: inputs.profile,
            missing: inputs.pip.missing_libraries,
        };
        match crate::libraries::link(&request, build_profile) {
            Ok(linked) => layout.libraries = linked,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&generation);
                let record = e.to_string();
                return Err((BuildError::Libraries(e), Some(record)));
            }
        }
    }
    let bytes = serde_json::to_vec_pretty(&layout).unwrap_or_default();
    // Unsynced: the installer synced none of the files the marker
    // describes, so a synced marker would promise what the disk may not
    // hold; an empty one after a power cut is unreadable, and the prefix
    // is built again.
    fsutil::write_atomic_unsynced(&generation.join(MARKER), &bytes)
        .and_then(|()| switch(link, &generation))
        .map_err(io_err(format!("cannot finish {}", generation.display())))?;
    Ok((generation, layout))
}

/// Every locked package laid out into `generation` as uv installed it
/// before (`replay`); `false`, with nothing left there, if not.
fn lay_out(plan: &super::replay::Plan, generation: &Path) -> bool {
    match plan.lay_out(generation) {
        Ok(laid) => laid,
        Err(e) => {
            log::debug(&format!("uv installs instead: {e}"));
            let _ = std::fs::remove_dir_all(generation);
            false
        }
    }
}

/// The installer's run into `generation`, from private copies of its
/// inputs; what it installed is kept for the next build to lay out, when
/// `plan` says so.
fn install(
    ctx: &Context,
    inputs: &PrefixInputs,
    env: &[(OsString, OsString)],
    hash: &str,
    generation: &Path,
    plan: Option<&super::replay::Plan>,
) -> Result<(), (BuildError, Option<String>)> {
    let io_err = |what: String| move |e| (io(what)(e), None);
    let (stage, _private) = stage_dir(&ctx.cache, hash)
        .map_err(io_err("cannot make a staging directory".to_string()))?;
    let _ = std::fs::remove_dir_all(&stage);
    // The installer runs in the stage, a directory of ours holding only
    // the copies, where no module of the project's can stand in for
    // pip's or venv's. A prefix of the project's own (an editable
    // install, a source tree: the project's code runs in its build
    // anyway) is built in the project, where pip reads those paths from.
    // A locked build installs files only, so it never needs the project.
    let workdir = if inputs.scan.per_project.is_empty() || inputs.scan.lock.is_some() {
        stage.as_path()
    } else {
        inputs.root
    };
    let staged = match (&inputs.scan.lock, &inputs.pip.lock) {
        (Some(lock), Some(name)) => inputs.scan.stage_locked(
            lock,
            &inputs.root.join(name.get_ref()),
            &stage,
            !inputs.installer.tool.hashes_what_it_installs(),
        ),
        _ => (inputs.scan.stage(&stage)).map(|(o, r)| (o, r, Vec::new())),
    };
    let _naming = super::run::naming(inputs.scan.copies(&stage, workdir));
    let result = match staged {
        Ok((options, requirements, editable_after)) => inputs.installer.tool.install(Job {
            facts: inputs.facts,
            pip: inputs.pip,
            profile: inputs.profile,
            prompt: inputs.prompt,
            editable: inputs.scan.lock.is_none() && inputs.scan.has_editable(),
            path: generation,
            pool: &ctx.cache.bucket(Bucket::Pool),
            workdir,
            env,
            options,
            requirements,
            editable_after,
        }),
        Err(e) => Err(Failure::Before(e.into())),
    };
    // uv read a uv project's files in place: keep the venv only if they
    // still hold the bytes the key was made from.
    let result = result
        .and_then(|()| (inputs.scan.uv_project_unchanged()).map_err(|e| Failure::Before(e.into())));
    let _ = std::fs::remove_dir_all(&stage);
    let _ = std::fs::remove_file(generation.with_extension("lacking.txt"));
    // Ctrl-C during the build: the user asked to stop, even if the
    // installer ended well (it may have been past its last file).
    let result = match result {
        Ok(()) if crate::buildlock::interrupted() => Err(Failure::Before(BuildError::Interrupted)),
        other => other,
    };
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(generation);
        return Err(failed(inputs.installer.name(), hash, e));
    }
    if let Some(plan) = plan {
        plan.keep(generation, &stage);
    }
    Ok(())
}

/// Where pip reads private copies of exactly the bytes the key was made
/// from, and the temporary directory holding it, if there is one to drop
/// after the build.
fn stage_dir(cache: &Cache, hash: &str) -> std::io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    let stage = cache.stage(Bucket::Prefixes, hash);
    // pip cannot name a file under a path that is not UTF-8 (it makes
    // URLs of them): the copies then go to a private temporary
    // directory, made for this build alone.
    if std::str::from_utf8(stage.as_os_str().as_encoded_bytes()).is_ok() {
        return Ok((stage, None));
    }
    let private = tempfile::Builder::new()
        .prefix("pyenv-guix-stage.")
        .tempdir()?;
    Ok((private.path().join(hash), Some(private)))
}

/// The error of a failed build, and what its failure record keeps.
fn failed(installer: &'static str, hash: &str, e: Failure) -> (BuildError, Option<String>) {
    match e {
        Failure::Pip { status, tail } => (
            BuildError::Pip {
                installer,
                key: hash.to_string(),
                status,
                detail: if log::level() >= log::Level::Info {
                    "; its output is above".to_string()
                } else {
                    let lines: Vec<&str> = tail.lines().collect();
                    format!(":\n{}", lines[lines.len().saturating_sub(8)..].join("\n"))
                },
            },
            Some(tail),
        ),
        Failure::Before(err) => (err, None),
        Failure::Io(err) => {
            let record = err.to_string();
            (err, Some(record))
        }
    }
}

/// A new, empty generation path beside `link`, after removing the
/// generations the link does not point at (unfinished, or replaced).
fn fresh_generation(link: &Path) -> std::io::Result<PathBuf> {
    let current = std::fs::read_link(link).ok();
    // A prefix from before generations is a plain directory: replace it.
    if current.is_none() && link.is_dir() {
        std::fs::remove_dir_all(link)?;
    }
    let mut next = 1;
    for generation in generations(link) {
        let name = generation.file_name().map(PathBuf::from);
        if name == current {
            let n = generation_number(&generation).unwrap_or(0);
            next = next.max(n + 1);
            continue;
        }
        log::info(&format!(
            "removing the unfinished prefix {}",
            generation.display()
        ));
        std::fs::remove_dir_all(&generation)?;
    }
    Ok(link.with_extension(format!("g{next}")))
}

/// Every `KEY.gN` directory beside the link `KEY`.
pub fn generations(link: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(key)) = (link.parent(), link.file_name()) else {
        return Vec::new();
    };
    let key = key.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&key))
                .and_then(|rest| rest.strip_prefix(".g"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    out.sort();
    out
}

fn generation_number(path: &Path) -> Option<u64> {
    path.extension()?.to_str()?.strip_prefix('g')?.parse().ok()
}

/// Point `link` at `generation` in one rename.
fn switch(link: &Path, generation: &Path) -> std::io::Result<()> {
    let name = generation.file_name().unwrap_or_default();
    let tmp = link.with_extension(format!("link-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, link)
}
