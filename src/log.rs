//! Messages on stderr, one line each, `pyenv-guix: ` first. Stdout is for snippets only.

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
        eprintln!("pyenv-guix: {msg}");
    }
}

pub fn debug(msg: &str) {
    if level() >= Level::Debug {
        eprintln!("pyenv-guix: debug: {msg}");
    }
}

/// Warnings are never silenced: they say something is not as the user expects.
pub fn warn(msg: &str) {
    eprintln!("pyenv-guix: warning: {msg}");
}

pub fn error(msg: &str) {
    eprintln!("pyenv-guix: error: {msg}");
}

/// A line the user must see even with `PYENV_GUIX_LOG=quiet` (a blocked project).
pub fn notice(msg: &str) {
    eprintln!("pyenv-guix: {msg}");
}
