//! What is nushell's own: its strings are UTF-8 (a value that is not is
//! refused, naming it, and nothing else changes), PATH is a list, the hook
//! is data applied by a sourced file (sourced twice, or from the README's
//! autoload line), and completion goes through its external completer.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, quote, run_with_timeout, succeeded_as};

const NU: ShellName = ShellName::Nu;

/// nushell on its pty, as the tests' user drives it, with `args` instead
/// of no config at all; `lines` typed one per prompt.
fn nu_with(s: &Sandbox, args: &[&str], cwd: &std::path::Path, lines: &[String]) -> String {
    let driven = NU.user().interactive();
    let mut cmd = Command::new(driven.get_program());
    let mut words: Vec<&std::ffi::OsStr> = driven.get_args().collect();
    let at = words
        .iter()
        .position(|w| *w == "nu")
        .expect("the driver runs nu");
    words.truncate(at + 1);
    cmd.args(words).args(args).arg("-i");
    let mut env = s.env();
    // `pyenv-guix` by name, as the README's lines call it.
    let dir = bin().parent().unwrap().to_path_buf();
    env.retain(|(k, _)| k != "PATH");
    env.push((
        "PATH".into(),
        format!("{}:{}", dir.display(), support::system_path()).into(),
    ));
    cmd.current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut script = String::new();
    for l in lines.iter().chain([&"exit".to_string()]) {
        script.push_str(l);
        script.push('\n');
    }
    let out = run_with_timeout(cmd, script.as_bytes(), Duration::from_secs(60));
    succeeded_as("nu", &out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A value that is not UTF-8 (here, bytes the binary inherits in a list
/// the project prepends to): `export nu` refuses it, naming it, prints
/// nothing; in the shell, nothing of that project is applied, the shell
/// goes on, and another project loads.
#[test]
fn a_value_nushell_cannot_hold_is_refused() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write(
        "odd/.pyguix.toml",
        "[env]\nFINE = \"ok\"\n\n[path]\nLISTED = [\"in\"]\n",
    );
    s.write("plain/.pyguix.toml", "[env]\nPLAIN = \"yes\"\n");
    s.allow("odd");
    s.allow("plain");

    let mut env = s.env();
    env.push((
        "LISTED".into(),
        OsString::from_vec(b"/usr/\xfflib".to_vec()),
    ));
    let out = Command::new(bin())
        .args(["export", "nu"])
        .current_dir(s.path("odd"))
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("export nu: cannot carry `LISTED`") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "half an answer printed");

    // nushell itself cannot start with such a value in its environment:
    // the binary is given it behind the shell's back.
    let wrapper = s.write_executable(
        "wrapper",
        &format!(
            "#!/bin/bash\nexport LISTED=$'/usr/\\xfflib'\nexec -a \"$0\" {} \"$@\"\n",
            quote(bin().as_os_str())
        ),
    );
    let lines = vec![
        NU.hook_line_for(&wrapper),
        format!("cd {}", quote(s.path("odd").as_os_str())),
        "dump 1-odd".into(),
        format!("cd {}", quote(s.path("plain").as_os_str())),
        "dump 2-plain".into(),
        // From a loaded project into a refused one: the one left is undone.
        format!("cd {}", quote(s.path("odd").as_os_str())),
        "dump 3-odd-after-plain".into(),
        NU.posix("echo still-alive"),
    ];
    // The script idiom stops there, instead of going on without the project.
    let load = NU.user().load_in_script(&quote(wrapper.as_os_str()), "nu");
    let script = Command::new("nu")
        .args(["--no-config-file", "-c"])
        .arg(format!("{load}\nprint went-on"))
        .current_dir(s.path("odd"))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&script.stderr);
    assert!(!script.status.success(), "{said}");
    assert!(said.contains("cannot carry `LISTED`"), "{said}");
    assert!(script.stdout.is_empty(), "the script went on: {said}");

    let out = s.interactive(NU, &s.path("home"), &s.env(), &lines);
    assert!(out.contains("cannot carry `LISTED`"), "{out}");
    let d = s.dump("1-odd");
    assert_eq!(
        d.get("FINE"),
        None,
        "a refused answer is not applied: {out}"
    );
    assert_eq!(d.get("PYENV_GUIX_STATE"), None);
    assert_eq!(d.get("PYENV_GUIX_ROOT"), None);
    assert_eq!(s.dump("2-plain").get("PLAIN"), Some("yes"), "{out}");
    let d = s.dump("3-odd-after-plain");
    assert_eq!(
        d.get("PLAIN"),
        None,
        "the project left stayed loaded: {out}"
    );
    assert_eq!(d.get("FINE"), None, "{out}");
    assert_eq!(d.get("PYENV_GUIX_STATE"), None, "{out}");
    assert!(out.contains("still-alive"), "{out}");
}

