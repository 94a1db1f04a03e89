//! Non-interactive shells and coding agents (issue 19): the file that
//! `hook SHELL --non-interactive` prints, put where bash, zsh and fish read
//! their non-interactive start-up (BASH_ENV, .zshenv, conf.d) as the README
//! says, gives every `bash -c` started in a project the project's
//! environment; it adds nothing to stdout, starts no process outside a
//! project, and waits for a build only as long as PYENV_GUIX_WAIT allows.

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pyenv_guix::shells::ShellName as Sh;
use support::{Sandbox, UserShell, bin, quote, run_with_timeout};

const SHELLS: [Sh; 3] = [Sh::Bash, Sh::Zsh, Sh::Fish];

const IMPORT: &str = "python3 -c 'import scriptdemo; print(scriptdemo.__version__)'";

fn project(s: &Sandbox, interpreter: &Path) -> PathBuf {
    let wheels = s.wheel("scriptdemo", "2.5", &[]);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\ninstaller = \"pip\"\npackages = [\"scriptdemo == 2.5\"]\n\
             options = [\"--no-index\", \"--find-links\", {:?}]\n\n[env]\nPROJECT_VAR = \"here\"\n",
            interpreter.display().to_string(),
            wheels.display().to_string()
        ),
    );
    std::fs::create_dir_all(s.path("proj/src/deep")).unwrap();
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.allow("proj");
    s.path("proj")
}

/// The README's set-up for `sh`, with the file printed by `pyenv_guix`
/// (the binary, or a wrapper that counts its runs): what to add to the
/// environment of the agent, CI job or terminal.
fn set_up(s: &Sandbox, sh: Sh, pyenv_guix: &Path) -> Vec<(OsString, OsString)> {
    let out = Command::new(pyenv_guix)
        .args(["hook", sh.name(), "--non-interactive"])
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let file = String::from_utf8(out.stdout).unwrap();
    let mut env = environment(s);
    match sh {
        Sh::Bash => {
            s.write("home/.config/pyenv-guix/bash_env", &file);
            env.push((
                "BASH_ENV".into(),
                s.path("home/.config/pyenv-guix/bash_env").into(),
            ));
        }
        Sh::Zsh => {
            s.write("home/.config/pyenv-guix/zshenv", &file);
            s.write(
                "home/zdot/.zshenv",
                &format!(
                    "source {}\n",
                    quote(s.path("home/.config/pyenv-guix/zshenv").as_os_str())
                ),
            );
            env.push(("ZDOTDIR".into(), s.path("home/zdot").into()));
        }
        Sh::Fish => {
            s.write("home/.config/fish/conf.d/pyenv-guix-scripts.fish", &file);
        }
        other => unreachable!("{}", other.name()),
    }
    env
}

/// The sandbox's environment as a user's: builds go to the background
/// at a prompt (the default).
fn environment(s: &Sandbox) -> Vec<(OsString, OsString)> {
    s.env()
        .into_iter()
        .filter(|(k, _)| k != "PYENV_GUIX_BUILD")
        .collect()
}

