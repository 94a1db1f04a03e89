//! tcsh's own: every byte a value can hold arrives through its quoting, the
//! hook sourced twice runs once and keeps the user's precmd and `$status`,
//! the rendered hook parses, and a project under an awkward path loads and
//! is then left alone by quiet prompts.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::Command;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, quote};

const TCSH: ShellName = ShellName::Tcsh;

/// `text` in tcsh's single quotes, as typed at its prompt.
fn typed(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''").replace('!', r"\!"))
}

/// Bytes next to the ones tcsh's lexer treats apart: `!` (history), `\`,
/// `'`, a newline, `$`, a backquote, and bytes with the high bit (tcsh's
/// own quoting bit once, and what its `eval` of a command's output garbles).
fn awkward_values() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = (1..=255u8).map(|b| vec![b'a', b, b'b']).collect();
    let special = b"!\\'\n$`\"~^:*?[{ \t\r";
    for &x in special.iter().chain(&[0x80, 0xb9, 0xc3, 0xde, 0xff]) {
        for &y in special.iter().chain(&[0x80, 0xb9, 0xde, 0xff]) {
            values.push(vec![x, y]);
            values.push(vec![x, y, x]);
        }
    }
    values.extend([
        b"!!".to_vec(),
        b"!$".to_vec(),
        b"!-1".to_vec(),
        b"\\!".to_vec(),
        b"\\\\!".to_vec(),
        b"\\\n".to_vec(),
        b"\n".to_vec(),
        b"\n\n".to_vec(),
        b"'".to_vec(),
        b"".to_vec(),
        b"end of line\\".to_vec(),
    ]);
    values
}

/// Every byte from 0x01 to 0xff, and every pair of the awkward ones, as the
/// user's own values: the project overrides them, and leaving gives each
/// back byte for byte (the hook writes `setenv` lines and sources them).
/// What the manifest sets (text with `!`, newlines, quotes) arrives as
/// written.
#[test]
fn every_byte_arrives() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    let values = awkward_values();
    let set = [
        "history ! and !! and !$",
        "two\nlines\n",
        "quote ' and \\! and \\",
        "tab\tand ~user and *glob?",
    ];
    let mut manifest = String::from("[env]\n");
    for (i, v) in set.iter().enumerate() {
        manifest.push_str(&format!("S{i} = {}\n", toml_basic(v)));
    }
    for i in 0..values.len() {
        manifest.push_str(&format!("V{i} = \"ours\"\n"));
    }
    s.write("p/.pyguix.toml", &manifest);
    s.allow("p");
    let mut env = s.env();
    for (i, v) in values.iter().enumerate() {
        env.push((format!("V{i}").into(), OsString::from_vec(v.clone())));
    }
    let lines = vec![
        TCSH.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump in".into(),
        "cd /".into(),
        "dump out".into(),
    ];
    let out = s.interactive(TCSH, &s.path("home"), &env, &lines);
    let inside = s.dump("in");
    let outside = s.dump("out");
    fn get<'a>(d: &'a support::Dump, k: &str) -> Option<&'a [u8]> {
        d.0.get(&OsString::from(k)).map(|v| v.as_bytes())
    }
    for (i, v) in set.iter().enumerate() {
        assert_eq!(get(&inside, &format!("S{i}")), Some(v.as_bytes()), "{out}");
        assert_eq!(get(&outside, &format!("S{i}")), None);
    }
    for (i, v) in values.iter().enumerate() {
        assert_eq!(get(&inside, &format!("V{i}")), Some(&b"ours"[..]), "V{i}");
        assert_eq!(
            get(&outside, &format!("V{i}")),
            Some(v.as_slice()),
            "V{i} restored: {:?}",
            String::from_utf8_lossy(v)
        );
    }
}

