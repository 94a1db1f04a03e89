//! `pyenv-guix doctor` typed at the prompt of real bash, zsh and fish: with
//! the hook, and without it; in an allowed project and a blocked one, whose
//! interpreter must never run.

mod support;

use pyenv_guix::shells::ShellName;
use support::{Sandbox, UserShell, bin, quote};

fn project(s: &Sandbox) {
    // The project's own interpreter leaves a trace each time it runs.
    s.write(
        "p/fakepython",
        "#!/bin/sh\necho ran >> \"$OUT/interpreter-ran\"\nexec /usr/bin/python3 \"$@\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        s.path("p/fakepython"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    s.write(
        "p/.pyguix.toml",
        "[python]\ninterpreter = \"./fakepython\"\n\n[env]\nX = \"1\"\n",
    );
}

/// Run doctor --json from the prompt, keeping its output and exit status.
fn doctor_line(sh: ShellName, name: &str) -> String {
    let pg = quote(bin().as_os_str());
    match sh {
        ShellName::Fish => {
            format!("{pg} doctor --json > $OUT/{name}.json; echo $status > $OUT/{name}.rc")
        }
        _ => format!("{pg} doctor --json > \"$OUT/{name}.json\"; echo $? > \"$OUT/{name}.rc\""),
    }
}

struct Answer {
    ok: bool,
    rc: String,
    checks: serde_json::Map<String, serde_json::Value>,
}

fn answer(s: &Sandbox, name: &str) -> Answer {
    let v: serde_json::Value = serde_json::from_str(&s.read_out(&format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let checks = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect();
    Answer {
        ok: v["ok"].as_bool().unwrap(),
        rc: s.read_out(&format!("{name}.rc")).trim().to_string(),
        checks,
    }
}

impl Answer {
    fn status(&self, check: &str) -> &str {
        self.checks[check]["status"].as_str().unwrap()
    }
    fn message(&self, check: &str) -> &str {
        self.checks[check]["message"].as_str().unwrap()
    }
}

fn with_and_without_the_hook(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    project(&s);
    let p = quote(s.path("p").as_os_str());

    // Without the hook: the hook check fails, and doctor exits 1.
    let lines = vec![format!("cd {p}"), doctor_line(sh, "without")];
    s.interactive(sh, &s.path(""), &s.env(), &lines);
    let a = answer(&s, "without");
    assert!(!a.ok);
    assert_eq!(a.rc, "1");
    assert_eq!(a.status("hook"), "problem");
    assert!(
        a.message("hook").contains("not installed in this shell"),
        "{}",
        a.message("hook")
    );
    assert_eq!(a.status("data directory"), "ok");
    assert_eq!(a.status("cache directory"), "ok");
    // Blocked: said, and its interpreter never ran.
    assert!(
        a.message("interpreter")
            .contains("is blocked (not allowed yet)"),
        "{}",
        a.message("interpreter")
    );
    assert!(
        !s.path("out/interpreter-ran").exists(),
        "a blocked project's interpreter ran"
    );

    // With the hook, in the allowed project.
    s.allow("p");
    let lines = vec![sh.hook_line(), format!("cd {p}"), doctor_line(sh, "with")];
    s.interactive(sh, &s.path(""), &s.env(), &lines);
    let a = answer(&s, "with");
    assert_eq!(a.status("hook"), "ok", "{}", a.message("hook"));
    assert!(
        a.message("hook")
            .contains(&format!("installed in this {}", sh.name())),
        "{}",
        a.message("hook")
    );
    assert_eq!(a.status("binary"), "ok", "{}", a.message("binary"));
    assert!(a.message("binary").contains(&bin().display().to_string()));
    // The stand-in guix of the sandbox, named by PYENV_GUIX_GUIX.
    assert_eq!(a.status("guix"), "ok", "{}", a.message("guix"));
    assert!(a.message("guix").contains("PYENV_GUIX_GUIX"));
    assert_eq!(
        a.status("interpreter"),
        "ok",
        "{}",
        a.message("interpreter")
    );
    assert!(
        a.message("interpreter").contains("fakepython"),
        "{}",
        a.message("interpreter")
    );
    assert!(a.ok, "{:?}", a.checks);
    assert_eq!(a.rc, "0");

    // A shell started from it without its rc file inherits the marker,
    // but has no hook: doctor says so.
    let child = format!("{} -c", sh.plain());
    let inner = match sh {
        ShellName::Fish => format!(
            "{} doctor --json > $OUT/child.json; echo $status > $OUT/child.rc",
            quote(bin().as_os_str())
        ),
        _ => format!(
            "{} doctor --json > \"$OUT/child.json\"; echo $? > \"$OUT/child.rc\"",
            quote(bin().as_os_str())
        ),
    };
    let lines = vec![sh.hook_line(), format!("{child} {}", single(&inner))];
    s.interactive(sh, &s.path(""), &s.env(), &lines);
    let a = answer(&s, "child");
    assert_eq!(a.status("hook"), "problem");
    assert!(
        a.message("hook").contains("set up in another"),
        "{}",
        a.message("hook")
    );
    assert_eq!(a.rc, "1");
}

fn single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The text form says the same in plain words, and a data directory that
/// others can write to is a problem, not a crash.
#[test]
fn text_and_a_bad_directory() {
    let s = Sandbox::new();
    let out = s.command(&["doctor"], &s.path("")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("PROBLEM  hook"), "{text}");
    assert!(text.contains("Something is wrong"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("data"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = s
        .command(&["doctor", "--json"], &s.path(""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dirs = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "directories")
        .expect("a directories check");
    assert_eq!(dirs["status"], "problem");
    assert!(
        dirs["message"]
            .as_str()
            .unwrap()
            .contains("others can write to it"),
        "{dirs}"
    );
}

bash_zsh_fish!(with_and_without_the_hook);

/// Outside a hooked shell, doctor names the line for the user's own
/// shell (SHELL), not every shell's: one line to copy.
#[test]
fn the_hook_line_offered_is_the_login_shells() {
    let s = Sandbox::new();
    for (shell, line, other) in [
        ("/usr/bin/zsh", "~/.zshrc", ".bashrc"),
        ("/bin/bash", "~/.bashrc", ".zshrc"),
    ] {
        let out = s
            .command(&["doctor"], &s.path(""))
            .env("SHELL", shell)
            .env_remove("PYENV_GUIX_HOOK")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let hook = text
            .lines()
            .find(|l| l.contains("hook "))
            .unwrap_or_default();
        assert!(
            hook.contains(line) && !hook.contains(other),
            "{shell}: {hook}"
        );
    }
    // A shell we do not hook: every line, to choose from.
    let out = s
        .command(&["doctor"], &s.path(""))
        .env("SHELL", "/bin/ksh")
        .env_remove("PYENV_GUIX_HOOK")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("~/.bashrc") && text.contains("~/.zshrc"),
        "{text}"
    );
}
