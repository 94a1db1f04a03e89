//! From "the shell is here, with this environment" to the changes that give it
//! the environment its directory wants. Shared by `export` and `exec`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use std::ffi::OsStr;

use crate::context::Context;
use crate::envdiff::{self, Changes, Wanted};
use crate::manifest::{self, ManifestError, Project};
use crate::materialise::{self, Materialised};
use crate::pip::PipMode;
use crate::state::{self, Stamp, State};
use crate::{log, trust};

/// What the directory wants.
pub enum Target {
    NoProject,
    Blocked,
    /// Trusted, but what it needs could not be built: nothing is active.
    Failed,
    /// Trusted, a rebuild failed: the last good environment stays active.
    Kept,
    /// Loaded: the manifest, and the content hash that was trusted.
    Loaded {
        manifest: PathBuf,
        hash: String,
    },
}

pub struct Plan {
    pub target: Target,
    /// Every variable to change, `PYENV_GUIX_STATE` included.
    pub changes: Changes,
    /// The state the shell carries once the changes are made.
    pub state: Option<State>,
}

/// What the prompt's quick check found.
pub enum Check {
    /// Nothing can have changed; the state the shell carries (read once).
    Unchanged(Option<State>),
    Changed(Plan),
}

impl Check {
    /// The variables to change (none when unchanged), and the state the
    /// shell carries after them.
    pub fn into_parts(self) -> (Changes, Option<State>) {
        match self {
            Check::Unchanged(state) => (Changes::new(), state),
            Check::Changed(plan) => (plan.changes, plan.state),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Trust(#[from] trust::TrustError),
    #[error("cannot read or make the key that signs PYENV_GUIX_STATE: {0}")]
    Key(std::io::Error),
    #[error(transparent)]
    TooLarge(#[from] state::TooLarge),
}

type CarriedState = Option<Result<State, state::Corrupt>>;

/// The prompt's way in: `None` when nothing can have changed since the last
/// `export` (the manifest found is the one the state is about, and no
/// watched file changed). That check only `stat`s and decodes the state: no
/// parsing, no hashing, no process. The manifest is found and the state
/// decoded once, for the check and for the plan.
pub fn plan_if_changed(ctx: &Context) -> Result<Check, ActivationError> {
    let found = manifest::find(&ctx.dir);
    let decoded = ctx.carried_state();
    let unchanged = match (&decoded, &found) {
        (None, None) => true,
        (Some(Ok(s)), Some(found)) => s.manifest == *found && s.watched_unchanged(),
        _ => false,
    };
    if unchanged {
        return Ok(Check::Unchanged(decoded.and_then(Result::ok)));
    }
    plan_from(ctx, found, decoded).map(Check::Changed)
}

/// Work out everything: find, trust, and diff against what is active now.
pub fn plan(ctx: &Context) -> Result<Plan, ActivationError> {
    plan_from(ctx, manifest::find(&ctx.dir), ctx.carried_state())
}

/// Undo what is active, as if no project were here: for a project whose
/// answer the shell cannot carry, which is not loaded, while the one the
/// shell left is still left.
pub fn plan_unloading(ctx: &Context) -> Result<Plan, ActivationError> {
    plan_from(ctx, None, ctx.carried_state())
}

fn plan_from(
    ctx: &Context,
    found: Option<PathBuf>,
    decoded: CarriedState,
) -> Result<Plan, ActivationError> {
    // A state no key vouches for (the key lost, another data directory):
    // what it says a project added is taken off, where it still is.
    let mut salvaged = Changes::new();
    let old = match decoded {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            log::warn(&e.to_string());
            if let Some(claimed) = ctx
                .var(state::VAR)
                .and_then(|raw| State::decode_unauthenticated(&raw).ok())
            {
                let records = believable(ctx, &claimed);
                let (changes, left) = envdiff::salvage(&|n: &str| ctx.var(n), &records);
                if !left.is_empty() {
                    log::warn(&format!(
                        "left as they are, since no one can say what they were before: {}",
                        left.join(" ")
                    ));
                }
                salvaged = changes;
            }
            None
        }
    };
    let current = &|name: &str| match salvaged.get(name) {
        Some(value) => value.clone(),
        None => ctx.var(name),
    };
    let old_records = old.as_ref().map(|s| s.records.as_slice()).unwrap_or(&[]);
    let base_path = path_before(current, old_records);
    let (target, new_state, wanted) = match found {
        None => (Target::NoProject, None, Wanted::default()),
        Some(found) => {
            let (target, state, wanted) = resolve(ctx, found, base_path.as_deref(), old.as_ref())?;
            (target, Some(state), wanted)
        }
    };

    let (records, mut changes) = match target {
        // Nothing changes, and the warning has said why.
        Target::Kept => (old_records.to_vec(), Changes::new()),
        _ => {
            let (records, changes) = envdiff::transition(current, old_records, wanted.as_slice());
            report(&old, &target, &changes, current);
            (records, changes)
        }
    };
    for (name, value) in &salvaged {
        changes.entry(name.clone()).or_insert_with(|| value.clone());
    }

    let new_state = new_state.map(|mut s| {
        s.records = records;
        s
    });
    let encoded = match &new_state {
        Some(s) => {
            let key = ctx.state_key().map_err(ActivationError::Key)?;
            Some(s.encode(key)?)
        }
        None => None,
    };
    if current(state::VAR) != encoded {
        changes.insert(state::VAR.to_string(), encoded);
    }
    Ok(Plan {
        target,
        changes,
        state: new_state,
    })
}

/// The PATH the user had before any project changed it: where the
/// interpreter is looked up.
fn path_before(
    current: &dyn Fn(&str) -> Option<OsString>,
    records: &[(String, envdiff::Record)],
) -> Option<OsString> {
    let (_, undone) = envdiff::transition(current, records, &[]);
    match undone.get("PATH") {
        Some(v) => v.clone(),
        None => current("PATH"),
    }
}

/// `path_before` for the context's environment, as `status`, `prefix` and
/// `gc` see it.
pub fn user_path(ctx: &Context) -> Option<OsString> {
    let current = |name: &str| ctx.var(name);
    let records = ctx
        .carried_state()
        .and_then(Result::ok)
        .map(|s| s.records)
        .unwrap_or_default();
    path_before(&current, &records)
}

/// The context's environment as the user had it before any project
/// changed it: every record of the state undone. Builds start from this,
/// so a project the user is leaving (or is in, for `exec -C` elsewhere)
/// reaches none of them.
pub fn before_projects(ctx: &Context) -> std::collections::BTreeMap<OsString, OsString> {
    let env: std::collections::BTreeMap<OsString, OsString> =
        ctx.vars().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut out = env.clone();
    let current = |name: &str| env.get(OsStr::new(name)).cloned();
    let state = match ctx.carried_state() {
        None => return out,
        Some(Ok(state)) => state,
        // A state no key vouches for (the key lost): what it believably
        // set is taken out, and what it replaced is not put back, since no
        // one can say what it was. A build then goes without it.
        Some(Err(_)) => {
            let Some(claimed) = ctx
                .var(state::VAR)
                .and_then(|raw| State::decode_unauthenticated(&raw).ok())
            else {
                return out;
            };
            for (name, record) in believable(ctx, &claimed) {
                match record {
                    envdiff::Record::Scalar { set, .. } => {
                        if current(&name).as_ref() == Some(&set) {
                            out.remove(OsStr::new(&name));
                        }
                    }
                    envdiff::Record::List { .. } => {
                        let (changes, _) =
                            envdiff::salvage(&current, &[(name.clone(), record.clone())]);
                        for (name, value) in changes {
                            match value {
                                Some(v) => out.insert(name.into(), v),
                                None => out.remove(OsStr::new(&name)),
                            };
                        }
                    }
                }
            }
            return out;
        }
    };
    let (_, undone) = envdiff::transition(&current, &state.records, &[]);
    for (name, value) in undone {
        match value {
            Some(v) => out.insert(name.into(), v),
            None => out.remove(OsStr::new(&name)),
        };
    }
    out
}

/// The variables pyenv-guix itself sets for a project, beside those its
/// `[env]` and `[path]` name.
const OWN_VARIABLES: &[&str] = &[
    "PYENV_GUIX_PREFIX",
    "PYENV_GUIX_PROFILE",
    "PYENV_GUIX_ROOT",
    "PYENV_GUIX_PROMPT",
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
    "PYTHONUSERBASE",
    "PYTHONNOUSERSITE",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON",
    "UV_NO_SYNC",
];

/// Of the records a state no one vouches for claims, those it could truly
/// have made: the state must name a manifest that is there and that this
/// user allowed in its place, and each record must be what that project
/// asks for now: a value its `[env]` sets, an entry its `[path]` makes,
/// one of our own variables with the value we would give it, or an entry
/// under our cache (or the store, for a project with Guix packages).
/// Anything else (a forged claim that the user's PATH or EDITOR was ours)
/// is not touched.
fn believable(ctx: &Context, claimed: &State) -> envdiff::Records {
    let Ok(opened) = trust::open(&ctx.data_dir, &claimed.manifest) else {
        return Vec::new();
    };
    let ever_allowed = !matches!(
        opened.trust,
        trust::Trust::Blocked(trust::Why::NeverAllowed | trust::Why::Errors) | trust::Trust::Denied
    );
    let Ok(project) = opened.project else {
        return Vec::new();
    };
    if !ever_allowed {
        return Vec::new();
    }
    let under = |value: &OsStr, dir: &Path| {
        let p = Path::new(value);
        p.is_absolute()
            && !p.components().any(|c| c == std::path::Component::ParentDir)
            && p.starts_with(dir)
    };
    let guix = !project.manifest.guix.packages.is_empty();
    let from_path: Vec<(String, Vec<OsString>)> = project.path_entries();
    let ours = |name: &str, entry: &OsString| {
        from_path
            .iter()
            .any(|(n, entries)| n == name && entries.contains(entry))
            || under(entry, ctx.cache.root())
            || (guix && under(entry, Path::new("/gnu/store")))
    };
    let prompt = project.prompt_name();
    let uv_project = project.manifest.pip.is_uv_project();
    let we_set = |name: &str, value: &OsString| -> bool {
        let from_env = project
            .manifest
            .env
            .iter()
            .any(|(n, v)| n.get_ref() == name && OsStr::new(v) == value);
        from_env
            || match name {
                "PYENV_GUIX_ROOT" => Path::new(value) == project.root,
                "PYENV_GUIX_PROMPT" | "VIRTUAL_ENV_PROMPT" => *value == *prompt,
                // Only a uv project sets uv's.
                n if n.starts_with("UV_") && !uv_project => false,
                "PYTHONNOUSERSITE" | "UV_NO_SYNC" => value == "1",
                "UV_PROJECT_ENVIRONMENT" => {
                    [UV_BUILDING, UV_BLOCKED, UV_FAILED]
                        .iter()
                        .any(|p| value == *p)
                        || under(value, ctx.cache.root())
                }
                n if OWN_VARIABLES.contains(&n) => under(value, ctx.cache.root()),
                _ => false,
            }
    };
    claimed
        .records
        .iter()
        .filter_map(|(name, record)| {
            let record = match record {
                envdiff::Record::List {
                    before_unset,
                    prepended,
                    appended,
                } => envdiff::Record::List {
                    before_unset: *before_unset,
                    prepended: prepended
                        .iter()
                        .filter(|e| ours(name, e))
                        .cloned()
                        .collect(),
                    appended: appended.iter().filter(|e| ours(name, e)).cloned().collect(),
                },
                envdiff::Record::Scalar { set, .. } if we_set(name, set) => record.clone(),
                envdiff::Record::Scalar { .. } => return None,
            };
            Some((name.clone(), record))
        })
        .collect()
}

/// What the manifest at `found` asks for, and the state that remembers it.
fn resolve(
    ctx: &Context,
    found: PathBuf,
    base_path: Option<&OsStr>,
    old: Option<&State>,
) -> Result<(Target, State, Wanted), ActivationError> {
    let opened = trust::open(&ctx.data_dir, &found)?;
    let record = opened.record;
    let reload = ctx.cache.reload_stamp();
    let project = match opened.project {
        Ok(p) => p,
        Err(e) => {
            // Never trusted (`allow` refuses a manifest with errors, or one it
            // cannot read): say why, once per entry.
            log::notice(&format!(
                "{} is blocked (it has errors). Fix them, then run 'pyenv-guix allow'.",
                found.display()
            ));
            log::error(&e.to_string());
            let state = State {
                watched: stamps([found.clone(), record, reload]),
                manifest: found,
                loaded: None,
                records: Vec::new(),
            };
            return Ok((Target::Blocked, state, Wanted::default()));
        }
    };
    let mut state = State {
        manifest: found,
        watched: Vec::new(),
        loaded: None,
        records: Vec::new(),
    };
    let (hash, scan) = match opened.trust {
        trust::Trust::Allowed(hash, scan) => (hash, scan),
        blocked => {
            // What was read to tell is watched (the manifest, and the files
            // it names once its own bytes were allowed): a file put back
            // as it was allowed loads the project at the next prompt.
            log::notice(&blocked.blocked_message(&state.manifest));
            let mut files = vec![state.manifest.clone()];
            files.extend(opened.read);
            files.extend([record, reload]);
            state.watched = stamps(files);
            let wanted = match blocked {
                trust::Trust::Blocked(_) => while_blocked(old, &state.manifest),
                _ => Wanted::default(),
            };
            return Ok((Target::Blocked, state, wanted));
        }
    };
    let mut files = vec![state.manifest.clone()];
    files.extend(scan.watched());
    files.extend([record, reload]);
    state.watched = stamps(files);
    match materialise::materialise(ctx, &project, &scan, base_path, materialise::Mode::Build) {
        Ok(built) => {
            state.loaded = Some(hash.clone());
            // `pyenv local` or `global` may choose another interpreter.
            if let Some(facts) = &built.facts {
                state.watched.extend(stamps(facts.chosen_by(&project.root)));
            }
            // A rebuild switches the prefix's link to a new generation.
            if let Some(p) = &built.prefix {
                state.watched.push((p.path.clone(), Stamp::of(&p.path)));
            }
            let wanted = wanted(&project, &built);
            let manifest = project.manifest_path;
            Ok((Target::Loaded { manifest, hash }, state, wanted))
        }
        Err(materialise::MaterialiseError::Pending(e)) => {
            let watch = e.watched();
            // Until it is built, `pyenv local` may choose another
            // interpreter, and another key, as after a failure below.
            state
                .watched
                .extend(stamps(interpreter_choice(&project, base_path)));
            // Never wait at a prompt: the prompt after the build loads it.
            if !e.under_way {
                // Not waited for: it outlives this process, and init reaps it.
                match build_in_background(ctx, &project, &e.built) {
                    Ok(Background::Started(_child, log)) => log::notice(&format!(
                        "{e}: building it in the background (log: {}); this shell loads it at a later prompt",
                        log.display()
                    )),
                    Ok(Background::Running(_)) => {
                        log::notice(&format!(
                            "{e}: another shell is building it; this shell loads it at a later prompt"
                        ));
                    }
                    Ok(Background::Died(log)) => {
                        // Said once: the record stops the next prompts from
                        // starting it again, until `reload`.
                        let message = format!(
                            "the build in the background stopped without finishing (killed by a signal, or by the out-of-memory killer?); its log: {}; run 'pyenv-guix reload' to retry",
                            log.display()
                        );
                        let _ = crate::fsutil::write_atomic(&e.failure, message.as_bytes());
                        log::error(&format!("{e}: {message}"));
                        state
                            .watched
                            .extend(watch.map(|p| (p.to_path_buf(), Stamp::of(p))));
                        return Ok(keep_or_fail(old, state, true));
                    }
                    Err(err) => {
                        log::error(&format!("cannot start a build in the background: {err}"))
                    }
                }
            } else {
                log::notice(&format!("{e}; this shell loads it at a later prompt"));
            }
            state
                .watched
                .extend(watch.map(|p| (p.to_path_buf(), Stamp::of(p))));
            match old {
                // Nothing failed: the last good environment stays, unsaid.
                Some(o) if o.manifest == state.manifest && o.loaded.is_some() => {
                    Ok(keep_or_fail(old, state, false))
                }
                // A first build: meanwhile what needs none ([env], [path]).
                // Not a good environment to keep should the build fail: the
                // state does not count it as loaded.
                _ => {
                    let wanted = wanted(&project, &Materialised::default());
                    let manifest = project.manifest_path;
                    Ok((Target::Loaded { manifest, hash }, state, wanted))
                }
            }
        }
        Err(e) => {
            log::error(&e.to_string());
            // The failure is retried when an input changes: `pyenv local`
            // choosing another interpreter is one.
            state
                .watched
                .extend(stamps(interpreter_choice(&project, base_path)));
            Ok(match keep_or_fail(old, state, true) {
                // A uv project's first build failed: uv is sent nowhere,
                // as while it builds, rather than to a `.venv` of its own.
                (Target::Failed, state, _) if project.manifest.pip.is_uv_project() => {
                    let mut w = Wanted::default();
                    uv_sent_nowhere(&mut w, UV_FAILED);
                    (Target::Failed, state, w)
                }
                kept => kept,
            })
        }
    }
}

/// The files by which pyenv chooses the project's interpreter, when it
/// is a pyenv shim on the user's PATH; found without asking the shim, for
/// a build that did not get as far as to say (it failed, or is under way).
fn interpreter_choice(project: &Project, base_path: Option<&OsStr>) -> Vec<PathBuf> {
    let declared = &project.manifest.python.interpreter;
    crate::interpreter::locate(declared, base_path, &project.root)
        .ok()
        .and_then(|python| crate::pyenv::Shim::at(&python))
        .map(|shim| shim.chosen_by(&project.root))
        .unwrap_or_default()
}

/// While a build is missing: the last good environment of the same
/// project stays (with a warning when `failed`); otherwise nothing is
/// active.
fn keep_or_fail(old: Option<&State>, mut state: State, failed: bool) -> (Target, State, Wanted) {
    match old {
        Some(o) if o.manifest == state.manifest && o.loaded.is_some() => {
            if failed {
                log::warn(&format!(
                    "keeping the last good environment of {}",
                    state.manifest.display()
                ));
            }
            state.loaded.clone_from(&o.loaded);
            (Target::Kept, state, Wanted::default())
        }
        _ => (Target::Failed, state, Wanted::default()),
    }
}

/// What became of a request to build in the background.
pub enum Background {
    /// Started now: the child (a prompt leaves it; `watch` waits for it)
    /// and its log.
    Started(std::process::Child, PathBuf),
    /// Another process started it, and it still runs: its log.
    Running(PathBuf),
    /// The last one started stopped without finishing (a signal, the
    /// out-of-memory killer): its log.
    Died(PathBuf),
}

/// The variable that hands the build its `.running` mark, to remove when
/// it ends (see `build_in_background`).
pub const RUNNING_MARK: &str = "PYENV_GUIX_RUNNING_MARK";

/// Start `pyenv-guix build` for the project, detached from the terminal
/// (its own session: Ctrl-C at the prompt does not reach it), its output to
/// a log under the cache named by the key of `built`, the first thing it
/// builds. It runs with `ctx`'s environment.
///
/// One build at a time, however many shells enter at once: a `.running`
/// mark beside the log is locked here and the lock handed down to the
/// build, which holds it (it and every process it starts) until it ends
/// and removes the mark. A mark no process holds is a build that died.
pub fn build_in_background(
    ctx: &Context,
    project: &Project,
    built: &std::path::Path,
) -> std::io::Result<Background> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    // Named as what it builds (the prefix's or profile's key).
    let name = built.file_name().unwrap_or_default().to_string_lossy();
    let log = ctx.cache.log(&name);
    let running = ctx.cache.running_mark(&name);
    if let Some(logs) = log.parent() {
        std::fs::create_dir_all(logs)?;
    }
    let mut mark = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&running)?;
    if mark.try_lock().is_err() {
        return Ok(Background::Running(log));
    }
    if mark.metadata()?.len() > 0 {
        let _ = std::fs::remove_file(&running);
        return Ok(Background::Died(log));
    }
    mark.write_all(b"started\n")?;
    let out = crate::fsutil::create_private(&log)?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("build")
        .arg(&project.root)
        .current_dir(&project.root)
        .env_clear()
        .envs(ctx.vars())
        .env("PYENV_GUIX_BUILD", "foreground")
        .env(RUNNING_MARK, &running)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let fd = mark.as_raw_fd();
    // SAFETY: setsid and fcntl are async-signal-safe and the child only
    // execs after them. The mark's descriptor stays open across exec: the
    // lock goes with it.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            libc::fcntl(fd, libc::F_SETFD, 0);
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(child) => Ok(Background::Started(child, log)),
        Err(e) => {
            let _ = mark.set_len(0);
            Err(e)
        }
    }
}