/// The same values through the script idiom, in `tcsh -c`, in the C locale:
/// a script reads `!` and newlines as a prompt's `source` does.
#[test]
fn every_byte_arrives_in_a_script() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    let values = awkward_values();
    let mut manifest = String::from("[env]\n");
    for i in 0..values.len() {
        manifest.push_str(&format!("V{i} = \"ours\"\n"));
    }
    s.write("p/.pyguix.toml", &manifest);
    s.allow("p");
    // Entered with the user's values, left by a second export from outside:
    // the undo the project's state records.
    let mut env: Vec<(OsString, OsString)> = s
        .env()
        .into_iter()
        .filter(|(k, _)| k != "LANG" && k != "LC_ALL")
        .collect();
    env.push(("LC_ALL".into(), "C".into()));
    for (i, v) in values.iter().enumerate() {
        env.push((format!("V{i}").into(), OsString::from_vec(v.clone())));
    }
    let load = TCSH
        .user()
        .load_in_script(&quote(bin().as_os_str()), "tcsh");
    let script = format!("{load}\nenv -0 > \"$OUT/in\"\ncd /\n{load}\nenv -0 > \"$OUT/out\"\n");
    let out = Command::new("tcsh")
        .args(["-f", "-c", &script])
        .current_dir(s.path("p"))
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inside = s.dump("in");
    let outside = s.dump("out");
    for (i, v) in values.iter().enumerate() {
        let key = OsString::from(format!("V{i}"));
        assert_eq!(inside.0.get(&key).map(|v| v.as_bytes()), Some(&b"ours"[..]));
        assert_eq!(
            outside.0.get(&key).map(|v| v.as_bytes()),
            Some(v.as_slice()),
            "V{i} restored: {:?}",
            String::from_utf8_lossy(v)
        );
    }
}

/// A TOML basic string holding `text`.
fn toml_basic(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => out.push_str(&format!("\\{c}")),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sourced twice after the user's own precmd and cwdcmd: the hook is in
/// each once, before the user's, which still run; `$status` is kept for
/// the prompt; quiet prompts still start no process.
#[test]
fn sourced_twice_hooks_once_keeps_the_users_aliases_and_status() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let (wrapper, _) = s.counting_wrapper();
    let lines = vec![
        r#"alias precmd 'echo -n x >> "$OUT/user-precmd"'"#.to_string(),
        r#"alias cwdcmd 'echo -n x >> "$OUT/user-cwdcmd"'"#.to_string(),
        TCSH.hook_line_for(&wrapper),
        TCSH.hook_line_for(&wrapper),
        r#"alias precmd > "$OUT/precmd""#.into(),
        r#"alias cwdcmd > "$OUT/cwdcmd""#.into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "false".into(),
        r#"echo -n $status > "$OUT/status""#.into(),
        "dump inside".into(),
        // Past the two seconds a check's mark is set back: quiet prompts.
        TCSH.posix("sleep 2.5"),
        r#"cp "$OUT/runs" "$OUT/runs-settled""#.into(),
        "true".into(),
        "true".into(),
        r#"cp "$OUT/runs" "$OUT/runs-quiet""#.into(),
    ];
    let out = s.interactive(TCSH, &s.path("home"), &s.env(), &lines);
    let read = |f: &str| s.read_out(f);
    for alias in ["precmd", "cwdcmd"] {
        let text = read(alias);
        assert_eq!(
            text.matches("__pyenv_guix_hook").count(),
            1,
            "{text}\n{out}"
        );
        assert!(
            text.starts_with("__pyenv_guix_hook; ") && text.contains(&format!("user-{alias}")),
            "{text}"
        );
    }
    assert_eq!(read("status"), "1", "{out}");
    assert_eq!(s.dump("inside").get("P"), Some("loaded"), "{out}");
    assert!(
        read("user-precmd").len() >= 5,
        "the user's precmd still runs"
    );
    assert_eq!(read("user-cwdcmd"), "x", "the user's cwdcmd still runs");
    assert_eq!(
        read("runs-quiet"),
        read("runs-settled"),
        "quiet prompts ran the binary:\n{out}"
    );
    assert!(!out.contains("Faulty") && !out.contains("Syntax"), "{out}");
}

