//! The shells (and the one-shot export formats), one file each, and the one
//! list of them (`shells!` below): a new shell is a new file here, one in
//! `shells/` for its hook, and a line in that list. Everything else (the
//! commands' shell arguments and help, doctor's advice, the names no
//! project may set) reads the list.

mod bash;
mod docker;
mod dotenv;
mod elvish;
mod fish;
mod gha;
mod json;
mod nu;
mod tcsh;
mod xonsh;
mod zsh;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::envdiff::Changes;

/// The one list of shells: `Variant => the shell's type`, in the order
/// help and errors list them. It makes [`ShellName`] (the command line's
/// word for each, as clap reads it) and [`ShellName::shell`].
macro_rules! shells {
    ($($variant:ident => $shell:expr,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ShellName {
            $($variant,)*
        }

        impl ShellName {
            pub const ALL: &[ShellName] = &[$(ShellName::$variant,)*];

            pub fn shell(self) -> &'static dyn Shell {
                match self {
                    $(ShellName::$variant => &$shell,)*
                }
            }
        }
    };
}

shells! {
    Bash => bash::Bash,
    Zsh => zsh::Zsh,
    Fish => fish::Fish,
    Xonsh => xonsh::Xonsh,
    Tcsh => tcsh::Tcsh,
    Elvish => elvish::Elvish,
    Nu => nu::Nu,
    Json => json::Json,
    Gha => gha::Gha,
    Dotenv => dotenv::Dotenv,
    Docker => docker::Docker,
}

impl ShellName {
    /// The word that names it on the command line (`export bash`).
    pub fn name(self) -> &'static str {
        self.shell().name()
    }

    /// The shell named `name` on the command line.
    pub fn from_name(name: &str) -> Option<ShellName> {
        ShellName::ALL.iter().copied().find(|s| s.name() == name)
    }
}

impl clap::ValueEnum for ShellName {
    fn value_variants<'a>() -> &'a [Self] {
        ShellName::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// Where an export goes.
pub enum Output {
    /// Printed on stdout, in one write.
    Print(Vec<u8>),
    /// Appended to the file each variable names (`GITHUB_ENV`, `GITHUB_PATH`).
    Append(Vec<(&'static str, Vec<u8>)>),
}

/// A variable a format cannot carry as it is.
#[derive(Debug, thiserror::Error)]
#[error("export {target}: cannot carry `{name}`: {why}; nothing was written")]
pub struct Refused {
    pub target: &'static str,
    pub name: String,
    pub why: String,
}

impl Refused {
    pub fn new(target: &'static str, name: &str, why: impl Into<String>) -> Refused {
        Refused {
            target,
            name: name.to_string(),
            why: why.into(),
        }
    }
}

/// A value as UTF-8 text, for the formats that are text (the bytes of one
/// that is not would arrive replaced).
pub fn utf8<'a>(target: &'static str, name: &str, value: &'a OsStr) -> Result<&'a str, Refused> {
    value.to_str().ok_or_else(|| {
        Refused::new(
            target,
            name,
            "its value is not UTF-8 text, which this format holds only",
        )
    })
}

/// The variables of a one-shot export: every change must set (a file of
/// settings cannot unset), with a name a shell could take.
pub fn settings<'a>(
    target: &'static str,
    changes: &'a Changes,
) -> Result<Vec<(&'a str, &'a OsStr)>, Refused> {
    safe(changes)
        .map(|(name, value)| match value {
            Some(v) => Ok((name.as_str(), v.as_os_str())),
            None => Err(Refused::new(
                target,
                name,
                "the project's environment unsets it, and this format can only set (export in a fresh environment)",
            )),
        })
        .collect()
}

/// A shell's line for its rc file, e.g. `eval "$(pyenv-guix hook bash)"`
/// for `~/.bashrc`.
pub struct Install {
    pub rc_file: &'static str,
    pub line: &'static str,
}

/// `NAME=VALUE` and a newline, the value as `shell` quotes it: a line of
/// the env files the one-shot exports write.
pub(crate) fn env_line(shell: &dyn Shell, out: &mut Vec<u8>, name: &str, value: &OsStr) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    shell.quote(out, value.as_bytes());
    out.push(b'\n');
}

pub trait Shell: Sync {
    /// The word that names it on the command line (`export bash`).
    fn name(&self) -> &'static str;
    /// The hook script (from `shells/`), with `@PYENV_GUIX@` where the
    /// binary goes; `None` for an export with no hook (json, the CI files).
    fn hook_template(&self) -> Option<&'static str> {
        None
    }
    /// The file for the shell's non-interactive start (`BASH_ENV`,
    /// `.zshenv`, fish's `conf.d`), from `shells/non-interactive/`, with
    /// `@PYENV_GUIX@` where the binary goes: the environment of the project
    /// a `bash -c` starts in, with no prompt to run a hook.
    fn non_interactive_template(&self) -> Option<&'static str> {
        None
    }
    /// Where its hook goes; `None` for what has no hook (json).
    fn install(&self) -> Option<Install> {
        None
    }
    /// A one-shot export for scripts and CI: a project that is not loaded
    /// (none, blocked, failed) is an error, and nothing is written.
    fn needs_project(&self) -> bool {
        false
    }
    /// For `export --help`: what a one-shot export writes, and where.
    fn about(&self) -> Option<&'static str> {
        None
    }
    /// An editor's answer: built for, but never waiting behind another
    /// process's build, nor left to the background.
    fn for_editors(&self) -> bool {
        false
    }
    /// Whether the export is data its hook applies (a shell that cannot,
    /// or should not, evaluate generated code), not code to eval.
    fn answers_with_data(&self) -> bool {
        false
    }
    /// Whether the hook also runs on a change of directory, not only at a prompt.
    fn hook_on_cd(&self) -> bool {
        false
    }
    /// What runs the hook at a prompt, as doctor names it when the hook
    /// never ran (something later in the rc file replaced it).
    fn prompt_hook(&self) -> &'static str {
        "its prompt hook"
    }
    /// Variables the shell keeps for itself (read-only, or with a meaning
    /// to the shell): never set by a project, never in a snippet.
    fn reserved_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Prefixes of the shell's own variables, as [`Shell::reserved_names`].
    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &[]
    }
    /// The completion script's registration, and the line of
    /// `completions --help` that says where it goes.
    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        None
    }
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
            self.quote(out, item.as_bytes());
        }
        out.extend_from_slice(b");\n");
    }

    /// A change the shell cannot hold (a value its strings cannot carry):
    /// the export refuses it, naming it, and prints nothing.
    fn refuse(&self, changes: &Changes) -> Result<(), Refused> {
        let _ = changes;
        Ok(())
    }

    /// What the export prints, or (a CI target) appends to the files its
    /// variables name; `before` reads the environment the changes apply to.
    /// A value the format cannot carry is refused, never changed.
    fn render(
        &self,
        changes: &Changes,
        before: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Output, Refused> {
        let _ = before;
        Ok(Output::Print(self.snippet(changes)))
    }

    /// The code that makes the changes, for a shell (which can hold any
    /// value, or, json, says how it cannot).
    fn snippet(&self, changes: &Changes) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in safe(changes) {
            match value {
                Some(v) => self.set(&mut out, name, v),
                None => self.unset(&mut out, name),
            }
        }
        out
    }

    /// The hook (or, `non_interactive`, the file for non-interactive
    /// starts), calling the binary at `bin`.
    fn hook(&self, bin: &OsStr, non_interactive: bool) -> Option<Vec<u8>> {
        let template = if non_interactive {
            self.non_interactive_template()?
        } else {
            self.hook_template()?
        };
        let mut quoted = Vec::new();
        self.quote(&mut quoted, bin.as_bytes());
        let mut parts = template.split("@PYENV_GUIX@");
        let mut out = parts.next()?.as_bytes().to_vec();
        for part in parts {
            out.extend_from_slice(&quoted);
            out.extend_from_slice(part.as_bytes());
        }
        Some(out)
    }
}

