//! Whether a project's lock is the one its inputs would make now: what
//! entering, `status` and `doctor` say of it, and what
//! `PYENV_GUIX_LOCKED=1` refuses.

use std::path::{Path, PathBuf};

use super::{Inputs, inputs_digest, what_changed};
use crate::interpreter::Facts;
use crate::pip::scan::{Kind, Scan};
use crate::pip::{Pip, Unreadable};

/// Set to `1` (in CI, say): a stale lock is an error, not a warning.
pub const LOCKED_VAR: &str = "PYENV_GUIX_LOCKED";

/// Why a lock is stale, when it does not record which part of what it
/// was made from changed (written before it did).
pub const WHY: &str = "the requirements, options, interpreter, Guix profile or an editable project's pyproject.toml, setup.cfg or setup.py changed since it was written";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Made from the project's inputs as they are now.
    Current,
    /// Made from other inputs: builds install it as it is, until renewed.
    /// Which ones changed, as said.
    Stale(String),
    /// Named in the manifest, not there.
    Missing,
    /// There, but not a lock pyenv-guix can read: why.
    Unreadable(String),
    /// Not to be told now: why (the project is not allowed, its
    /// interpreter or profile is not known yet).
    Unknown(String),
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::Current => "current",
            State::Stale(_) => "stale",
            State::Missing => "missing",
            State::Unreadable(_) => "unreadable",
            State::Unknown(_) => "unknown",
        }
    }

    /// Why, as found, without what to do of it.
    fn why_only(&self) -> Option<String> {
        match self {
            State::Stale(why) | State::Unreadable(why) | State::Unknown(why) => Some(why.clone()),
            State::Current | State::Missing => None,
        }
    }

    /// What to say beside the word, if anything.
    pub fn why(&self) -> Option<String> {
        match self {
            State::Current | State::Missing => None,
            State::Stale(why) => Some(format!("{why}; run 'pyenv-guix lock' to renew it")),
            State::Unreadable(why) | State::Unknown(why) => Some(why.clone()),
        }
    }
}

/// The state of the lock of an allowed project whose scan is `scan`,
/// against the inputs it would be made from now (`profile`: the Guix
/// profile's key). `None` when the manifest names no lock.
pub fn state(
    scan: &Scan,
    root: &Path,
    pip: &Pip,
    facts: &Facts,
    profile: Option<&str>,
) -> Option<(PathBuf, State)> {
    let name = pip.lock.as_ref()?;
    let path = root.join(name.get_ref());
    let input = scan.inputs.iter().find(|i| i.kind == Kind::Lock);
    let state = match (input.map(|i| &i.id), &scan.lock) {
        (Some(Err(Unreadable::Io(e))), _) if e.kind() == std::io::ErrorKind::NotFound => {
            State::Missing
        }
        (Some(Err(why)), _) => State::Unreadable(why.to_string()),
        (_, None) => State::Unknown("the lock was not read".into()),
        (_, Some(lock)) => match inputs_digest(scan, root, pip, facts, profile) {
            Ok(now) if lock.inputs.as_deref() == Some(now.whole.as_str()) => State::Current,
            Ok(now) => State::Stale(stale_because(lock, &now)),
            Err(why) => State::Unknown(format!("an input cannot be read: {why}")),
        },
    };
    Some((path, state))
}

/// Why `lock` is stale against the inputs of `now`: which part of them
/// changed, when the lock records its parts.
pub fn stale_because(lock: &super::Lock, now: &Inputs) -> String {
    what_changed(&lock.made_from, now).unwrap_or_else(|| WHY.to_string())
}

/// A stale lock, as a build says it: a warning, or (with
/// `PYENV_GUIX_LOCKED=1`) the error that stops it.
#[derive(Debug, thiserror::Error)]
#[error("{} is stale: {why}; run 'pyenv-guix lock' to renew it{}", .path.display(), if *.refused {
    format!(" ({LOCKED_VAR}=1: nothing is built from a stale lock)")
} else {
    " (building from it as it is)".to_string()
})]
pub struct Stale {
    pub path: PathBuf,
    pub why: String,
    pub refused: bool,
}

