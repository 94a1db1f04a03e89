use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{Install, Refused, Shell, safe};
use crate::envdiff::Changes;

/// nushell cannot evaluate code it is given: its answer is data, one JSON
/// object of one key per line (`{"NAME":"value"}`, `{"NAME":null}` to
/// unset), which its hook applies, and which a script loads with
/// `from json --objects | into record | load-env`. Its strings are UTF-8:
/// a value that is not is refused, never changed.
pub struct Nu;

impl Shell for Nu {
    fn name(&self) -> &'static str {
        "nu"
    }

    fn hook_template(&self) -> Option<&'static str> {
        Some(include_str!("../../shells/pyenv-guix.nu"))
    }

    /// The autoload directory nushell reads after config.nu: the file is
    /// written at config.nu's run and read in the same start (a `source`
    /// in config.nu is resolved before config.nu runs, so it would read
    /// the file the previous start wrote).
    fn install(&self) -> Option<Install> {
        Some(Install {
            rc_file: "~/.config/nushell/config.nu",
            line: "mkdir $nu.user-autoload-dirs.0; pyenv-guix hook nu | save -f ($nu.user-autoload-dirs.0 | path join pyenv-guix.nu)",
        })
    }

    fn answers_with_data(&self) -> bool {
        true
    }

    fn prompt_hook(&self) -> &'static str {
        "$env.config.hooks.pre_prompt"
    }

    fn reserved_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn reserved_prefixes(&self) -> &'static [&'static str] {
        &["NU_", "TRANSIENT_PROMPT_"]
    }

    fn completions(&self) -> Option<(&'static dyn clap_complete::env::EnvCompleter, &'static str)> {
        Some((
            &Completer,
            "  nu (config.nu):  pyenv-guix completions nu | save -f ($nu.user-autoload-dirs.0 | path join pyenv-guix-completions.nu)",
        ))
    }

    fn refuse(&self, changes: &Changes) -> Result<(), Refused> {
        for (name, value) in safe(changes) {
            if let Some(v) = value
                && v.to_str().is_none()
            {
                return Err(Refused::new(
                    "nu",
                    name,
                    "its value is not UTF-8 text, and nushell's strings hold only text",
                ));
            }
        }
        Ok(())
    }

    /// A nushell string literal of exactly this text: double quotes, with
    /// `"`, `\` and control characters escaped. Bytes that are not UTF-8
    /// (nushell's strings cannot hold them) arrive replaced.
    fn quote(&self, out: &mut Vec<u8>, value: &[u8]) {
        out.push(b'"');
        for c in String::from_utf8_lossy(value).chars() {
            match c {
                '"' | '\\' => {
                    out.push(b'\\');
                    out.push(c as u8);
                }
                c if c.is_control() => {
                    out.extend_from_slice(format!("\\u{{{:x}}}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
    }

    /// PATH is a list in nushell (it splits it when it starts, and joins it
    /// for its children): given as one, it stays one, so `$env.PATH |
    /// prepend` goes on working.
    fn set(&self, out: &mut Vec<u8>, name: &str, value: &OsStr) {
        let text = String::from_utf8_lossy(value.as_bytes());
        let value = if name == "PATH" {
            serde_json::Value::from(text.split(':').collect::<Vec<_>>())
        } else {
            serde_json::Value::from(text)
        };
        line(out, name, value);
    }

    fn unset(&self, out: &mut Vec<u8>, name: &str) {
        line(out, name, serde_json::Value::Null);
    }

    fn set_hook_list(&self, out: &mut Vec<u8>, name: &str, items: &[&OsStr]) {
        let items: Vec<_> = items
            .iter()
            .map(|i| String::from_utf8_lossy(i.as_bytes()))
            .collect();
        line(out, name, serde_json::Value::from(items));
    }
}

/// nushell's completion of external commands: one closure for them all,
/// `$env.config.completions.external.completer`, given the words typed.
/// Ours answers for pyenv-guix and hands any other command to the closure
/// that was there before. The binary is asked in the protocol clap gives
/// fish (`VAR=fish BIN -- WORDS…`, one `value<TAB>help` line each), which
/// is the data nushell wants: clap's own list of shells has no nushell.
struct Completer;

impl clap_complete::env::EnvCompleter for Completer {
    fn name(&self) -> &'static str {
        "nu"
    }

    fn is(&self, name: &str) -> bool {
        name == "nu"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        _bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut quoted = Vec::new();
        Nu.quote(&mut quoted, name.as_bytes());
        let name = String::from_utf8_lossy(&quoted).into_owned();
        quoted.clear();
        Nu.quote(&mut quoted, completer.as_bytes());
        let completer = String::from_utf8_lossy(&quoted);
        write!(
            buf,
            r#"# pyenv-guix completions for nushell (asked of the binary at each Tab).
let __pyenv_guix_other = $env.config.completions.external.completer?
$env.config.completions.external.enable = true
$env.config.completions.external.completer = {{|spans|
    if ($spans.0? | default "" | path basename) == {name} {{
        with-env {{ {var}: fish }} {{ ^{completer} -- ...$spans }}
        | lines
        | each {{|line| $line | split row "\t" | {{ value: $in.0, description: ($in.1? | default "") }} }}
    }} else if $__pyenv_guix_other != null {{
        do $__pyenv_guix_other $spans
    }}
}}
"#
        )
    }

    /// Never asked: the registration asks in fish's protocol.
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

/// `{"NAME":value}` and a newline: JSON escapes every line break, so one
/// change is one line.
fn line(out: &mut Vec<u8>, name: &str, value: serde_json::Value) {
    let mut one = serde_json::Map::new();
    one.insert(name.to_string(), value);
    out.extend_from_slice(serde_json::Value::Object(one).to_string().as_bytes());
    out.push(b'\n');
}

/// nushell's own variables (its settings and prompt, which a string would
/// break, and what it sets itself).
const NAMES: &[&str] = &[
    "config",
    "ENV_CONVERSIONS",
    "PROMPT_COMMAND",
    "PROMPT_COMMAND_RIGHT",
    "PROMPT_INDICATOR",
    "PROMPT_INDICATOR_VI_INSERT",
    "PROMPT_INDICATOR_VI_NORMAL",
    "PROMPT_MULTILINE_INDICATOR",
    "LAST_EXIT_CODE",
    "CMD_DURATION_MS",
    "CURRENT_FILE",
    "FILE_PWD",
    "PROCESS_PATH",
];
