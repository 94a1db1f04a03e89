use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Shell};

pub struct Tcsh;

impl Shell for Tcsh {
    fn name(&self) -> &'static str {
        "tcsh"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.tcsh"))
    }

    /// Sourced from a file, as zoxide's tcsh init is: `eval "`...`"` would
    /// join the hook's lines (tcsh's if/endif and foreach need their own).
    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.tcshrc",
            line: "pyenv-guix hook tcsh >! ~/.pyenv-guix.tcsh; source ~/.pyenv-guix.tcsh",
        })
    }

    fn hook_on_cd(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "the precmd alias"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    /// Single quotes, in a file that `source` reads: they keep every byte
    /// but three. `'` closes, escapes and reopens; `!` is history even
    /// there, and `\!` is a plain `!`; a newline ends the command unless a
    /// backslash stands before it, and then it is kept. Every byte from
    /// 0x01 to 0xff arrives as it was (tests/shell_tcsh.rs), in any locale.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.push(b'\'');
        for &b in value {
            match b {
                b'\'' => out.extend_from_slice(b"'\\''"),
                b'!' => out.extend_from_slice(b"\\!"),
                b'\n' => out.extend_from_slice(b"\\\n"),
                _ => out.push(b),
            }
        }
        out.push(b'\'');
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        out.extend_from_slice(format!("setenv {name} ").as_bytes());
        self.quote(out, value.as_bytes());
        out.extend_from_slice(b";\n");
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(format!("unsetenv {name};\n").as_bytes());
    }

    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        out.extend_from_slice(format!("set {name} = (").as_bytes());
        for item in items {
            out.push(b' ');
            self.quote(out, item.as_bytes());
        }
        out.extend_from_slice(b" );\n");
    }
}

/// The environment variables tcsh sets for itself at start, from the system
/// it runs on (its manual's ENVIRONMENT), and NOREBIND, which changes how
/// it reads keys.
const NAMES: &[&str] = &[
    "HOSTTYPE",
    "MACHTYPE",
    "OSTYPE",
    "VENDOR",
    "REMOTEHOST",
    "NOREBIND",
];