/// The hook applies an answer only from a run that exited 0: what a
/// failed run printed is not applied.
#[test]
fn a_failed_run_applies_nothing() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let wrapper = s.write_executable("wrapper",
        &format!(
            "#!/bin/bash\nif [ \"$1\" = export ]; then echo '{{\"EVIL\":\"x\"}}'; echo ran >> \"$OUT/runs\"; exit 1; fi\nexec -a \"$0\" {} \"$@\"\n",
            quote(bin().as_os_str())
        ),
    );
    let lines = vec![
        NU.hook_line_for(&wrapper),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump in".into(),
    ];
    let out = s.interactive(NU, &s.path("home"), &s.env(), &lines);
    assert!(s.read_out("runs").contains("ran"), "{out}");
    assert_eq!(s.dump("in").get("EVIL"), None, "{out}");
}

/// PATH is a list in nushell: entering and leaving keep it one (the user's
/// `prepend` goes on working), children see it joined, and a variable the
/// user converts with ENV_CONVERSIONS is set in its converted form.
#[test]
fn path_stays_a_list_and_conversions_are_applied() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[path]\nPATH = [\"bin\"]\nXDG_DATA_DIRS = [\"share\"]\n",
    );
    s.allow("p");
    std::fs::create_dir_all(s.path("outside")).unwrap();
    let kinds = |name: &str| {
        format!(
            "[($env.PATH | describe) ($env.XDG_DATA_DIRS? | describe)] | str join ' ' | save -f ($env.OUT | path join {name})"
        )
    };
    let lines = vec![
        "$env.ENV_CONVERSIONS = { XDG_DATA_DIRS: { from_string: {|s| $s | split row ':' } to_string: {|v| $v | str join ':' } } }".into(),
        NU.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        kinds("kinds-in"),
        "dump in".into(),
        NU.prepend_path("/user/added"),
        format!("cd {}", quote(s.path("outside").as_os_str())),
        kinds("kinds-out"),
        "dump out".into(),
    ];
    let out = s.interactive(NU, &s.path("outside"), &s.env(), &lines);
    assert_eq!(s.read_out("kinds-in"), "list<string> list<string>", "{out}");
    assert_eq!(s.read_out("kinds-out"), "list<string> nothing", "{out}");
    let p = s.path("p").display().to_string();
    let d = s.dump("in");
    assert_eq!(
        d.get("PATH"),
        Some(format!("{p}/bin:{}", support::system_path()).as_str())
    );
    // With no XDG_DATA_DIRS, the project's entry goes before the XDG default.
    assert_eq!(
        d.get("XDG_DATA_DIRS"),
        Some(format!("{p}/share:/usr/local/share:/usr/share").as_str())
    );
    let d = s.dump("out");
    assert_eq!(
        d.get("PATH"),
        Some(format!("/user/added:{}", support::system_path()).as_str())
    );
    assert_eq!(d.get("XDG_DATA_DIRS"), None);
}

