//! gc never removes what is being built or used: a build under way (it
//! holds the key's lock), a generation a running process or an open shell
//! uses (unless --older-than says so, and then it is said); a build whose
//! generation lost files meanwhile is never switched in as complete; what
//! killed builds left (staging directories) and old logs go. Real pip,
//! real processes, real shells.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn gc(s: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["gc"];
    all.extend_from_slice(args);
    let out = s.command(&all, &s.path("")).succeeds();
    text(&out)
}

/// A project of `greetpkg` from a requirements file (what pip reads is
/// staged), built by `interpreter`, in `mode`.
fn project(s: &Sandbox, name: &str, interpreter: &Path, mode: &str, wheels: &Path) {
    s.write(&format!("{name}/requirements.txt"), "greetpkg==1.0\n");
    s.write(
        &format!("{name}/.pyguix.toml"),
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\nmode = {mode:?}\nrequirements = [\"requirements.txt\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            interpreter.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow(name);
}

/// A Python whose `pip install` (not a dry run), once it has installed
/// everything and before it exits, creates `reached` and waits while
/// `stall` exists: the moment between pip's last file and the switch.
fn python_stalling_at_exit(s: &Sandbox, rel: &str, stall: &Path, reached: &Path) -> PathBuf {
    s.python_running(
        rel,
        &format!(
            "import os, sys; ('install' in sys.argv and '--dry-run' not in sys.argv) and __import__('atexit').register(lambda: [open({:?}, 'w').close()] + [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)])",
            reached.display().to_string(),
            stall.display().to_string()
        ),
    )
}

fn wait_for(path: &Path, what: &str) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "waited 120 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one `KEY.gN` under cache/prefixes.
fn generation(s: &Sandbox) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(s.path("cache/prefixes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p.is_symlink()
                && p.extension()
                    .is_some_and(|x| x.to_string_lossy().starts_with('g'))
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if p.is_dir()
            && !p.is_symlink()
            && let Some(found) = find(&p, name)
        {
            return Some(found);
        }
    }
    None
}

/// Ends the child when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tree `levels` deep of `name`s under `dir`, made a level at a time
/// (its whole path may be longer than one a system call takes).
fn deep_tree(dir: &Path, levels: usize, name: &str) {
    let made = Command::new("python3")
        .arg("-c")
        .arg("import os, sys\nd = os.open(sys.argv[1], os.O_RDONLY)\nfor _ in range(int(sys.argv[2])):\n    os.mkdir(sys.argv[3], dir_fd=d)\n    n = os.open(sys.argv[3], os.O_RDONLY, dir_fd=d)\n    os.close(d)\n    d = n\nos.close(os.open('f', os.O_WRONLY | os.O_CREAT, dir_fd=d))\n")
        .args([&dir.display().to_string(), &levels.to_string(), name])
        .status()
        .unwrap();
    assert!(made.success());
}

/// The generation of a built prefix no project uses any more, holding a
/// tree `levels` deep of `name`s (see `deep_tree`).
fn unused_generation_holding(s: &Sandbox, levels: usize, name: &str) -> PathBuf {
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(s, "p", Path::new("/usr/bin/python3"), "prefix", &wheels);
    s.pyenv_guix(&["prefix", "p"], &s.path(""));
    let built = generation(s);
    deep_tree(&built, levels, name);
    std::fs::remove_dir_all(s.path("p")).unwrap();
    built
}

/// `gc` run with at most `files` open files.
fn gc_with_files(s: &Sandbox, files: u32) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" gc"))
        .arg(support::bin())
        .current_dir(s.path(""))
        .env_clear()
        .envs(s.env())
        .output()
        .unwrap()
}

/// A tree longer than a path may name (50 levels of 100 bytes) goes as a
/// shorter one does.
#[test]
fn gc_removes_a_tree_longer_than_a_path_may_name() {
    let s = Sandbox::new();
    let built = unused_generation_holding(&s, 50, &"a".repeat(100));
    let out = gc_with_files(&s, 1024);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!built.exists(), "{}", text(&out));
}

