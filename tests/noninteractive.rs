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

/// [`project`] on Debian's Python, built.
fn built_project(s: &Sandbox) -> PathBuf {
    let dir = project(s, Path::new("/usr/bin/python3"));
    s.pyenv_guix(&["build"], &dir);
    dir
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
    let mut env = s.user_env();
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

/// `sh -c command` in `dir`, as an agent runs each command.
fn run(sh: Sh, command: &str, dir: &Path, env: &[(OsString, OsString)]) -> Output {
    run_within(sh, command, dir, env, Duration::from_secs(120))
}

/// [`run`], failing the test if it takes longer than `limit`.
fn run_within(
    sh: Sh,
    command: &str,
    dir: &Path,
    env: &[(OsString, OsString)],
    limit: Duration,
) -> Output {
    let mut cmd = Command::new(sh.name());
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_with_timeout(cmd, b"", limit)
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
        let bare = run(sh, IMPORT, &dir, &s.user_env());
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

#[test]
fn outside_a_project_no_process_starts() {
    for sh in SHELLS {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = built_project(&s);
        let (wrapper, log) = s.counting_wrapper();
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

// Found in an attack pass: each of these broke a promise of the file.

/// A directory whose path holds a newline: fish's walk up split it into
/// a list that never emptied, and every `fish -c` spun forever, in a
/// project or not.
#[test]
fn a_newline_in_the_path_ends_the_walk() {
    for sh in SHELLS {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = built_project(&s);
        let env = set_up(&s, sh, &bin());
        for (base, want) in [(s.path("outside"), "hi []\n"), (dir, "hi [here]\n")] {
            let odd = base.join("nl\nb/c");
            std::fs::create_dir_all(&odd).unwrap();
            let command = "echo hi \"[$PROJECT_VAR]\"";
            let out = run_within(sh, command, &odd, &env, Duration::from_secs(20));
            assert_eq!(
                text(&out.stdout),
                want,
                "{}: {}",
                sh.name(),
                text(&out.stderr)
            );
        }
    }
}

/// Options a caller passes down (SHELLOPTS, `bash -a`): `-k` made the
/// snippet's `export` print the whole environment on stdout; allexport
/// exported the file's own mark, and nested shells then skipped it.
#[test]
fn the_callers_shell_options_change_nothing() {
    let sh = Sh::Bash;
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    let dir = built_project(&s);
    let mut env = set_up(&s, sh, &bin());
    env.push(("SHELLOPTS".into(), "keyword".into()));
    let out = run(sh, "echo \"cmd $PROJECT_VAR\"", &dir, &env);
    assert_eq!(text(&out.stdout), "cmd here\n", "{}", text(&out.stderr));
    env.pop();
    env.push(("SHELLOPTS".into(), "allexport".into()));
    let outside = quote(s.path("outside").as_os_str());
    let out = run(
        sh,
        &format!("cd {outside} && bash -c 'echo \"[$PROJECT_VAR]\"'"),
        &dir,
        &env,
    );
    assert_eq!(text(&out.stdout), "[]\n", "{}", text(&out.stderr));
}

/// `hook` run through a relative PATH entry (`.`) named the binary
/// bare, to be looked up again in each project a command starts in: an
/// untrusted one could ship its own `pyenv-guix`.
#[test]
fn the_file_names_the_binary_by_an_absolute_path() {
    let s = Sandbox::new();
    let dir = bin().parent().unwrap().to_path_buf();
    let mut env = s.env();
    env.retain(|(k, _)| k != "PATH");
    env.push(("PATH".into(), "/usr/bin:/bin:.".into()));
    let out = Command::new("sh")
        .args(["-c", "pyenv-guix hook bash --non-interactive"])
        .current_dir(&dir)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let file = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!file.contains("'pyenv-guix'"), "{file}");
    let absolute = std::fs::canonicalize(bin()).unwrap();
    assert!(
        file.contains(&format!("'{}'", absolute.display())),
        "{file}"
    );
}

/// A limit no clock can reach panicked; it is as good as none.
#[test]
fn a_huge_wait_is_no_limit() {
    let sh = Sh::Bash;
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    let dir = project(&s, Path::new("/usr/bin/python3"));
    let mut env = set_up(&s, sh, &bin());
    env.push(("PYENV_GUIX_WAIT".into(), "1e20".into()));
    let out = run(sh, IMPORT, &dir, &env);
    assert_eq!(text(&out.stdout), "2.5\n", "{}", text(&out.stderr));
}

/// Ctrl-C while a command waits for a build, its own or another
/// process's: the command stops, as Ctrl-C stops it, instead of running
/// without the project's environment (or ignoring Ctrl-C until the other
/// build ends).
#[test]
fn ctrl_c_during_the_wait_stops_the_command() {
    use std::os::unix::process::CommandExt;
    let sh = Sh::Bash;
    if !sh.available() {
        return;
    }
    for another in [false, true] {
        let s = Sandbox::new();
        let stall = s.path("stall");
        let python = s.python_stalling_while("slow", &stall);
        let dir = project(&s, &python);
        let env = set_up(&s, sh, &bin());
        std::fs::write(&stall, "").unwrap();
        if another {
            // A build under way in the background, started by another command.
            let mut first = env.clone();
            first.push(("PYENV_GUIX_WAIT".into(), "0".into()));
            run(sh, "true", &dir, &first);
        }
        let ran = s.path("out/ran");
        std::fs::create_dir_all(s.path("out")).unwrap();
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!("echo ran > {}", quote(ran.as_os_str())))
            .current_dir(&dir)
            .env_clear()
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        // Until the build is under way (its stage made, the installer
        // stalled): a loaded machine takes more than seconds to get there,
        // and a Ctrl-C before it is another case.
        let staging = s.path("cache/staging");
        let waiting = std::time::Instant::now();
        while std::fs::read_dir(&staging).map_or(true, |mut d| d.next().is_none())
            && waiting.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        // As a terminal sends it: to the whole foreground group.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "another build: {another}: Ctrl-C did not stop the command"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = std::fs::remove_file(&stall);
        let mut said = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut said);
        }
        assert!(
            !status.success(),
            "another build: {another}: {status:?}: {said}"
        );
        assert!(
            !ran.exists(),
            "another build: {another}: the command ran after Ctrl-C"
        );
    }
}

