use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Shell, posix_quote};

pub struct Bash;

impl Shell for Bash {
    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.bash"))
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
