//! What a trusted project needs built before its environment exists: the
//! Guix profile, the interpreter's facts, the pip prefix. One more source of
//! environment changes for the engine.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};

use crate::buildlock::Pending;
use crate::cache::Records;
use crate::context::Context;
use crate::envdiff::Wanted;
use crate::guix::{self, GuixError, Profile};
use crate::interpreter::{self, Facts, InterpreterError};
use crate::log;
use crate::manifest::Project;
use crate::pip::PipMode;
use crate::pip::{self, BuildError, InstallerError, Layout, PrefixInputs, Scan};

#[derive(Debug, thiserror::Error)]
pub enum MaterialiseError {
    /// What is needed will be built, not now by this process.
    #[error(transparent)]
    Pending(Pending),
    #[error(transparent)]
    Interpreter(#[from] InterpreterError),
    #[error(transparent)]
    Installer(#[from] InstallerError),
    #[error(transparent)]
    Build(BuildError),
    #[error(transparent)]
    Guix(GuixError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    StaleLock(#[from] pip::lock::Stale),
}

/// A build that is pending is an outcome of its own, whichever builder
/// said so.
impl From<BuildError> for MaterialiseError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Pending(p) => MaterialiseError::Pending(p),
            e => MaterialiseError::Build(e),
        }
    }
}

impl From<GuixError> for MaterialiseError {
    fn from(e: GuixError) -> Self {
        match e {
            GuixError::Pending(p) => MaterialiseError::Pending(p),
            e => MaterialiseError::Guix(e),
        }
    }
}

/// Build what is missing, build everything again (`rebuild`), or only
/// look (`status`, `gc`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Build,
    Rebuild,
    Look,
}

#[derive(Debug, Default)]
pub struct Materialised {
    pub profile: Option<Profile>,
    pub facts: Option<Facts>,
    /// `python`, `python3` and `pip` for the declared interpreter, when
    /// neither a venv nor the Guix profile puts them on PATH.
    pub python_bin: Option<PathBuf>,
    pub prefix: Option<PipPrefix>,
}

#[derive(Debug)]
pub struct PipPrefix {
    pub key: String,
    /// `prefixes/KEY`, the link to the current generation.
    pub path: PathBuf,
    pub inputs: String,
    /// The current generation and what is in it; `None` until built.
    pub built: Option<(PathBuf, Layout)>,
}

pub fn has_pip(project: &Project) -> bool {
    let pip = &project.manifest.pip;
    // `-e X` or `-r F` in [pip].options names something to install too.
    let installs = |o: &str| {
        ["-e", "-r", "--editable", "--requirement"].iter().any(|f| {
            o == *f || (o.starts_with(f) && !o.starts_with("--")) || o.starts_with(&format!("{f}="))
        })
    };
    !pip.packages.is_empty()
        || !pip.requirements.is_empty()
        || !pip.editable.is_empty()
        || pip.lock.is_some()
        || pip.is_uv_project()
        || pip.options.iter().any(|o| installs(o.get_ref()))
}

/// A `python3` found on the PATH that is a virtualenv's (one activated by
/// hand, say) gives the project that venv's interpreter and packages, and
/// a key of its own: said, since a user of uv or direnv expects the
/// project's own Python. A venv the manifest names is its choice.
fn said_if_in_a_venv(declared: &str, python: &Path) {
    let venv = python.parent().and_then(Path::parent);
    if let Some(venv) = venv.filter(|v| v.join("pyvenv.cfg").is_file())
        && !declared.contains('/')
    {
        log::notice(&format!(
            "`{declared}` on your PATH is the virtualenv {}'s: the project is built for it and sees its packages; deactivate it, or name another interpreter under [python]",
            venv.display()
        ));
    }
}

/// `base_path` is the PATH the user had before any project changed it.
/// What a build made is recorded as this project's last use, for `gc`.
pub fn materialise(
    ctx: &Context,
    project: &Project,
    scan: &Scan,
    base_path: Option<&OsStr>,
    mode: Mode,
) -> Result<Materialised, MaterialiseError> {
    let out = look_or_build(ctx, project, scan, base_path, mode)?;
    if mode != Mode::Look && (out.profile.is_some() || out.prefix.is_some()) {
        record_use(ctx, project, &out, base_path);
    }
    Ok(out)
}