/// `pyenv-guix hook tcsh` parses (tcsh -n), and sourced in a plain tcsh
/// says nothing and defines the hook, with the prompt's code beside it
/// (the quiet test, and the check) parsing too.
#[test]
fn the_rendered_hook_parses_and_sources_quietly() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    let hook = s.pyenv_guix(&["hook", "tcsh"], &s.path("home")).stdout;
    let file = s.path("hook.tcsh");
    std::fs::write(&file, &hook).unwrap();
    Command::new("tcsh")
        .args(["-f", "-n"])
        .arg(&file)
        .succeeds();
    let out = Command::new("tcsh")
        .args(["-f", "-c"])
        .arg(format!(
            "source {0}; source {0}; alias precmd; alias cwdcmd; echo $__pyenv_guix_dir",
            quote(file.as_os_str())
        ))
        .current_dir(s.path("home"))
        .env_clear()
        .envs(s.env())
        .succeeds();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "said nothing");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..2], ["__pyenv_guix_hook; ", "__pyenv_guix_hook; "]);
    let prompt = std::path::Path::new(lines[2]).join("prompt.tcsh");
    for code in [&prompt, &std::path::Path::new(lines[2]).join("check.tcsh")] {
        Command::new("tcsh").args(["-f", "-n"]).arg(code).succeeds();
    }
    assert!(
        std::fs::read_to_string(&prompt)
            .unwrap()
            .contains("foreach __pyenv_guix_path"),
        "the prompt's code was written whole"
    );
    std::fs::remove_dir_all(lines[2]).unwrap();
}

/// A project under a path with a space, glob characters, `$`, `'` and `!`:
/// it loads, quiet prompts start no process (the `-M` test takes the path
/// as it is, never as a pattern), and leaving undoes it.
#[test]
fn an_awkward_project_path() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    let name = "a b*[c]$d'e!f";
    s.write(&format!("{name}/.pyguix.toml"), "[env]\nP = \"loaded\"\n");
    s.allow(name);
    let (wrapper, _) = s.counting_wrapper();
    let dir = s.path(name).display().to_string();
    let lines = vec![
        TCSH.hook_line_for(&wrapper),
        format!("cd {}", typed(&dir)),
        // Past the two seconds a check's mark is set back.
        TCSH.posix("sleep 2.5"),
        TCSH.posix("true"),
        r#"cp "$OUT/runs" "$OUT/runs-loaded""#.into(),
        TCSH.posix("true"),
        TCSH.posix("true"),
        r#"cp "$OUT/runs" "$OUT/runs-quiet""#.into(),
        "dump inside".into(),
        // The hook is still there at prompts: a touched manifest is seen.
        TCSH.posix("touch .pyguix.toml"),
        r#"cp "$OUT/runs" "$OUT/runs-touched""#.into(),
        "cd /".into(),
        "dump outside".into(),
    ];
    let out = s.interactive(TCSH, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.dump("inside").get("P"), Some("loaded"), "{out}");
    assert_eq!(s.dump("inside").get("PYENV_GUIX_ROOT"), Some(dir.as_str()));
    assert_eq!(s.dump("outside").get("P"), None, "{out}");
    assert_eq!(
        s.read_out("runs-quiet"),
        s.read_out("runs-loaded"),
        "quiet prompts ran the binary:\n{out}"
    );
    assert!(
        s.read_out("runs-touched").lines().count() > s.read_out("runs-quiet").lines().count(),
        "the prompt after a touch ran no check:\n{out}"
    );
    // tcsh drops a precmd that fails ("Faulty alias"), hook and all.
    assert!(!out.contains("Faulty") && !out.contains("Syntax"), "{out}");
}

