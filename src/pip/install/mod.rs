//! Which program installs a prefix's packages: pip, or uv when the user has
//! it and it can do what pip would. The choice is part of the prefix's key,
//! uv by the bytes of its binary. Each installer is one file here with one
//! `Tool`: its key line and its command lines; `choose` picks one.

mod lacking;
pub mod pip;
pub mod uv;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::run::Failure;
use super::scan::Scan;
use crate::context::Context;
use crate::interpreter::Facts;
use crate::pip::{Installer, Pip, PipMode};

/// uv, which the manifest asks for (`needed_by` says where), cannot be
/// used.
#[derive(Debug, thiserror::Error)]
#[error("{needed_by}, but {source}")]
pub struct InstallerError {
    pub needed_by: &'static str,
    pub source: UvError,
}

/// Why the uv on the user's PATH cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UvError {
    #[error("there is no uv on your PATH")]
    NotFound,
    #[error(
        "{} is a script and pyenv-guix cannot tell which uv it runs: put uv itself on your PATH",
        .0.display()
    )]
    Script(PathBuf),
    #[error("the pyenv shim {} runs no uv here: {source}", .shim.display())]
    Pyenv {
        shim: PathBuf,
        source: crate::pyenv::PyenvError,
    },
    #[error("{} cannot be read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl UvError {
    /// As said for a project whose manifest asks for uv in `pip`.
    pub fn needed_by(self, pip: &Pip) -> InstallerError {
        InstallerError {
            needed_by: match pip.is_uv_project() {
                true => "[pip] uv-project = true: uv syncs the project's uv.lock",
                false => "[pip] installer = \"uv\"",
            },
            source: self,
        }
    }
}

/// A program that installs a prefix's packages.
pub trait Tool: std::fmt::Debug {
    /// As messages name it.
    fn name(&self) -> &'static str;
    /// The prefix key's line for the installer: what makes its work differ.
    fn key_line(&self) -> String;
    /// Install `job`'s packages into `job.path`.
    fn install(&self, job: Job) -> Result<(), Failure>;
    /// Whether its hash check covers the bytes it installs (uv's does),
    /// not only a file it then opens again (pip's): if not, a locked
    /// build gives it copies (see `lock::stage`).
    fn hashes_what_it_installs(&self) -> bool {
        false
    }
}

/// One build's work for an installer.
pub struct Job<'a> {
    pub facts: &'a Facts,
    pub pip: &'a Pip,
    /// The Guix profile's store path, when there is one.
    pub profile: Option<&'a Path>,
    /// The project's name: a venv's prompt.
    pub prompt: &'a str,
    /// Whether anything is installed editable.
    pub editable: bool,
    /// The new generation to install into.
    pub path: &'a Path,
    /// Where files an installer linked from its cache get their copy
    /// (`pip::pool`).
    pub pool: &'a Path,
    /// Where the installer runs (see `prefix::build_generation`).
    pub workdir: &'a Path,
    /// All the environment the installer sees.
    pub env: &'a [(OsString, OsString)],
    /// pip's options and requirement arguments, naming the staged copies.
    pub options: Vec<OsString>,
    pub requirements: Vec<OsString>,
    /// A lock's local projects: the arguments of a second install, with
    /// no resolution, after the first (`--no-deps … -e DIR`); empty when
    /// there are none.
    pub editable_after: Vec<OsString>,
}

#[derive(Debug)]
pub struct Choice {
    pub tool: Box<dyn Tool>,
    /// Why pip installs although uv was asked for or is there.
    pub instead: Option<String>,
}

impl Choice {
    pub fn pip(instead: Option<String>) -> Choice {
        Choice {
            tool: Box::new(pip::Pip),
            instead,
        }
    }

    /// The prefix key's line for the installer.
    pub fn key_line(&self) -> String {
        self.tool.key_line()
    }

    pub fn name(&self) -> &'static str {
        self.tool.name()
    }
}

/// Decide who installs `pip`'s packages for a project at `root`, with the
/// PATH the user had before any project (`user_path`).
pub fn choose(
    ctx: &Context,
    pip: &Pip,
    scan: &Scan,
    user_path: Option<&OsStr>,
    root: &Path,
) -> Result<Choice, InstallerError> {
    if pip.installer == Installer::Pip {
        return Ok(Choice::pip(None));
    }
    let uv = match uv::find(ctx, user_path, root) {
        Ok(uv) => uv,
        // Only uv syncs a uv project.
        Err(e) if pip.installer == Installer::Uv || pip.is_uv_project() => {
            return Err(e.needed_by(pip));
        }
        Err(e) => {
            crate::log::debug(&format!("pip installs: {e}"));
            return Ok(Choice::pip(None));
        }
    };
    let cannot = if pip.mode == PipMode::User {
        Some("uv does not install in user mode (pip's --user)".to_string())
    } else {
        scan.uv_cannot()
    };
    Ok(match cannot {
        Some(why) => Choice::pip(Some(why)),
        None => Choice {
            tool: Box::new(uv),
            instead: None,
        },
    })
}

/// How to start the interpreter so that no directory of the project's
/// comes first on `sys.path`, whatever the working directory: `-P` where
/// Python has it (3.11), else `-I`, unless the build relies on a variable
/// `-I` ignores (`PYTHONUSERBASE` for user mode, `PYTHONPATH` for a
/// profile's packages); builds run in a directory of ours either way.
pub(super) fn isolating(facts: &Facts, env: &[(OsString, OsString)]) -> Option<&'static str> {
    let (major, minor) = facts.version_short.split_once('.')?;
    let version: (u32, u32) = (major.parse().ok()?, minor.parse().ok()?);
    if version >= (3, 11) {
        return Some("-P");
    }
    let needs_env = env
        .iter()
        .any(|(k, _)| k == "PYTHONUSERBASE" || k == "PYTHONPATH");
    (version >= (3, 4) && !needs_env).then_some("-I")
}

/// A prefix is reached through PYTHONPATH, where `.pth` files are not run:
/// setuptools' editable installs of a flat layout rely on an import hook a
/// `.pth` installs. Its compat mode writes a plain path instead (other
/// backends write plain paths already, and ignore the setting).
pub(super) fn editable_on_pythonpath(editable: bool) -> Vec<OsString> {
    if editable {
        vec!["--config-settings".into(), "editable_mode=compat".into()]
    } else {
        Vec::new()
    }
}
