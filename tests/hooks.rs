//! The hook scripts themselves: linted as rendered, run under -e -u, sourced
//! twice, `$?` kept, PROMPT_COMMAND in string and array form.

mod support;

use std::process::Command;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, quote};

/// A sandbox with a trusted project `p` that sets `P=loaded`.
fn loaded_project() -> Sandbox {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    s
}

fn rendered(s: &Sandbox, sh: ShellName) -> std::path::PathBuf {
    let out = s.pyenv_guix(&["hook", sh.name()], &s.path("home"));
    let file = s.path(&format!("hook.{}", sh.name()));
    std::fs::write(&file, out.stdout).unwrap();
    file
}

/// A linter missing is a skip said loudly, or a failure where CI requires it.
fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("PYENV_GUIX_REQUIRE_SHELLS").is_some_and(|v| v == "1") {
            panic!("{name} is not installed and PYENV_GUIX_REQUIRE_SHELLS=1");
        }
        eprintln!("\n!!! SKIPPED: {name} is not installed; its checks did not run !!!\n");
    }
    found
}

fn check(cmd: &mut Command) -> String {
    let out = cmd.succeeds();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn rendered_hooks_pass_their_linters() {
    let s = Sandbox::new();
    if tool("shellcheck") {
        check(
            Command::new("shellcheck")
                .args(["-s", "bash"])
                .arg(rendered(&s, ShellName::Bash)),
        );
    }
    check(
        Command::new("bash")
            .arg("-n")
            .arg(rendered(&s, ShellName::Bash)),
    );
    if ShellName::Zsh.available() {
        check(
            Command::new("zsh")
                .arg("-n")
                .arg(rendered(&s, ShellName::Zsh)),
        );
    }
    if ShellName::Fish.available() {
        check(
            Command::new("fish")
                .arg("--no-execute")
                .arg(rendered(&s, ShellName::Fish)),
        );
    }
}

/// Sourced twice and run under errexit and nounset, in a trusted project:
/// the hook loads it and the script goes on.
#[test]
fn rendered_hooks_run_under_errexit_and_nounset() {
    let s = loaded_project();
    for sh in [ShellName::Bash, ShellName::Zsh, ShellName::Fish] {
        if !sh.available() {
            continue;
        }
        let file = quote(rendered(&s, sh).as_os_str());
        let (flags, body) = match sh {
            ShellName::Fish => (
                vec!["-c"],
                format!("source {file}; source {file}; __pyenv_guix_hook; echo \"P=$P\""),
            ),
            _ => (
                vec!["-e", "-u", "-c"],
                format!("source {file}; source {file}; __pyenv_guix_hook; echo \"P=$P\""),
            ),
        };
        let out = check(
            Command::new(sh.name())
                .args(flags)
                .arg(body)
                .current_dir(s.path("p"))
                .env_clear()
                .envs(s.env()),
        );
        assert!(out.contains("P=loaded"), "{}: {out}", sh.name());
    }
}

fn prompt_command_case(setup: &str) -> (String, String, String) {
    let s = loaded_project();
    let lines = vec![
        "set -u".to_string(),
        setup.to_string(),
        ShellName::Bash.hook_line(),
        ShellName::Bash.hook_line(),
        "declare -p PROMPT_COMMAND > \"$OUT/pc\"".into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "false".into(),
        "printf %s \"$seen\" > \"$OUT/status\"".into(),
        "dump inside".into(),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &s.env(), &lines);
    assert!(!out.contains("unbound variable"), "{out}");
    assert_eq!(s.dump("inside").get("P"), Some("loaded"));
    let read = |f: &str| std::fs::read_to_string(s.path("out").join(f)).unwrap();
    (read("pc"), read("status"), out)
}

#[test]
fn bash_prompt_command_string_once_and_status_kept() {
    let (pc, status, _) = prompt_command_case("PROMPT_COMMAND='seen=$?'");
    assert_eq!(
        pc.trim(),
        r#"declare -- PROMPT_COMMAND="__pyenv_guix_hook;seen=\$?""#
    );
    assert_eq!(status, "1", "the command after the hook sees the user's $?");
}

#[test]
fn bash_prompt_command_array_once_and_status_kept() {
    let (pc, status, _) = prompt_command_case("PROMPT_COMMAND=('seen=$?')");
    assert_eq!(
        pc.trim(),
        r#"declare -a PROMPT_COMMAND=([0]="__pyenv_guix_hook" [1]="seen=\$?")"#
    );
    assert_eq!(status, "1");
}

#[test]
fn zsh_nounset_hooks_once_and_status_kept() {
    if !ShellName::Zsh.available() {
        return;
    }
    let s = loaded_project();
    let lines = vec![
        "setopt nounset".to_string(),
        ShellName::Zsh.hook_line(),
        ShellName::Zsh.hook_line(),
        "seen_status() { seen=$? }".into(),
        "precmd_functions+=(seen_status)".into(),
        "print -r -- \"$precmd_functions|$chpwd_functions\" > \"$OUT/pc\"".into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "false".into(),
        "printf %s \"$seen\" > \"$OUT/status\"".into(),
        "dump inside".into(),
    ];
    let out = s.interactive(ShellName::Zsh, &s.path("home"), &s.env(), &lines);
    assert!(!out.contains("parameter not set"), "{out}");
    let read = |f: &str| std::fs::read_to_string(s.path("out").join(f)).unwrap();
    assert_eq!(
        read("pc").trim(),
        "__pyenv_guix_hook seen_status|__pyenv_guix_hook"
    );
    assert_eq!(read("status"), "1");
    assert_eq!(s.dump("inside").get("P"), Some("loaded"));
}

#[test]
fn fish_sourced_twice_hooks_once_and_status_kept() {
    if !ShellName::Fish.available() {
        return;
    }
    let s = loaded_project();
    let lines = vec![
        ShellName::Fish.hook_line(),
        ShellName::Fish.hook_line(),
        "functions --handlers-type generic > $OUT/handlers".into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "false".into(),
        "printf %s $status > $OUT/status".into(),
        "dump inside".into(),
    ];
    let out = s.interactive(ShellName::Fish, &s.path("home"), &s.env(), &lines);
    let read = |f: &str| std::fs::read_to_string(s.path("out").join(f)).unwrap();
    assert_eq!(
        read("handlers").matches("__pyenv_guix_hook").count(),
        1,
        "{out}"
    );
    assert_eq!(read("status"), "1");
    assert_eq!(s.dump("inside").get("P"), Some("loaded"));
    let _ = bin();
}

/// When nothing can have changed, the hook decides in the shell and starts
/// no process; a change to a watched file, a new directory, or a new
/// manifest above the shell starts the binary again.
fn no_process_when_nothing_changed(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = loaded_project();
    std::fs::create_dir_all(s.path("p/sub")).unwrap();
    let (wrapper, log) = s.counting_wrapper();
    let count = |name: &str| {
        sh.posix(&format!(
            "grep -c export {} > \"$OUT/{name}\"",
            quote(log.as_os_str())
        ))
    };
    let p = quote(s.path("p").as_os_str());
    let lines = vec![
        sh.hook_line_for(&wrapper),
        format!("cd {p}"),
        // A check's mark is two seconds behind it (coarse file times): what
        // changed just before, the project's own allow included, is seen
        // once more. Then nothing runs.
        sh.posix("sleep 2.5"),
        count("loaded"),
        sh.posix("true"),
        sh.posix("true"),
        sh.posix("true"),
        count("quiet"),
        "dump inside".into(),
        sh.posix("touch .pyguix.toml"),
        count("touched"),
        sh.posix("sleep 2.5"),
        sh.posix("true"),
        sh.posix("true"),
        count("settled"),
        "cd sub".into(),
        count("moved"),
        sh.posix("echo '[env]' > .pyguix.toml"),
        count("new-manifest"),
        "dump nested".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &s.env(), &lines);
    let n = |name: &str| -> usize { s.read_out(name).trim().parse().unwrap() };
    assert_eq!(s.dump("inside").get("P"), Some("loaded"), "{out}");
    assert_eq!(
        n("quiet"),
        n("loaded"),
        "prompts with nothing changed ran the binary:\n{out}"
    );
    assert!(
        n("touched") > n("quiet"),
        "a touched manifest is seen: {out}"
    );
    assert!(
        n("settled") <= n("touched") + 2,
        "{} {} {} {}: {out}",
        n("loaded"),
        n("quiet"),
        n("touched"),
        n("settled")
    );
    assert!(n("moved") > n("settled"), "a cd is seen: {out}");
    assert!(
        n("new-manifest") > n("moved"),
        "a new manifest here is seen: {out}"
    );
    assert!(
        out.contains("sub/.pyguix.toml is blocked (not allowed yet)"),
        "the nested project was found: {out}"
    );
}

per_shell!(no_process_when_nothing_changed);
