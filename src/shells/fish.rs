use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Shell};

pub struct Fish;

impl Shell for Fish {
    fn name(&self) -> &'static str {
        "fish"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.fish"))
    }

    fn non_interactive_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/non-interactive/pyenv-guix.fish"))
    }

    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.config/fish/config.fish",
            line: "pyenv-guix hook fish | source",
        })
    }

    fn hook_on_cd(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "the fish_prompt event handlers"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &["fish_", "__fish"]
    }

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &clap_complete::env::Fish,
            "  fish:  pyenv-guix completions fish > ~/.config/fish/completions/pyenv-guix.fish",
        ))
    }

    /// Valid UTF-8 goes in single quotes (where only `\` and `'` are special);
    /// any other byte is written `\xHH` outside them, which fish reads as
    /// that raw byte.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        let mut quoted = false;
        let mut open = |out: &mut Vec<u8>, want: bool| {
            if quoted != want {
                out.push(b'\'');
                quoted = want;
            }
        };
        for chunk in value.utf8_chunks() {
            if !chunk.valid().is_empty() {
                open(out, true);
            }
            for &b in chunk.valid().as_bytes() {
                if b == b'\\' || b == b'\'' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            for b in chunk.invalid() {
                open(out, false);
                out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            }
        }
        if value.is_empty() {
            open(out, true);
        }
        open(out, false);
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        out.extend_from_slice(format!("set -gx {name} ").as_bytes());
        self.quote(out, value.as_bytes());
        out.extend_from_slice(b";\n");
    }

    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        out.extend_from_slice(format!("set -g {name}").as_bytes());
        for item in items {
            out.push(b' ');
            self.quote(out, item.as_bytes());
        }
        out.extend_from_slice(b";\n");
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(format!("set -e {name};\n").as_bytes());
    }
}

/// fish's own variables.
const NAMES: &[&str] = &[
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
