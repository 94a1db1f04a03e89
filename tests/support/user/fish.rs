use std::process::Command;

use super::User;

pub struct Fish;

impl User for Fish {
    fn plain(&self) -> &'static [&'static str] {
        &["fish", "--no-config"]
    }

    /// fish fires fish_prompt only on a terminal: `script` gives it one.
    fn interactive(&self) -> Command {
        let mut c = Command::new("script");
        c.args(["-qec", "fish --no-config -i", "/dev/null"]);
        c
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("set -gx PATH {dir} $PATH")
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("set -gx {name} {value}")
    }

    fn dump_function(&self) -> &'static str {
        "function dump; env -0 > $OUT/$argv[1]; end"
    }

    fn hook_line(&self, bin: &str, name: &str) -> String {
        format!("{bin} hook {name} | source")
    }

    fn load_in_script(&self, bin: &str, name: &str) -> String {
        format!("{bin} export {name} | source")
    }

    fn prompt_setup(&self) -> Vec<String> {
        vec!["function fish_prompt; set -q PYENV_GUIX_PROMPT; and printf '(%s) ' $PYENV_GUIX_PROMPT; printf '> '; end".into()]
    }
}
