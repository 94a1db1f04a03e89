use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Shell, posix_quote};

pub struct Bash;

impl Shell for Bash {
    fn name(&self) -> &'static str {
        "bash"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.bash"))
    }

    fn non_interactive_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/non-interactive/pyenv-guix.bash"))
    }

    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.bashrc",
            line: "eval \"$(pyenv-guix hook bash)\"",
        })
    }

    fn prompt_hook(&self) -> &'static str {
        "PROMPT_COMMAND"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &["BASH_"]
    }

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &clap_complete::env::Bash,
            "  bash (~/.bashrc):     source <(pyenv-guix completions bash)",
        ))
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        posix_quote(out, value);
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        out.extend_from_slice(format!("export {name}=").as_bytes());
        posix_quote(out, value.as_bytes());
        out.extend_from_slice(b";\n");
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(format!("unset {name};\n").as_bytes());
    }
}

/// bash's own variables.
const NAMES: &[&str] = &[
    "BASH",
    "PROMPT_COMMAND",
    "PROMPT_DIRTRIM",
    "BASHOPTS",
    "BASHPID",
    "HISTCONTROL",
    "HISTIGNORE",
    "HISTTIMEFORMAT",
    "FIGNORE",
    "GLOBIGNORE",
    "CDPATH",
    "MAIL",
    "MAILCHECK",
    "EXECIGNORE",
    "READLINE_LINE",
    "READLINE_POINT",
    "GROUPS",
    "SHELLOPTS",
    "FUNCNAME",
    "PIPESTATUS",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "SRANDOM",
    "COMP_WORDS",
    "COMP_CWORD",
    "COMP_LINE",
    "COMP_POINT",
    "DIRSTACK",
    "HISTFILE",
    "INPUTRC",
    "MAILPATH",
    "POSIXLY_CORRECT",
    "TIMEFORMAT",
    "TMOUT",
];
