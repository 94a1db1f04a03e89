use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use clap_complete::env::EnvCompleter;

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

    fn answers_with_data(&self) -> bool {
        true
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

    fn completions(&self) -> Option<(&'static dyn EnvCompleter, &'static str)> {
        Some((
            &Completer,
            "  xonsh (~/.xonshrc):   execx($(pyenv-guix completions xonsh))",
        ))
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

/// A completer in xonsh's own machinery (`completer list` shows it) that
/// asks the binary at each Tab. clap has no xonsh of its own: the question
/// and answer are fish's (the words; a candidate, a tab and its help a
/// line), which the binary already answers.
struct Completer;

impl EnvCompleter for Completer {
    fn name(&self) -> &'static str {
        "xonsh"
    }

    fn is(&self, name: &str) -> bool {
        name == "xonsh"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        _bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let quoted = |s: &str| {
            let mut out = Vec::new();
            Xonsh.quote(&mut out, s.as_bytes());
            String::from_utf8(out).expect("quote writes UTF-8")
        };
        let script = COMPLETION
            .replace("@VAR@", &quoted(var))
            .replace("@NAME@", &quoted(name))
            .replace("@COMPLETER@", &quoted(completer));
        buf.write_all(script.as_bytes())
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<std::ffi::OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Fish.write_complete(cmd, args, current_dir, buf)
    }
}

const COMPLETION: &str = r#"# pyenv-guix completions for xonsh. Put in ~/.xonshrc:  execx($(pyenv-guix completions xonsh))


def __pyenv_guix_completions():
    import os
    import subprocess

    from xonsh.built_ins import XSH
    from xonsh.completers.completer import add_one_completer
    from xonsh.completers.tools import RichCompletion, contextual_command_completer

    @contextual_command_completer
    def pyenv_guix(context):
        """pyenv-guix's commands, options and shells, asked of the binary"""
        if not context.args or os.path.basename(context.args[0].value) != @NAME@:
            return None
        words = [a.value for a in context.args[: context.arg_index]] + [context.prefix]
        env = dict(XSH.env.detype())
        env[@VAR@] = "fish"
        try:
            out = subprocess.run(
                [@COMPLETER@, "--"] + words,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            ).stdout.decode("utf-8", "replace")
        except OSError:
            return None
        found = set()
        for line in out.split("\n"):
            if line:
                value, _, help = line.partition("	")
                found.add(RichCompletion(value, description=help))
        return found

    add_one_completer("pyenv_guix", pyenv_guix, "start")


__pyenv_guix_completions()
del __pyenv_guix_completions
"#;

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
    // Files xonsh runs as code at start-up.
    "XONSHRC",
    "XONSHRC_DIR",
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
