//! What is xonsh's own: the values it would pass to commands changed are
//! refused by name, its hook is data applied by the hook (run twice, it is
//! still one hook), and the hook reads back the binary's path exactly.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, parse_env0, quote, run_with_timeout};

const XONSH: ShellName = ShellName::Xonsh;

/// xonsh splits a `*PATH` or `*DIRS` variable at `:` and expands `~` and
/// `$NAME` in it, and converts its own typed variables (`AUTO_CD` is a
/// bool): such a value would reach commands changed. The project is
/// refused by name, none of it is applied, and the shell goes on.
#[test]
fn a_value_xonsh_would_change_is_refused_by_name() {
    if !XONSH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write(
        "tilde/.pyguix.toml",
        "[env]\nGOOD = \"fine\"\nTOOLS_PATH = \"~/tools:$HOME/more\"\n",
    );
    s.write(
        "typed/.pyguix.toml",
        "[env]\nGOOD = \"fine\"\nAUTO_CD = \"yes\"\n",
    );
    // `$ZZZ_NEW` is unset when the answer is checked, and set by it.
    s.write(
        "dollar/.pyguix.toml",
        "[env]\nGOOD = \"fine\"\nMY_PATH = \"$ZZZ_NEW/bin\"\nZZZ_NEW = \"/expanded\"\n",
    );
    s.write("plain/.pyguix.toml", "[env]\nPLAIN = \"loaded\"\n");
    for p in ["tilde", "typed", "dollar", "plain"] {
        s.allow(p);
    }
    let p = |rel: &str| quote(s.path(rel).as_os_str());
    let lines = vec![
        XONSH.hook_line(),
        "$TOOLS_PATH = '/mine'".into(),
        format!("cd {}", p("tilde")),
        "dump tilde".into(),
        format!("cd {}", p("typed")),
        "dump typed".into(),
        format!("cd {}", p("dollar")),
        "dump dollar".into(),
        format!("cd {}", p("plain")),
        "dump plain".into(),
        // From a loaded project into a refused one: the one left is undone.
        format!("cd {}", p("tilde")),
        "dump plain-then-tilde".into(),
        "cd /".into(),
        "dump left".into(),
    ];
    let out = s.interactive(XONSH, &s.path("home"), &s.env(), &lines);
    for (dump, name) in [
        ("tilde", "TOOLS_PATH"),
        ("typed", "AUTO_CD"),
        ("dollar", "MY_PATH"),
        ("plain-then-tilde", "TOOLS_PATH"),
    ] {
        assert!(
            out.contains(&format!("xonsh cannot carry `{name}`")),
            "{name} not named: {out}"
        );
        let d = s.dump(dump);
        assert_eq!(d.get("GOOD"), None, "{dump}: part of it applied: {out}");
        assert_eq!(d.get("AUTO_CD"), None, "{dump}");
        assert_eq!(d.get("PYENV_GUIX_STATE"), None, "{dump}");
        assert_eq!(d.get("TOOLS_PATH"), Some("/mine"), "{dump}: the user's own");
    }
    // The shell goes on, and loads and leaves what it can carry.
    assert_eq!(s.dump("plain").get("PLAIN"), Some("loaded"), "{out}");
    assert_eq!(
        s.dump("plain-then-tilde").get("PLAIN"),
        None,
        "the project left stayed loaded: {out}"
    );
    assert_eq!(s.dump("dollar").get("MY_PATH"), None, "{out}");

    // The script idiom stops on a refusal instead of going on without
    // the project.
    let load = XONSH
        .user()
        .load_in_script(&quote(bin().as_os_str()), "xonsh");
    let script = s.path("script.xsh");
    std::fs::write(&script, format!("{load}\nprint('went-on')\n")).unwrap();
    let ran = std::process::Command::new("xonsh")
        .args(["--no-rc"])
        .arg(&script)
        .current_dir(s.path("tilde"))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&ran.stderr);
    assert!(!ran.status.success(), "{said}");
    assert!(said.contains("cannot carry `TOOLS_PATH`"), "{said}");
    assert!(
        !String::from_utf8_lossy(&ran.stdout).contains("went-on"),
        "the script went on: {said}"
    );
    let left = s.dump("left");
    assert_eq!(left.get("PLAIN"), None);
    assert_eq!(left.get("PYENV_GUIX_STATE"), None);
    assert_eq!(left.get("TOOLS_PATH"), Some("/mine"));
}

/// The rc file run twice (or the line pasted again) leaves one hook, not
/// two calls at every prompt, and loads as before.
#[test]
fn the_hook_run_twice_is_one_hook() {
    if !XONSH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let count = "import xonsh.events as _e; open($OUT + '/count', 'w').write(str(sum(h.__name__ == '_pyenv_guix_hook' for ev in (_e.events.on_pre_prompt, _e.events.on_precommand, _e.events.on_chdir) for h in ev)))";
    let lines = vec![
        XONSH.hook_line(),
        XONSH.hook_line(),
        count.into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump in".into(),
        "cd /".into(),
        "dump out".into(),
    ];
    let out = s.interactive(XONSH, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.read_out("count"), "3", "one handler per event: {out}");
    assert_eq!(s.dump("in").get("P"), Some("loaded"), "{out}");
    assert_eq!(s.dump("out").get("P"), None, "{out}");
}

