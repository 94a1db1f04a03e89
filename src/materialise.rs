//! What a trusted project needs built before its environment exists: the
//! Guix profile, the interpreter's facts, the pip prefix. One more source of
//! environment changes for the engine.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::context::Context;
use crate::envdiff::Wanted;
use crate::guix::{self, GuixError, Profile};
use crate::inputs::Scan;
use crate::interpreter::{self, Facts, InterpreterError};
use crate::manifest::{PipMode, Project};
use crate::prefix::{self, BuildError, Inputs, Layout};

#[derive(Debug, thiserror::Error)]
pub enum MaterialiseError {
    #[error(transparent)]
    Interpreter(#[from] InterpreterError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Guix(#[from] GuixError),
    #[error("cannot read what pip would read: {0}")]
    Input(String),
}

/// Build what is missing, or only look (`status`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Build,
    Look,
}

#[derive(Debug, Default)]
pub struct Materialised {
    pub profile: Option<Profile>,
    pub facts: Option<Facts>,
    /// `python`, `python3` and `pip` for the declared interpreter, when
    /// neither a venv nor the Guix profile puts them on PATH.
    pub python_bin: Option<PathBuf>,
    pub prefix: Option<PrefixState>,
}

#[derive(Debug)]
pub struct PrefixState {
    pub key: String,
    pub path: PathBuf,
    pub inputs: String,
    /// `None` until built.
    pub layout: Option<Layout>,
}

pub fn has_pip(project: &Project) -> bool {
    let pip = &project.manifest.pip;
    !pip.packages.is_empty() || !pip.requirements.is_empty() || !pip.editable.is_empty()
}

/// `base_path` is the PATH the user had before any project changed it.
pub fn materialise(
    ctx: &Context,
    project: &Project,
    scan: &Scan,
    base_path: Option<&OsStr>,
    mode: Mode,
) -> Result<Materialised, MaterialiseError> {
    let cache = &ctx.cache_dir;
    let mut out = Materialised::default();
    if !project.manifest.guix.packages.is_empty() {
        out.profile = Some(guix::profile(ctx, project, base_path, mode == Mode::Build)?);
    }
    let declared = &project.manifest.python.interpreter;
    let profile_python = out.profile.as_ref().and_then(Profile::python);
    // Without pip fallbacks the interpreter matters only if the project
    // names one other than the user's own `python3`.
    if !has_pip(project) && (profile_python.is_some() || declared == "python3") {
        return Ok(out);
    }
    let python = match &profile_python {
        Some(p) => p.clone(),
        None => interpreter::locate(declared, base_path, &project.root)?,
    };
    let facts = interpreter::facts(ctx, &python, &project.root, base_path)?;
    let venv = has_pip(project) && project.manifest.pip.mode == PipMode::Venv;
    if profile_python.is_none() && !venv && mode == Mode::Build {
        out.python_bin = Some(interpreter::bin_dir(cache, &facts)?);
    }
    if !has_pip(project) {
        out.facts = Some(facts);
        return Ok(out);
    }
    let inputs = Inputs {
        facts: &facts,
        profile: out.profile.as_ref().and_then(|p| p.store_path.as_deref()),
        pip: &project.manifest.pip,
        scan,
        root: &project.root,
    };
    let key = inputs.key();
    let path = prefix::path_for(cache, &key);
    let layout = match mode {
        Mode::Look => prefix::built(&path),
        Mode::Build => {
            if let Some(problem) = scan.problem() {
                return Err(MaterialiseError::Input(problem));
            }
            let guix_env = out
                .profile
                .as_ref()
                .map(Profile::python_env)
                .unwrap_or_default();
            let env = ctx.build_env(base_path, &guix_env);
            Some(prefix::ensure(ctx, &inputs, &project.root, &env)?.1)
        }
    };
    out.prefix = Some(PrefixState {
        inputs: inputs.canonical(),
        key,
        path,
        layout,
    });
    out.facts = Some(facts);
    Ok(out)
}

impl Materialised {
    /// Which variable the interpreter searches: `GUIX_PYTHONPATH` when the
    /// profile's own search paths use it (a Guix Python 1.4 and later),
    /// else `PYTHONPATH`.
    pub fn search_var(&self) -> &'static str {
        match &self.profile {
            Some(p) if p.uses_guix_pythonpath() => "GUIX_PYTHONPATH",
            _ => "PYTHONPATH",
        }
    }

    /// Add what was built to `wanted`, below the project's own `[path]`.
    pub fn add_to(&self, wanted: &mut Wanted, mode: PipMode) {
        if let Some(bin) = &self.python_bin {
            wanted.prepend("PATH", vec![bin.into()]);
        }
        if let Some(PrefixState {
            path,
            layout: Some(layout),
            ..
        }) = &self.prefix
        {
            wanted.set("PYENV_GUIX_PREFIX", path);
            let scripts: Vec<OsString> = layout.scripts_dir.iter().map(|d| d.into()).collect();
            match mode {
                PipMode::Prefix => {
                    let sites = layout.site_dirs.iter().map(|d| d.into()).collect();
                    wanted.prepend(self.search_var(), sites);
                    wanted.prepend("PATH", scripts);
                }
                PipMode::Venv => {
                    wanted.set("VIRTUAL_ENV", path);
                    wanted.prepend("PATH", scripts);
                }
                PipMode::User => {
                    wanted.set("PYTHONUSERBASE", path);
                    wanted.prepend("PATH", scripts);
                }
            }
        }
        if let Some(profile) = &self.profile {
            profile.add_to(wanted);
        }
    }
}