fn stamps(files: impl IntoIterator<Item = PathBuf>) -> Vec<(PathBuf, Stamp)> {
    files
        .into_iter()
        .map(|f| {
            let s = Stamp::of(&f);
            (f, s)
        })
        .collect()
}

/// The variables a loaded project sets, highest precedence first: its own
/// `[path]`, then the pip prefix, then the Guix profile; `[env]` last, as
/// the final word.
fn wanted(project: &Project, built: &Materialised) -> Wanted {
    let mut w = Wanted::default();
    w.set("PYENV_GUIX_ROOT", &project.root);
    w.set("PYENV_GUIX_PROMPT", project.prompt_name());
    for (name, entries) in project.path_entries() {
        w.prepend(&name, entries);
    }
    let mode = project.manifest.pip.mode;
    built.add_to(&mut w, mode);
    if project.manifest.pip.is_uv_project() {
        let venv = built.prefix.as_ref().and_then(|p| p.built.as_ref());
        uv_project(&mut w, venv.map(|(venv, _)| venv.as_path()));
    }
    // Keep ~/.local packages from shadowing the project's pip fallbacks
    // (Guix bug 64573); user mode is the user site, and a venv without the
    // system's site packages reads no user site at all.
    let user_site_read = match mode {
        PipMode::Prefix => true,
        PipMode::Venv => project.manifest.pip.system_site_packages,
        PipMode::User => false,
    };
    if materialise::has_pip(project) && user_site_read {
        w.set("PYTHONNOUSERSITE", "1");
    }
    // As a venv's activate script names it (the prompt its pyvenv.cfg holds).
    if built.prefix.as_ref().is_some_and(|p| p.built.is_some()) && mode == PipMode::Venv {
        w.set("VIRTUAL_ENV_PROMPT", project.prompt_name());
    }
    for (name, value) in &project.manifest.env {
        w.set(name.get_ref(), value);
    }
    w
}

