//! End to end, in real bash, zsh and fish: source the real hook and cd around
//! as a user would, dumping the exported environment at each step.

mod support;

use std::ffi::OsString;

use pyenv_guix::shells::ShellName;
use support::{Sandbox, UserShell, bin, quote};

const A_VALUE: &str = "a value with 'quotes', \"double\", $dollar, `tick` and \\backslash";

fn projects() -> Sandbox {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.write(
        "a/.pyguix.toml",
        r#"[env]
A_VAR = "a value with 'quotes', \"double\", $dollar, `tick` and \\backslash"

[path]
PATH = ["bin"]
XDG_DATA_DIRS = ["share"]
"#,
    );
    std::fs::create_dir_all(s.path("a/sub")).unwrap();
    s.write("a/nested/.pyguix.toml", "[env]\nNESTED = \"yes\"\n");
    s.write(
        "b/.pyguix.toml",
        "[guix]\nchannels = \"channels.scm\"\n\n[env]\nB_VAR = \"b\"\n\n[path]\nPATH = [\"tools\"]\n",
    );
    s.write("b/channels.scm", "(list %default-guix-channel)\n");
    s
}

fn blocked_line(s: &Sandbox, project: &str, why: &str) -> String {
    format!(
        "pyenv-guix: {}/.pyguix.toml is blocked ({why}). Run 'pyenv-guix allow' to trust it.",
        s.path(project).display()
    )
}

fn journey(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = projects();
    s.allow("b");
    let p = |rel: &str| quote(s.path(rel).as_os_str());
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", p("outside")),
        "dump 00-outside".into(),
        format!("cd {}", p("a")),
        "dump 01-blocked".into(),
        sh.pyenv_guix("allow"),
        "dump 02-allowed".into(),
        "cd sub".into(),
        "dump 03-sub".into(),
        "cd ../nested".into(),
        "dump 04-nested-blocked".into(),
        sh.pyenv_guix("allow"),
        "dump 05-nested".into(),
        format!("cd {}", p("b")),
        "dump 06-b".into(),
        sh.prepend_path("/user/added"),
        sh.export("B_VAR", "mine"),
        "dump 07-user-path".into(),
        format!("cd {}", p("outside")),
        "dump 08-left-b".into(),
        format!("cd {}", p("a")),
        "dump 09-a-again".into(),
        sh.posix("echo '# edited' >> .pyguix.toml"),
        "dump 10-a-edited".into(),
        format!("cd {}", p("b")),
        "dump 11-b-again".into(),
        sh.posix("echo ';; pinned' >> channels.scm"),
        "dump 12-b-channels-edited".into(),
        format!("cd {}", p("outside")),
        "dump 13-final".into(),
    ];
    let out = s.interactive(sh, &s.path("outside"), &s.env(), &lines);

    let path0 = s.dump("00-outside").get("PATH").unwrap().to_string();
    let with = |first: &str| format!("{first}:{path0}");
    let dir = |rel: &str| s.path(rel).display().to_string();

    let d = s.dump("00-outside");
    assert_eq!(d.get("A_VAR"), None);
    assert_eq!(d.get("PYENV_GUIX_STATE"), None);

    let d = s.dump("01-blocked");
    assert_eq!(d.get("A_VAR"), None, "blocked exports nothing");
    assert_eq!(d.get("PATH"), Some(path0.as_str()));

    let d = s.dump("02-allowed");
    assert_eq!(d.get("A_VAR"), Some(A_VALUE));
    assert_eq!(d.get("PATH"), Some(with(&dir("a/bin")).as_str()));
    let xdg = format!("{}:/usr/local/share:/usr/share", dir("a/share"));
    assert_eq!(d.get("XDG_DATA_DIRS"), Some(xdg.as_str()));
    assert_eq!(d.get("PYENV_GUIX_ROOT"), Some(dir("a").as_str()));
    assert_eq!(
        s.dump("03-sub").user_visible(),
        d.user_visible(),
        "a subdirectory keeps the project"
    );

    let d = s.dump("04-nested-blocked");
    assert_eq!(
        d.get("A_VAR"),
        None,
        "entering a blocked nested project unloads the outer one"
    );
    assert_eq!(d.get("XDG_DATA_DIRS"), None);
    assert_eq!(d.get("PATH"), Some(path0.as_str()));

    let d = s.dump("05-nested");
    assert_eq!(d.get("NESTED"), Some("yes"));
    assert_eq!(d.get("A_VAR"), None);
    assert_eq!(d.get("PYENV_GUIX_ROOT"), Some(dir("a/nested").as_str()));

    let d = s.dump("06-b");
    assert_eq!(d.get("B_VAR"), Some("b"));
    assert_eq!(d.get("NESTED"), None);
    assert_eq!(d.get("PATH"), Some(with(&dir("b/tools")).as_str()));

    let d = s.dump("07-user-path");
    assert_eq!(
        d.get("PATH"),
        Some(with(&format!("/user/added:{}", dir("b/tools"))).as_str())
    );

    let d = s.dump("08-left-b");
    assert_eq!(
        d.get("B_VAR"),
        Some("mine"),
        "a value the user set inside is theirs"
    );
    assert_eq!(
        d.get("PATH"),
        Some(with("/user/added").as_str()),
        "the user's own PATH edit survives leaving"
    );

    let d = s.dump("09-a-again");
    assert_eq!(d.get("A_VAR"), Some(A_VALUE));

    let d = s.dump("10-a-edited");
    assert_eq!(d.get("A_VAR"), None, "an edit blocks the project again");
    assert_eq!(d.get("PATH"), Some(with("/user/added").as_str()));

    assert_eq!(s.dump("11-b-again").get("B_VAR"), Some("b"));
    let d = s.dump("12-b-channels-edited");
    assert_eq!(
        d.get("B_VAR"),
        Some("mine"),
        "an edit of a named file blocks the project again, and undo restores the user's value"
    );

    let mut start = s.dump("00-outside").user_visible();
    start.insert("PATH".into(), with("/user/added").into());
    start.insert("B_VAR".into(), "mine".into());
    assert_eq!(
        s.dump("13-final").user_visible(),
        start,
        "leaving restores everything else exactly"
    );

    // Said once per entry, with why.
    for (project, why) in [
        ("a", "not allowed yet"),
        ("a", ".pyguix.toml changed since it was allowed"),
        ("a/nested", "not allowed yet"),
        ("b", "channels.scm changed since it was allowed"),
    ] {
        assert_eq!(
            out.matches(&blocked_line(&s, project, why)).count(),
            1,
            "{project} ({why}):\n{out}"
        );
    }
    assert!(
        out.contains(&format!("pyenv-guix: loading {}/.pyguix.toml", dir("a"))),
        "{out}"
    );
    assert!(
        out.contains("pyenv-guix: export +A_VAR ~PATH +XDG_DATA_DIRS"),
        "{out}"
    );
    assert!(out.contains("pyenv-guix: unloading"), "{out}");
}

