//! Attacks on the trust boundary and on the hook, each written as the
//! attack: a hostile project, a hostile environment, hostile files.

mod support;

use std::ffi::OsString;
use std::process::Output;

use base64::Engine;
use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A state in the first format, which had no MAC: records named as the
/// attacker likes.
fn forged_state(manifest: &str, records: &[(&str, Option<&str>, &str)]) -> String {
    let mut w: Vec<u8> = Vec::new();
    let bytes = |w: &mut Vec<u8>, b: &[u8]| {
        w.extend_from_slice(&(b.len() as u64).to_le_bytes());
        w.extend_from_slice(b);
    };
    bytes(&mut w, manifest.as_bytes());
    w.extend_from_slice(&0u64.to_le_bytes());
    bytes(&mut w, b"x");
    w.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for (name, before, set) in records {
        bytes(&mut w, name.as_bytes());
        w.extend_from_slice(&0u64.to_le_bytes());
        match before {
            Some(b) => {
                w.extend_from_slice(&1u64.to_le_bytes());
                bytes(&mut w, b.as_bytes());
            }
            None => w.extend_from_slice(&0u64.to_le_bytes()),
        }
        bytes(&mut w, set.as_bytes());
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&w);
    format!("pg1.{b64}")
}

/// A crafted PYENV_GUIX_STATE must not make export print commands, unset
/// HOME or rewrite PATH: only a state this user's pyenv-guix signed is
/// believed, in any format.
fn forged_state_is_not_believed(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let pwned = s.path("out/pwned");
    let home = s.path("home").display().to_string();
    let attacks = [
        forged_state(
            "/nowhere/.pyguix.toml",
            &[(&format!("X;touch {};Y", pwned.display()), None, "v")],
        ),
        forged_state("/nowhere/.pyguix.toml", &[("HOME", None, &home)]),
        forged_state(
            "/nowhere/.pyguix.toml",
            &[("PATH", Some("/attacker/bin"), support::system_path())],
        ),
        // Well-formed in today's format, signed with another key.
        "pg2.AAAA.AAAA".to_string(),
    ];
    for (i, state) in attacks.iter().enumerate() {
        let mut env = s.env();
        env.push(("PYENV_GUIX_STATE".into(), OsString::from(state)));
        let lines = vec![
            sh.hook_line(),
            format!("dump {i}-outside"),
            format!("cd {}", quote(s.path("p").as_os_str())),
            format!("dump {i}-inside"),
        ];
        let out = s.interactive(sh, &s.path("home"), &env, &lines);
        assert!(!pwned.exists(), "attack {i} ran a command: {out}");
        let outside = s.dump(&format!("{i}-outside"));
        assert_eq!(
            outside.get("HOME"),
            Some(home.as_str()),
            "attack {i}: {out}"
        );
        assert_eq!(
            outside.get("PATH"),
            Some(support::system_path()),
            "attack {i}: {out}"
        );
        assert_eq!(outside.get("PYENV_GUIX_STATE"), None, "attack {i}");
        assert!(out.contains("ignoring a PYENV_GUIX_STATE"), "{out}");
        // And the shell goes on to load the project as usual.
        assert_eq!(s.dump(&format!("{i}-inside")).get("A"), Some("1"));
    }
}

per_shell!(forged_state_is_not_believed);

/// A state another user's pyenv-guix signed (another data directory,
/// another key) is not believed either.
#[test]
fn another_users_state_is_not_believed() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let out = s.pyenv_guix(&["export", "json"], &s.path("p"));
    let snippet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = snippet["PYENV_GUIX_STATE"].as_str().unwrap().to_string();
    // Our own state is believed: nothing to change.
    let again = s
        .command(&["export", "json"], &s.path("p"))
        .env("PYENV_GUIX_STATE", &state)
        .env("A", "1")
        .env("PYENV_GUIX_ROOT", s.path("p"))
        .output()
        .unwrap();
    assert!(again.stdout.is_empty(), "{}", text(&again));
    let other = s.path("other-data");
    std::fs::create_dir_all(&other).unwrap();
    let theirs = s
        .command(&["export", "json"], &s.path("p"))
        .env("PYENV_GUIX_STATE", &state)
        .env("PYENV_GUIX_DATA_DIR", &other)
        .output()
        .unwrap();
    assert!(
        text(&theirs).contains("ignoring a PYENV_GUIX_STATE"),
        "{}",
        text(&theirs)
    );
}

