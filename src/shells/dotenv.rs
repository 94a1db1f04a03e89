use std::ffi::{OsStr, OsString};

use super::{Output, Refused, Shell, settings, utf8};
use crate::envdiff::Changes;

/// A `.env` file as python-dotenv reads it (`dotenv_values`,
/// `load_dotenv`): `NAME="value"`, one a line, with `\\`, `\"`, `\n` and
/// `\r` escaped in the double quotes, so that no line break is raw (a file
/// read as text would turn a raw `\r` into `\n`). Two things python-dotenv
/// cannot read are refused: `${NAME}` (it expands it even in quotes, with
/// no escape), and a quoted value ending in `\` (its pattern takes the
/// `\"` that follows for an escaped quote); such a value is written bare
/// when it can be (no space at its start, no line break, no ` #`).
pub struct Dotenv;

const TARGET: &str = "dotenv";

impl Shell for Dotenv {
    fn name(&self) -> &'static str {
        TARGET
    }

    fn needs_project(&self) -> bool {
        true
    }

    fn about(&self) -> Option<&'static str> {
        Some(
            r#"prints a .env file as python-dotenv reads it (NAME="value", with backslashes, double quotes, newlines and carriage returns escaped)"#,
        )
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.push(b'"');
        for &b in value {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
        out.push(b'"');
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        super::env_line(self, out, name, value);
    }

    /// Never reached: [`settings`] refuses an unset first.
    fn unset(&self, _out: &mut Vec<u8>, _name: &str) {}

    fn render(
        &self,
        changes: &Changes,
        _before: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Output, Refused> {
        let mut out = Vec::new();
        for (name, value) in settings(TARGET, changes)? {
            let text = utf8(TARGET, name, value)?;
            if expanded(text) {
                return Err(Refused::new(
                    TARGET,
                    name,
                    "python-dotenv would replace its `${...}` with another variable's value, and has no escape for it",
                ));
            }
            if text.ends_with('\\') {
                if !bare(text) {
                    return Err(Refused::new(
                        TARGET,
                        name,
                        "its value ends in a backslash, which python-dotenv reads in quotes as escaping the closing quote, and it cannot be written bare (a space at its start, a line break or a ` #`)",
                    ));
                }
                out.extend_from_slice(format!("{name}={text}\n").as_bytes());
                continue;
            }
            self.set(&mut out, name, value);
        }
        Ok(Output::Print(out))
    }
}

/// Whether python-dotenv's `${NAME}` / `${NAME:-default}` could match:
/// a `${` with a `}` after it (a little wider than its pattern, never
/// narrower).
fn expanded(text: &str) -> bool {
    text.find("${")
        .is_some_and(|at| text[at + 2..].contains('}'))
}

/// Whether python-dotenv reads `text` written bare (unquoted) as itself:
/// it skips white space after `=`, reads a leading quote as quoting, ends
/// the value at a line break, drops a ` #` comment and trailing white
/// space.
fn bare(text: &str) -> bool {
    let first_ok = text
        .chars()
        .next()
        .is_none_or(|c| !c.is_whitespace() && c != '"' && c != '\'');
    let last_ok = text.chars().last().is_none_or(|c| !c.is_whitespace());
    let comment = text
        .char_indices()
        .any(|(i, c)| c == '#' && text[..i].ends_with(char::is_whitespace));
    first_ok && last_ok && !comment && !text.contains(['\n', '\r'])
}