/// A shell started inside an active project (tmux, an editor terminal) whose
/// inherited PATH lost the project's entry: its first prompt puts it back.
fn started_inside(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = projects();
    s.allow("a");
    let active = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!(
            "eval \"$({} export bash)\" && env -0",
            quote(bin().as_os_str())
        ))
        .current_dir(s.path("a"))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    let mut env = support::parse_env0(&active.stdout);
    assert!(env.contains_key(&OsString::from("PYENV_GUIX_STATE")));
    let stale_path = support::system_path();
    env.insert("PATH".into(), stale_path.into());
    env.insert("PWD".into(), s.path("a").into());
    let env: Vec<_> = env.into_iter().collect();
    let lines = vec![
        sh.hook_line(),
        "dump 1-first-prompt".into(),
        format!("cd {}", quote(s.path("outside").as_os_str())),
        "dump 2-left".into(),
    ];
    s.interactive(sh, &s.path("a"), &env, &lines);
    let d = s.dump("1-first-prompt");
    let want = format!("{}/bin:{stale_path}", s.path("a").display());
    assert_eq!(d.get("PATH"), Some(want.as_str()));
    assert_eq!(d.get("A_VAR"), Some(A_VALUE));
    let d = s.dump("2-left");
    assert_eq!(d.get("PATH"), Some(stale_path));
    assert_eq!(d.get("A_VAR"), None);
    assert_eq!(d.get("PYENV_GUIX_STATE"), None);
}

/// The binary removed (a `guix gc`, an uninstall): the hook stays quiet and
/// the shell keeps working.
fn binary_gone(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = projects();
    s.allow("a");
    let copy = s.path("home/bin/pyenv-guix");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &copy).unwrap();
    let lines = vec![
        sh.hook_line_for(&copy),
        format!("cd {}", quote(s.path("a").as_os_str())),
        "dump 1-loaded".into(),
        sh.posix(&format!("rm {}", quote(copy.as_os_str()))),
        "cd ..".into(),
        sh.posix("echo still-alive"),
        "dump 2-after".into(),
    ];
    let out = s.interactive(sh, &s.path("outside"), &s.env(), &lines);
    assert_eq!(s.dump("1-loaded").get("A_VAR"), Some(A_VALUE));
    assert!(out.contains("still-alive"), "{out}");
    for bad in ["No such file", "not found", "Unknown command"] {
        assert!(!out.contains(bad), "{bad}: {out}");
    }
}

/// A corrupted or foreign PYENV_GUIX_STATE: one warning, then treated as no
/// state, and the shell goes on.
fn corrupted_state(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = projects();
    s.allow("a");
    let mut env = s.env();
    env.push(("PYENV_GUIX_STATE".into(), "pg1.not-ours".into()));
    let lines = vec![
        sh.hook_line(),
        "dump 1-outside".into(),
        format!("cd {}", quote(s.path("a").as_os_str())),
        "dump 2-inside".into(),
        "cd ..".into(),
        "dump 3-left".into(),
    ];
    let out = s.interactive(sh, &s.path("outside"), &env, &lines);
    let warning = "pyenv-guix: warning: ignoring a PYENV_GUIX_STATE that this user's pyenv-guix did not write";
    assert_eq!(out.matches(warning).count(), 1, "{out}");
    assert_eq!(s.dump("1-outside").get("PYENV_GUIX_STATE"), None);
    assert_eq!(s.dump("2-inside").get("A_VAR"), Some(A_VALUE));
    assert_eq!(s.dump("3-left").get("A_VAR"), None);
}

per_shell!(journey, started_inside, binary_gone, corrupted_state);

/// The name a test types (`hook bash`, `export zsh`) is the word the
/// command line takes for that shell.
#[test]
fn shell_names_are_the_command_line_words() {
    use clap::ValueEnum;
    for sh in ShellName::value_variants() {
        let word = sh.to_possible_value().expect("no shell is hidden");
        assert_eq!(word.get_name(), sh.name());
    }
}