fn exec(s: &Sandbox, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["exec", "-C"];
    let dir = dir.display().to_string();
    all.push(&dir);
    all.push("--");
    all.extend_from_slice(args);
    s.command(&all, &s.path("")).output().unwrap()
}

/// A script that leaves a mark when run, then runs Debian's Python.
fn marking_python(s: &Sandbox, rel: &str, mark: &std::path::Path) {
    s.write(
        rel,
        &format!(
            "#!/bin/sh\ntouch {}\nexec /usr/bin/python3 \"$@\"\n",
            quote(mark.as_os_str())
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path(rel), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Nothing in a project that is not allowed runs: not its interpreter, for
/// `status` or `export`; not a `python3` at its root through an empty PATH
/// entry, even once allowed.
#[test]
fn nothing_untrusted_runs() {
    let s = Sandbox::new();
    let mark = s.path("out/ran");
    marking_python(&s, "p/tools/py", &mark);
    s.write(
        "p/.pyguix.toml",
        "[python]\ninterpreter = \"./tools/py\"\n\n[pip]\npackages = [\"six\"]\n",
    );
    for args in [
        &["status", "p"][..],
        &["status", "--json", "p"],
        &["prefix", "p"],
    ] {
        let out = s.command(args, &s.path("")).output().unwrap();
        assert!(
            !mark.exists(),
            "{args:?} ran the project's interpreter: {}",
            text(&out)
        );
    }
    let out = s
        .command(&["export", "bash"], &s.path("p"))
        .output()
        .unwrap();
    assert!(!mark.exists(), "{}", text(&out));
    assert!(text(&out).contains("is blocked (not allowed yet)"));

    // An empty entry in PATH is not the project's directory.
    marking_python(&s, "q/python3", &mark);
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    s.write(
        "q/.pyguix.toml",
        &format!(
            "[pip]\npackages = [\"greetpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("q");
    s.command(
        &["exec", "--", "python3", "-c", "import greetpkg"],
        &s.path("q"),
    )
    .env("PATH", format!(":{}", support::system_path()))
    .succeeds();
    assert!(!mark.exists(), "a python3 at the project root ran");
}

/// A manifest reached from another directory is another project; one
/// directory spelled two ways is one.
#[test]
fn trust_binds_content_to_place() {
    let s = Sandbox::new();
    s.write("a/.pyguix.toml", "[path]\nPATH = [\"bin\"]\n");
    s.allow("a");
    let mark = s.path("out/evil-ran");
    s.write(
        "b/bin/evil",
        &format!("#!/bin/sh\ntouch {}\n", quote(mark.as_os_str())),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("b/bin/evil"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(s.path("a/.pyguix.toml"), s.path("b/.pyguix.toml")).unwrap();
    let out = exec(&s, &s.path("b"), &["evil"]);
    assert!(!out.status.success());
    assert!(!mark.exists(), "B's bin ran on A's trust: {}", text(&out));
    assert!(
        text(&out).contains("is blocked (not allowed yet)"),
        "{}",
        text(&out)
    );
    // A hard link is another project too.
    std::fs::create_dir_all(s.path("c")).unwrap();
    std::fs::hard_link(s.path("a/.pyguix.toml"), s.path("c/.pyguix.toml")).unwrap();
    assert!(!exec(&s, &s.path("c"), &["true"]).status.success());

    // Allowed through a symlinked spelling of the directory: one record.
    std::os::unix::fs::symlink(s.path("a"), s.path("a-link")).unwrap();
    s.write("a/.pyguix.toml", "[env]\nV = \"2\"\n");
    s.allow("a-link");
    let out = exec(&s, &s.path("a"), &["printenv", "V"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2\n",
        "{}",
        text(&out)
    );
}

/// Allowed versions are remembered, as direnv does: back to content that
/// was allowed loads with no new `allow`; deny forgets them all. A blocked
/// project says which file changed.
#[test]
fn trust_remembers_each_allowed_version() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"r.txt\"]\n\n[env]\nV = \"1\"\n",
    );
    s.write("p/r.txt", "-r base.txt\n");
    s.write("p/base.txt", "six\n");
    s.allow("p");
    let v = |s: &Sandbox| {
        let out = s
            .command(&["status", "--json", "p"], &s.path(""))
            .output()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            status["trust"].as_str().unwrap().to_string(),
            status["blocked"].clone(),
        )
    };
    assert_eq!(v(&s).0, "allowed");
    s.write("p/base.txt", "six==1.16\n");
    let (trust, why) = v(&s);
    assert_eq!(trust, "blocked");
    assert!(
        why.to_string()
            .contains("(base.txt changed since it was allowed)"),
        "{why}"
    );
    s.allow("p");
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"r.txt\"]\n\n[env]\nV = \"2\"\n",
    );
    assert!(
        v(&s)
            .1
            .to_string()
            .contains("(.pyguix.toml changed since it was allowed)")
    );
    s.allow("p");
    // Back to the first version, as a branch switch would.
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"r.txt\"]\n\n[env]\nV = \"1\"\n",
    );
    s.write("p/base.txt", "six\n");
    assert_eq!(v(&s).0, "allowed", "a version allowed before");
    s.pyenv_guix(&["deny", "p"], &s.path(""));
    assert_eq!(v(&s).0, "denied");
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"r.txt\"]\n\n[env]\nV = \"2\"\n",
    );
    assert_eq!(v(&s).0, "denied", "deny forgets every version");
}

/// A project-local interpreter is covered by trust.
#[test]
fn a_project_interpreter_is_covered_by_trust() {
    let s = Sandbox::new();
    let mark = s.path("out/ran");
    marking_python(&s, "p/tools/py", &mark);
    s.write("p/.pyguix.toml", "[python]\ninterpreter = \"tools/py\"\n");
    s.allow("p");
    assert!(exec(&s, &s.path("p"), &["true"]).status.success());
    std::fs::remove_file(&mark).ok();
    s.write("p/tools/py", "#!/bin/sh\necho changed\n");
    let out = exec(&s, &s.path("p"), &["true"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("(tools/py changed since it was allowed)"),
        "{}",
        text(&out)
    );
}

/// Files where a project's inputs should be that are not regular files, or
/// are huge: a clear error, never a hang or a crash. A project that is not
/// allowed reads none of them.
#[test]
fn hostile_files_are_refused_quickly() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"requirements.txt\"]\n",
    );
    let fifo = s.path("p/requirements.txt");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = |args: &[&str], dir: &str| {
        let cmd = s.command(args, &s.path(dir));
        let mut cmd = cmd;
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        support::run_with_timeout(cmd, b"", std::time::Duration::from_secs(10))
    };
    // Not allowed: only the manifest is read.
    let out = run(&["export", "bash"], "p");
    assert!(text(&out).contains("is blocked"), "{}", text(&out));
    let out = run(&["status", "p"], "");
    assert!(out.status.success(), "{}", text(&out));
    // allow reads it, and says what is wrong.
    let out = run(&["allow", "p"], "");
    let out2 = run(&["exec", "-C", "p", "--", "true"], "");
    assert!(
        text(&out).contains("not a regular file") || text(&out2).contains("not a regular file"),
        "{}{}",
        text(&out),
        text(&out2)
    );
    std::fs::remove_file(&fifo).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &fifo).unwrap();
    let out = run(&["allow", "p"], "");
    assert!(!out.status.success());
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));

    // An 8 GB sparse manifest: refused at once.
    std::fs::create_dir_all(s.path("big")).unwrap();
    let f = std::fs::File::create(s.path("big/.pyguix.toml")).unwrap();
    f.set_len(8 << 30).unwrap();
    let out = run(&["export", "json"], "big");
    assert!(text(&out).contains("larger than"), "{}", text(&out));
    let snippet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        snippet.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["PYENV_GUIX_STATE"],
        "blocked, said once: only the state"
    );
}

