//! Builds never hold the prompt: entering a project whose prefix is not
//! built starts its build in the background and gives the prompt back at
//! once, with what needs no build; the prompt after the build loads it; a
//! failed build says so once. Real shells, real pip.

mod support;

use std::ffi::OsString;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

fn background_build(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let stall = s.path("stall");
    // pip stalls while `stall` exists.
    let python = s.python_stalling_while("slow", &stall);
    let manifest = |packages: &str| {
        format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [{packages}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n\n[env]\nA = \"1\"\n",
            python.display().to_string(),
            wheels.display().to_string()
        )
    };
    s.write("p/.pyguix.toml", &manifest("\"greetpkg\""));
    s.allow("p");
    s.write("bad/.pyguix.toml", &manifest("\"nosuchpkg\""));
    s.allow("bad");
    std::fs::write(&stall, "").unwrap();
    // Waits, outside the shell's own syntax, for a file to appear, then
    // for the build to end (its running mark gone): a loaded machine can
    // take longer than two prompts between switching the link and ending.
    let prefixes = s.path("cache/prefixes");
    s.write(
        "wait-for",
        &format!(
            "#!/bin/sh\ni=0\nwhile [ -z \"$(find \"$1\" -maxdepth 1 -name \"$2\" 2>/dev/null)\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nwhile [ -n \"$(find {} -maxdepth 1 -name '*.running' 2>/dev/null)\" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\nsleep 0.3\n",
            quote(s.path("cache/logs").as_os_str())
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("wait-for"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let wait = |pattern: &str| {
        format!(
            "{} {} '{pattern}'",
            quote(s.path("wait-for").as_os_str()),
            quote(prefixes.as_os_str())
        )
    };
    let mut env: Vec<(OsString, OsString)> = s.env();
    env.retain(|(k, _)| k != "PYENV_GUIX_BUILD");
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        // The prompt came back while pip still runs.
        "dump building".into(),
        format!(
            "{} status --json > \"$OUT/status\"",
            quote(support::bin().as_os_str())
        ),
        format!("rm {}", quote(stall.as_os_str())),
        wait("*[0-9a-f]"),
        "true".into(),
        "dump built".into(),
        format!("cd {}", quote(s.path("bad").as_os_str())),
        // Left while its first build runs: unloading is said.
        "cd ..".into(),
        format!("cd {}", quote(s.path("bad").as_os_str())),
        wait("*.failed"),
        "true".into(),
        "true".into(),
        "dump failed".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &env, &lines);
    let building = s.dump("building");
    assert_eq!(building.get("A"), Some("1"), "what needs no build: {out}");
    assert_eq!(building.get("PYENV_GUIX_PREFIX"), None, "{out}");
    assert!(
        out.contains("building it in the background (log: "),
        "{out}"
    );
    let status: serde_json::Value = serde_json::from_str(&s.read_out("status")).unwrap();
    assert_eq!(status["pip"]["prefix"]["building"], true, "{status}");
    assert!(out.matches("pyenv-guix: unloading").count() >= 2, "{out}");
    let built = s.dump("built");
    assert!(
        built.get("PYENV_GUIX_PREFIX").is_some(),
        "loaded at a later prompt: {out}"
    );
    assert_eq!(built.get("A"), Some("1"));
    // The failure is said once, with pip's own words, and nothing of the
    // failed project is active.
    assert_eq!(
        out.matches("No matching distribution found for nosuchpkg")
            .count(),
        1,
        "{out}"
    );
    let failed = s.dump("failed");
    assert_eq!(failed.get("PYENV_GUIX_PREFIX"), None, "{out}");
    assert_eq!(
        failed.get("A"),
        None,
        "a first build that fails activates nothing: {out}"
    );
}

bash_zsh_fish!(background_build);

/// A script (`exec`) needs the result: it waits for the build a prompt
/// started, and shows how far it got, following the build's log; under
/// `PYENV_GUIX_LOG=quiet`, nothing.
#[test]
fn a_script_waits_for_the_prompts_build_and_follows_its_log() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let stall = s.path("stall");
    let python = s.python_stalling_while("slow", &stall);
    for (rel, req) in [("p", "greetpkg"), ("q", "greetpkg==1.0")] {
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &format!(
                "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [{req:?}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
                python.display().to_string(),
                wheels.display().to_string()
            ),
        );
        s.allow(rel);
    }
    for (rel, level) in [("p", "info"), ("q", "quiet")] {
        std::fs::write(&stall, "").unwrap();
        let out = s
            // As the hook asks at a prompt: only it leaves builds to the background.
            .command(&["export", "bash", "--shell-pid", "4242"], &s.path(rel))
            .env_remove("PYENV_GUIX_BUILD")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("building it in the background"), "{said}");
        // No sleeps that a loaded machine could outrun: the build holds its
        // lock once its log says it builds; the script has met it once it
        // says so (at info), and only then may the build end.
        let logs = s.path("cache/logs");
        wait_until("the background build", || {
            std::fs::read_dir(&logs).is_ok_and(|d| {
                d.flatten().any(|e| {
                    std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("building prefix"))
                })
            })
        });
        let mut script = s
            .command(
                &["exec", "--", "python3", "-c", "import greetpkg"],
                &s.path(rel),
            )
            .env("PYENV_GUIX_LOG", level)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let heard = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let reader = {
            let heard = heard.clone();
            let mut err = script.stderr.take().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = std::io::Read::read(&mut err, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    heard
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
        };
        if level == "info" {
            wait_until("the script to wait", || {
                heard.lock().unwrap().contains("waiting for another build")
            });
        }
        std::fs::remove_file(&stall).unwrap();
        let status = script.wait().unwrap();
        reader.join().unwrap();
        let said = heard.lock().unwrap().clone();
        assert!(status.success(), "{said}");
        if level == "info" {
            assert!(
                said.contains("waiting for another build of prefix"),
                "{said}"
            );
            assert!(said.contains(".log, follows"), "{said}");
            // pip's words, from the other process's log.
            assert!(said.contains("Successfully installed greetpkg"), "{said}");
        } else {
            assert_eq!(said, "", "quiet");
        }
    }
}