/// Types into a real interactive tcsh on a pseudo-terminal: each item is
/// what to type and how long the shell may take to answer it. Prints all
/// the terminal showed.
const PTY_DRIVER: &str = r#"
import os, pty, select, sys, time
steps = [(bytes.fromhex(h), float(t)) for h, t in (a.split(":") for a in sys.argv[1:])]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("tcsh", ["tcsh", "-f", "-i"])
out = b""
def drain(most):
    global out
    end, quiet = time.time() + most, time.time() + 0.4
    while time.time() < end and time.time() < quiet:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return
            quiet = time.time() + 0.4
drain(5)
for text, most in steps:
    os.write(fd, text)
    drain(most)
os.write(fd, b"exit\n")
drain(2)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r", ""))
"#;

/// `pyenv-guix completions tcsh`, eval'd as its help says, in a real tcsh:
/// Tab completes commands, the shells of `hook` and `export`, and a
/// command's own options; Ctrl-D lists the choices.
#[test]
fn completions_through_tcsh_complete() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    let unique = [
        ("pyenv-guix hook tc", "pyenv-guix hook tcsh"),
        ("pyenv-guix export js", "pyenv-guix export json"),
        ("pyenv-guix stat", "pyenv-guix status"),
        ("pyenv-guix status --j", "pyenv-guix status --json"),
        ("pyenv-guix gc --dry", "pyenv-guix gc --dry-run"),
        ("pyenv-guix compl", "pyenv-guix completions"),
    ];
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut steps = vec![format!(
        "{}:2",
        hex(format!("eval \"`{} completions tcsh`\"\n", quote(bin().as_os_str())).as_bytes())
    )];
    for (typed, _) in unique {
        // Tab, then Ctrl-A and `echo ` before the words: Enter prints the
        // line as completed.
        steps.push(format!("{}:5", hex(format!("{typed}\t").as_bytes())));
        steps.push(format!("{}:2", hex(b"\x01echo \n")));
    }
    // Ctrl-D lists the choices; Ctrl-U clears the line.
    for typed in ["pyenv-guix hook ", "pyenv-guix ex"] {
        steps.push(format!("{}:5", hex(format!("{typed}\x04").as_bytes())));
        steps.push(format!("{}:2", hex(b"\x15\n")));
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(PTY_DRIVER)
        .args(&steps)
        .current_dir(s.path("home"))
        .env_clear()
        .envs(s.env())
        .succeeds();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    for (typed, want) in unique {
        assert!(
            out.lines().any(|l| l.trim_end() == want),
            "{typed:?} should complete to {want:?}:\n{out}"
        );
    }
    // tcsh lists in columns: the rows from the one starting `first` to
    // the prompt drawn again under them.
    let listed = |first: &str| -> Vec<String> {
        let lines: Vec<&str> = out.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.split_whitespace().next() == Some(first))
            .unwrap_or_else(|| panic!("no list starting {first}:\n{out}"));
        lines[start..]
            .iter()
            .take_while(|l| !l.trim().is_empty() && !l.contains("pyenv-guix"))
            .flat_map(|l| l.split_whitespace())
            .map(String::from)
            .collect()
    };
    let shells = listed("--help");
    for sh in ["bash", "zsh", "fish", "tcsh"] {
        assert!(shells.iter().any(|w| w == sh), "{shells:?}");
    }
    assert!(!shells.iter().any(|w| w == "json"), "{shells:?}");
    assert_eq!(listed("exec"), ["exec", "export"]);
}

/// Aliases of the user's, made before the hook line, do not reach the
/// commands the hook runs (`cat -n` numbered its prompt files, which then
/// failed at every prompt).
#[test]
fn the_users_aliases_do_not_change_the_hook() {
    if !TCSH.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nP = \"loaded\"\n");
    s.allow("p");
    let lines = vec![
        "alias cat 'cat -n'".to_string(),
        "alias mktemp 'echo /nonexistent'".to_string(),
        TCSH.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump in".into(),
    ];
    let out = s.interactive(TCSH, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.dump("in").get("P"), Some("loaded"), "{out}");
    assert!(!out.contains("Command not found"), "{out}");
}