/// Sourced twice (config.nu read again, a user's `source`), the hook is
/// registered once and the user's own hooks stay; sourced again inside a
/// loaded project, it keeps what it knew: the next prompt runs nothing.
#[test]
fn the_hook_sourced_twice_is_harmless() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let log = s.path("out/runs");
    let wrapper = s.write_executable(
        "wrapper",
        &format!(
            "#!/bin/bash\necho \"$*\" >> {}\nexec -a \"$0\" {} \"$@\"\n",
            quote(log.as_os_str()),
            quote(bin().as_os_str())
        ),
    );
    let count = |name: &str| {
        NU.posix(&format!(
            "grep -c export {} > \"$OUT/{name}\"",
            quote(log.as_os_str())
        ))
    };
    let lines = vec![
        "$env.config.hooks.pre_prompt = [{|| $env.MINE = 'kept' }]".into(),
        NU.hook_line_for(&wrapper),
        NU.hook_line_for(&wrapper),
        "[($env.config.hooks.pre_prompt | length) ($env.config.hooks.env_change.PWD | length)] | str join ' ' | save -f ($env.OUT | path join hooks)".into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        // Past the two seconds a check's mark is set back.
        NU.posix("sleep 2.5"),
        count("before"),
        NU.hook_line_for(&wrapper),
        count("after"),
        "dump in".into(),
    ];
    let out = s.interactive(NU, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.read_out("hooks"), "2 1", "{out}");
    let d = s.dump("in");
    assert_eq!(d.get("P"), Some("loaded"), "{out}");
    assert_eq!(d.get("MINE"), Some("kept"), "{out}");
    assert_eq!(
        s.read_out("after"),
        s.read_out("before"),
        "sourced again, the hook forgot its state and asked the binary: {out}"
    );
}

/// `hook nu` is nushell that parses, and carries the binary's path exactly,
/// whatever its characters.
#[test]
fn the_hook_parses_and_names_its_binary_exactly() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    let odd = s.path("it's a \"dir\" with $x, \\ and (parens)/pyenv-guix");
    std::fs::create_dir_all(odd.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &odd).unwrap();
    let hook = Command::new(&odd)
        .args(["hook", "nu"])
        .env_clear()
        .envs(s.env())
        .stdout_ok();
    s.write("hook.nu", &hook);
    let file = quote(s.path("hook.nu").as_os_str());
    let out = Command::new("nu")
        .args(["--no-config-file", "-c"])
        .arg(format!(
            "if not (nu-check {file}) {{ exit 3 }}; source {file}; print $env.PYENV_GUIX_HOOK"
        ))
        .env_clear()
        .envs(s.env())
        .stdout_ok();
    let want = format!("{}\n", odd.display());
    assert!(
        out.starts_with("nu:") && out.ends_with(&format!(":{want}")),
        "{out}"
    );
}

/// The README's line in config.nu: the hook it writes to the autoload
/// directory works from the first start.
#[test]
fn the_install_line_works_on_the_first_start() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let install = pyenv_guix::shells::ShellName::Nu.shell().install().unwrap();
    s.write(
        "home/.config/nushell/config.nu",
        &format!("$env.config.show_banner = false\n{}\n", install.line),
    );
    let lines = vec![
        "def dump [name: string] { ^env -0 | save -f ($env.OUT | path join $name) }".into(),
        "dump first".into(),
    ];
    let out = nu_with(&s, &[], &s.path("p"), &lines);
    assert_eq!(s.dump("first").get("P"), Some("loaded"), "{out}");
}

/// `completions nu`, at a Tab in nushell's own line editor: a partial
/// command completes to `export`, which then runs.
#[test]
fn completion_at_a_tab() {
    if !NU.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let script = s.command(&["completions", "nu"], &s.path("")).stdout_ok();
    s.write("completions.nu", &script);
    let lines = vec![
        format!("source {}", quote(s.path("completions.nu").as_os_str())),
        "pyenv-guix expo\t nu | save -f ($env.OUT | path join tabbed)".into(),
    ];
    let out = nu_with(&s, &["--no-config-file"], &s.path("p"), &lines);
    let answer = std::fs::read_to_string(s.path("out/tabbed"))
        .unwrap_or_else(|e| panic!("`expo` did not complete to `export` ({e}): {out}"));
    assert!(answer.contains("{\"P\":\"loaded\"}"), "{answer}");
}
