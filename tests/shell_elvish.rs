//! What is elvish's own: its strings hold any bytes (so nothing is
//! refused), its completion by Tab, its hook evaluated twice, the hook and
//! a snippet as elvish compiles them, and doctor at its prompt.

mod support;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, quote};

const SH: ShellName = ShellName::Elvish;

/// elvish's script mode (no rc file, no line editor) running `code` in `cwd`.
fn elvish_c(cwd: &std::path::Path, env: &[(OsString, OsString)], code: &str) -> Command {
    let mut c = Command::new("elvish");
    c.args(["-norc", "-c", code])
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().cloned());
    c
}

/// Elvish's strings are Go's, byte strings: a value that is not UTF-8
/// (the user's own, under a project's, and a PATH entry) goes in and comes
/// back exactly, as elvish itself reads it and as its children get it.
/// Nothing here needs the refusal a UTF-8-only shell makes.
#[test]
fn bytes_that_are_not_utf8_arrive_exactly() {
    if !SH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[env]\nMINE = \"ours\"\n\n[path]\nPATH = [\"bin\"]\n",
    );
    s.allow("p");
    let mine: &[u8] = b"caf\xe9 \xff\xfe\"\\'$x\n\x01end";
    let odd_dir: &[u8] = b"/opt/\xc3(bad";
    let mut env = s.env();
    env.retain(|(k, _)| k != "PATH");
    let mut path = odd_dir.to_vec();
    path.extend_from_slice(format!(":{}", support::system_path()).as_bytes());
    env.push(("PATH".into(), OsString::from_vec(path.clone())));
    env.push(("MINE".into(), OsString::from_vec(mine.to_vec())));
    let load = SH
        .user()
        .load_in_script(&quote(bin().as_os_str()), "elvish");
    let code = format!(
        "{load}\nenv -0 > $E:OUT/in\ncd ..\n{load}\nenv -0 > $E:OUT/out\n\
         if (eq $E:MINE \"caf\\xe9 \\xff\\xfe\\\"\\\\'$x\\n\\x01end\") {{ echo same-in-elvish }}"
    );
    let out = elvish_c(&s.path("p"), &env, &code).stdout_ok();
    assert_eq!(
        out, "same-in-elvish\n",
        "elvish reads the bytes it was given back"
    );
    let inside = s.dump("in");
    let outside = s.dump("out");
    let get =
        |d: &support::Dump, k: &str| d.0.get(&OsString::from(k)).map(|v| v.as_bytes().to_vec());
    assert_eq!(get(&inside, "MINE"), Some(b"ours".to_vec()));
    let mut want = format!("{}/bin:", s.path("p").display()).into_bytes();
    want.extend_from_slice(&path);
    assert_eq!(
        get(&inside, "PATH"),
        Some(want),
        "the odd entry kept behind ours"
    );
    assert_eq!(
        get(&outside, "MINE"),
        Some(mine.to_vec()),
        "given back exactly"
    );
    assert_eq!(get(&outside, "PATH"), Some(path));
}

