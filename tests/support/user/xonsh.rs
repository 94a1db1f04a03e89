use std::process::Command;

use super::User;

pub struct Xonsh;

/// `s` as a Python string literal (the lines the tests type hold no NUL).
fn py(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl User for Xonsh {
    fn plain(&self) -> &'static [&'static str] {
        &["xonsh", "--no-rc"]
    }

    /// xonsh runs its prompt hooks only on a terminal, and prompt_toolkit's
    /// shell (the one xonsh picks when it is installed) fires on_pre_prompt
    /// at every line; its cursor-position query goes unanswered by `script`,
    /// so it is turned off rather than waited for.
    fn interactive(&self) -> Command {
        let mut c = Command::new("script");
        c.args([
            "-qec",
            "env TERM=dumb PROMPT_TOOLKIT_NO_CPR=1 xonsh --no-rc -i",
            "/dev/null",
        ]);
        c
    }

    /// A quoted first word would be read as Python: `@(...)` makes it a command.
    fn run(&self, program: &str, args: &str) -> String {
        format!("@({program}) {args}")
    }

    fn posix(&self, line: &str) -> String {
        format!("bash -c @({})", py(line))
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("$PATH.insert(0, {})", py(dir))
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("${name} = {}", py(value))
    }

    fn dump_function(&self) -> &'static str {
        r#"aliases["dump"] = ["bash", "-c", "env -0 > \"$OUT/$0\""]"#
    }

    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!("execx($(@({bin}) hook {name}))")
    }

    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!("execx($(@({bin}) hook {name})); pyenv_guix_load()")
    }

    fn prompt_setup(&self) -> Vec<String> {
        vec![
            r#"$PROMPT_FIELDS["pyenv_guix"] = lambda: ${...}.get("PYENV_GUIX_PROMPT") or None"#
                .into(),
            r#"$PROMPT = "{pyenv_guix:({}) }> ""#.into(),
        ]
    }
}