/// The shells that have a hook.
pub fn hooked() -> impl Iterator<Item = ShellName> {
    ShellName::ALL
        .iter()
        .copied()
        .filter(|s| s.shell().hook_template().is_some())
}

/// A command-line argument naming one of the shells `keep` accepts, with
/// clap's usual list of possible values and its "did you mean".
pub fn arg(
    keep: fn(&dyn Shell) -> bool,
) -> impl clap::builder::TypedValueParser<Value = ShellName> {
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = ShellName::ALL
        .iter()
        .filter(|s| keep(s.shell()))
        .map(|s| s.name())
        .collect();
    clap::builder::PossibleValuesParser::new(names)
        .map(|name| ShellName::from_name(&name).expect("a name from the list"))
}

/// `a, b or c`, for help text.
pub fn list<'a>(words: impl IntoIterator<Item = &'a str>, last: &str) -> String {
    let words: Vec<&str> = words.into_iter().collect();
    match words.split_last() {
        None => String::new(),
        Some((only, [])) => only.to_string(),
        Some((tail, head)) => format!("{} {last} {tail}", head.join(", ")),
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

/// Variables that every shell here, and POSIX, keep for themselves; each
/// shell's file lists its own.
const POSIX_NAMES: &[&str] = &[
    "PWD", "OLDPWD", "SHLVL", "_", "IFS", "ENV", "PS0", "PS1", "PS2", "PS3", "PS4", "PPID", "UID",
    "EUID", "GID", "EGID", "OPTIND", "OPTARG", "LINENO", "RANDOM", "SECONDS", "HISTCMD",
];

/// Whether a snippet may carry `name`: a shell identifier no shell keeps
/// for itself, and none of the hook's own (`__pyenv_guix…`).
pub fn snippet_name(name: &str) -> bool {
    let mut chars = name.chars();
    let identifier = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    identifier
        && !POSIX_NAMES.contains(&name)
        && !name.starts_with("__pyenv_guix")
        && !ShellName::ALL.iter().map(|s| s.shell()).any(|s| {
            s.reserved_names().contains(&name)
                || s.reserved_prefixes().iter().any(|p| name.starts_with(p))
        })
}

#[cfg(test)]
mod tests {
    use super::ShellName;

    /// Each shell's word is its own: the command line finds it by that word.
    #[test]
    fn every_shell_is_found_by_its_own_name() {
        for &shell in ShellName::ALL {
            assert_eq!(ShellName::from_name(shell.name()), Some(shell));
        }
        let mut names: Vec<&str> = ShellName::ALL.iter().map(|s| s.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ShellName::ALL.len());
    }

    #[test]
    fn each_shells_own_names_are_kept_from_snippets() {
        for &shell in ShellName::ALL {
            for name in shell.shell().reserved_names() {
                assert!(!super::snippet_name(name), "{name}");
            }
            for prefix in shell.shell().reserved_prefixes() {
                assert!(!super::snippet_name(&format!("{prefix}X")), "{prefix}");
            }
        }
        assert!(super::snippet_name("MY_VAR"));
    }
}