/// For a build: `Ok(Some)` a stale lock to warn of once the build is
/// done, `Err` a stale lock `locked` refuses. A lock that is current,
/// or absent, says nothing (trust and the scan speak of one that cannot
/// be read).
pub fn for_build(
    scan: &Scan,
    root: &Path,
    pip: &Pip,
    facts: &Facts,
    profile: Option<&str>,
    locked: bool,
) -> Result<Option<Stale>, Stale> {
    match state(scan, root, pip, facts, profile) {
        Some((path, state)) => for_a_build(path, state, locked),
        None => Ok(None),
    }
}

/// A lock's `state`, as a build takes it: `Ok(Some)` stale, to warn of,
/// `Err` stale and refused (`locked`), `Ok(None)` nothing to say.
pub fn for_a_build(path: PathBuf, state: State, locked: bool) -> Result<Option<Stale>, Stale> {
    match state {
        State::Stale(why) => {
            let stale = Stale {
                path,
                why,
                refused: locked,
            };
            if locked { Err(stale) } else { Ok(Some(stale)) }
        }
        _ => Ok(None),
    }
}

/// The state of a uv project's `uv.lock`: whether it still answers what
/// `pyproject.toml` asks, by uv's own rule (`uv lock --check`), offline
/// (from uv's cache), as `cmd` runs uv lock. Kept in `record`, under the
/// venv's key, which covers both files, the interpreter and uv by
/// content: uv is asked once per key (again if `fresh`); a build asks it
/// while it syncs (`uv_check_started`).
pub fn uv_project_state(cmd: std::process::Command, record: &Path, fresh: bool) -> State {
    if !fresh && let Some(state) = kept_uv_project_state(record) {
        return state;
    }
    uv_check_ended(uv_check_started(cmd), record)
}

/// `uv lock --check` started, as `cmd` runs uv lock: asked beside a
/// build, it costs the build no time on a machine with a core to spare.
pub fn uv_check_started(mut cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    use std::process::Stdio;
    cmd.args(["--check", "--offline"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
}

/// What the check `started` says, kept in `record`.
pub fn uv_check_ended(started: std::io::Result<std::process::Child>, record: &Path) -> State {
    let state = match started.and_then(|child| child.wait_with_output()) {
        Ok(out) => uv_said(out.status.success(), &String::from_utf8_lossy(&out.stderr)),
        Err(e) => State::Unknown(format!("uv lock --check could not run: {e}")),
    };
    keep_uv_project_state(record, &state);
    state
}

/// The state of a uv project's lock, by whether `uv lock --check` passed,
/// and what uv said.
fn uv_said(passed: bool, said: &str) -> State {
    if passed {
        return State::Current;
    }
    if said.contains("needs to be updated") {
        return State::Stale(
            "pyproject.toml asks for what it does not hold (uv lock --check)".to_string(),
        );
    }
    let error = said
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or("it failed")
        .trim_start_matches("error:")
        .trim();
    State::Unknown(format!("uv could not tell offline: {error}"))
}

/// Keep `state` in `record` (a cache: a write that fails costs a check).
fn keep_uv_project_state(record: &Path, state: &State) {
    if let Some(dir) = record.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = format!("{}\n{}", state.word(), state.why_only().unwrap_or_default());
    let _ = crate::fsutil::write_atomic(record, text.as_bytes());
}

/// What `record` keeps, if it is there and readable.
pub fn kept_uv_project_state(record: &Path) -> Option<State> {
    let bytes = crate::fsutil::read_limited(record, 1 << 16).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (word, why) = text.split_once('\n')?;
    let why = why.to_string();
    Some(match word {
        "current" => State::Current,
        "stale" => State::Stale(why),
        "unknown" => State::Unknown(why),
        _ => return None,
    })
}
