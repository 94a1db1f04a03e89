use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::Shell;

pub struct Fish;

impl Shell for Fish {
    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.fish"))
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
