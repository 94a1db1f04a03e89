//! Pip prefixes for real: real pip and real venv, every mode, on every
//! Python the machine has, with wheels built here and installed offline.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, interpreters, quote};

fn manifest(interpreter: &Path, mode: &str, packages: &[&str], wheels: &Path) -> String {
    let packages: Vec<String> = packages.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "[python]\ninterpreter = {:?}\n\n[pip]\nmode = {mode:?}\npackages = [{}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
        interpreter.display().to_string(),
        packages.join(", "),
        wheels.display().to_string()
    )
}

/// `sys.version` of `python`, as it prints it.
fn version_of(python: &Path) -> String {
    let out = Command::new(python)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Python a fresh Debian machine has.
fn debian_python() -> &'static Path {
    Path::new("/usr/bin/python3")
}

/// Write the project `name` with `manifest(…)` and trust it.
fn allowed(
    s: &Sandbox,
    name: &str,
    interpreter: &Path,
    mode: &str,
    packages: &[&str],
    wheels: &Path,
) {
    s.write(
        &format!("{name}/.pyguix.toml"),
        &manifest(interpreter, mode, packages, wheels),
    );
    s.allow(name);
}

/// Run a shell command with the project's environment through `exec`.
fn exec_sh(s: &Sandbox, project: &str, script: &str) -> Command {
    s.command(
        &[
            "exec",
            "-C",
            &s.path(project).display().to_string(),
            "--",
            "sh",
            "-c",
            script,
        ],
        &s.path("home"),
    )
}

#[test]
fn every_mode_on_every_interpreter() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &["--script", "greet"]);
    for (i, python) in interpreters().iter().enumerate() {
        for mode in ["prefix", "venv", "user"] {
            let name = format!("p{i}-{mode}");
            allowed(&s, &name, python, mode, &["greetpkg==1.0"], &wheels);
            // `python3`, `python` and `pip` inside are the declared
            // interpreter, whatever the user's PATH has.
            let out = exec_sh(
                &s,
                &name,
                "greet > \"$OUT/greet\" && python3 -c 'import greetpkg; print(greetpkg.__file__)' > \"$OUT/module\" && python -c 'import sys; print(sys.version)' > \"$OUT/version\" && pip --version > \"$OUT/pip\" && env -0 > \"$OUT/env\"",
            )
            .succeeds();
            let ctx = format!(
                "{} {mode}: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(s.read_out("greet"), "greetpkg 1.0\n", "{ctx}");
            let env = support::Dump(support::parse_env0(
                &std::fs::read(s.path("out/env")).unwrap(),
            ));
            let prefix = env
                .get("PYENV_GUIX_PREFIX")
                .expect("PYENV_GUIX_PREFIX")
                .to_string();
            assert!(
                prefix.starts_with(&s.path("cache/prefixes/").display().to_string()),
                "{ctx}"
            );
            assert!(
                s.read_out("module").starts_with(&prefix),
                "the module comes from the prefix: {ctx}"
            );
            assert_eq!(s.read_out("version"), version_of(python), "{ctx}");
            let short: String = version_of(python)
                .split('.')
                .take(2)
                .collect::<Vec<_>>()
                .join(".");
            assert!(
                s.read_out("pip").contains(&format!("(python {short})")),
                "pip is the declared Python's: {} {ctx}",
                s.read_out("pip")
            );
            match mode {
                "prefix" => {
                    let sites = env.path_entries("PYTHONPATH");
                    assert!(
                        sites.first().is_some_and(|e| e.starts_with(&prefix)),
                        "{ctx}"
                    );
                    assert_eq!(env.get("PYTHONNOUSERSITE"), Some("1"));
                    assert_eq!(env.get("VIRTUAL_ENV"), None);
                }
                "venv" => {
                    assert_eq!(env.get("VIRTUAL_ENV"), Some(prefix.as_str()));
                    assert_eq!(env.path_entries("PATH")[0], format!("{prefix}/bin"));
                    // A venv without the system's site packages reads no
                    // user site: nothing to keep out.
                    assert_eq!(env.get("PYTHONNOUSERSITE"), None);
                }
                _ => {
                    assert_eq!(env.get("PYTHONUSERBASE"), Some(prefix.as_str()));
                    assert_eq!(
                        env.get("PYTHONNOUSERSITE"),
                        None,
                        "user mode reads the user site"
                    );
                    assert_eq!(env.get("PYTHONPATH"), None);
                }
            }
        }
    }
}

