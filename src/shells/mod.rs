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
        let ok = crate::manifest::snippet_name(name);
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
