use super::User;

pub struct Bash;

impl User for Bash {
    fn plain(&self) -> &'static [&'static str] {
        &["bash", "--norc", "--noprofile"]
    }

    fn prepend_path(&self, dir: &str) -> String {
        format!("export PATH={dir}:\"$PATH\"")
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("export {name}={value}")
    }

    fn dump_function(&self) -> &'static str {
        "dump() { env -0 > \"$OUT/$1\"; }"
    }

    fn prompt_setup(&self) -> Vec<String> {
        vec![r#"PS1='${PYENV_GUIX_PROMPT:+($PYENV_GUIX_PROMPT) }\$ '"#.into()]
    }
}