#[test]
fn same_inputs_in_two_projects_share_one_prefix() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let python = debian_python();
    // The same requirements, written in another order and spacing.
    allowed(
        &s,
        "one",
        python,
        "prefix",
        &["greetpkg==1.0", "greetpkg >= 0.1"],
        &wheels,
    );
    allowed(
        &s,
        "two",
        python,
        "prefix",
        &["greetpkg>=0.1", "greetpkg == 1.0"],
        &wheels,
    );
    let first = s.pyenv_guix(&["prefix", "one"], &s.path(""));
    let second = s.pyenv_guix(&["prefix", "two"], &s.path(""));
    assert_eq!(first.stdout, second.stdout);
    assert!(String::from_utf8_lossy(&first.stderr).contains("building prefix"));
    assert!(!String::from_utf8_lossy(&second.stderr).contains("building prefix"));
}

#[test]
fn eight_shells_entering_at_once_build_once() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &["--script", "greet"]);
    allowed(
        &s,
        "p",
        debian_python(),
        "prefix",
        &["greetpkg==1.0"],
        &wheels,
    );
    let children: Vec<_> = (0..8)
        .map(|_| {
            s.command(
                &[
                    "exec",
                    "-C",
                    &s.path("p").display().to_string(),
                    "--",
                    "greet",
                ],
                &s.path(""),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut builds = 0;
    for o in &outs {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(support::succeeded_as("exec greet", o), "greetpkg 1.0\n");
        builds += err.matches("building prefix").count();
    }
    assert_eq!(builds, 1, "one pip run for eight entries");
}

/// A build killed after pip finished but before the prefix was marked
/// complete is never used: the next run removes it and builds again.
#[test]
fn a_build_killed_half_way_is_redone() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &["--script", "greet"]);
    let mark = s.path("pip-ran");
    let stall = s.path("stall");
    // An interpreter that stalls after pip has installed, while the file
    // `stall` exists (builds see none of the shell's variables).
    let python = s.python_running(
        "slow",
        &format!(
            "import atexit, os, sys, time; ('install' in sys.argv and '--dry-run' not in sys.argv and os.path.exists({:?})) and atexit.register(lambda: [open({:?}, 'w').close()] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)])",
            stall.display().to_string(),
            mark.display().to_string(),
            stall.display().to_string()
        ),
    );
    allowed(&s, "p", &python, "prefix", &["greetpkg==1.0"], &wheels);
    // The prompt's own command, interrupted (Ctrl-C sends SIGINT to the
    // foreground process group) or killed, after pip finished.
    for signal in ["INT", "KILL"] {
        let _ = std::fs::remove_file(&mark);
        // Entering the project (a cd), as the hook says.
        let mut cmd = s.command(
            &["export", "bash", "--shell-pid", "4242", "--entered"],
            &s.path("p"),
        );
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        std::fs::write(&stall, "").unwrap();
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !mark.exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "pip never ran");
            std::thread::sleep(Duration::from_millis(50));
        }
        let group = format!("-{}", child.id());
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), "--", &group])
            .status();
        assert!(sent.unwrap().success());
        if signal == "INT" {
            // pip goes on to its end after Ctrl-C there, and ends well: the
            // build is still the one the user stopped.
            std::fs::remove_file(&stall).unwrap();
        }
        let killed = child.wait_with_output().unwrap();
        assert!(!killed.status.success(), "SIG{signal}");
        assert!(killed.stdout.is_empty(), "SIG{signal}: no half snippet");
        let prefixes: Vec<PathBuf> = std::fs::read_dir(s.path("cache/prefixes"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        if signal == "KILL" {
            assert_eq!(prefixes.len(), 1, "SIGKILL: pip's unmarked prefix is there");
        }
        assert!(
            prefixes.iter().all(|p| prefix_unmarked(p)),
            "SIG{signal}: nothing marked complete"
        );
        if signal == "INT" {
            // Ctrl-C: recorded, and the next prompt does not start it again.
            let _ = std::fs::remove_file(&mark);
            let next = s
                .command(&["export", "bash", "--shell-pid", "4242"], &s.path("p"))
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&next.stderr);
            assert!(said.contains("interrupted (Ctrl-C)"), "{said}");
            assert!(!said.contains("building prefix"), "{said}");
            assert!(!mark.exists());
        }
    }

    let _ = std::fs::remove_file(&stall);
    let again = s.pyenv_guix(&["prefix", "p"], &s.path(""));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("removing the unfinished prefix"), "{err}");
    assert!(err.contains("building prefix"), "{err}");
    let out = exec_sh(&s, "p", "greet").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "greetpkg 1.0\n");
}