/// A tree both deeper than gc may open and longer than a path may name
/// cannot be removed here: it is said, gc goes on with the rest of the
/// cache (a killed build's staged files), and exits 1. gc stopped at it
/// before, leaving the rest.
#[test]
fn gc_says_what_it_cannot_remove_and_goes_on() {
    let s = Sandbox::new();
    let built = unused_generation_holding(&s, 100, &"a".repeat(60));
    let staged = format!("cache/staging/profile-{}/my/packages.scm", "ab".repeat(32));
    s.write(&staged, "(define-module (my packages))\n");
    let out = gc_with_files(&s, 64);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("cannot remove {}", built.display())),
        "{said}"
    );
    assert!(
        !said.contains(&format!("removed {} ", built.display())),
        "{said}"
    );
    assert!(!s.path(&staged).exists(), "{said}");
}

/// HOLE (attack pass): a wheel's data files can make a tree deeper than
/// the process may open directories (1900 levels, from a 1.6 KB wheel);
/// uv left it in the cache when it failed. gc removed it with one open
/// directory per level: "Too many open files", said after "removed", and
/// every later gc stopped there, before the rest of the cache. It is now
/// removed with no directory held open per level.
#[test]
fn gc_removes_a_tree_deeper_than_it_may_open() {
    let s = Sandbox::new();
    let built = unused_generation_holding(&s, 120, "a");
    let out = gc_with_files(&s, 64);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!built.exists(), "{}", text(&out));
}