/// Where uv is sent while a uv project's venv is still building: a path
/// under a file, which no one can create, so `uv run` and `uv sync` fail
/// at once naming it, and make no venv there, in the project (`.venv`) or
/// at the keyed path, where only a finished build may appear.
const UV_BUILDING: &str = "/dev/null/pyenv-guix-is-still-building-this-venv";

/// Where uv is sent while a uv project the shell had loaded is blocked
/// (`uv add` changed its files): as while building, so that `uv run`
/// makes no `.venv` of its own before the change is allowed.
const UV_BLOCKED: &str = "/dev/null/pyenv-guix-blocked-this-project-run-pyenv-guix-allow";

/// Where uv is sent when a uv project's venv could not be built.
const UV_FAILED: &str = "/dev/null/pyenv-guix-could-not-build-this-venv-see-pyenv-guix-status";

/// A uv project: `uv run`, `uv add`, `uv remove` and `uv lock` work on the
/// shell's venv, which is keyed and so never changed by uv: `uv add`
/// writes pyproject.toml and uv.lock and syncs nothing (UV_NO_SYNC); the
/// changed files block the project until allowed, and the allowed change
/// is built into another key.
fn uv_project(w: &mut Wanted, venv: Option<&Path>) {
    match venv {
        Some(venv) => {
            w.set("UV_NO_SYNC", "1");
            w.set("UV_PROJECT_ENVIRONMENT", venv);
            w.set("UV_PYTHON", venv.join("bin/python"));
        }
        None => uv_sent_nowhere(w, UV_BUILDING),
    }
}

