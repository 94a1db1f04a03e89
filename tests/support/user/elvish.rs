use std::process::Command;

use super::User;

pub struct Elvish;

impl User for Elvish {
    fn plain(&self) -> &'static [&'static str] {
        &["elvish", "-norc"]
    }

    /// Elvish runs `$edit:before-readline` only in its line editor, which
    /// needs a terminal: `script` gives it one. Each line arrives as a
    /// paste (bracketed, as terminals send one), then Enter: typed key by
    /// key, the editor would redraw and show its live compile errors
    /// (`variable $n not found` half-way through `$name`) at each key.
    fn interactive(&self) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("sed 's/^/\x1b[200~/; s/$/\x1b[201~/' | script -qec 'elvish -norc' /dev/null");
        c
    }

    /// Elvish has no `&&` nor redirections of sh's kind: the line goes to sh.
    fn posix(&self, line: &str) -> String {
        format!("sh -c '{}'", line.replace('\'', "''"))
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("set paths = [{dir} $@paths]")
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("set-env {name} {value}")
    }

    fn dump_function(&self) -> &'static str {
        "fn dump {|name| env -0 > $E:OUT/$name }"
    }

    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!("eval ({bin} hook {name} | slurp)")
    }

    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!("eval ({bin} export {name} | slurp)")
    }

    fn prompt_setup(&self) -> Vec<String> {
        vec![
            "set edit:prompt = { if (has-env PYENV_GUIX_PROMPT) { put '('$E:PYENV_GUIX_PROMPT') ' }; put '> ' }"
                .into(),
        ]
    }
}