/// `sh -c command` in `dir`, as an agent runs each command.
fn run(sh: Sh, command: &str, dir: &Path, env: &[(OsString, OsString)]) -> Output {
    let mut cmd = Command::new(sh.name());
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_with_timeout(cmd, b"", Duration::from_secs(120))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_command_started_in_a_project_has_its_environment() {
    for sh in SHELLS {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = project(&s, Path::new("/usr/bin/python3"));
        // Without the set-up, nothing loads: the command runs bare.
        let bare = run(sh, IMPORT, &dir, &environment(&s));
        assert!(!bare.status.success(), "{}: {bare:?}", sh.name());

        let env = set_up(&s, sh, &bin());
        // The first command waits for the build; its words go to stderr.
        let first = run(sh, IMPORT, &dir.join("src/deep"), &env);
        assert!(
            first.status.success(),
            "{}: {}",
            sh.name(),
            text(&first.stderr)
        );
        assert_eq!(text(&first.stdout), "2.5\n", "{}: stdout", sh.name());
        assert!(
            text(&first.stderr).contains("building prefix"),
            "{}: {}",
            sh.name(),
            text(&first.stderr)
        );
        // Then each command loads the built project, saying nothing.
        let next = run(sh, &format!("{IMPORT}; echo \"$PROJECT_VAR\""), &dir, &env);
        assert_eq!(text(&next.stdout), "2.5\nhere\n", "{}", sh.name());
        assert_eq!(text(&next.stderr), "", "{}: stderr", sh.name());
    }
}

/// The binary behind a bash script that counts its runs (as Guix wraps
/// programs in bash scripts: one that read BASH_ENV again would never end).
fn counting_wrapper(s: &Sandbox) -> (PathBuf, PathBuf) {
    let log = s.path("out/runs");
    std::fs::create_dir_all(s.path("out")).unwrap();
    std::fs::write(&log, "").unwrap();
    s.write(
        "wrapper",
        &format!(
            "#!/bin/bash\necho \"$*\" >> {}\nexec -a \"$0\" {} \"$@\"\n",
            quote(log.as_os_str()),
            quote(bin().as_os_str())
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("wrapper"), std::fs::Permissions::from_mode(0o755)).unwrap();
    (s.path("wrapper"), log)
}

#[test]
fn outside_a_project_no_process_starts() {
    for sh in SHELLS {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = project(&s, Path::new("/usr/bin/python3"));
        s.pyenv_guix(&["build"], &dir);
        let (wrapper, log) = counting_wrapper(&s);
        let env = set_up(&s, sh, &wrapper);
        let runs = || std::fs::read_to_string(&log).unwrap().lines().count();
        let before = runs();
        let out = run(sh, "echo ok", &s.path("outside"), &env);
        assert_eq!(text(&out.stdout), "ok\n", "{}", sh.name());
        assert_eq!(runs(), before, "{}: a process outside a project", sh.name());
        let out = run(sh, "echo \"$PROJECT_VAR\"", &dir, &env);
        assert_eq!(text(&out.stdout), "here\n", "{}", sh.name());
        assert_eq!(runs(), before + 1, "{}: once per process", sh.name());

        // A command started outside by a process that had the project's
        // environment (an agent started inside, then moved): it is undone.
        let loaded = run(Sh::Bash, "env -0", &dir, &set_up(&s, Sh::Bash, &bin()));
        let mut inherited: Vec<(OsString, OsString)> = support::parse_env0(&loaded.stdout)
            .into_iter()
            .filter(|(k, _)| k != "PWD")
            .collect();
        assert!(
            inherited
                .iter()
                .any(|(k, v)| k == "PROJECT_VAR" && v == "here"),
            "{inherited:?}"
        );
        inherited.retain(|(k, _)| k != "BASH_ENV");
        inherited.extend(
            env.iter()
                .filter(|(k, _)| k == "BASH_ENV" || k == "ZDOTDIR")
                .cloned(),
        );
        let out = run(
            sh,
            "echo \"[$PROJECT_VAR]\"",
            &s.path("outside"),
            &inherited,
        );
        assert_eq!(
            text(&out.stdout),
            "[]\n",
            "{}: {}",
            sh.name(),
            text(&out.stderr)
        );
    }
}

#[test]
fn pyenv_guix_wait_bounds_the_wait_for_a_build() {
    for sh in SHELLS {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let stall = s.path("stall");
        let python = s.python_stalling_while("slow", &stall);
        let dir = project(&s, &python);
        let mut env = set_up(&s, sh, &bin());
        env.push(("PYENV_GUIX_WAIT".into(), "1".into()));
        std::fs::write(&stall, "").unwrap();
        // The build stalls until `stall` goes: the command must not wait
        // for it (the timeout in `run` fails the test if it does).
        let out = run(
            sh,
            &format!("{IMPORT} 2>/dev/null; echo \"$PROJECT_VAR\""),
            &dir,
            &env,
        );
        let stderr = text(&out.stderr);
        assert_eq!(
            text(&out.stdout),
            "here\n",
            "{}: what needs no build is loaded, and stdout is the command's: {stderr}",
            sh.name()
        );
        assert!(
            stderr.contains("not built after PYENV_GUIX_WAIT=1s; going on without it"),
            "{}: {stderr}",
            sh.name()
        );
        // The build went on in the background; once it is done (the
        // stall removed), a command with no limit loads it.
        std::fs::remove_file(&stall).unwrap();
        env.retain(|(k, _)| k != "PYENV_GUIX_WAIT");
        let out = run(sh, IMPORT, &dir, &env);
        assert_eq!(
            text(&out.stdout),
            "2.5\n",
            "{}: {}",
            sh.name(),
            text(&out.stderr)
        );
    }
}

/// The files as printed pass shellcheck (bash) and each shell's own
/// syntax check.
#[test]
fn the_files_pass_their_linters() {
    let s = Sandbox::new();
    for (sh, check) in [
        (Sh::Bash, &["shellcheck", "-s", "bash"][..]),
        (Sh::Bash, &["bash", "-n"]),
        (Sh::Zsh, &["zsh", "-n"]),
        (Sh::Fish, &["fish", "--no-execute"]),
    ] {
        if !sh.available() {
            continue;
        }
        let file = s.path(&format!("non-interactive.{}", sh.name()));
        let printed = s.pyenv_guix(&["hook", sh.name(), "--non-interactive"], &s.path(""));
        std::fs::write(&file, &printed.stdout).unwrap();
        let out = Command::new(check[0])
            .args(&check[1..])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", check[0]));
        assert!(out.status.success(), "{check:?}: {out:?}");
    }
}
