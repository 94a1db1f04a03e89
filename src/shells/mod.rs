//! One small file per shell: how to set and unset a variable, and the hook.

mod bash;
mod fish;
mod json;
mod zsh;

use std::ffi::OsStr;

use crate::envdiff::Changes;

pub trait Shell {
    /// The hook script (from `shells/`), with `@PYENV_GUIX@` where the binary goes.
    fn hook_template(&self) -> Option<&'static str>;
    /// A word the shell reads back as exactly these bytes.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]);
    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr);
    fn unset(&self, out: &mut Vec<u8>, name: &str);
    /// A shell variable of the hook's own (not exported): a list of words.
    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=(");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.quote(out, std::os::unix::ffi::OsStrExt::as_bytes(*item));
        }
        out.extend_from_slice(b");\n");
    }

    fn render(&self, changes: &Changes) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in safe(changes) {
            match value {
                Some(v) => self.set(&mut out, name, v),
                None => self.unset(&mut out, name),
            }
        }
        out
    }

    /// The hook, calling the binary at `bin`.
    fn hook(&self, bin: &OsStr) -> Option<Vec<u8>> {
        let template = self.hook_template()?;
        let mut quoted = Vec::new();
        self.quote(&mut quoted, std::os::unix::ffi::OsStrExt::as_bytes(bin));
        let (head, tail) = template.split_once("@PYENV_GUIX@")?;
        let mut out = head.as_bytes().to_vec();
        out.extend_from_slice(&quoted);
        out.extend_from_slice(tail.as_bytes());
        Some(out)
    }
}

/// The changes whose names a shell may be given: the last gate before a
/// snippet (a name is code to a shell).
fn safe(changes: &Changes) -> impl Iterator<Item = (&String, &Option<std::ffi::OsString>)> {
    changes.iter().filter(|(name, _)| {
        let ok = snippet_name(name);
        if !ok {
            crate::log::warn(&format!(
                "not setting `{}`: not a name a shell can take safely",
                name.escape_debug()
            ));
        }
        ok
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellName {
    Bash,
    Zsh,
    Fish,
    Json,
}

impl ShellName {
    /// The word that names it on the command line (`export bash`).
    pub fn name(self) -> &'static str {
        match self {
            ShellName::Bash => "bash",
            ShellName::Zsh => "zsh",
            ShellName::Fish => "fish",
            ShellName::Json => "json",
        }
    }
}

pub fn get(name: ShellName) -> &'static dyn Shell {
    match name {
        ShellName::Bash => &bash::Bash,
        ShellName::Zsh => &zsh::Zsh,
        ShellName::Fish => &fish::Fish,
        ShellName::Json => &json::Json,
    }
}

/// POSIX single quotes keep every byte but `'`, which closes, escapes and reopens.
pub fn posix_quote(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

/// Variables that bash, zsh or fish keep for themselves (read-only, or
/// with a meaning to the shell: running code, splitting words, the prompt):
/// never set by a project, never in a snippet.
const SHELL_NAMES: &[&str] = &[
    // all three, and POSIX
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "IFS",
    "ENV",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PPID",
    "UID",
    "EUID",
    "GID",
    "EGID",
    "OPTIND",
    "OPTARG",
    "LINENO",
    "RANDOM",
    "SECONDS",
    "HISTCMD",
    // bash
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
    // zsh
    "PROMPT",
    "PROMPT2",
    "PROMPT3",
    "PROMPT4",
    "RPROMPT",
    "RPROMPT2",
    "RPS1",
    "RPS2",
    "SPROMPT",
    "path",
    "cdpath",
    "fpath",
    "manpath",
    "module_path",
    "mailpath",
    "psvar",
    "argv",
    "status",
    "pipestatus",
    "signals",
    "options",
    "parameters",
    "commands",
    "functions",
    "aliases",
    "precmd_functions",
    "preexec_functions",
    "chpwd_functions",
    "periodic_functions",
    "zshaddhistory_functions",
    "zshexit_functions",
    "ZDOTDIR",
    "TTY",
    "ERRNO",
    "USERNAME",
    "histchars",
    "HISTCHARS",
    "NULLCMD",
    "READNULLCMD",
    "KEYBOARD_HACK",
    "WORDCHARS",
    "ARGC",
    "prompt",
    "PROMPT_EOL_MARK",
    "POSTEDIT",
    "TIMEFMT",
    "WATCHFMT",
    "REPORTTIME",
    "REPORTMEMORY",
    "WATCH",
    "watch",
    "LOGCHECK",
    "KEYTIMEOUT",
    "LISTMAX",
    "ZBEEP",
    "fignore",
    "CORRECT_IGNORE",
    "CORRECT_IGNORE_FILE",
    "DIRSTACKSIZE",
    "FCEDIT",
    "HISTORY_IGNORE",
    "HISTSIZE",
    "SAVEHIST",
    "TMPPREFIX",
    "TMPSUFFIX",
    "TRY_BLOCK_ERROR",
    "TRY_BLOCK_INTERRUPT",
    "FUNCNEST",
    "HOST",
    "MACHTYPE",
    "OSTYPE",
    "VENDOR",
    "CPUTYPE",
    "TTYIDLE",
    // fish
    "history",
    "version",
    "hostname",
    "fish_pid",
    "last_pid",
    "CMD_DURATION",
    "COLUMNS",
    "LINES",
    "umask",
    "FISH_VERSION",
    "status_generation",
];

/// Whether a snippet may carry `name`: a shell identifier the shells do
/// not keep for themselves, and none of the hook's own (`__pyenv_guix…`).
pub fn snippet_name(name: &str) -> bool {
    let mut chars = name.chars();
    let identifier = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    identifier
        && !SHELL_NAMES.contains(&name)
        && name != "BASH"
        && ![
            "BASH_",
            "ZSH_",
            "ZLE_",
            "zle_",
            "fish_",
            "__fish",
            "__pyenv_guix",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}