fn prefix_unmarked(prefix: &Path) -> bool {
    std::fs::read_dir(prefix)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".pyenv-guix"))
}

/// A requirement that does not exist: pip's own message once, nothing
/// activated, not retried at each prompt, retried after `reload`; and once
/// a project has built, a failed rebuild keeps its last good environment.
#[test]
fn failures_are_said_once_and_keep_the_last_good_environment() {
    let sh = ShellName::Bash;
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &["--script", "greet"]);
    let python = debian_python();
    allowed(&s, "bad", python, "prefix", &["nosuchpkg==9.9"], &wheels);
    allowed(&s, "good", python, "prefix", &["greetpkg==1.0"], &wheels);
    let pg = quote(support::bin().as_os_str());
    let broken = manifest(
        python,
        "prefix",
        &["greetpkg==1.0", "nosuchpkg==9.9"],
        &wheels,
    );
    s.write("broken.toml", &broken);
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", quote(s.path("bad").as_os_str())),
        "dump 1-bad".into(),
        "true".into(),
        "true".into(),
        format!("{pg} reload"),
        "dump 2-bad-reloaded".into(),
        format!("cd {}", quote(s.path("good").as_os_str())),
        "greet > \"$OUT/greet-before\"".into(),
        format!(
            "cp {} .pyguix.toml && {pg} allow",
            quote(s.path("broken.toml").as_os_str())
        ),
        "dump 3-good-broken".into(),
        "greet > \"$OUT/greet-after\"".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &s.env(), &lines);
    assert!(
        out.contains("No matching distribution found for nosuchpkg==9.9"),
        "pip's own message: {out}"
    );
    // Outside the prompt's fast path too (a new shell, exec): no new pip run
    // until reload.
    for _ in 0..2 {
        let err = exec_sh(&s, "bad", "true").fails();
        assert!(
            err.contains("failed (run 'pyenv-guix reload' to retry)"),
            "{err}"
        );
        assert!(!err.contains("building prefix"), "{err}");
    }
    let builds = out.matches("building prefix").count();
    // bad: once, once more after reload; good: once; broken: once.
    assert_eq!(builds, 4, "{out}");
    assert_eq!(
        s.dump("1-bad").get("PYENV_GUIX_ROOT"),
        None,
        "a failed first build activates nothing"
    );
    assert_eq!(s.dump("2-bad-reloaded").get("PYENV_GUIX_ROOT"), None);
    assert_eq!(s.read_out("greet-before"), "greetpkg 1.0\n");
    assert!(out.contains("keeping the last good environment"), "{out}");
    assert!(!out.contains("unloading"), "nothing was unloaded: {out}");
    let d = s.dump("3-good-broken");
    assert_eq!(
        d.get("PYENV_GUIX_ROOT"),
        Some(s.path("good").display().to_string().as_str())
    );
    assert_eq!(s.read_out("greet-after"), "greetpkg 1.0\n");
}