/// The binary stopped by Ctrl-C while a command waited for a build
/// (exit 130) stops the command, whether or not the shell took the signal
/// as its own: CI once saw bash run the command after the wait was
/// interrupted. Here the binary says so without any signal reaching the
/// shell.
#[test]
fn a_wait_stopped_by_ctrl_c_stops_the_command_even_unseen_by_the_shell() {
    for (sh, file) in [
        (Sh::Bash, "home/.config/pyenv-guix/bash_env"),
        (Sh::Zsh, "home/.config/pyenv-guix/zshenv"),
        (Sh::Fish, "home/.config/fish/conf.d/pyenv-guix-scripts.fish"),
    ] {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = project(&s, Path::new("/usr/bin/python3"));
        let stopped = s.write_executable("stopped", "#!/bin/sh\nexit 130\n");
        let env = set_up(&s, sh, &bin());
        let file = s.path(file);
        let text = std::fs::read_to_string(&file).unwrap();
        let named = text.replace(
            &quote(bin().as_os_str()).to_string(),
            &quote(stopped.as_os_str()),
        );
        assert_ne!(named, text, "{}", sh.name());
        std::fs::write(&file, named).unwrap();
        let ran = s.path("out/ran");
        std::fs::create_dir_all(s.path("out")).unwrap();
        let echo = format!("echo ran > {}", quote(ran.as_os_str()));
        let out = run(sh, &echo, &dir, &env);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGINT),
            "{}: {out:?}",
            sh.name()
        );
        assert!(!ran.exists(), "{}: the command ran", sh.name());
    }
}
