use super::User;

pub struct Zsh;

impl User for Zsh {
    fn plain(&self) -> &'static [&'static str] {
        &["zsh", "-f"]
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
        vec![
            "setopt prompt_subst".into(),
            r#"PS1='${PYENV_GUIX_PROMPT:+(${PYENV_GUIX_PROMPT//\%/%%}) }%# '"#.into(),
        ]
    }
}