/// gc removes what no trusted manifest on disk needs, says what with sizes,
/// and keeps what one does.
#[test]
fn gc_removes_only_what_no_trusted_manifest_needs() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &["--script", "greet"]);
    let python = debian_python();
    allowed(&s, "kept", python, "prefix", &["greetpkg==1.0"], &wheels);
    allowed(&s, "gone", python, "venv", &["greetpkg==1.0"], &wheels);
    s.write(
        "guixy/.pyguix.toml",
        "[guix]\npackages = [\"python-attrs\"]\n",
    );
    s.allow("guixy");
    for p in ["kept", "gone", "guixy"] {
        s.pyenv_guix(&["exec", "-C", p, "--", "true"], &s.path(""));
    }
    let kept = String::from_utf8(s.pyenv_guix(&["prefix", "kept"], &s.path("")).stdout).unwrap();
    let gone = String::from_utf8(s.pyenv_guix(&["prefix", "gone"], &s.path("")).stdout).unwrap();
    std::fs::remove_file(s.path("gone/.pyguix.toml")).unwrap();
    // An edit that is not allowed: trusted no more, so not kept.
    s.write(
        "guixy/.pyguix.toml",
        "[guix]\npackages = [\"python-attrs\", \"python-six\"]\n",
    );

    let dry = s.pyenv_guix(&["gc", "--dry-run"], &s.path(""));
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry_out.contains(&format!("would remove {} (", gone.trim())),
        "{dry_out}"
    );
    assert!(
        std::path::Path::new(gone.trim()).exists(),
        "a dry run removes nothing"
    );

    let real = s.pyenv_guix(&["gc"], &s.path(""));
    let out = String::from_utf8_lossy(&real.stdout);
    assert!(out.contains(&format!("removed {} (", gone.trim())), "{out}");
    assert!(
        out.contains("MiB)") || out.contains("KiB)"),
        "sizes are shown: {out}"
    );
    assert!(
        out.contains("/cache/profiles/"),
        "the unneeded profile link goes: {out}"
    );
    assert!(!out.contains(kept.trim()), "{out}");
    assert!(!std::path::Path::new(gone.trim()).exists());
    assert!(std::path::Path::new(kept.trim()).exists());
    let again = s.pyenv_guix(&["prefix", "kept"], &s.path(""));
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("building"),
        "kept means reused"
    );
}

/// Entering a project whose prefix is built asks no Python anything: the
/// interpreter's facts are cached, the prefix is found by its key.
#[test]
fn entering_a_built_project_starts_no_python() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    allowed(
        &s,
        "p",
        debian_python(),
        "prefix",
        &["greetpkg==1.0"],
        &wheels,
    );
    let enter = || {
        let out = s
            .command(&["export", "json"], &s.path("p"))
            .env("PYENV_GUIX_LOG", "debug")
            .succeeds();
        // Progress went to stderr: stdout is the snippet alone.
        let snippet: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON only");
        assert!(snippet["PYENV_GUIX_PREFIX"].is_string());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = enter();
    assert!(
        first.contains("asking /usr/bin/python3 who it is"),
        "{first}"
    );
    assert!(first.contains("building prefix"), "{first}");
    let second = enter();
    assert!(!second.contains("asking"), "{second}");
    assert!(!second.contains("building"), "{second}");
    assert!(second.contains("loading"), "{second}");
}

/// With no pip fallbacks, a declared interpreter is still the project's
/// `python3`, `python` and `pip`; the default `python3` changes nothing.
#[test]
fn declared_interpreter_without_pip_fallbacks() {
    let s = Sandbox::new();
    for (i, python) in interpreters().iter().enumerate() {
        let name = format!("p{i}");
        s.write(
            &format!("{name}/.pyguix.toml"),
            &format!(
                "[python]\ninterpreter = {:?}\n",
                python.display().to_string()
            ),
        );
        s.allow(&name);
        exec_sh(
            &s,
            &name,
            "python3 -c 'import sys; print(sys.version)' > \"$OUT/version\" && pip --version > \"$OUT/pip\" && env -0 > \"$OUT/env\"",
        )
        .succeeds();
        assert_eq!(s.read_out("version"), version_of(python));
        let env = support::Dump(support::parse_env0(
            &std::fs::read(s.path("out/env")).unwrap(),
        ));
        assert_eq!(env.get("PYTHONNOUSERSITE"), None, "no pip fallbacks");
    }
    s.write(
        "default/.pyguix.toml",
        "[python]\ninterpreter = \"python3\"\n",
    );
    s.allow("default");
    exec_sh(&s, "default", "env -0 > \"$OUT/env\"").succeeds();
    let env = support::Dump(support::parse_env0(
        &std::fs::read(s.path("out/env")).unwrap(),
    ));
    assert_eq!(env.get("PATH"), Some(support::system_path()));
}

