//! uv as the installer: `uv pip install --prefix`, or `uv venv` and
//! `uv pip install` into it. uv is found on the user's PATH and keyed by
//! the bytes of its binary.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lacking::lacking;
use super::{Job, Tool, UvError, editable_on_pythonpath, isolating};
use crate::cache::Bucket;
use crate::context::Context;
use crate::fsutil::{self, hex};
use crate::pip::error::io;
use crate::pip::hash::{DIST_LIMIT, hash_file};
use crate::pip::run::{Failure, run};
use crate::pip::{BuildError, PipMode};
use crate::state::Stamp;

/// The uv binary, and the hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uv {
    pub path: PathBuf,
    pub id: String,
}

impl Tool for Uv {
    fn name(&self) -> &'static str {
        "uv"
    }

    fn key_line(&self) -> String {
        format!("installer uv {}", self.id)
    }

    fn hashes_what_it_installs(&self) -> bool {
        true
    }

    /// The same build as pip's, by uv: `uv pip install --prefix`, or `uv venv`
    /// (no pip inside, so no ensurepip) and `uv pip install` into it. Neither
    /// reads uv's configuration files: options go in [pip].options, as for pip.
    /// uv hard-links its cache's files (fast); each is then linked to the
    /// pool's read-only copy of its bytes instead, so that the prefix
    /// shares no file with uv's cache (see `pip::pool`).
    fn install(&self, job: Job) -> Result<(), Failure> {
        let (path, pool) = (job.path.to_path_buf(), job.pool.to_path_buf());
        self.install_linked(job)?;
        crate::pip::pool::adopt(&path, &pool).map_err(|e| {
            Failure::Io(io(format!(
                "cannot give uv's linked files in {} their copies in {}",
                path.display(),
                pool.display()
            ))(e))
        })
    }
}

impl Uv {
    fn install_linked(&self, job: Job) -> Result<(), Failure> {
        let Job {
            facts,
            pip,
            profile,
            prompt,
            editable,
            path,
            pool: _,
            workdir,
            env,
            options,
            requirements,
            editable_after,
        } = job;
        let uv = self.path.as_path();
        let python = facts.command().to_path_buf();
        let env = uv_env(env);
        let mut install: Vec<OsString> = vec!["pip".into(), "install".into(), "--no-config".into()];
        match pip.mode {
            PipMode::Prefix => {
                install.extend(["--python".into(), python.clone().into()]);
                install.extend(["--prefix".into(), path.into()]);
                install.extend(editable_on_pythonpath(editable));
            }
            PipMode::Venv => {
                let mut venv = Command::new(uv);
                venv.args(["venv", "--no-config", "--quiet"])
                    .arg(format!("--prompt={}", prompt))
                    .arg("--python")
                    .arg(&python);
                if pip.system_site_packages {
                    venv.arg("--system-site-packages");
                }
                venv.arg(path);
                run(venv.current_dir(workdir), &env)?;
                uv_pip(uv, path).map_err(|e| {
                    Failure::Io(io(format!("cannot write {}/bin/pip", path.display()))(e))
                })?;
                if pip.is_uv_project() {
                    return sync(uv, path, workdir, &env);
                }
                install.extend(["--python".into(), path.join("bin/python").into()]);
            }
            PipMode::User => {
                // `installer::choose` gives pip for user mode.
                return Err(Failure::Before(BuildError::UvUserMode));
            }
        }
        // A lock's local projects go in after, with the mode's own options.
        let mut then = install.clone();
        if !editable {
            then.extend(editable_on_pythonpath(pip.mode == PipMode::Prefix));
        }
        then.extend(editable_after.iter().cloned());
        install.extend(options.iter().cloned());
        let mut wanted = requirements;
        if pip.mode == PipMode::Prefix && profile.is_some() {
            // uv sees only the target's own site directory, never the Guix
            // profile's packages on GUIX_PYTHONPATH: pip, which sees them,
            // says what is missing, and uv installs exactly that. (A venv does
            // not see the profile's packages: it gets everything, as with pip.)
            let mut dry: Vec<OsString> = vec![
                "install".into(),
                "--disable-pip-version-check".into(),
                "--no-input".into(),
                "--prefix".into(),
                path.into(),
            ];
            dry.extend(options);
            let Some(missing) = lacking(
                (&python, isolating(facts, &env)),
                &dry,
                &wanted,
                path,
                workdir,
                &env,
            )?
            else {
                return editable_too(uv, &then, &editable_after, workdir, &env);
            };
            // A locked build's options (or the user's) may hold it
            // already, and uv, unlike pip, refuses it twice.
            if !install.iter().any(|a| a == "--no-deps") {
                install.push("--no-deps".into());
            }
            wanted = missing;
        }
        let mut cmd = Command::new(uv);
        cmd.args(&install).args(&wanted).current_dir(workdir);
        run(&mut cmd, &env)?;
        editable_too(uv, &then, &editable_after, workdir, &env)
    }
}

/// The environment every uv command of ours runs in: no user site, and
/// the CA the user gave pip as uv takes one (uv reads no pip
/// configuration), whether it builds or locks. uv clones its cache's
/// files (copy-on-write: free on btrfs and XFS, each file its own), or
/// where the filesystem cannot, hard-links them, and `install` then links
/// what is linked to the pool's copy instead; never symlinks, whatever the
/// user's UV_LINK_MODE.
pub fn uv_env(env: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
    let mut env = env.to_vec();
    env.retain(|(k, _)| k != "UV_LINK_MODE");
    env.push(("UV_LINK_MODE".into(), "clone".into()));
    env.push(("PYTHONNOUSERSITE".into(), "1".into()));
    if !env.iter().any(|(k, _)| k == "SSL_CERT_FILE")
        && let Some((_, cert)) = env.iter().find(|(k, _)| k == "PIP_CERT").cloned()
    {
        env.push(("SSL_CERT_FILE".into(), cert));
    }
    env
}