/// A project whose pip runs (not dry runs) are counted in `runs`, and
/// stall while `stall` exists.
fn counted_project(s: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf) {
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let stall = s.path("stall");
    let runs = s.path("runs");
    let python = s.python_running(
        "slow",
        &format!(
            "import os, sys; ('install' in sys.argv and '--dry-run' not in sys.argv) and [open({runs:?}, 'a').write(str(os.getpid()) + chr(10))] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({stall:?}), False)]",
            runs = runs.display().to_string(),
            stall = stall.display().to_string(),
        ),
    );
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"greetpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    std::fs::write(&stall, "").unwrap();
    (stall, runs)
}

fn prompt_export(s: &Sandbox, pid: u32) -> std::process::Command {
    let pid = pid.to_string();
    let mut c = s.command(
        &["export", "bash", "--shell-pid", &pid, "--entered"],
        &s.path("p"),
    );
    c.env_remove("PYENV_GUIX_BUILD")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed().as_secs() < 60, "waited too long for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Many shells entering at once start one build: one process, one log.
#[test]
fn concurrent_entries_start_one_build() {
    let s = Sandbox::new();
    let (stall, runs) = counted_project(&s);
    for round in 0..3 {
        let children: Vec<_> = (0..8)
            .map(|i| prompt_export(&s, 1000 + round * 10 + i).spawn().unwrap())
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            support::succeeded_as("export at a prompt", &out);
        }
    }
    wait_until("pip to start", || runs.exists());
    // Give a second build every chance to start before counting.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let builds = std::process::Command::new("pgrep")
        .args(["-f", &format!("pyenv-guix build {}", s.path("p").display())])
        .output()
        .unwrap();
    let started = String::from_utf8_lossy(&builds.stdout).lines().count();
    std::fs::remove_file(&stall).unwrap();
    wait_until("the build", || {
        std::fs::read_dir(s.path("cache/prefixes"))
            .map(|d| d.flatten().any(|e| e.path().is_symlink()))
            .unwrap_or(false)
    });
    // One line per start of site's .pth, which a venv's lib64 link makes
    // run twice: count processes.
    let pips = std::fs::read_to_string(&runs).unwrap();
    let distinct: std::collections::BTreeSet<&str> = pips.lines().collect();
    assert_eq!(distinct.len(), 1, "pip ran more than once:\n{pips}");
    assert_eq!(started, 1, "build processes at once");
}

/// A background build killed (a signal, the OOM killer) takes its pip
/// with it, is recorded as failed, and said so once; it is not started
/// again at every prompt.
#[test]
fn a_killed_build_is_a_failed_build() {
    let s = Sandbox::new();
    let (_stall, runs) = counted_project(&s);
    prompt_export(&s, 2000).succeeds();
    wait_until("pip to start", || runs.exists());
    let pip: i32 = std::fs::read_to_string(&runs)
        .unwrap()
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap();
    let builds = std::process::Command::new("pgrep")
        .args(["-f", &format!("pyenv-guix build {}", s.path("p").display())])
        .output()
        .unwrap();
    let build: i32 = String::from_utf8_lossy(&builds.stdout)
        .trim()
        .parse()
        .expect("one build process");
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(build, libc::SIGKILL) };
    // Gone, or a zombie no one reaped yet.
    wait_until("pip to end with its build", || {
        std::fs::read_to_string(format!("/proc/{pip}/stat"))
            .map(|st| {
                st.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    });
    let out = prompt_export(&s, 2001).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("stopped without finishing"), "{said}");
    let again = prompt_export(&s, 2001).output().unwrap();
    let said_again = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        !said_again.contains("building it in the background"),
        "started again: {said_again}"
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    let pips = std::fs::read_to_string(&runs).unwrap();
    let distinct: std::collections::BTreeSet<&str> = pips.lines().collect();
    assert_eq!(distinct.len(), 1, "pip ran again:\n{pips}");
}

/// A process a build starts (a package's build backend, say) that stays
/// behind never keeps the build's mark: after `reload`, the next prompt
/// starts the build again instead of waiting for ever for "another shell".
#[test]
fn what_a_build_leaves_running_does_not_hold_its_mark() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let pids = s.path("left-behind");
    // pip's process leaves a child behind, sleeping, before pip fails.
    let python = s.python_running(
        "leaves",
        &format!(
            "import os, sys; ('install' in sys.argv and '--dry-run' not in sys.argv) and (os.fork() == 0 and [os.setsid(), [os.dup2(os.open('/dev/null', os.O_RDWR), fd) for fd in (0, 1, 2)], open({pids:?}, 'a').write(str(os.getpid()) + chr(10)), __import__('time').sleep(60), os._exit(0)])",
            pids = pids.display().to_string()
        ),
    );
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"nosuchpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let out = prompt_export(&s, 3000).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("building it in the background"));
    wait_until("the build to fail", || {
        std::fs::read_dir(s.path("cache/prefixes")).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "failed"))
        })
    });
    assert!(pids.exists(), "nothing was left behind");
    s.pyenv_guix(&["reload"], &s.path("p"));
    let out = prompt_export(&s, 3001).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    assert!(said.contains("building it in the background"), "{said}");
}
