//! Where scripts run, pyenv-guix says only what needs saying: `exec` adds
//! nothing to a command's stderr unless it builds, warns or fails, and a
//! `PYENV_GUIX_LOG` it does not know is said once.

mod support;

use support::Sandbox;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn exec_adds_nothing_to_stderr_when_nothing_is_built() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[env]\nGREETING = \"hi\"\n\n[path]\nPATH = [\"bin\"]\n",
    );
    s.allow("p");
    for level in ["info", "debug"] {
        let out = s
            .command(
                &[
                    "exec",
                    "-C",
                    "p",
                    "--",
                    "sh",
                    "-c",
                    "echo \"$GREETING\" >&2",
                ],
                &s.path(""),
            )
            .env("PYENV_GUIX_LOG", level)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let err = stderr_of(&out);
        for chatter in ["loading", "export", "unloading"] {
            assert!(!err.contains(chatter), "{level}: {chatter} in {err:?}");
        }
        if level == "info" {
            assert_eq!(err, "hi\n", "only the command's own stderr");
        }
    }
}

#[test]
fn exec_still_says_a_build_warning_and_a_block() {
    let s = Sandbox::new();
    let wheels = s.wheel("quietpkg", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"quietpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let run = |env: &[(&str, &str)]| {
        let mut c = s.command(&["exec", "-C", "p", "--", "true"], &s.path(""));
        c.envs(env.iter().copied());
        c.output().unwrap()
    };
    let first = run(&[]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert!(
        stderr_of(&first).contains("pyenv-guix: building prefix"),
        "a build is worth saying: {}",
        stderr_of(&first)
    );
    let second = run(&[]);
    assert!(second.status.success());
    assert_eq!(stderr_of(&second), "", "built: nothing to say");

    // A forged state is a warning, said even by exec.
    let forged = run(&[("PYENV_GUIX_STATE", "pg1.not-ours")]);
    assert!(forged.status.success());
    assert!(
        stderr_of(&forged).contains("pyenv-guix: warning: ignoring a PYENV_GUIX_STATE"),
        "{}",
        stderr_of(&forged)
    );

    // A blocked project runs nothing, and says why.
    s.write("p/.pyguix.toml", "[env]\nX = \"1\"\n");
    let blocked = run(&[]);
    assert_eq!(blocked.status.code(), Some(1));
    assert!(
        stderr_of(&blocked).contains("is blocked (.pyguix.toml changed since it was allowed)"),
        "{}",
        stderr_of(&blocked)
    );
}

#[test]
fn an_unknown_log_level_is_said_once() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nX = \"1\"\n");
    let warning =
        "pyenv-guix: warning: PYENV_GUIX_LOG=loud is not quiet, info or debug; using info";
    // Each of these logs lines of its own after the level is read: the
    // warning comes once, not once per line.
    for args in [&["allow", "p"][..], &["export", "bash"], &["reload"]] {
        let dir = if args[0] == "export" {
            s.path("p")
        } else {
            s.path("")
        };
        let out = s
            .command(args, &dir)
            .env("PYENV_GUIX_LOG", "loud")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert_eq!(err.matches(warning).count(), 1, "{args:?}: {err}");
        assert_eq!(
            err.matches("warning").count(),
            1,
            "{args:?}: one warning: {err}"
        );
    }
    // Known values and an empty one say nothing of the kind.
    for ok in ["quiet", "info", "debug", ""] {
        let out = s
            .command(&["reload"], &s.path(""))
            .env("PYENV_GUIX_LOG", ok)
            .output()
            .unwrap();
        assert!(
            !stderr_of(&out).contains("PYENV_GUIX_LOG"),
            "{ok:?}: {}",
            stderr_of(&out)
        );
    }
}

/// `PYENV_GUIX_STATE=` (a script clearing it) is no state, not a forged
/// one: nothing to warn of.
#[test]
fn an_empty_state_is_no_state() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nGREETING = \"hi\"\n");
    s.allow("p");
    let out = s
        .command(&["exec", "--", "sh", "-c", "echo $GREETING"], &s.path("p"))
        .env("PYENV_GUIX_STATE", "")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(stderr_of(&out), "");
}
