//! Messages on stderr, one line each, `pyenv-guix: ` first. Stdout is for snippets only.

use std::io::Write as _;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Info,
    Debug,
}

pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("PYENV_GUIX_LOG").as_deref() {
        Ok("quiet") => Level::Quiet,
        Ok("debug") => Level::Debug,
        _ => Level::Info,
    })
}

pub fn info(msg: &str) {
    if level() >= Level::Info {
        say("", msg);
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