/// pip's lines are the build's progress; PYENV_GUIX_LOG=quiet hides them,
/// and a failure then shows their last lines in its message.
#[test]
fn quiet_builds_show_only_failures() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    allowed(
        &s,
        "ok",
        debian_python(),
        "prefix",
        &["greetpkg==1.0"],
        &wheels,
    );
    allowed(
        &s,
        "bad",
        debian_python(),
        "prefix",
        &["nosuchpkg"],
        &wheels,
    );
    let run = |project: &str, log: &str| {
        s.command(&["prefix", project], &s.path(""))
            .env("PYENV_GUIX_LOG", log)
            .output()
            .unwrap()
    };
    let quiet = run("ok", "quiet");
    let err = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{err}");
    assert!(!err.contains("Successfully installed"), "{err}");
    let failed = run("bad", "quiet");
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(err.contains("pip failed to build prefix"), "{err}");
    assert!(
        err.contains("No matching distribution found for nosuchpkg"),
        "{err}"
    );
    assert_eq!(err.matches("No matching distribution").count(), 1, "{err}");
}

/// A virtualenv activated by hand puts its `python3` first on the PATH:
/// a project that names no interpreter is then built for that venv (its
/// packages seen, a key of its own). That is said when it builds, with
/// what to do; the same project without the venv on the PATH says
/// nothing of the kind.
#[test]
fn a_python3_from_an_activated_venv_is_said() {
    let s = Sandbox::new();
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let (_, plain) = s.ok_with(&s.env(), &s.path("p"), &["prefix"]);
    assert!(!plain.contains("virtualenv"), "{plain}");
    // Activated as `activate` does: its bin first on PATH, VIRTUAL_ENV set.
    let venv = s.path("other-venv");
    s.python_running("other-venv", "");
    let mut env = s.env();
    let path = env.iter().find(|(k, _)| k == "PATH").unwrap().1.clone();
    let mut activated = venv.join("bin").into_os_string();
    activated.push(":");
    activated.push(&path);
    env.retain(|(k, _)| k != "PATH");
    env.push(("PATH".into(), activated));
    env.push(("VIRTUAL_ENV".into(), venv.clone().into()));
    let (_, said) = s.ok_with(&env, &s.path("p"), &["prefix"]);
    assert!(
        said.contains(&format!("is the virtualenv {}'s", venv.display()))
            && said.contains("deactivate it"),
        "{said}"
    );
}

/// An allowed edit reloads the project where the shell is: it is said as
/// loading, as direnv says it, not as unloading then loading.
#[test]
fn a_project_reloaded_in_place_is_said_loading_not_unloading() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let pg = quote(support::bin().as_os_str());
    let lines: Vec<String> = vec![
        ShellName::Bash.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "true".into(),
        format!("printf '[env]\\nA = \"2\"\\n' > .pyguix.toml && {pg} allow"),
        "true".into(),
        "dump reloaded".into(),
        "cd ..".into(),
        "true".into(),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.dump("reloaded").get("A"), Some("2"), "{out}");
    let manifest = s.path("p/.pyguix.toml");
    let loading = format!("pyenv-guix: loading {}", manifest.display());
    assert_eq!(out.matches(&loading).count(), 2, "{out}");
    // Once, on leaving.
    assert_eq!(out.matches("pyenv-guix: unloading").count(), 1, "{out}");
}
