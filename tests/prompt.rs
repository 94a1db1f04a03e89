//! PYENV_GUIX_PROMPT in real bash, zsh and fish: the project's name while
//! it is active, shown by the README's prompts, and undone on leaving like
//! every other variable.

mod support;

use support::{Sandbox, Sh, quote};

/// The README's prompt for each shell, reading the variable with no
/// process.
fn prompt_setup(sh: Sh) -> Vec<String> {
    match sh {
        Sh::Bash => vec![r#"PS1='${PYENV_GUIX_PROMPT:+($PYENV_GUIX_PROMPT) }\$ '"#.into()],
        Sh::Zsh => vec![
            "setopt prompt_subst".into(),
            r#"PS1='${PYENV_GUIX_PROMPT:+(${PYENV_GUIX_PROMPT//\%/%%}) }%# '"#.into(),
        ],
        Sh::Fish => vec![
            "function fish_prompt; set -q PYENV_GUIX_PROMPT; and printf '(%s) ' $PYENV_GUIX_PROMPT; printf '> '; end".into(),
        ],
    }
}

fn prompt_name(sh: Sh) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("alpha/.pyguix.toml", "[env]\nA = \"1\"\n");
    std::fs::create_dir_all(s.path("alpha/deeper")).unwrap();
    s.write(
        "beta/.pyguix.toml",
        "[project]\nname = \"Beta app ✓\"\n\n[env]\nB = \"1\"\n",
    );
    s.write("blocked/.pyguix.toml", "[env]\nC = \"1\"\n");
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.allow("alpha");
    s.allow("beta");
    let p = |rel: &str| quote(s.path(rel).as_os_str());
    let mut lines = prompt_setup(sh);
    lines.extend([
        sh.hook_line(),
        format!("cd {}", p("outside")),
        "dump 0-outside".into(),
        format!("cd {}", p("alpha")),
        "dump 1-alpha".into(),
        "cd deeper".into(),
        "dump 2-deeper".into(),
        format!("cd {}", p("beta")),
        "dump 3-beta".into(),
        format!("cd {}", p("blocked")),
        "dump 4-blocked".into(),
        format!("cd {}", p("outside")),
        "dump 5-left".into(),
        // A value of the user's own is given back on leaving.
        sh.export("PYENV_GUIX_PROMPT", "mine"),
        format!("cd {}", p("beta")),
        "dump 6-beta-over-mine".into(),
        format!("cd {}", p("outside")),
        "dump 7-mine-again".into(),
    ]);
    let out = s.interactive(sh, &s.path("outside"), &s.env(), &lines);
    let got = |name: &str| s.dump(name).get("PYENV_GUIX_PROMPT").map(String::from);
    assert_eq!(got("0-outside"), None);
    assert_eq!(
        got("1-alpha").as_deref(),
        Some("alpha"),
        "the root directory's name"
    );
    assert_eq!(got("2-deeper").as_deref(), Some("alpha"));
    assert_eq!(
        got("3-beta").as_deref(),
        Some("Beta app ✓"),
        "[project] name"
    );
    assert_eq!(got("4-blocked"), None, "a blocked project sets nothing");
    assert_eq!(got("5-left"), None, "undone on leaving");
    assert_eq!(got("6-beta-over-mine").as_deref(), Some("Beta app ✓"));
    assert_eq!(got("7-mine-again").as_deref(), Some("mine"));
    // The prompts themselves showed it.
    for shown in ["(alpha) ", "(Beta app ✓) ", "(mine) "] {
        assert!(
            out.contains(shown),
            "{}: prompt {shown:?} in:\n{out}",
            sh.name()
        );
    }
}

per_shell!(prompt_name);
