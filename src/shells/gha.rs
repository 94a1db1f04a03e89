use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::{Output, Refused, Shell, settings, utf8};
use crate::envdiff::{self, Changes};

/// GitHub Actions: the variables go to the file `$GITHUB_ENV` names, each
/// as `NAME<<DELIMITER`, its lines, `DELIMITER` (the runner's form for any
/// value, one line or many); the directories put in front of PATH go to
/// `$GITHUB_PATH`, one a line. Both files are read by the runner as UTF-8
/// text once the step ends, for the steps after it.
pub struct Gha;

const TARGET: &str = "gha";

impl Shell for Gha {
    fn name(&self) -> &'static str {
        TARGET
    }

    fn needs_project(&self) -> bool {
        true
    }

    fn about(&self) -> Option<&'static str> {
        Some(
            "appends the variables to the file GitHub Actions names in $GITHUB_ENV (each as NAME<<DELIMITER, its lines, DELIMITER) and the directories it puts in front of PATH to $GITHUB_PATH, for the steps after this one",
        )
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.extend_from_slice(value);
    }

    /// A delimiter is a line of its own that ends the value: one that
    /// occurs nowhere in the value cannot end it early.
    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        let value = value.as_bytes();
        let mut delimiter = "PYENV_GUIX_EOF".to_string();
        let mut n = 0;
        while contains(value, delimiter.as_bytes()) {
            n += 1;
            delimiter = format!("PYENV_GUIX_EOF_{n}");
        }
        out.extend_from_slice(format!("{name}<<{delimiter}\n").as_bytes());
        out.extend_from_slice(value);
        out.extend_from_slice(format!("\n{delimiter}\n").as_bytes());
    }

    /// Never reached: [`settings`] refuses an unset first.
    fn unset(&self, _out: &mut Vec<u8>, _name: &str) {}

    fn render(
        &self,
        changes: &Changes,
        before: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Output, Refused> {
        let mut env = Vec::new();
        let mut path = Vec::new();
        for (name, value) in settings(TARGET, changes)? {
            if name == "PATH" {
                path = in_front(value, before("PATH").unwrap_or_default().as_os_str())?;
                continue;
            }
            utf8(TARGET, name, value)?;
            self.set(&mut env, name, value);
        }
        Ok(Output::Append(vec![
            ("GITHUB_ENV", env),
            ("GITHUB_PATH", path),
        ]))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `$GITHUB_PATH`'s lines for a PATH that is the step's with directories
/// put in front. A PATH set in `$GITHUB_ENV` instead would end up behind
/// every directory another action adds to `$GITHUB_PATH` (the runner puts
/// those in front of any PATH). The runner puts the last line first.
fn in_front(new: &OsStr, old: &OsStr) -> Result<Vec<u8>, Refused> {
    let (new, old) = (new.as_bytes(), old.as_bytes());
    let front = if old.is_empty() {
        Some(new)
    } else {
        new.strip_suffix(old).and_then(|n| n.strip_suffix(b":"))
    };
    let Some(front) = front else {
        return Err(Refused::new(
            TARGET,
            "PATH",
            "the project's PATH is not this step's PATH with directories put in front, and GitHub Actions can only put directories in front ($GITHUB_PATH)",
        ));
    };
    let mut out = Vec::new();
    for dir in envdiff::split(OsStr::from_bytes(front)).iter().rev() {
        let text = utf8(TARGET, "PATH", dir)?;
        // The runner reads $GITHUB_PATH by lines (`\r` ends one too) and
        // skips an empty one.
        if text.is_empty() || text.contains(['\n', '\r']) {
            return Err(Refused::new(
                TARGET,
                "PATH",
                format!("the directory {text:?} cannot be a line of $GITHUB_PATH"),
            ));
        }
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}
