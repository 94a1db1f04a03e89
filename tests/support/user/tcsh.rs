use std::process::Command;

use super::User;

pub struct Tcsh;

/// `text` in tcsh's single quotes, at a prompt: `\!` for `!` (history even
/// there), `'\''` for `'`.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''").replace('!', r"\!"))
}

impl User for Tcsh {
    fn plain(&self) -> &'static [&'static str] {
        &["tcsh", "-f"]
    }

    /// tcsh prints its prompt at each line only on a terminal: `script`
    /// gives it one. The hook's folder goes in the sandbox's home, not
    /// /tmp, where a shell leaves it.
    fn interactive(&self) -> Command {
        let mut c = Command::new("script");
        c.args(["-qec", "TMPDIR=\"$HOME\" exec tcsh -f -i", "/dev/null"]);
        c
    }

    /// tcsh's quoting and redirections are not POSIX (no `2>`, `$` inside
    /// double quotes): the line runs in sh.
    fn posix(&self, line: &str) -> String {
        format!("sh -c {}", single_quoted(line))
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("setenv PATH {dir}:\"$PATH\"")
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("setenv {name} {value}")
    }

    fn dump_function(&self) -> &'static str {
        r#"alias dump 'env -0 > "$OUT/\!:1"'"#
    }

    /// zoxide's way for tcsh: the hook is sourced from a file (tcsh's eval
    /// of a command's output joins its lines).
    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!("{bin} hook {name} >! ~/.pyenv-guix.tcsh; source ~/.pyenv-guix.tcsh")
    }

    /// The answer goes through a file too, for the same reason.
    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!(
            "set f = \"`mktemp`\"; {bin} export {name} >! \"$f\" && source \"$f\"; rm -f \"$f\""
        )
    }

    /// The user's precmd sets the prompt, and the hook, sourced after it,
    /// runs first. `%$NAME` is read as the prompt is shown: tcsh would
    /// substitute a `$NAME` on the whole line, even where the `if` is false.
    fn prompt_setup(&self) -> Vec<String> {
        vec![
            r#"alias precmd 'set prompt = "> "; if ( $?PYENV_GUIX_PROMPT ) set prompt = '\''(%$PYENV_GUIX_PROMPT) > '\'''"#
                .into(),
        ]
    }
}
