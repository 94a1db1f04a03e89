use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Shell};

/// xonsh runs Python, and could run generated Python: its hook is given
/// data instead, one JSON array a line (`["set", NAME, VALUE]`,
/// `["unset", NAME]`, `["list", NAME, [ITEMS]]`), and applies it itself.
/// A quoting mistake then makes a line the hook cannot read, never code.
///
/// xonsh holds a variable as a Python `str`, and hands it to a command
/// through `os.fsencode`, which gives back the bytes Python's
/// `surrogateescape` took in: a byte that is not UTF-8 is written as the
/// lone surrogate U+DC80+byte (`\udcXX`), which Python's `json` and its
/// string literals both read.
pub struct Xonsh;

impl Shell for Xonsh {
    fn name(&self) -> &'static str {
        "xonsh"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.xsh"))
    }

    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.xonshrc",
            line: "execx($(pyenv-guix hook xonsh))",
        })
    }

    fn hook_on_cd(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "the on_pre_prompt, on_precommand and on_chdir events"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &["XONSH_"]
    }

    /// A string that is both a JSON string and a Python string literal:
    /// `"` and `\` escaped, control characters as `\u00XX`, other text as
    /// it is, and each byte that is not UTF-8 as `\udcXX`.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.push(b'"');
        for chunk in value.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' => out.extend_from_slice(b"\\\""),
                    '\\' => out.extend_from_slice(b"\\\\"),
                    c if c < ' ' || c == '\x7f' => {
                        out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                    }
                    c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            for b in chunk.invalid() {
                out.extend_from_slice(format!("\\udc{b:02x}").as_bytes());
            }
        }
        out.push(b'"');
    }

    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        out.extend_from_slice(b"[\"set\",");
        self.quote(out, name.as_bytes());
        out.push(b',');
        self.quote(out, value.as_bytes());
        out.extend_from_slice(b"]\n");
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(b"[\"unset\",");
        self.quote(out, name.as_bytes());
        out.extend_from_slice(b"]\n");
    }

    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        out.extend_from_slice(b"[\"list\",");
        self.quote(out, name.as_bytes());
        out.extend_from_slice(b",[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.quote(out, item.as_bytes());
        }
        out.extend_from_slice(b"]]\n");
    }
}

/// xonsh's own variables that shape the shell itself (its prompts, how it
/// passes the environment on); the rest of its settings are `XONSH_…`.
/// Any other variable xonsh gives a type of its own is checked by the hook.
const NAMES: &[&str] = &[
    "PROMPT",
    "RIGHT_PROMPT",
    "BOTTOM_TOOLBAR",
    "MULTILINE_PROMPT",
    "PROMPT_FIELDS",
    "UPDATE_OS_ENVIRON",
    "EXPAND_ENV_VARS",
];

#[cfg(test)]
mod tests {
    use super::{Shell, Xonsh};

    fn quoted(value: &[u8]) -> String {
        let mut out = Vec::new();
        Xonsh.quote(&mut out, value);
        String::from_utf8(out).expect("always UTF-8")
    }

    #[test]
    fn quote_escapes_what_json_and_python_read_specially() {
        assert_eq!(quoted(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted(b"\n\x1b\x7f"), r#""\u000a\u001b\u007f""#);
        assert_eq!(quoted("é😀".as_bytes()), "\"é😀\"");
        assert_eq!(quoted(b"x\xffy\xe2\x82"), r#""x\udcffy\udce2\udc82""#);
        assert_eq!(quoted(b""), "\"\"");
    }
}