/// A trusted project in a directory whose name is not UTF-8 loads.
#[test]
fn a_non_utf8_directory_works() {
    use std::os::unix::ffi::OsStrExt;
    let s = Sandbox::new();
    let dir = s.path("").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".pyguix.toml"), "[env]\nV = \"ok\"\n").unwrap();
    s.command(&["allow"], &dir).succeeds();
    let out = s
        .command(&["exec", "--", "printenv", "V"], &dir)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok\n",
        "{}",
        text(&out)
    );
}

/// The cache holds what goes on `PATH` and `PYTHONPATH` (the interpreter's
/// directory, the prefixes): a cache directory named `c:.` split each such
/// entry into `c` and a path relative to wherever the user stands. It is
/// refused, as a relative one is.
#[test]
fn a_cache_directory_whose_name_holds_a_colon_is_refused() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[python]\ninterpreter = \"/usr/bin/python3\"\n",
    );
    s.allow("p");
    let mut cmd = s.command(&["export", "bash"], &s.path("p"));
    cmd.env("PYENV_GUIX_CACHE_DIR", s.path("c:."));
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success() && out.stdout.is_empty(),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("c:.") && text(&out).contains("`:`"),
        "{}",
        text(&out)
    );
}

/// Trust records and the state key live only in places of the user's own.
#[test]
fn own_places_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let refused = |cmd: &mut std::process::Command, says: &str| {
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{}", text(&out));
        assert!(out.stdout.is_empty());
        assert!(text(&out).contains(says), "{says}: {}", text(&out));
    };
    // No home, no settings: no shared fallback in /tmp.
    let mut cmd = s.command(&["allow"], &s.path("p"));
    cmd.env_remove("HOME")
        .env_remove("PYENV_GUIX_DATA_DIR")
        .env_remove("XDG_DATA_HOME");
    refused(&mut cmd, "no home directory");
    // Relative settings would move with every cd.
    let mut cmd = s.command(&["export", "bash"], &s.path("p"));
    cmd.env("PYENV_GUIX_DATA_DIR", "data");
    refused(&mut cmd, "PYENV_GUIX_DATA_DIR is a relative path");
    // Writable by others, as a mode-777 copy in /tmp would be.
    let open = s.path("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = s.command(&["export", "bash"], &s.path("p"));
    cmd.env("PYENV_GUIX_DATA_DIR", &open);
    refused(&mut cmd, "others can write to it");
    // Another user's: given away where the tests run as root, else one
    // that is root's (only root may give a directory away).
    let (theirs, owner) = match unsafe { libc::geteuid() } {
        0 => {
            let theirs = s.path("theirs");
            std::fs::create_dir_all(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            (theirs, 65534)
        }
        _ => (std::path::PathBuf::from("/"), 0),
    };
    let mut cmd = s.command(&["export", "bash"], &s.path("p"));
    cmd.env("PYENV_GUIX_CACHE_DIR", &theirs);
    refused(&mut cmd, &format!("it belongs to user {owner}"));
    // A new place is made the user's own.
    let fresh = s.path("fresh/data");
    s.command(&["allow"], &s.path("p"))
        .env("PYENV_GUIX_DATA_DIR", &fresh)
        .succeeds();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// Names and values a shell cannot take are refused at `allow`, with file,
/// line and column; messages never carry a control character raw.
#[test]
fn names_and_values_a_shell_cannot_take_are_refused() {
    let s = Sandbox::new();
    let refused = |manifest: &str, says: &str| {
        s.write("p/.pyguix.toml", manifest);
        let err = s.command(&["allow"], &s.path("p")).fails();
        assert!(err.contains(".pyguix.toml:2:1: "), "{manifest}: {err}");
        assert!(err.contains(says), "{manifest}: {says}: {err}");
        assert!(
            !err.bytes().any(|b| b == 0x1b || b == 0),
            "raw control byte: {err:?}"
        );
    };
    for name in [
        "PROMPT_COMMAND",
        "IFS",
        "BASH_ENV",
        "ENV",
        "UID",
        "EUID",
        "PPID",
        "path",
        "precmd_functions",
        "status",
        "fish_user_paths",
        "status_generation",
        "BASHOPTS",
        "ARGC",
        "prompt",
        "PROMPT_EOL_MARK",
        "__pyenv_guix_bin",
        "PYENV_GUIX_STATE",
    ] {
        refused(&format!("[env]\n{name} = \"x\"\n"), "cannot be set");
    }
    // A project that moves pyenv-guix's own places would choose its own
    // trust records: refused in [env] and in [path] alike.
    for name in ["HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"] {
        refused(
            &format!("[env]\n{name} = \"/tmp/x\"\n"),
            "a project cannot move them",
        );
        refused(
            &format!("[path]\n{name} = [\"data\"]\n"),
            "a project cannot move them",
        );
    }
    refused("[env]\nA = \"x\\u0000y\"\n", "contains a NUL byte");
    refused(
        &format!("[env]\nA = \"{}\"\n", "x".repeat(100_000)),
        "over the 32768 a shell's environment can safely carry",
    );
    refused("[path]\nPATH = [\"bin:/evil\"]\n", "contains `:`");
    refused("[env]\n\"\\u001b[31mRED\" = \"x\"\n", "\\u{1b}[31mRED");

    // A project under a directory with `:` in its name: a clear error, and
    // PATH as it was.
    s.write("a:b/.pyguix.toml", "[path]\nPATH = [\"bin\"]\n");
    let out = s.command(&["allow"], &s.path("a:b")).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("contains `:`"), "{}", text(&out));
    let out = s
        .command(&["export", "json"], &s.path("a:b"))
        .output()
        .unwrap();
    let snippet = String::from_utf8_lossy(&out.stdout);
    assert!(!snippet.contains("\"PATH\""), "{snippet}");
}

/// pip splits a requirements file where Python's `splitlines` does: at
/// `\r`, form feeds and Unicode line separators too. A line hidden behind
/// one of them is read, keyed and trusted like any other.
#[test]
fn lines_pip_sees_are_lines_trust_sees() {
    let s = Sandbox::new();
    s.wheel_into("p/wheels", "alpha", "1.0", &[]);
    s.wheel_into("p/wheels2", "gamma", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        "[pip]\nrequirements = [\"requirements.txt\"]\ninstaller = \"pip\"\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n",
    );
    for sep in ["\r", "\x0c", "\u{2028}", "\u{1e}"] {
        s.write(
            "p/requirements.txt",
            &format!("alpha{sep}-f wheels2\ngamma\n"),
        );
        s.allow("p");
        let status =
            String::from_utf8_lossy(&s.pyenv_guix(&["status"], &s.path("p")).stdout).into_owned();
        assert!(
            status.contains(&format!("find-links {}", s.path("p/wheels2").display())),
            "{sep:?}: the hidden line's directory is an input: {status}"
        );
        // Another wheel of the same name there blocks the project.
        let before = std::fs::read(s.path("p/wheels2/gamma-1.0-py3-none-any.whl")).unwrap();
        s.wheel_into("p/wheels2", "gamma", "1.0", &["--origin", "evil"]);
        let out = s
            .command(&["exec", "--", "true"], &s.path("p"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{sep:?}");
        assert!(
            text(&out).contains("gamma-1.0-py3-none-any.whl changed"),
            "{}",
            text(&out)
        );
        std::fs::write(s.path("p/wheels2/gamma-1.0-py3-none-any.whl"), before).unwrap();
    }
}

/// A never-allowed manifest's words reach the terminal through `status`
/// escaped, and a prompt name may not reorder or hide what a prompt shows.
#[test]
fn status_shows_a_projects_words_escaped() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[pip]\npackages = [\"alpha\\u001b]0;TITLE\\u0007\"]\n[env]\nA = \"x\\u001b[31m\\u202e\"\n",
    );
    let out = s.command(&["status"], &s.path("p")).output().unwrap();
    assert!(
        !out.stdout.iter().any(|&b| b == 0x1b || b == 0x07),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("alpha\\u{1b}]0;TITLE\\u{7}"), "{shown}");
    assert!(!shown.contains('\u{202e}'), "{shown}");
    s.write("q/.pyguix.toml", "[project]\nname = \"a\\u202eb\"\n");
    let out = s.command(&["allow"], &s.path("q")).output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("which a prompt would interpret"),
        "{}",
        text(&out)
    );
}

/// A FIFO among the usage records stops neither `gc` nor `watch`.
#[test]
fn a_fifo_among_usage_records_blocks_nothing() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("data/used")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(s.path("data/used/zz"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut gc = s
        .command(&["gc", "--dry-run"], &s.path(""))
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while gc.try_wait().unwrap().is_none() {
        assert!(start.elapsed().as_secs() < 20, "gc hangs on a FIFO");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut watch = s
        .command(&["watch"], &s.path(""))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = watch.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Its first line, however many writes it comes in.
        let mut said = Vec::new();
        let mut chunk = [0u8; 256];
        while !said.contains(&b'\n') {
            match std::io::Read::read(&mut err, &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => said.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&said).into_owned());
    });
    let said = rx.recv_timeout(std::time::Duration::from_secs(20));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        said.as_deref().is_ok_and(|s| s.contains("watching")),
        "watch got past the FIFO: {said:?}"
    );
}