#[test]
fn gc_leaves_a_build_under_way_alone() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let (stall, reached) = (s.path("stall"), s.path("reached"));
    let python = python_stalling_at_exit(&s, "slow", &stall, &reached);
    project(&s, "p", &python, "prefix", &wheels);
    std::fs::write(&stall, "").unwrap();
    let build = s
        .command(
            &[
                "exec",
                "-C",
                "p",
                "--",
                "python3",
                "-c",
                "import greetpkg; print(greetpkg.__file__)",
            ],
            &s.path(""),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&reached, "pip to install everything");
    let generation = generation(&s);
    let staged: Vec<PathBuf> = std::fs::read_dir(s.path("cache/staging"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(staged.len(), 1, "pip reads a staged copy: {staged:?}");

    // The key was never used: --older-than 0 would remove it, but it is
    // being built.
    let said = gc(&s, &["--older-than", "0"]);
    assert!(generation.is_dir(), "{said}");
    assert!(
        find(&generation, "greetpkg").is_some(),
        "nothing of it removed: {said}"
    );
    assert!(staged[0].is_dir(), "{said}");
    assert!(said.contains("being built"), "{said}");

    std::fs::remove_file(&stall).unwrap();
    let out = build.wait_with_output().unwrap();
    let printed = support::succeeded_as("prefix", &out);
    assert!(
        printed.contains(&generation.display().to_string()),
        "{}",
        text(&out)
    );
}

#[test]
fn a_generation_that_lost_files_while_built_is_not_switched_in() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let (stall, reached) = (s.path("stall"), s.path("reached"));
    let python = python_stalling_at_exit(&s, "slow", &stall, &reached);
    project(&s, "p", &python, "prefix", &wheels);
    std::fs::write(&stall, "").unwrap();
    let build = s
        .command(&["build", "p"], &s.path(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&reached, "pip to install everything");
    let generation = generation(&s);
    // What a gc of old, or a hand, removes while pip finishes.
    let package = find(&generation, "greetpkg").expect("pip installed greetpkg");
    std::fs::remove_dir_all(&package).unwrap();
    std::fs::remove_file(&stall).unwrap();
    let out = build.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("is missing"), "{said}");
    let links: Vec<PathBuf> = std::fs::read_dir(s.path("cache/prefixes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_symlink())
        .collect();
    assert!(links.is_empty(), "never switched in: {links:?}");
    assert!(!generation.exists(), "the broken generation goes: {said}");
    // Not recorded against the key: the next use builds it, complete.
    std::fs::remove_file(&reached).unwrap();
    s.command(
        &["exec", "-C", "p", "--", "python3", "-c", "import greetpkg"],
        &s.path(""),
    )
    .succeeds();
}

#[test]
fn gc_keeps_a_generation_a_process_uses_unless_told() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(&s, "p", Path::new("/usr/bin/python3"), "prefix", &wheels);
    let out = s.pyenv_guix(&["prefix", "p"], &s.path(""));
    let prefix = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(prefix.is_dir());
    // The project is gone: nothing trusted needs its prefix any more.
    std::fs::remove_file(s.path("p/.pyguix.toml")).unwrap();

    // A program running from inside the generation.
    std::fs::copy("/bin/sleep", prefix.join("sleep")).unwrap();
    let sleeper = Running(
        Command::new(prefix.join("sleep"))
            .arg("600")
            .spawn()
            .unwrap(),
    );
    let said = gc(&s, &[]);
    assert!(prefix.is_dir(), "in use: {said}");
    assert!(
        said.contains(&format!("in use by process {}", sleeper.0.id())),
        "{said}"
    );
    drop(sleeper);

    // A Python whose working directory is inside it.
    let python = Running(
        Command::new("/usr/bin/python3")
            .args(["-c", "import time; time.sleep(600)"])
            .current_dir(find(&prefix, "greetpkg").unwrap())
            .spawn()
            .unwrap(),
    );
    let said = gc(&s, &[]);
    assert!(prefix.is_dir(), "in use: {said}");
    assert!(
        said.contains(&format!("in use by process {}", python.0.id())),
        "{said}"
    );
    // Told: removed all the same, and said.
    let said = gc(&s, &["--older-than", "0"]);
    assert!(!prefix.exists(), "{said}");
    assert!(
        said.contains(&format!("removed {} ", prefix.display()))
            && said.contains(&format!("though in use by process {}", python.0.id())),
        "{said}"
    );
}

/// An open shell in a project uses what it loaded, with no process of it
/// inside the generation: gc keeps it.
#[test]
fn gc_keeps_what_an_open_shell_loaded() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(&s, "p", Path::new("/usr/bin/python3"), "prefix", &wheels);
    let out = s.pyenv_guix(&["prefix", "p"], &s.path(""));
    let prefix = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let mut shell = Command::new("bash");
    shell
        .args(["--norc", "--noprofile", "-i"])
        .current_dir(s.path("home"))
        .env_clear()
        .envs(s.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut shell = Running(shell.spawn().unwrap());
    let ready = s.path("out/ready");
    let mut stdin = shell.0.stdin.take().unwrap();
    use std::io::Write;
    writeln!(
        stdin,
        "{}\ncd {}\ntouch \"$OUT/ready\"",
        ShellName::Bash.hook_line(),
        quote(s.path("p").as_os_str())
    )
    .unwrap();
    wait_for(&ready, "the shell to enter the project");
    // The manifest changed and is not allowed again: nothing trusted needs
    // the prefix, but the shell still has it loaded until its next prompt.
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let said = gc(&s, &[]);
    assert!(prefix.is_dir(), "{said}");
    assert!(
        said.contains(&format!(
            "in use by an open shell (process {})",
            shell.0.id()
        )),
        "{said}"
    );
    writeln!(stdin, "exit").unwrap();
    drop(stdin);
    let _ = shell.0.wait();
    let said = gc(&s, &[]);
    assert!(!prefix.exists(), "the shell is gone: {said}");
}

/// What a killed build left (its staged copies, for a prefix and for a
/// profile) goes, unless a build holds the key's lock; logs go when their
/// key is gone or they are older than --older-than.
#[test]
fn gc_removes_what_killed_builds_left_and_old_logs() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let stall = s.path("stall");
    let python = s.python_stalling_while("slow", &stall);
    project(&s, "p", &python, "prefix", &wheels);
    std::fs::write(&stall, "").unwrap();
    // A build killed with its pip (one process group), as the OOM killer
    // or a closed terminal does.
    let mut build = s.command(&["build", "p"], &s.path(""));
    std::os::unix::process::CommandExt::process_group(&mut build, 0);
    let build = build
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = s.path("cache/staging");
    let start = Instant::now();
    let staged = loop {
        let found: Vec<PathBuf> = std::fs::read_dir(&staging)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if let [one] = found.as_slice() {
            break one.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no staging");
        std::thread::sleep(Duration::from_millis(50));
    };
    // pip has started (it stalls), so the build holds the lock.
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(-(build.id() as i32), libc::SIGKILL) };
    let mut build = build;
    let _ = build.wait();
    let key = staged.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(key.len(), 64, "{staged:?}");

    // A profile's staged modules, from a killed build of another key.
    let profile_key = "ab".repeat(32);
    let profile_stage = staging.join(format!("profile-{profile_key}"));
    s.write(
        &format!("cache/staging/profile-{profile_key}/my/packages.scm"),
        "(define-module (my packages))\n",
    );
    // And one whose build holds its lock now.
    let busy_key = "cd".repeat(32);
    let busy_stage = staging.join(format!("profile-{busy_key}"));
    s.write(
        &format!("cache/staging/profile-{busy_key}/my/packages.scm"),
        "(define-module (my packages))\n",
    );
    std::fs::create_dir_all(s.path("cache/profiles")).unwrap();
    let lock = std::fs::File::create(s.path(&format!("cache/profiles/{busy_key}.lock"))).unwrap();
    lock.try_lock().unwrap();

    // Logs, and what `uv lock --check` said: of a key that is gone, and
    // of the prefix's key.
    let gone_log = s.path(&format!("cache/logs/{}.log", "ef".repeat(32)));
    let gone_check = s.path(&format!("cache/logs/{}.uv-lock", "ef".repeat(32)));
    let hours_ago = std::time::SystemTime::now() - Duration::from_secs(3 * 3600);
    std::fs::create_dir_all(s.path("cache/logs")).unwrap();
    for (file, text) in [(&gone_log, "old build\n"), (&gone_check, "current\n")] {
        std::fs::write(file, text).unwrap();
        std::fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
    }
    let kept_log = s.path(&format!("cache/logs/{key}.log"));
    s.write(&format!("cache/logs/{key}.log"), "this build\n");
    let kept_check = s.path(&format!("cache/logs/{key}.uv-lock"));
    s.write(&format!("cache/logs/{key}.uv-lock"), "current\n");

    let said = gc(&s, &[]);
    assert!(!staged.exists(), "{said}");
    assert!(!profile_stage.exists(), "{said}");
    assert!(busy_stage.is_dir(), "its build holds the lock: {said}");
    assert!(!gone_log.exists() && !gone_check.exists(), "{said}");
    assert!(kept_log.is_file() && kept_check.is_file(), "{said}");
    assert!(
        said.contains(&format!("removed {}", staged.display())),
        "{said}"
    );

    // A log older than --older-than goes, whatever its key.
    drop(lock);
    std::fs::File::options()
        .write(true)
        .open(&kept_log)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(10 * 86_400))
        .unwrap();
    let said = gc(&s, &["--older-than", "5"]);
    assert!(!kept_log.exists(), "{said}");
    assert!(!busy_stage.exists(), "no build holds it now: {said}");
    // The project builds again, whole.
    std::fs::remove_file(&stall).unwrap();
    s.command(
        &["exec", "-C", "p", "--", "python3", "-c", "import greetpkg"],
        &s.path(""),
    )
    .succeeds();
}

