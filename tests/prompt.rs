//! PYENV_GUIX_PROMPT in real bash, zsh and fish: the project's name while
//! it is active, shown by the README's prompts, and undone on leaving like
//! every other variable.

mod support;

use pyenv_guix::shells::ShellName;
use support::{Sandbox, UserShell, quote};

fn prompt_name(sh: ShellName) {
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
    let mut lines = sh.user().prompt_setup();
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

/// A file changed while a slow check runs is newer than the mark that
/// check leaves: the next prompt sees it. (The hook runs the binary only
/// when a watched file is newer than its mark.)
#[test]
fn a_change_during_a_slow_check_is_seen_by_the_next_prompt() {
    let s = Sandbox::new();
    let stall = s.path("stall");
    let started = s.path("started");
    // The interpreter's probe, run by the check on entering, waits while
    // `stall` exists.
    let python = s.python_running(
        "slow",
        &format!(
            "import os; os.path.exists({stall:?}) and [open({started:?}, 'w').close()] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({stall:?}), False)]",
            stall = stall.display().to_string(),
            started = started.display().to_string(),
        ),
    );
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    std::fs::write(&stall, "").unwrap();
    let mut export = s.command(
        &["export", "bash", "--shell-pid", "4242", "--entered"],
        &s.path("p"),
    );
    export.env_remove("PYENV_GUIX_BUILD");
    let child = export
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while !started.exists() {
        assert!(waited.elapsed().as_secs() < 30, "the check never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Edited while the check runs, which then goes on for 3 s more.
    let manifest = s.path("p/.pyguix.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("# edited during the check\n");
    std::fs::write(&manifest, text).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    std::fs::remove_file(&stall).unwrap();
    let out = child.wait_with_output().unwrap();
    support::succeeded_as("export", &out);
    let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let mark = s.path("cache/marks/4242");
    assert!(
        mtime(&manifest) > mtime(&mark),
        "the mark is newer than an edit made during the check: the next prompt would not look"
    );
}

/// A project renamed or deleted under an open shell is unloaded at the
/// next prompt, as direnv does: its variables do not outlive it.
fn gone_under_the_shell(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("moved/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.write("deleted/.pyguix.toml", "[env]\nB = \"1\"\n");
    std::fs::create_dir_all(s.path("deleted/sub")).unwrap();
    s.allow("moved");
    s.allow("deleted");
    let p = |rel: &str| quote(s.path(rel).as_os_str());
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", p("moved")),
        "dump 1-in".into(),
        format!("mv {} {}", p("moved"), p("elsewhere")),
        "dump 2-renamed".into(),
        format!("cd {}", p("deleted/sub")),
        "dump 3-in".into(),
        format!("rm -rf {}", p("deleted")),
        "dump 4-deleted".into(),
    ];
    s.interactive(sh, &s.path(""), &s.env(), &lines);
    let got = |dump: &str, name: &str| s.dump(dump).get(name).map(String::from);
    assert_eq!(got("1-in", "A").as_deref(), Some("1"), "{}", sh.name());
    assert_eq!(got("2-renamed", "A"), None, "{}: renamed", sh.name());
    assert_eq!(got("3-in", "B").as_deref(), Some("1"), "{}", sh.name());
    assert_eq!(got("4-deleted", "B"), None, "{}: deleted", sh.name());
}

bash_zsh_fish!(gone_under_the_shell);
