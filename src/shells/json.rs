use std::ffi::OsStr;

use super::Shell;
use crate::envdiff::Changes;

/// For editors: one object, variable to new value, `null` to unset.
/// JSON strings are Unicode: bytes that are not UTF-8 become U+FFFD.
pub struct Json;

impl Shell for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn for_editors(&self) -> bool {
        true
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        let text = String::from_utf8_lossy(value);
        out.extend_from_slice(serde_json::Value::from(text).to_string().as_bytes());
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        self.quote(out, name.as_bytes());
        out.push(b':');
        self.quote(out, std::os::unix::ffi::OsStrExt::as_bytes(value));
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        self.quote(out, name.as_bytes());
        out.extend_from_slice(b":null");
    }

    fn snippet(&self, changes: &Changes) -> Vec<u8> {
        let mut out = b"{".to_vec();
        for (i, (name, value)) in super::safe(changes).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match value {
                Some(v) => self.set(&mut out, name, v),
                None => self.unset(&mut out, name),
            }
        }
        out.extend_from_slice(b"}\n");
        out
    }
}
