//! What a user types in each real shell, one file per shell: the test-side
//! twin of `src/shells/`. A new shell is a new file here and a line in
//! [`of`]; the tests that take every shell (`per_shell!`) then run in it.

use std::process::Command;

use pyenv_guix::shells::ShellName;

mod bash;
mod elvish;
mod fish;
mod nu;
mod tcsh;
mod xonsh;
mod zsh;

/// The shell a test drives, as a user types in it.
pub trait User: Sync {
    /// The program and its arguments for no rc file, to add `-c` or `-i` to.
    fn plain(&self) -> &'static [&'static str];

    /// The shell reading lines on stdin as at a prompt, its hooks running
    /// between lines.
    fn interactive(&self) -> Command {
        let (program, args) = self.plain().split_first().expect("a program");
        let mut c = Command::new(program);
        c.args(args).arg("-i");
        c
    }

    /// `program` (a path, as [`quote`] writes it) run with `args` (words
    /// with no quoting needed), as a line at the prompt.
    fn run(&self, program: &str, args: &str) -> String {
        format!("{program} {args}")
    }

    /// A line of POSIX sh (redirections, `&&`), run from this shell.
    fn posix(&self, line: &str) -> String {
        line.to_string()
    }

    /// Put `dir` first on PATH, as a user would type it.
    fn prepend_path(&self, dir: &str) -> String;

    /// Export a variable (a value with no quoting needed), as a user would.
    fn export(&self, name: &str, value: &str) -> String;

    /// Define `dump NAME`, which writes the exported environment to $OUT/NAME.
    fn dump_function(&self) -> &'static str;

    /// The rc file's line, with `bin` quoted by [`quote`].
    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!("eval \"$({bin} hook {name})\"")
    }

    /// The script idiom: load the project's environment, waiting for it.
    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!("eval \"$({bin} export {name})\"")
    }

    /// The README's prompt showing PYENV_GUIX_PROMPT, read with no process.
    fn prompt_setup(&self) -> Vec<String>;

    /// Whether a variable's value can be any bytes but NUL; shells whose
    /// strings are UTF-8 are tested with text, and refuse the rest.
    fn holds_any_bytes(&self) -> bool {
        true
    }
}

/// The user side of a shell; `json` and the CI files are no shell anyone
/// types in: asking for them is a mistake in the test.
pub fn of(sh: ShellName) -> &'static dyn User {
    match sh {
        ShellName::Bash => &bash::Bash,
        ShellName::Zsh => &zsh::Zsh,
        ShellName::Fish => &fish::Fish,
        ShellName::Xonsh => &xonsh::Xonsh,
        ShellName::Tcsh => &tcsh::Tcsh,
        ShellName::Elvish => &elvish::Elvish,
        ShellName::Nu => &nu::Nu,
        other => unreachable!("{} is not a shell", other.name()),
    }
}