/// uv sent to `place`, a path under /dev/null that no one can create and
/// that says why: `uv run` stops there instead of making a `.venv`.
fn uv_sent_nowhere(w: &mut Wanted, place: &str) {
    w.set("UV_NO_SYNC", "1");
    w.set("UV_PROJECT_ENVIRONMENT", place);
}

/// What a blocked project keeps: nothing, but uv's placeholder where the
/// shell had it loaded as a uv project (its last state, this user's own,
/// says so) until the block.
fn while_blocked(old: Option<&State>, manifest: &Path) -> Wanted {
    let mut w = Wanted::default();
    let was_uv_project = old.is_some_and(|o| {
        o.manifest == manifest && o.records.iter().any(|(n, _)| n == "UV_NO_SYNC")
    });
    if was_uv_project {
        uv_sent_nowhere(&mut w, UV_BLOCKED);
    }
    w
}

/// direnv-style lines: `loading …`, `export +A ~PATH -B`, `unloading`.
fn report(
    old: &Option<State>,
    target: &Target,
    changes: &Changes,
    current: &dyn Fn(&str) -> Option<OsString>,
) {
    let was = old.as_ref().and_then(|s| {
        s.loaded
            .as_ref()
            .map(|h| (s.manifest.as_path(), h.as_str()))
    });
    let now = match target {
        Target::Loaded { manifest, hash } => Some((manifest.as_path(), hash.as_str())),
        _ => None,
    };
    // A first build's partial environment ([env], [path]) is not counted as
    // loaded, but leaving it is unloading all the same.
    let partial = old
        .as_ref()
        .filter(|s| s.loaded.is_none() && !s.records.is_empty())
        .map(|s| s.manifest.as_path());
    let left_partial = partial.is_some() && partial != now.map(|(m, _)| m);
    // Reloaded where it is (an allowed edit): said as loading, as direnv
    // says it, not as leaving it.
    let in_place = matches!((was, now), (Some((a, _)), Some((b, _))) if a == b);
    if (was.is_some() && was != now && !in_place) || left_partial {
        log::transition("unloading");
    }
    if let Some((manifest, _)) = now {
        if was != now {
            log::transition(&format!("loading {}", manifest.display()));
        }
        let shown: Vec<String> = changes
            .iter()
            .filter(|(name, _)| !name.starts_with("PYENV_GUIX_"))
            .map(|(name, value)| {
                let sign = match (current(name).is_some(), value.is_some()) {
                    (false, _) => '+',
                    (true, true) => '~',
                    (true, false) => '-',
                };
                format!("{sign}{name}")
            })
            .collect();
        if !shown.is_empty() {
            log::transition(&format!("export {}", shown.join(" ")));
        }
    }
    log::debug(&format!("{} variable(s) change", changes.len()));
}