/// `pyenv-guix hook xonsh` is read by xonsh itself, from a binary whose
/// path holds quotes, a backslash, `$`, braces and a byte that is not
/// UTF-8: the hook names that exact path to doctor.
#[test]
fn the_hook_parses_in_xonsh_with_any_binary_path() {
    if !XONSH.available() {
        return;
    }
    let s = Sandbox::new();
    let mut dir = s.path("odd").into_os_string().into_vec();
    dir.extend_from_slice(b"/q'\"\\ ${x} @(y) \xff\xe2\x82");
    let dir = std::path::PathBuf::from(OsString::from_vec(dir));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("pyenv-guix");
    std::fs::copy(bin(), &copy).unwrap();
    let hook_file = s.path("hook.xsh");
    let made = Command::new(&copy)
        .args(["hook", "xonsh"])
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    std::fs::write(&hook_file, &made.stdout).unwrap();
    let script = format!(
        "execx(open({}).read())\nbash -c 'env -0 > \"$OUT/env\"'\n",
        quote(hook_file.as_os_str())
    );
    let out = Command::new("xonsh")
        .args(["--no-rc", "-c", &script])
        .current_dir(s.path("home"))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = parse_env0(&std::fs::read(s.path("out/env")).unwrap());
    let got = env.get(&OsString::from("PYENV_GUIX_HOOK")).expect("set");
    let want_tail = copy.as_os_str().as_bytes();
    assert!(
        got.as_bytes().starts_with(b"xonsh:") && got.as_bytes().ends_with(want_tail),
        "{got:?}"
    );
}

/// xonsh's readline shell runs lines typed ahead without a prompt event
/// (it prints their prompts itself): on_precommand still checks before
/// each, so a command typed after `allow` runs in the project.
#[test]
fn typed_ahead_lines_in_the_readline_shell_run_in_the_project() {
    if !XONSH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    let user = XONSH.user();
    let lines = [
        user.dump_function().to_string(),
        XONSH.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump blocked".into(),
        XONSH.pyenv_guix("allow"),
        "dump allowed".into(),
        "cd /".into(),
        "dump left".into(),
        "exit".into(),
    ];
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        "env TERM=dumb xonsh --no-rc -i --shell-type readline",
        "/dev/null",
    ])
    .current_dir(s.path("home"))
    .env_clear()
    .envs(s.env())
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = run_with_timeout(
        cmd,
        (lines.join("\n") + "\n").as_bytes(),
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.dump("blocked").get("P"), None, "{out}");
    assert_eq!(s.dump("allowed").get("P"), Some("loaded"), "{out}");
    assert_eq!(s.dump("left").get("P"), None, "{out}");
}

/// `pyenv-guix completions xonsh` adds a completer to xonsh's own list,
/// which xonsh's `completer complete` asks as Tab does.
#[test]
fn completions_through_xonshs_completer() {
    if !XONSH.available() {
        return;
    }
    let s = Sandbox::new();
    let script = s
        .command(&["completions", "xonsh"], &s.path(""))
        .stdout_ok();
    s.write("completion.xsh", &script);
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "pyenv-guix ",
            &["hook", "export", "allow", "completions"],
            &["--shell-pid"],
        ),
        ("pyenv-guix ex", &["export", "exec"], &["hook"]),
        (
            "pyenv-guix hook ",
            &["bash", "fish", "xonsh"],
            &["json", "export"],
        ),
        (
            "pyenv-guix status --",
            &["--json", "--help"],
            &["--dry-run"],
        ),
    ];
    let mut lines = format!(
        "execx(open({}).read())\ncompleter list\n",
        quote(s.path("completion.xsh").as_os_str())
    );
    for (typed, _, _) in cases {
        lines.push_str(&format!(
            "echo '== {typed}'\ncompleter complete '{typed}'\n"
        ));
    }
    let out = Command::new("xonsh")
        .args(["--no-rc", "-c", &lines])
        .current_dir(s.path(""))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("pyenv_guix "), "registered: {stdout}");
    let mut blocks = stdout.split("== ").skip(1);
    for (typed, want, not) in cases {
        let block = blocks.next().unwrap_or_else(|| panic!("{stdout}"));
        // Each offer is `RichCompletion('value', ...)`.
        let offered: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("RichCompletion('"))
            .filter_map(|l| l.split('\'').next())
            .collect();
        for w in *want {
            assert!(
                offered.contains(w),
                "{typed:?} should offer {w}: {offered:?}"
            );
        }
        for w in *not {
            assert!(
                !offered.contains(w),
                "{typed:?} should not offer {w}: {offered:?}"
            );
        }
    }
}