fn look_or_build(
    ctx: &Context,
    project: &Project,
    scan: &Scan,
    base_path: Option<&OsStr>,
    mode: Mode,
) -> Result<Materialised, MaterialiseError> {
    let cache = &ctx.cache;
    let mut out = Materialised::default();
    if !project.manifest.guix.packages.is_empty() {
        out.profile = Some(guix::profile(
            ctx,
            project,
            scan,
            base_path,
            mode != Mode::Look,
            mode == Mode::Rebuild,
        )?);
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
    if profile_python.is_none() && mode != Mode::Look {
        said_if_in_a_venv(declared, &python);
    }
    let facts = interpreter::facts(ctx, &python, &project.root, base_path)?;
    let venv = has_pip(project) && project.manifest.pip.mode == PipMode::Venv;
    if profile_python.is_none() && !venv && mode != Mode::Look {
        out.python_bin = Some(interpreter::bin_dir(cache, &facts)?);
    }
    if !has_pip(project) {
        out.facts = Some(facts);
        return Ok(out);
    }
    let installer = pip::choose(ctx, &project.manifest.pip, scan, base_path, &project.root)?;
    let prompt = project.prompt_name();
    if mode != Mode::Look
        && let Some(problem) = scan.problem()
    {
        return Err(MaterialiseError::Input(problem));
    }
    // Told once the build is done: a pending build is told when it loads.
    let stale = match mode {
        Mode::Look => None,
        _ => pip::lock::for_build(
            scan,
            &project.root,
            &project.manifest.pip,
            &facts,
            out.profile.as_ref().map(|p| p.key.as_str()),
            ctx.var(pip::lock::LOCKED_VAR).is_some_and(|v| v == "1"),
        )?,
    };
    // Inputs that cannot be read have no key, so nothing was built from
    // them: a look finds no prefix (status says why). A build stopped
    // above, so only a look meets `Err` here and below.
    let unkeyed = |mut out: Materialised| {
        out.facts = Some(facts.clone());
        Ok(out)
    };
    let guix = match (facts.store_item.is_some())
        .then(|| guix::identity(ctx, scan, base_path))
        .transpose()
    {
        Ok(guix) => guix,
        Err(_) => return unkeyed(out),
    };
    let library_profile = |packages: &[String]| {
        guix::profile_of(ctx, project, packages, scan, base_path, true, false)
            .map(|p| p.path)
            .map_err(Into::into)
    };
    let inputs = PrefixInputs {
        facts: &facts,
        profile: out.profile.as_ref().and_then(|p| p.store_path.as_deref()),
        pip: &project.manifest.pip,
        scan,
        root: &project.root,
        installer: &installer,
        prompt: &prompt,
        guix: guix.as_deref(),
        library_profile: Some(&library_profile),
    };
    let key = match inputs.key() {
        Ok(key) => key,
        Err(_) => return unkeyed(out),
    };
    let path = pip::path_for(cache, &key.hash);
    // A uv project's lock: refused before any build when stale, else
    // told once built. uv is asked beside the build, once per key, by the
    // process that builds (a prompt that builds in the background asks
    // nothing: uv may build the project's metadata).
    let locked = ctx.var(pip::lock::LOCKED_VAR).is_some_and(|v| v == "1");
    let uv_project = mode != Mode::Look && project.manifest.pip.is_uv_project();
    let answer = cache.uv_lock_check(&key.hash);
    if uv_project && locked {
        uv_lock_stale(ctx, project, base_path, facts.command(), &key.hash)?;
    }
    let asked = (uv_project && !locked && !ctx.background)
        .then(|| {
            let fresh = mode == Mode::Rebuild;
            uv_lock_asked(ctx, project, base_path, facts.command(), &answer, fresh)
        })
        .flatten();
    let built = match mode {
        Mode::Look => pip::built(&path),
        Mode::Build | Mode::Rebuild => {
            let guix_env = out
                .profile
                .as_ref()
                .map(Profile::python_env)
                .unwrap_or_default();
            let env = ctx.build_env(base_path, &guix_env);
            let force = mode == Mode::Rebuild;
            let (generation, layout) = pip::ensure(ctx, &inputs, &key, &env, force)?;
            if let Some(what) = layout.changed() {
                log::warn(&format!(
                    "prefix {} changed since it was built ({what}); every project with the same inputs sees it. Run 'pyenv-guix rebuild' to restore it",
                    generation.display()
                ));
            }
            if let Some(asked) = asked {
                pip::lock::uv_check_ended(asked, &answer);
            }
            let uv_stale = match uv_project && !locked {
                true => uv_lock_told(project, &answer),
                false => None,
            };
            if let Some(stale) = stale.or(uv_stale) {
                log::warn(&stale.to_string());
            }
            Some((generation, layout))
        }
    };
    out.prefix = Some(PipPrefix {
        inputs: key.text,
        key: key.hash,
        path,
        built,
    });
    out.facts = Some(facts);
    Ok(out)
}

/// Where `gc` learns what each project last used, whatever the PATH,
/// `PYENV_VERSION` or directory it runs with: one record per manifest,
/// its time the time of last use.
pub fn usage_dir(ctx: &Context) -> PathBuf {
    Records::Used.dir(&ctx.data_dir)
}

/// A project's usage record: the manifest, one key per line, and the PATH
/// the user had before the project (hex, as it may hold any byte), so that
/// `watch` looks and builds as the user's shell would.
pub struct Usage {
    pub manifest: PathBuf,
    pub keys: Vec<String>,
    pub user_path: Option<OsString>,
}

pub fn read_usage(text: &str) -> Usage {
    let mut lines = text.lines();
    let manifest = PathBuf::from(lines.next().unwrap_or(""));
    let mut usage = Usage {
        manifest,
        keys: Vec::new(),
        user_path: None,
    };
    for line in lines {
        match line.strip_prefix("path ") {
            Some(hex) => usage.user_path = crate::fsutil::unhex(hex).map(OsString::from_vec),
            None => usage.keys.push(line.to_string()),
        }
    }
    usage
}

fn record_use(ctx: &Context, project: &Project, built: &Materialised, user_path: Option<&OsStr>) {
    use std::os::unix::ffi::OsStrExt;
    let manifest = project.manifest_path.as_os_str().as_bytes();
    let mut text = manifest.to_vec();
    text.push(b'\n');
    let profile = built.profile.iter().map(|p| p.key.as_str());
    // The profile of the libraries the prefix's wheels got from Guix: its
    // store items are in the prefix's RUNPATHs, and it is their GC root.
    let libraries = built.prefix.iter().filter_map(|p| {
        p.built
            .as_ref()?
            .1
            .libraries
            .profile
            .as_deref()?
            .file_name()?
            .to_str()
    });
    let prefix = built.prefix.iter().map(|p| p.key.as_str());
    for key in profile.chain(prefix).chain(libraries) {
        text.extend_from_slice(key.as_bytes());
        text.push(b'\n');
    }
    if let Some(path) = user_path {
        text.extend_from_slice(
            format!("path {}\n", crate::fsutil::hex(path.as_bytes())).as_bytes(),
        );
    }
    let name = crate::fsutil::hex(&sha2::Digest::finalize(sha2::Digest::chain_update(
        sha2::Sha256::default(),
        manifest,
    )));
    let path = usage_dir(ctx).join(name);
    // The same record written within the hour says nothing new (gc counts
    // days), and each write wakes `watch`: entering a project writes none.
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(3600));
    if fresh && crate::fsutil::read_limited(&path, 1 << 16).is_ok_and(|old| old == text) {
        return;
    }
    // Not recording only means gc keeps less for this project.
    let _ = crate::fsutil::write_atomic(&path, &text);
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
        if let Some(PipPrefix {
            built: Some((path, layout)),
            ..
        }) = &self.prefix
        {
            wanted.set("PYENV_GUIX_PREFIX", path);
            let scripts: Vec<OsString> = layout.scripts_dir.iter().map(|d| d.into()).collect();
            match mode {
                PipMode::Prefix => {
                    // PYTHONPATH entries get no `.pth` processing: the
                    // directories their `.pth` files add come right after.
                    let sites = layout
                        .site_dirs
                        .iter()
                        .chain(&layout.pth_dirs)
                        .map(|d| d.into())
                        .collect();
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

/// `PYENV_GUIX_LOCKED=1`: a uv project's stale `uv.lock` is refused
/// before anything is built, uv asked now (see
/// `pip::lock::uv_project_state`: a kept answer may be older than a
/// workspace member's `pyproject.toml`, which the key does not cover).
/// Without uv, or a lock, the build says what is missing.
fn uv_lock_stale(
    ctx: &Context,
    project: &Project,
    user_path: Option<&OsStr>,
    python: &std::path::Path,
    key: &str,
) -> Result<(), pip::lock::Stale> {
    let (Ok(uv), Some(lock)) = (
        pip::install::uv::find(ctx, user_path, &project.root),
        pip::uv_lock_for(&project.root),
    ) else {
        return Ok(());
    };
    let cmd = pip::uv_check_command(ctx, &uv.path, &project.root, user_path, python);
    let state = pip::lock::uv_project_state(cmd, &ctx.cache.uv_lock_check(key), true);
    pip::lock::for_a_build(lock, state, true).map(drop)
}

/// `uv lock --check` started for a uv project's build, unless its answer
/// is kept already (and not `fresh`).
fn uv_lock_asked(
    ctx: &Context,
    project: &Project,
    user_path: Option<&OsStr>,
    python: &std::path::Path,
    answer: &std::path::Path,
    fresh: bool,
) -> Option<std::io::Result<std::process::Child>> {
    if !fresh && pip::lock::kept_uv_project_state(answer).is_some() {
        return None;
    }
    let uv = pip::install::uv::find(ctx, user_path, &project.root).ok()?;
    let cmd = pip::uv_check_command(ctx, &uv.path, &project.root, user_path, python);
    Some(pip::lock::uv_check_started(cmd))
}

/// A uv project's stale `uv.lock`, as its build found it, to be said.
fn uv_lock_told(project: &Project, answer: &std::path::Path) -> Option<pip::lock::Stale> {
    let lock = pip::uv_lock_for(&project.root)?;
    let state = pip::lock::kept_uv_project_state(answer)?;
    pip::lock::for_a_build(lock, state, false).ok().flatten()
}
