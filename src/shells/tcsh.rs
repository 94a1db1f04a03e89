use std::ffi::{OsStr, OsString};
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

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &Completions,
            "  tcsh (~/.tcshrc):     eval \"`pyenv-guix completions tcsh`\"",
        ))
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

/// tcsh's `complete`, with the words its Tab offers taken from the binary
/// at each Tab. clap has no tcsh of its own; this speaks bash's side of
/// clap's protocol (the words, the index of the one being completed, the
/// answers split by a space), so the binary needs nothing new to answer.
/// tcsh gives the command `$COMMAND_LINE` only, as one string: sh splits
/// it (no globbing), and a line ending in a space completes a new word.
/// tcsh then keeps the answers that start with the word typed.
pub struct Completions;

impl clap_complete::env::EnvCompleter for Completions {
    fn name(&self) -> &'static str {
        "tcsh"
    }

    fn is(&self, name: &str) -> bool {
        name == "tcsh"
    }

    /// One line, for `eval`: `complete` with one rule for every word, its
    /// list the output of a command. `|` separates the rule's parts: no
    /// word of the command holds one (the completer is a path of plain
    /// characters, or the name alone). The sh script sits in single quotes
    /// inside the rule's, so tcsh substitutes none of its `$`.
    fn write_registration(
        &self,
        var: &str,
        _name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        let script = format!(
            r#"set -f; set -- $COMMAND_LINE; i=$(($# - 1)); case "$COMMAND_LINE" in *" ") i=$#; set -- "$@" "";; esac; _CLAP_COMPLETE_INDEX=$i _CLAP_IFS=" " {var}=bash exec {completer} -- "$@""#
        );
        writeln!(buf, r#"complete {bin} 'p|*|`sh -c '\''{script}'\''`|'"#)
    }

    /// Never asked (the registration asks as bash does), but the same answer.
    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        clap_complete::env::Bash.write_complete(cmd, args, current_dir, buf)
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
