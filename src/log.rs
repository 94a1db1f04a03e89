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
    // One write: lines of two processes sharing a log do not interleave.
    let line = format!("pyenv-guix: {kind}{}\n", escape(msg));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Names as a sentence lists them: `a`, `a and b`, `a, b and c`.
pub fn and_list<S: AsRef<str>>(names: &[S]) -> String {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, many)) => format!("{} and {last}", many.join(", ")),
        None => String::new(),
    }
}

/// `text` safe for a terminal: control characters (but line breaks and
/// tabs) and Unicode's invisible direction and line controls shown
/// escaped, never sent as escape sequences.
pub fn escape(text: &str) -> String {
    use std::fmt::Write as _;
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || invisible(c) {
            let _ = write!(clean, "{}", c.escape_default());
        } else {
            clean.push(c);
        }
    }
    clean
}

/// Characters that reorder or hide text (bidirectional controls, zero
/// widths, line and paragraph separators).
pub fn invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Another program's output (pip's, a build's log), passed on to stderr
/// with what a terminal would obey escaped.
pub fn relay(bytes: &[u8]) {
    let _ = std::io::stderr().write_all(escape(&String::from_utf8_lossy(bytes)).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn what_a_terminal_would_obey_is_shown_escaped() {
        assert_eq!(
            escape("a\x1b]0;T\x07b\n\tc\u{202e}d\u{85}é"),
            "a\\u{1b}]0;T\\u{7}b\n\tc\\u{202e}d\\u{85}é"
        );
    }
}