/// The second install of a locked build: its local projects, editable
/// (`then`), when it has any.
fn editable_too(
    uv: &Path,
    then: &[OsString],
    editable_after: &[OsString],
    workdir: &Path,
    env: &[(OsString, OsString)],
) -> Result<(), Failure> {
    if editable_after.is_empty() {
        return Ok(());
    }
    run(Command::new(uv).args(then).current_dir(workdir), env)
}

/// A uv project's venv: `uv sync --frozen` in the project (the workdir),
/// into the venv just made, exactly as `uv.lock` says (no resolution, no
/// change to the lock; the project itself installed unless it is virtual).
/// This is the venv `uv run` checks against the same lock inside the
/// project, so it finds it in sync and leaves it as it is. uv's own
/// configuration files are not read: what is installed is the lock's.
fn sync(
    uv: &Path,
    venv: &Path,
    workdir: &Path,
    env: &[(OsString, OsString)],
) -> Result<(), Failure> {
    let mut env = env.to_vec();
    env.push(("UV_PROJECT_ENVIRONMENT".into(), venv.into()));
    let mut cmd = Command::new(uv);
    cmd.args(["sync", "--frozen", "--no-config"])
        .arg("--python")
        .arg(venv.join("bin/python"))
        .current_dir(workdir);
    run(&mut cmd, &env)
}

/// A uv venv has no pip (uv seeds none, and fetching one would need the
/// network): its `pip` runs `uv pip` on the venv, the same uv that built
/// it. A change made with it is the venv's, outside the manifest, and it
/// says so. It costs one small file per build.
fn uv_pip(uv: &Path, venv: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let quote = |p: &Path| {
        let mut out = Vec::new();
        crate::shells::posix_quote(&mut out, p.as_os_str().as_bytes());
        out
    };
    let python = venv.join("bin/python");
    // `pip --version` (editors ask it) is uv's: `uv pip` takes no `--version`.
    let mut script = b"#!/bin/sh\n# pip for this venv, by the uv that built it.\ncase \"$1\" in\n  install|uninstall|sync) echo \"pyenv-guix: this changes the project's venv, outside its manifest; 'pyenv-guix rebuild' puts it back\" >&2 ;;\nesac\ncase \"$1\" in\n  -V|--version) printf 'pip for this venv is uv pip: '; exec ".to_vec();
    script.extend(quote(uv));
    script.extend_from_slice(b" --version ;;\n  ''|-*) exec ");
    script.extend(quote(uv));
    script.extend_from_slice(b" pip \"$@\" ;;\n  *) command=$1; shift; exec ");
    script.extend(quote(uv));
    script.extend_from_slice(b" pip \"$command\" --python ");
    script.extend(quote(&python));
    script.extend_from_slice(b" \"$@\" ;;\nesac\n");
    for name in ["pip", "pip3"] {
        let file = venv.join("bin").join(name);
        // Unsynced, as every file uv wrote beside it: a sync each cost
        // about 1 ms of a 50 ms build.
        fsutil::write_atomic_unsynced(&file, &script)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// uv on the user's PATH, as the binary it is: a pyenv shim is resolved
/// for the project's directory, as the shell would run it there (cached
/// while nothing pyenv reads changes, see `pyenv`).
pub fn find(ctx: &Context, user_path: Option<&OsStr>, root: &Path) -> Result<Uv, UvError> {
    let located =
        crate::fsutil::find_program(OsStr::new("uv"), user_path, root).ok_or(UvError::NotFound)?;
    let path = match crate::pyenv::Shim::at(&located) {
        Some(shim) => shim
            .which(&ctx.cache, root, &ctx.build_env(user_path, &[]))
            .map_err(|source| UvError::Pyenv {
                shim: located.clone(),
                source,
            })?,
        None => located.clone(),
    };
    if crate::fsutil::is_script(&path) {
        return Err(UvError::Script(located));
    }
    let id = binary_id(ctx, &path)?;
    Ok(Uv { path, id })
}

#[derive(Serialize, Deserialize)]
struct CachedId {
    stamp: Stamp,
    id: String,
}

/// The hash of the file at `path`, from the cache while the file's stamp
/// is unchanged: uv is tens of megabytes, read once per version.
fn binary_id(ctx: &Context, path: &Path) -> Result<String, UvError> {
    let cache_file = ctx.cache.entry(
        Bucket::Tools,
        hex(&Sha256::digest(path.as_os_str().as_bytes())),
    );
    let stamp = Stamp::of(path);
    if let Ok(bytes) = std::fs::read(&cache_file)
        && let Ok(c) = serde_json::from_slice::<CachedId>(&bytes)
        && c.stamp == stamp
    {
        return Ok(c.id);
    }
    let id = hash_file(path, DIST_LIMIT).map_err(|e| UvError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    // The file may have changed while it was read: cache only a stable answer.
    if Stamp::of(path) == stamp
        && let Ok(bytes) = serde_json::to_vec(&CachedId {
            stamp,
            id: id.clone(),
        })
    {
        let _ = crate::fsutil::write_atomic(&cache_file, &bytes);
    }
    Ok(id)
}
