//! Scripts get the environment they ask for (issue 19): `export SHELL`
//! called without the hook's own flags, as direnv's script idiom does,
//! waits for the build and prints the whole result; only the hook's prompt
//! call leaves a build to the background.

mod support;

use std::process::Command;

use pyenv_guix::shells::ShellName as Sh;
use support::{Sandbox, UserShell, bin, quote};

fn project(s: &Sandbox) -> std::path::PathBuf {
    let wheels = s.wheel("scriptdemo", "2.5", &["--script", "scriptdemo-run"]);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\ninstaller = \"pip\"\n\
             packages = [\"scriptdemo == 2.5\"]\noptions = [\"--no-index\", \"--find-links\", \"{}\"]\n",
            wheels.display()
        ),
    );
    s.allow("proj");
    s.path("proj")
}

/// The script idiom for each shell, then a use of what it loaded.
fn script(sh: Sh) -> String {
    let load = sh
        .user()
        .load_in_script(&quote(bin().as_os_str()), sh.name());
    format!(
        "{load}\n{}\n{}\n",
        sh.posix("python3 -c 'import scriptdemo; print(\"version\", scriptdemo.__version__)'"),
        sh.posix("scriptdemo-run")
    )
}

#[test]
fn a_script_waits_for_the_build_it_asks_for() {
    for sh in pyenv_guix::shells::hooked() {
        if !sh.available() {
            continue;
        }
        let s = Sandbox::new();
        let dir = project(&s);
        // The user's default: builds go to the background at a prompt.
        let env = s.user_env();
        let (program, args) = sh.user().plain().split_first().unwrap();
        let out = Command::new(program)
            .args(args)
            .arg("-c")
            .arg(script(sh))
            .current_dir(&dir)
            .env_clear()
            .envs(env)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stdout}\n{stderr}", sh.name());
        assert_eq!(
            stdout,
            "version 2.5\nscriptdemo 2.5\n",
            "{}: the script ran without its packages:\n{stderr}",
            sh.name()
        );
        // The build's progress went to stderr, where the script's user sees it.
        assert!(
            stderr.contains("building prefix"),
            "{}: {stderr}",
            sh.name()
        );
    }
}

#[test]
fn the_hooks_prompt_call_still_builds_in_the_background() {
    let s = Sandbox::new();
    let dir = project(&s);
    let env = s.user_env();
    let out = Command::new(bin())
        .args(["export", "bash", "--shell-pid", "1", "--entered"])
        .current_dir(&dir)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("in the background"),
        "the prompt waited for the build: {stderr}"
    );
}

/// A script started while the prompt's background build runs waits for
/// that build, as `exec` does, instead of returning without the packages.
#[test]
fn a_script_waits_for_a_build_already_under_way() {
    let s = Sandbox::new();
    let wheels = s.wheel("scriptdemo", "2.5", &[]);
    let stall = s.path("stall");
    let python = s.python_stalling_while("slow", &stall);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\ninstaller = \"pip\"\npackages = [\"scriptdemo\"]\n\
             options = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("proj");
    let dir = s.path("proj");
    let env = || s.user_env();
    std::fs::write(&stall, "").unwrap();
    // The hook's call at a prompt starts the build and returns.
    let prompt = Command::new(bin())
        .args(["export", "bash", "--shell-pid", "4242", "--entered"])
        .current_dir(&dir)
        .env_clear()
        .envs(env())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&prompt.stderr);
    assert!(said.contains("in the background"), "{said}");
    // The script comes while pip still stalls; the stall ends a little later.
    let script = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "eval \"$({} export bash)\"\npython3 -c 'import scriptdemo; print(scriptdemo.__version__)'",
            bin().display()
        ))
        .current_dir(&dir)
        .env_clear()
        .envs(env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::remove_file(&stall).unwrap();
    let out = script.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout, "2.5\n",
        "the script ran without its packages:\n{stderr}"
    );
}
