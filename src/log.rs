//! Messages on stderr, one line each, `pyenv-guix: ` first. Stdout is for snippets only.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Info,
    Debug,
}

/// `PYENV_GUIX_LOG`, read once. A value we do not know is said once (a
/// typo would otherwise silently give the default) and taken as `info`.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let value = std::env::var_os("PYENV_GUIX_LOG");
        match value.as_deref().map(|v| v.to_str()) {
            None | Some(Some("" | "info")) => Level::Info,
            Some(Some("quiet")) => Level::Quiet,
            Some(Some("debug")) => Level::Debug,
            Some(_) => {
                let shown = value.unwrap_or_default();
                warn(&format!(
                    "PYENV_GUIX_LOG={} is not quiet, info or debug; using info",
                    shown.to_string_lossy()
                ));
                Level::Info
            }
        }
    })
}

pub fn info(msg: &str) {
    if level() >= Level::Info {
        say("", msg);
    }
}

static TRANSITIONS_MUTED: AtomicBool = AtomicBool::new(false);

/// `exec` runs inside scripts, whose stderr is their own: the lines that
/// narrate a shell's environment changing (`loading`, `export`,
/// `unloading`) say nothing there. Builds, warnings and errors still do.
pub fn mute_transitions() {
    TRANSITIONS_MUTED.store(true, Ordering::Relaxed);
}

/// A line about the shell's environment changing, at `info`.
pub fn transition(msg: &str) {
    if !TRANSITIONS_MUTED.load(Ordering::Relaxed) {
        info(msg);
    }
}

pub fn debug(msg: &str) {
    if level() >= Level::Debug {
        say("debug: ", msg);
    }
}

/// Warnings are never silenced: they say something is not as the user expects.
pub fn warn(msg: &str) {
    say("warning: ", msg);
}

pub fn error(msg: &str) {
    say("error: ", msg);
}

/// A line the user must see even with `PYENV_GUIX_LOG=quiet` (a blocked project).
pub fn notice(msg: &str) {
    say("", msg);
}

/// One message on stderr. Names and paths in it may come from a project:
/// control characters are shown escaped, never sent to the terminal
/// (a line break stays: long errors have several lines). A closed stderr
/// loses the message, nothing else.
fn say(kind: &str, msg: &str) {
    use std::fmt::Write as _;
    let mut clean = String::with_capacity(msg.len());
    for c in msg.chars() {
        if c.is_control() && c != '\n' {
            let _ = write!(clean, "{}", c.escape_default());
        } else {
            clean.push(c);
        }
    }
    let _ = writeln!(std::io::stderr(), "pyenv-guix: {kind}{clean}");
}