/// `status | head`: a closed pipe ends the command quietly.
#[test]
fn a_closed_pipe_is_no_panic() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    for args in [&["status"][..], &["status", "--json"], &["export", "bash"]] {
        // A pipe whose reader is gone before anything is written.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = s
            .command(args, &s.path("p"))
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let said = text(&out);
        assert!(!said.contains("panicked"), "{args:?}: {said}");
        assert!(!said.contains("Broken pipe"), "{args:?}: {said}");
    }
}

/// status outside a project prints JSON; on a broken manifest, what it can.
#[test]
fn status_says_what_it_can() {
    let s = Sandbox::new();
    let out = s
        .command(&["status", "--json"], &s.path("home"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["problem"].as_str().unwrap().contains("no .pyguix.toml"));
    s.write("p/.pyguix.toml", "[env]\nA = 1\n");
    let out = s
        .command(&["status", "--json", "p"], &s.path(""))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["trust"], "blocked");
    assert!(v["problem"].as_str().unwrap().contains(":2:5:"), "{v}");
}

/// A failure is recorded and shown by status; reload retries it whatever
/// the record's date (one dated in the future too).
#[test]
fn reload_retries_whatever_failed() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"nosuchpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let first = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .output()
        .unwrap();
    assert!(text(&first).contains("building prefix"), "{}", text(&first));
    let status = s.pyenv_guix(&["status", "--json", "p"], &s.path(""));
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        v["pip"]["prefix"]["failure"]
            .as_str()
            .is_some_and(|f| f.contains("nosuchpkg")),
        "{v}"
    );
    let again = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .output()
        .unwrap();
    assert!(
        !text(&again).contains("building prefix"),
        "not retried at once"
    );
    for e in std::fs::read_dir(s.path("cache/prefixes"))
        .unwrap()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "failed") {
            let future = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400);
            std::fs::File::options()
                .write(true)
                .open(e.path())
                .unwrap()
                .set_modified(future)
                .unwrap();
        }
    }
    s.pyenv_guix(&["reload"], &s.path(""));
    let retried = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .output()
        .unwrap();
    assert!(
        text(&retried).contains("building prefix"),
        "{}",
        text(&retried)
    );
}

