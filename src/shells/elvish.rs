use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Shell};

/// Elvish's strings are byte strings (Go's): a value that is not UTF-8
/// is held as it is, written `\xHH` in the code the hook evaluates.
pub struct Elvish;

impl Shell for Elvish {
    fn name(&self) -> &'static str {
        "elvish"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.elv"))
    }

    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.config/elvish/rc.elv",
            line: "eval (pyenv-guix hook elvish | slurp)",
        })
    }

    fn hook_on_cd(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "$edit:before-readline"
    }

    // Elvish's own variables ($paths, $pwd, $pid, the edit: module's) are
    // not environment variables: set-env cannot reach them. The variables
    // it ties to its own (PWD, SHLVL) are POSIX's, kept for every shell;
    // PATH (tied to $paths) is the one a project is meant to change.

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &clap_complete::env::Elvish,
            "  elvish (~/.config/elvish/rc.elv):  eval (pyenv-guix completions elvish | slurp)",
        ))
    }

    /// A double-quoted string, where Elvish expands nothing: `"` and `\`
    /// are escaped, and control characters and bytes that are not UTF-8
    /// are written `\xHH`, so the code stays printable text.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.push(b'"');
        for chunk in value.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' | '\\' => {
                        out.push(b'\\');
                        out.push(c as u8);
                    }
                    c if c.is_ascii_control() => hex(out, c as u8),
                    c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            for &b in chunk.invalid() {
                hex(out, b);
            }
        }
        out.push(b'"');
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        out.extend_from_slice(format!("set-env {name} ").as_bytes());
        self.quote(out, value.as_bytes());
        out.push(b'\n');
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(format!("unset-env {name}\n").as_bytes());
    }

    /// A list in the namespace the hook evaluates the snippet in (its own,
    /// not the user's): the hook reads it back from there.
    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        out.extend_from_slice(format!("var {name} = [").as_bytes());
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.quote(out, item.as_bytes());
        }
        out.extend_from_slice(b"]\n");
    }
}

fn hex(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::{Elvish, Shell};

    fn quoted(value: &[u8]) -> String {
        let mut out = Vec::new();
        Elvish.quote(&mut out, value);
        String::from_utf8(out).expect("quoted values are text")
    }

    #[test]
    fn what_elvish_would_read_otherwise_is_escaped() {
        assert_eq!(quoted(b""), r#""""#);
        assert_eq!(quoted(b"a \"b\" \\ $c 'd'"), r#""a \"b\" \\ $c 'd'""#);
        assert_eq!(quoted(b"new\nline\x7f"), r#""new\x0aline\x7f""#);
        assert_eq!(quoted("é✓".as_bytes()), "\"é✓\"");
        assert_eq!(quoted(b"\xff\xc3("), r#""\xff\xc3(""#);
    }
}
