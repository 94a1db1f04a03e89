//! `pyenv-guix watch`: rebuilds, before the user comes back, what trusted
//! projects need after a `guix pull` (simulated with the stand-in, as Guix
//! swaps its per-user profile link) or an `allow`; never builds a manifest
//! not allowed as it is now; sleeps while nothing changes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{Run, Sandbox};

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pyenv-guix watch` started (its messages, at debug level, in
/// out/watch.err), once it said it watches `projects` projects.
fn start_watch(s: &Sandbox, projects: usize) -> Watch {
    let child = s
        .command(&["watch"], &s.path(""))
        .env("PYENV_GUIX_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path("out/watch.err")).unwrap())
        .spawn()
        .unwrap();
    let watch = Watch(child);
    wait_for("start", || {
        said(s).contains(&format!("watching {projects} projects"))
    });
    watch
}

fn said(s: &Sandbox) -> String {
    std::fs::read_to_string(s.path("out/watch.err")).unwrap_or_default()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "watch did not {what} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(s: &Sandbox, what: &str) -> usize {
    std::fs::read_to_string(s.path("guix.log"))
        .unwrap_or_default()
        .matches(what)
        .count()
}

/// Built prefixes: the links `prefixes/KEY`.
fn prefixes(s: &Sandbox) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(s.path("cache/prefixes")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_symlink())
        .collect();
    out.sort();
    out
}

/// Guix as `guix pull` leaves it: `~/.config/guix/current` points at the
/// per-user `current-guix`, which points at `current-guix-N-link`.
fn pull(s: &Sandbox, generation: u32) {
    let per_user = s.path("var/guix/profiles/per-user/me");
    let item = s.path(&format!("gnu/store/guix-{generation}"));
    std::fs::create_dir_all(&item).unwrap();
    std::fs::create_dir_all(&per_user).unwrap();
    let link = per_user.join(format!("current-guix-{generation}-link"));
    std::os::unix::fs::symlink(&item, &link).unwrap();
    // Swapped in one rename, as Guix switches a profile generation.
    let tmp = per_user.join("current-guix.new");
    std::os::unix::fs::symlink(link.file_name().unwrap(), &tmp).unwrap();
    std::fs::rename(&tmp, per_user.join("current-guix")).unwrap();
    let current = s.path("home/.config/guix/current");
    if !current.is_symlink() {
        std::fs::create_dir_all(current.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(per_user.join("current-guix"), &current).unwrap();
    }
}

/// CPU ticks and context switches of every thread of `pid`.
fn activity(pid: u32) -> (u64, u64) {
    let mut ticks = 0;
    let mut switches = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // After the command name in parentheses: utime and stime are
        // fields 14 and 15 of the line.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        ticks += fields
            .get(11)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
        ticks += fields
            .get(12)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some(n) = line.strip_prefix("voluntary_ctxt_switches:") {
                switches += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    (ticks, switches)
}

#[test]
fn watch_rebuilds_after_guix_pull_and_allow_and_never_builds_an_unallowed_manifest() {
    let s = Sandbox::new();
    pull(&s, 1);
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.wheel("beta", "1.0", &[]);
    s.write("g/.pyguix.toml", "[guix]\npackages = [\"python-attrs\"]\n");
    let pip = |packages: &str| {
        format!(
            "[pip]\npackages = [{packages}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        )
    };
    s.write("p/.pyguix.toml", &pip("\"alpha\""));
    for p in ["g", "p"] {
        s.allow(p);
        s.pyenv_guix(&["exec", "--", "true"], &s.path(p));
    }
    assert_eq!(count(&s, "package -p "), 1);
    assert_eq!(prefixes(&s).len(), 1);

    let watch = start_watch(&s, 2);
    let said = || said(&s);

    // Idle: no process started, no CPU, no wake-ups.
    let before = activity(watch.0.id());
    std::thread::sleep(Duration::from_secs(2));
    let after = activity(watch.0.id());
    assert!(
        after.0 <= before.0 + 1,
        "idle watch used CPU: {before:?} {after:?}"
    );
    assert_eq!(before.1, after.1, "idle watch woke up: {}", said());
    assert_eq!(count(&s, "package -p "), 1);

    // guix pull: the unpinned profile's key changes; watch builds it.
    pull(&s, 2);
    wait_for("rebuild the profile after guix pull", || {
        count(&s, "package -p ") == 2
    });
    wait_for("say the build is done", || {
        said().contains("g/.pyguix.toml: built")
    });
    // The project's next entry finds it built: no build at the prompt.
    s.pyenv_guix(&["exec", "--", "true"], &s.path("g"));
    assert_eq!(count(&s, "package -p "), 2);
    let logs: Vec<_> = std::fs::read_dir(s.path("cache/logs")).unwrap().collect();
    assert!(!logs.is_empty(), "the build's output is in a log");

    // An edit not allowed yet is never built, however long it waits...
    s.write("p/.pyguix.toml", &pip("\"alpha\", \"beta\""));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(prefixes(&s).len(), 1, "{}", said());
    // ...and is built once allowed.
    s.allow("p");
    wait_for("build after allow", || prefixes(&s).len() == 2);
    let out = s.pyenv_guix(
        &["exec", "--", "python3", "-c", "import alpha, beta"],
        &s.path("p"),
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("building"),
        "the prompt found it built"
    );
    drop(watch);
    assert!(!Path::new(&s.path("p/.pyguix.toml")).is_symlink());
}

/// A new interpreter where the user's PATH finds `python3` (an upgrade, a
/// pyenv install) is another prefix: watch builds it, with the PATH the
/// project was last used with.
#[test]
fn watch_rebuilds_when_the_interpreter_changes() {
    let s = Sandbox::new();
    let wheels = s.wheel("alpha", "1.0", &[]);
    let bin = s.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = std::fs::canonicalize("/usr/bin/python3").unwrap();
    std::os::unix::fs::symlink(&real, bin.join("python3")).unwrap();
    let path = format!("{}:{}", bin.display(), support::system_path());
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    s.command(&["exec", "--", "true"], &s.path("p"))
        .env("PATH", &path)
        .succeeds();
    assert_eq!(prefixes(&s).len(), 1);

    // The watcher's own PATH does not matter: the project's record says.
    let _watch = start_watch(&s, 1);
    let said = || said(&s);
    // Another Python now answers to python3 on that PATH: a copy of the
    // interpreter (another executable, so another identity), put in place
    // in one rename.
    std::fs::copy(&real, s.path("python3.new")).unwrap();
    std::fs::rename(s.path("python3.new"), bin.join("python3")).unwrap();
    wait_for("build the new interpreter's prefix", || {
        prefixes(&s).len() == 2
    });
    wait_for("say it is built", || said().contains("built"));
    let out = s
        .command(
            &["exec", "--", "python3", "-c", "import alpha"],
            &s.path("p"),
        )
        .env("PATH", &path)
        .succeeds();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("building"),
        "the prompt found it built"
    );
}

/// A build that fails is tried once: later wakes (any change in a watched
/// directory) leave it, and its log, as they are, until `reload`.
#[test]
fn watch_does_not_repeat_a_failed_build() {
    let s = Sandbox::new();
    let wheels = s.wheel("alpha", "1.0", &[]);
    let manifest = |packages: &str| {
        format!(
            "[pip]\npackages = [{packages}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        )
    };
    s.write("p/.pyguix.toml", &manifest("\"alpha\""));
    s.allow("p");
    s.pyenv_guix(&["exec", "--", "true"], &s.path("p"));
    let _watch = start_watch(&s, 1);
    let said = || said(&s);
    s.write("p/.pyguix.toml", &manifest("\"alpha\", \"nosuchpkg\""));
    s.allow("p");
    wait_for("try the build", || said().contains("the build failed"));
    for i in 0..3 {
        s.write("p/notes.txt", &format!("{i}"));
        std::thread::sleep(Duration::from_millis(800));
    }
    assert_eq!(said().matches("changed: building").count(), 1, "{}", said());
    // After reload it is tried again.
    s.pyenv_guix(&["reload"], &s.path("p"));
    wait_for("retry after reload", || {
        said().matches("changed: building").count() == 2
    });
}

/// A project of one wheel, used once (so watched).
fn used_project(s: &Sandbox) {
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    s.pyenv_guix(&["exec", "--", "true"], &s.path("p"));
}

/// A project whose only change is a log written without pause in its root
/// (a server's, a test run's): not an input, so watch never wakes for it.
#[test]
fn watch_sleeps_through_writes_that_are_not_inputs() {
    let s = Sandbox::new();
    used_project(&s);
    s.write("p/app.log", "");
    let watch = start_watch(&s, 1);
    let before = activity(watch.0.id());
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(s.path("p/app.log"))
        .unwrap();
    let start = Instant::now();
    let mut lines = 0;
    while start.elapsed() < Duration::from_secs(2) {
        use std::io::Write;
        writeln!(log, "GET / 200 line {lines}").unwrap();
        lines += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let after = activity(watch.0.id());
    eprintln!("watch's (ticks, wake-ups) over {lines} writes to a log: {before:?} -> {after:?}");
    assert!(lines > 500, "{lines}");
    assert!(
        after.0 <= before.0 + 1,
        "watch used CPU for {lines} writes to a log: {before:?} {after:?}\n{}",
        said(&s)
    );
    assert!(
        after.1 <= before.1 + 2,
        "watch woke up for a log: {before:?} {after:?}\n{}",
        said(&s)
    );
    // An input still wakes it: the manifest changed (and not allowed).
    s.write("p/.pyguix.toml", "[env]\nA = \"2\"\n");
    drop(log);
    let looks = || said(&s).matches("not allowed as it is now").count();
    wait_for("see the manifest change", || looks() == 1);
    // Replaced by a rename, as editors save, then written in place: each
    // is seen (the new file is watched, not the old one).
    s.write("p/.pyguix.toml.new", "[env]\nA = \"3\"\n");
    std::fs::rename(s.path("p/.pyguix.toml.new"), s.path("p/.pyguix.toml")).unwrap();
    wait_for("see the manifest replaced", || looks() == 2);
    std::thread::sleep(Duration::from_millis(500));
    s.write("p/.pyguix.toml", "[env]\nA = \"4\"\n");
    wait_for("see the new manifest written", || looks() == 3);
}

/// watch's own messages going to a file in a watched project (a service
/// whose log is there) never wake it: a warning is said once per change.
#[test]
fn watch_never_loops_on_its_own_warnings() {
    let s = Sandbox::new();
    let wheels = s.wheel("alpha", "1.0", &[]);
    // Used with an interpreter that is gone since: each look warns.
    std::fs::create_dir_all(s.path("bin")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", s.path("bin/python-nowhere")).unwrap();
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"python-nowhere\"\n\n[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    s.command(&["exec", "--", "true"], &s.path("p"))
        .env("PATH", format!("{}:/usr/bin:/bin", s.path("bin").display()))
        .succeeds();
    std::fs::remove_file(s.path("bin/python-nowhere")).unwrap();
    let child = s
        .command(&["watch"], &s.path(""))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path("p/watch.log")).unwrap())
        .spawn()
        .unwrap();
    let _watch = Watch(child);
    let warnings = || {
        std::fs::read_to_string(s.path("p/watch.log"))
            .unwrap_or_default()
            .matches("python-nowhere")
            .count()
    };
    wait_for("warn", || warnings() > 0);
    let first = warnings();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        warnings(),
        first,
        "{}",
        std::fs::read_to_string(s.path("p/watch.log")).unwrap()
    );
}

/// An upgrade replaces the binary (a new file renamed over the old): watch
/// exits non-zero, saying so, for its service manager to start the new one.
#[test]
fn watch_exits_when_its_binary_is_replaced() {
    let s = Sandbox::new();
    used_project(&s);
    let installed = s.path("bin/pyenv-guix");
    std::fs::create_dir_all(s.path("bin")).unwrap();
    std::fs::copy(support::bin(), &installed).unwrap();
    let mut watch = std::process::Command::new(&installed);
    watch
        .arg("watch")
        .current_dir(s.path(""))
        .env_clear()
        .envs(s.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.path("out/watch.err")).unwrap());
    let mut watch = Watch(watch.spawn().unwrap());
    wait_for("start", || said(&s).contains("watching 1 projects"));
    std::fs::copy(support::bin(), s.path("bin/pyenv-guix.new")).unwrap();
    std::fs::rename(s.path("bin/pyenv-guix.new"), &installed).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = watch.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "watch still runs the old binary: {}",
            said(&s)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "{status:?}");
    assert!(said(&s).contains("was replaced"), "{}", said(&s));
}
