use std::ffi::OsStr;

use super::bash::Bash;
use super::{Install, Shell};

/// zsh reads bash's snippets: it differs in its hook and its own names.
pub struct Zsh;

impl Shell for Zsh {
    fn name(&self) -> &'static str {
        "zsh"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.zsh"))
    }

    fn non_interactive_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/non-interactive/pyenv-guix.zsh"))
    }

    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.zshrc",
            line: "eval \"$(pyenv-guix hook zsh)\"",
        })
    }

    fn hook_on_cd(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "precmd_functions"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &["ZSH_", "ZLE_", "zle_"]
    }

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &clap_complete::env::Zsh,
            "  zsh (~/.zshrc, after compinit):  source <(pyenv-guix completions zsh)",
        ))
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        Bash.quote(out, value);
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        Bash.set(out, name, value);
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        Bash.unset(out, name);
    }
}

/// zsh's own variables.
const NAMES: &[&str] = &[
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
    // Read-only or special to zsh (its `parameters` table says which):
    // a project setting one would break every zsh start.
    "ZSH_EVAL_CONTEXT",
    "ZSH_SUBSHELL",
    "builtins",
    "dirstack",
    "dis_aliases",
    "dis_builtins",
    "dis_functions",
    "dis_functions_source",
    "dis_galiases",
    "dis_patchars",
    "dis_reswords",
    "dis_saliases",
    "funcfiletrace",
    "funcsourcetrace",
    "funcstack",
    "functions_source",
    "functrace",
    "galiases",
    "history",
    "historywords",
    "jobdirs",
    "jobstates",
    "jobtexts",
    "keymaps",
    "modules",
    "nameddirs",
    "patchars",
    "reswords",
    "saliases",
    "termcap",
    "terminfo",
    "userdirs",
    "usergroups",
    "widgets",
    "zsh_eval_context",
    "zsh_scheduled_events",
];
