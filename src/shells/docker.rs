use std::ffi::{OsStr, OsString};

use super::{Output, Refused, Shell, settings, utf8};
use crate::envdiff::Changes;

/// docker's `--env-file` (and podman's): `NAME=value`, one a line, the
/// value kept exactly as written, with no quoting at all. So a value
/// cannot hold a line break, nor end in `\r` (Go's line scanner drops it),
/// and a line is at most 64 KiB.
pub struct Docker;

const TARGET: &str = "docker";

/// Go's bufio.Scanner: a line and its `\n` must fit its 64 KiB buffer.
const LONGEST_LINE: usize = 64 * 1024 - 1;

impl Shell for Docker {
    fn name(&self) -> &'static str {
        TARGET
    }

    fn needs_project(&self) -> bool {
        true
    }

    fn about(&self) -> Option<&'static str> {
        Some("prints a file for `docker run --env-file` (NAME=value, exactly, with no quoting)")
    }

    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.extend_from_slice(value);
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        super::env_line(self, out, name, value);
    }

    /// Never reached: [`settings`] refuses an unset first.
    fn unset(&self, _out: &mut Vec<u8>, _name: &str) {}

    fn render(
        &self,
        changes: &Changes,
        _before: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Output, Refused> {
        let mut out = Vec::new();
        for (name, value) in settings(TARGET, changes)? {
            let text = utf8(TARGET, name, value)?;
            let why = if text.contains('\n') {
                Some(
                    "its value holds a newline, and docker's --env-file has no quoting to carry one",
                )
            } else if text.ends_with('\r') {
                Some("its value ends in a carriage return, which docker's --env-file drops")
            } else if name.len() + 1 + text.len() > LONGEST_LINE {
                Some("its line would be longer than the 64 KiB docker's --env-file reads")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Refused::new(TARGET, name, why));
            }
            self.set(&mut out, name, value);
        }
        Ok(Output::Print(out))
    }
}
