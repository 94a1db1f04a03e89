use std::process::Command;

use super::User;

pub struct Nu;

/// nushell runs its prompt hooks only in its line editor, on a terminal,
/// and that editor asks the terminal where its cursor is (`ESC [ 6 n`)
/// before each prompt, waiting for the answer: `script` gives no answer.
/// This gives nushell a pty, answers each question (top left), and types
/// the next line of stdin when a prompt starts (bracketed paste turned on,
/// `ESC [ ? 2004 h`), so that each line meets its own prompt.
const DRIVER: &str = r#"
import os, pty, sys
lines = sys.stdin.buffer.read().split(b"\n")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
ASK, PROMPT = b"\x1b[6n", b"\x1b[?2004h"
seen, armed = b"", False
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    seen += data
    while True:
        a, p = seen.find(ASK), seen.find(PROMPT)
        if a < 0 and p < 0:
            break
        if p >= 0 and (a < 0 or p < a):
            armed, seen = True, seen[p + len(PROMPT):]
            continue
        seen = seen[a + len(ASK):]
        os.write(fd, b"\x1b[1;1R")
        if armed and lines:
            armed = False
            os.write(fd, lines.pop(0) + b"\r")
    seen = seen[-8:]
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

impl User for Nu {
    fn plain(&self) -> &'static [&'static str] {
        &["nu", "--no-config-file"]
    }

    fn interactive(&self) -> Command {
        let mut c = Command::new("python3");
        c.args(["-c", DRIVER, "nu", "--no-config-file", "-i"]);
        c
    }

    /// A quoted word at the head of a line is a string to nushell: `^`
    /// makes it the command.
    fn run(&self, program: &str, args: &str) -> String {
        format!("^{program} {args}")
    }

    /// A raw string holds the line as it is, with one `#` more than any
    /// run of them after a `'` in it.
    fn posix(&self, line: &str) -> String {
        let most = line
            .split('\'')
            .skip(1)
            .map(|after| after.len() - after.trim_start_matches('#').len())
            .max()
            .unwrap_or(0);
        let hashes = "#".repeat(most + 1);
        format!("^sh -c r{hashes}'{line}'{hashes}")
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("$env.PATH = ($env.PATH | prepend {dir})")
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("$env.{name} = '{value}'")
    }

    /// Without the time the last line took, which nushell gives every
    /// child and changes at every line (a `def` hides it for itself only).
    fn dump_function(&self) -> &'static str {
        "def dump [name: string] { hide-env -i CMD_DURATION_MS; ^env -0 | save -f ($env.OUT | path join $name) }"
    }

    /// `source` reads its file when the line is read, before the line
    /// runs: the file is written by the line before.
    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!(
            "^{bin} hook {name} | save -f ($nu.home-path | path join pyenv-guix.nu)\n\
             source ($nu.home-path | path join pyenv-guix.nu)"
        )
    }

    /// Through a variable: a failing command mid-pipeline does not stop a
    /// nushell script, one whose output is assigned does.
    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!(
            "let pyenv_guix = (^{bin} export {name}); $pyenv_guix | from json --objects | into record | load-env"
        )
    }

    fn prompt_setup(&self) -> Vec<String> {
        vec![
            "$env.PROMPT_COMMAND = {|| if 'PYENV_GUIX_PROMPT' in $env { '(' + $env.PYENV_GUIX_PROMPT + ') ' } else { '' } }".into(),
        ]
    }

    fn holds_any_bytes(&self) -> bool {
        false
    }
}