/// The code `export elvish` and `hook elvish` print is code elvish
/// compiles: a snippet of every kind of change, and the hook (with the
/// line editor's namespace declared: `-compileonly` runs no editor).
#[test]
fn what_it_prints_compiles() {
    if !SH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[env]\nQ = \"a \\\"b\\\" \\\\ $c 'd' \\u00e9 \\n \\t \\u0001\"\n\n[path]\nPATH = [\"bin\"]\n",
    );
    s.allow("p");
    let snippet = s
        .command(
            &["export", "elvish", "--shell-pid", "1", "--entered"],
            &s.path("p"),
        )
        .env("Q", OsString::from_vec(b"\xff".to_vec()))
        .stdout_ok();
    for want in [
        "set-env Q ",
        "set-env PATH ",
        "var __pyenv_guix_watch = [",
        "var __pyenv_guix_mark = [",
    ] {
        assert!(snippet.contains(want), "{want}: {snippet}");
    }
    let hook = s.command(&["hook", "elvish"], &s.path("")).stdout_ok();
    let editor = "var edit: = (ns [&before-readline=[]])\n";
    for (name, code) in [("snippet", snippet), ("hook", format!("{editor}{hook}"))] {
        s.write(&format!("{name}.elv"), &code);
        let out = Command::new("elvish")
            .arg("-compileonly")
            .arg(s.path(&format!("{name}.elv")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} does not compile: {}\n{code}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And the snippets that load and unload, with unset-env, run for real.
    let load = SH
        .user()
        .load_in_script(&quote(bin().as_os_str()), "elvish");
    let code = format!(
        "{load}\nif (has-env Q) {{ echo set }}\ncd ..\n{load}\nif (not (has-env Q)) {{ echo unset }}"
    );
    let out = elvish_c(&s.path("p"), &s.env(), &code).stdout_ok();
    assert_eq!(out, "set\nunset\n");
}

/// Evaluated twice (an rc file sourced again), the hook is there once:
/// one entry in each hook list, one run of the binary per change.
#[test]
fn the_hook_evaluated_twice_is_one_hook() {
    if !SH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"1\"\n");
    s.allow("p");
    let (wrapper, log) = s.counting_wrapper();
    let hook = SH.hook_line_for(&wrapper);
    let lines = vec![
        "echo (count $edit:before-readline) (count $after-chdir) > $E:OUT/before".to_string(),
        hook.clone(),
        hook,
        "echo (count $edit:before-readline) (count $after-chdir) > $E:OUT/after".to_string(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump inside".into(),
    ];
    let out = s.interactive(SH, &s.path("home"), &s.env(), &lines);
    let counts = |name: &str| -> Vec<usize> {
        s.read_out(name)
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let (before, after) = (counts("before"), counts("after"));
    assert_eq!(after[0], before[0] + 1, "before-readline: {out}");
    assert_eq!(after[1], before[1] + 1, "after-chdir: {out}");
    assert_eq!(s.dump("inside").get("P"), Some("1"));
    let runs = std::fs::read_to_string(&log).unwrap();
    let entered = runs
        .lines()
        .filter(|l| l.contains("--entered") && !l.contains("--first-prompt"))
        .count();
    assert_eq!(entered, 1, "one run for the cd:\n{runs}");
    assert_eq!(out.matches("pyenv-guix: export +P").count(), 1, "{out}");
}

/// `completions elvish` registered in a real interactive elvish: Tab
/// completes a unique word in the line, lists an ambiguous one, and the
/// completer elvish calls offers a subcommand's options.
#[test]
fn completions_by_tab() {
    if !SH.available() {
        return;
    }
    let s = Sandbox::new();
    // The binary by its own name, on PATH, as users have it.
    std::fs::create_dir_all(s.path("bin")).unwrap();
    std::os::unix::fs::symlink(bin(), s.path("bin/pyenv-guix")).unwrap();
    let script = s
        .command(&["completions", "elvish"], &s.path(""))
        .stdout_ok();
    s.write("completion.elv", &script);
    // Keys as a user types them, a pause where elvish asks the binary.
    let setup = format!(
        "set paths = [{} $@paths]\neval (slurp < {})\n\
         echo 'OPT'IONS ($edit:completion:arg-completer[pyenv-guix] pyenv-guix status --)\n",
        quote(s.path("bin").as_os_str()),
        quote(s.path("completion.elv").as_os_str())
    );
    let home = "\x1b[H";
    let steps: Vec<String> = vec![
        setup,
        "pyenv-guix hook el\t".into(),
        format!("{home}echo 'DONE:' \n"),
        "pyenv-guix stat\t".into(),
        format!("{home}echo 'DONE:' \n"),
        "pyenv-guix ex\t".into(),
        // Escape leaves the list; the line is then run as it stands.
        "\x1b".into(),
        format!("{home}echo 'AMBIGUOUS:' \n"),
        "exit\n".into(),
    ];
    let out = typed(&s, &steps);
    for want in [
        "DONE: pyenv-guix hook elvish",
        "DONE: pyenv-guix status",
        "AMBIGUOUS: pyenv-guix ex",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    // The list Tab showed for `ex`.
    assert!(out.contains("exec  export"), "{out}");
    let options = out
        .split("OPTIONS")
        .nth(1)
        .and_then(|t| t.lines().next())
        .unwrap_or_default();
    let offered: Vec<&str> = options.split_whitespace().collect();
    assert!(offered.contains(&"--json"), "{options}");
    assert!(!offered.contains(&"--dry-run"), "{options}");
}

/// doctor typed at elvish's prompt sees the hook set up in this elvish,
/// and that it ran at a prompt.
#[test]
fn doctor_sees_the_hook() {
    if !SH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nX = \"1\"\n");
    s.allow("p");
    let lines = vec![
        SH.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        format!(
            "{} doctor --json > $E:OUT/doctor.json",
            quote(bin().as_os_str())
        ),
        "echo $pid > $E:OUT/pid".into(),
    ];
    s.interactive(SH, &s.path(""), &s.env(), &lines);
    let v: serde_json::Value = serde_json::from_str(&s.read_out("doctor.json")).unwrap();
    let hook = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hook")
        .unwrap();
    let pid = s.read_out("pid").trim().to_string();
    assert_eq!(hook["status"], "ok", "{hook}");
    assert_eq!(
        hook["message"].as_str().unwrap(),
        format!("installed in this elvish (pid {pid}) and running at its prompts")
    );
}

/// An interactive elvish on a terminal, given `steps` a second apart: the
/// time elvish takes to ask the binary before the next keys arrive.
fn typed(s: &Sandbox, steps: &[String]) -> String {
    let mut child = Command::new("script")
        .args(["-qec", "elvish -norc", "/dev/null"])
        .current_dir(s.path(""))
        .env_clear()
        .envs(s.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    let steps = steps.to_vec();
    std::thread::spawn(move || {
        for step in steps {
            if keys.write_all(step.as_bytes()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut screen = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = screen.read_to_end(&mut got);
        got
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "timed out: {}",
                String::from_utf8_lossy(&reader.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    plain(&String::from_utf8_lossy(&reader.join().unwrap()))
}

/// The screen's text without the terminal's control sequences (colours,
/// cursor moves) and carriage returns.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