/// The allowed project `p`, whose greetpkg `python` builds from `wheels`,
/// with `stall` in place: its build waits until `stall` goes.
fn stalling_project(
    s: &Sandbox,
    python: &std::path::Path,
    wheels: &std::path::Path,
    stall: &std::path::Path,
) {
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"greetpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    std::fs::write(stall, "").unwrap();
}

/// A shell that meets another process's build of the same prefix does not
/// wait at its prompt: it says so, and loads the result at a later prompt.
#[test]
fn a_prompt_never_waits_for_another_build() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let (stall, mark) = (s.path("stall"), s.path("pip-ran"));
    let python = s.python_running(
        "slow",
        &format!(
            "import atexit, os, sys, time; ('install' in sys.argv and '--dry-run' not in sys.argv) and atexit.register(lambda: [open({:?}, 'w').close()] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)])",
            mark.display().to_string(),
            stall.display().to_string()
        ),
    );
    stalling_project(&s, &python, &wheels, &stall);
    let first = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !mark.exists() {
        assert!(start.elapsed().as_secs() < 60, "pip never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let at_prompt = std::time::Instant::now();
    let out = s
        .command(&["export", "json", "--entered"], &s.path("p"))
        .output()
        .unwrap();
    assert!(at_prompt.elapsed().as_secs() < 10, "the prompt waited");
    assert!(
        text(&out).contains("is being built; this shell loads it at a later prompt"),
        "{}",
        text(&out)
    );
    let snippet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(snippet.get("PYENV_GUIX_PREFIX").is_none(), "{snippet}");
    let state = snippet["PYENV_GUIX_STATE"].as_str().unwrap().to_string();
    std::fs::remove_file(&stall).unwrap();
    let mut first = first;
    assert!(first.wait().unwrap().success());
    // The next prompt sees the build finished, and loads it.
    let later = s
        .command(&["export", "json"], &s.path("p"))
        .env("PYENV_GUIX_STATE", &state)
        .output()
        .unwrap();
    let snippet: serde_json::Value = serde_json::from_slice(&later.stdout).expect("a snippet");
    assert!(snippet["PYENV_GUIX_PREFIX"].is_string(), "{}", text(&later));
}

/// The hooks never end a shell that runs under `set -e` or `err_exit`,
/// whatever the status of the last command (fish has no such option).
fn errexit_survives(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let strict = match sh {
        ShellName::Zsh => "setopt err_exit nounset",
        _ => "set -eu",
    };
    let lines = vec![
        strict.to_string(),
        sh.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "! true".into(),
        "dump after".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &s.env(), &lines);
    assert_eq!(s.dump("after").get("A"), Some("1"), "{out}");
}

#[test]
fn errexit_survives_bash() {
    errexit_survives(ShellName::Bash);
}

#[test]
fn errexit_survives_zsh() {
    errexit_survives(ShellName::Zsh);
}

/// Ctrl-C typed on a terminal while entering a project builds: the prompt
/// comes back with the environment unchanged, and the build does not start
/// again at the next prompt; a cd into the project starts it again.
fn ctrl_c_stops_a_build(sh: ShellName) {
    use std::io::Write;
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let (stall, starts) = (s.path("stall"), s.path("out/starts"));
    // pip notes its starts (its pid), and stalls while `stall` exists.
    let python = s.python_running(
        "slow",
        &format!(
            "import os, sys, time; ('install' in sys.argv and '--dry-run' not in sys.argv) and [open({:?}, 'a').write(str(os.getpid()) + ' ' + ' '.join(sys.argv) + chr(10))] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)]",
            starts.display().to_string(),
            stall.display().to_string()
        ),
    );
    stalling_project(&s, &python, &wheels, &stall);
    let shell = format!("{} -i", sh.plain());
    // A real terminal: Ctrl-C is the byte 0x03 typed on it.
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &shell, "/dev/null"])
        .current_dir(s.path("home"))
        .env_clear()
        .envs(s.env())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let type_line = |input: &mut std::process::ChildStdin, line: &str| {
        input.write_all(line.as_bytes()).unwrap();
        input.write_all(b"\n").unwrap();
        input.flush().unwrap();
    };
    type_line(&mut input, sh.user().dump_function());
    type_line(&mut input, &sh.hook_line());
    type_line(&mut input, "dump before");
    type_line(
        &mut input,
        &format!("cd {}", quote(s.path("p").as_os_str())),
    );
    let start = std::time::Instant::now();
    while !starts.exists() {
        assert!(start.elapsed().as_secs() < 60, "the build never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    input.write_all(b"\x03").unwrap();
    input.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Prompts in the same directory: no new build.
    type_line(&mut input, "true");
    type_line(&mut input, "dump after-ctrl-c");
    type_line(&mut input, "true");
    let wait_for = |name: &str| {
        let start = std::time::Instant::now();
        while !s.path("out").join(name).exists() {
            assert!(start.elapsed().as_secs() < 30, "no {name}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("after-ctrl-c");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // One line per pip start, by pid (a .pth line may run twice in one).
    let count = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut pids: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
        pids.dedup();
        pids.len()
    };
    let starts_after = count(&starts);
    // A cd into the project starts it again; this time it finishes.
    std::fs::remove_file(&stall).unwrap();
    type_line(&mut input, "cd ..");
    type_line(
        &mut input,
        &format!("cd {}", quote(s.path("p").as_os_str())),
    );
    type_line(&mut input, "dump after-cd");
    wait_for("after-cd");
    type_line(&mut input, "exit");
    drop(input);
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert_eq!(starts_after, 1, "restarted at the next prompt: {said}");
    // The environment as it was, but for our own bookkeeping.
    let visible = |name: &str| {
        let mut env = s.dump(name).user_visible();
        env.remove(std::ffi::OsStr::new("PYENV_GUIX_STATE"));
        env
    };
    assert_eq!(visible("after-ctrl-c"), visible("before"), "{said}");
    assert_eq!(count(&starts), 2, "{said}");
    assert!(
        s.dump("after-cd").get("PYENV_GUIX_PREFIX").is_some(),
        "{said}"
    );
}

bash_zsh_fish!(ctrl_c_stops_a_build);

/// An interpreter the project names by a relative path is covered by trust
/// even when it is a symlink out of the project: by what it leads to.
#[test]
fn a_project_interpreter_symlinked_out_is_covered() {
    let s = Sandbox::new();
    let mark = s.path("out/ran");
    s.write("shared/py", "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.path("shared/py"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(s.path("p/bin")).unwrap();
    std::os::unix::fs::symlink(s.path("shared/py"), s.path("p/bin/python3")).unwrap();
    s.write(
        "p/.pyguix.toml",
        "[python]\ninterpreter = \"bin/python3\"\n\n[pip]\npackages = [\"six\"]\n",
    );
    s.allow("p");
    marking_python(&s, "shared/py", &mark);
    let out = s.command(&["status", "p"], &s.path("")).output().unwrap();
    assert!(!mark.exists(), "ran a changed interpreter: {}", text(&out));
    assert!(
        text(&out).contains("bin/python3 changed since it was allowed"),
        "{}",
        text(&out)
    );
}

/// FOUND (try-out): a blocked project named the file that differs from
/// the version last allowed, even when that file is as an earlier allowed
/// version has it (put back by `git checkout`) and another file is new
/// content. The file named is the one no allowed version has as it is.
#[test]
fn a_blocked_project_names_the_file_no_allowed_version_has() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[pip]\nrequirements = [\"r.txt\"]\n");
    s.write("p/r.txt", "-r base.txt\n");
    s.write("p/base.txt", "six\n");
    s.allow("p");
    s.write("p/base.txt", "six==1.16\n");
    s.allow("p");
    // base.txt back as first allowed; r.txt edited.
    s.write("p/base.txt", "six\n");
    s.write("p/r.txt", "-r base.txt\nidna\n");
    let out = s
        .command(&["status", "--json", "p"], &s.path(""))
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let why = status["blocked"].to_string();
    assert!(
        why.contains("(r.txt changed since it was allowed)"),
        "{why}"
    );
    // Each file as some version has it, but not together: the file that
    // differs from the version last allowed is named.
    s.write(
        "q/.pyguix.toml",
        "[pip]\nrequirements = [\"a.txt\", \"b.txt\"]\n",
    );
    s.write("q/a.txt", "six\n");
    s.write("q/b.txt", "idna\n");
    s.allow("q");
    s.write("q/a.txt", "six==1.16\n");
    s.write("q/b.txt", "idna==3.7\n");
    s.allow("q");
    s.write("q/a.txt", "six\n");
    let out = s
        .command(&["status", "--json", "q"], &s.path(""))
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let why = status["blocked"].to_string();
    assert!(
        why.contains("(a.txt changed since it was allowed)"),
        "{why}"
    );
}