/// An interrupted write leaves a temporary file beside what it was
/// writing, in whichever folder of the cache or the data directory that
/// was (the reload stamp is in the cache itself; pyenv's and uv's answers
/// in folders of their own): gc removes each once it is an hour old, and
/// leaves a younger one, which a write may still be making.
#[test]
fn gc_removes_stale_temporaries_in_every_folder() {
    let s = Sandbox::new();
    let hours_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    let folders = [
        "cache",
        "cache/pyenv",
        "cache/tools",
        "cache/interpreters",
        "cache/python-bin",
        "cache/logs",
        "data",
        "data/trust",
    ];
    let mut stale = Vec::new();
    let mut fresh = Vec::new();
    for folder in folders {
        let old = format!("{folder}/.pyenv-guix.Ab12Cd.tmp");
        s.write(&old, "half written");
        std::fs::File::options()
            .write(true)
            .open(s.path(&old))
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
        stale.push(s.path(&old));
        let new = format!("{folder}/.pyenv-guix.Ef34Gh.tmp");
        s.write(&new, "being written");
        fresh.push(s.path(&new));
    }
    let said = gc(&s, &[]);
    let left: Vec<&PathBuf> = stale.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "left {left:?}: {said}");
    let gone: Vec<&PathBuf> = fresh.iter().filter(|p| !p.exists()).collect();
    assert!(gone.is_empty(), "removed young {gone:?}: {said}");
    let dry = gc(&s, &["--dry-run"]);
    assert!(fresh.iter().all(|p| p.exists()), "{dry}");
}