/// What a hook watches to decide with builtins alone that nothing changed:
/// each directory from the shell's up to the project's root, or up to `/`
/// outside a project (a new manifest changes its directory; above the root
/// one would not count, the nearest wins), every file the state watches,
/// and each of their directories (a file created or removed changes its
/// directory, whatever its own time).
pub fn watch_list(ctx: &Context, state: Option<&State>) -> Vec<PathBuf> {
    let root = state.and_then(|s| s.manifest.parent());
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in ctx.dir.ancestors() {
        out.push(dir.to_path_buf());
        if Some(dir) == root {
            break;
        }
    }
    for (path, _) in state.iter().flat_map(|s| &s.watched) {
        for p in [path.parent(), Some(path.as_path())].into_iter().flatten() {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_path_buf());
            }
        }
    }
    out
}

/// The shell's marker file: the time its last check started, less two
/// seconds, so that a change made while the check ran, or in the same
/// clock tick, is still newer than the marker at the next prompt (at the
/// cost of, at most, one more check).
pub fn mark(
    ctx: &Context,
    shell_pid: u32,
    started: std::time::SystemTime,
) -> std::io::Result<PathBuf> {
    let path = ctx.cache.shell_mark(shell_pid);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = crate::fsutil::create_private(&path)?;
    let then = started - std::time::Duration::from_secs(2);
    file.set_modified(then)?;
    Ok(path)
}
