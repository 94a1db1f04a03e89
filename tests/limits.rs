//! What a project sets must fit the kernel's limits as a whole, not only
//! value by value: past them no program starts, the hook included, and
//! the shell could never leave the project.

mod support;

use support::Sandbox;

fn refused(s: &Sandbox, project: &str) -> String {
    let out = s.command(&["allow"], &s.path(project)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{project} was allowed:\n{err}");
    assert!(
        !s.path("data/trust").exists()
            || std::fs::read_dir(s.path("data/trust")).unwrap().count() == 0,
        "a trust record was written"
    );
    err
}

#[test]
fn thousands_of_short_path_entries_are_refused_with_the_total() {
    let s = Sandbox::new();
    // 6000 entries of a few bytes each: every one is fine alone; joined,
    // PATH is far past what one variable can hold for execve.
    let entries: Vec<String> = (0..6000).map(|i| format!("\"b{i}\"")).collect();
    s.write(
        "p/.pyguix.toml",
        &format!("[path]\nPATH = [{}]\n", entries.join(", ")),
    );
    let err = refused(&s, "p");
    assert!(err.contains(".pyguix.toml:2:1"), "{err}");
    assert!(err.contains("PATH") && err.contains("32768"), "{err}");

    // Many variables, each under the limit, that add up past it.
    let value = "v".repeat(30_000);
    let vars: Vec<String> = (0..8).map(|i| format!("V{i} = \"{value}\"")).collect();
    s.write("q/.pyguix.toml", &format!("[env]\n{}\n", vars.join("\n")));
    let err = refused(&s, "q");
    assert!(
        err.contains("240") && err.contains("65536"),
        "the total and the limit: {err}"
    );
}

/// Walks over a project's directories end: a link loop is not followed,
/// and a tree too deep is refused with its name, not walked forever.
#[test]
fn directory_walks_end() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nload-path = [\"guix\"]\n\n[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n",
    );
    s.write(
        "p/guix/pyguix/packages.scm",
        "(define-module (pyguix packages))\n",
    );
    std::os::unix::fs::symlink(".", s.path("p/guix/pyguix/loop")).unwrap();
    std::os::unix::fs::symlink("..", s.path("p/guix/up")).unwrap();
    std::fs::create_dir_all(s.path("p/wheels")).unwrap();
    std::os::unix::fs::symlink("../wheels", s.path("p/wheels/again")).unwrap();
    let mut allow = s.command(&["allow"], &s.path("p"));
    allow
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = support::run_with_timeout(allow, b"", std::time::Duration::from_secs(20));
    support::succeeded_as("allow", &out);

    let s = Sandbox::new();
    let deep: String = (0..40).map(|i| format!("d{i}/")).collect();
    s.write(&format!("q/guix/{deep}f.scm"), "");
    s.write(
        "q/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nload-path = [\"guix\"]\n",
    );
    let err = refused(&s, "q");
    assert!(err.contains("directories deep"), "{err}");
}

/// Ctrl-C gives the prompt back within a second, however long a check
/// runs: here, hashing a large wheel the project names.
#[test]
fn ctrl_c_ends_a_long_check_at_once() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("p")).unwrap();
    // Sparse: large to hash, nothing on disk. Large enough to take
    // seconds where SHA-256 has its own instructions (256 MiB took 0.2 s,
    // and the check was over before Ctrl-C).
    let wheel = std::fs::File::create(s.path("p/big-1.0-py3-none-any.whl")).unwrap();
    wheel.set_len(3 << 30).unwrap();
    s.write(
        "p/.pyguix.toml",
        "[pip]\npackages = [\"./big-1.0-py3-none-any.whl\"]\n",
    );
    s.allow("p");
    let mut export = s.command(
        &["export", "bash", "--shell-pid", "4242", "--entered"],
        &s.path("p"),
    );
    export
        .env_remove("PYENV_GUIX_BUILD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = export.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = std::time::Instant::now();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert!(
        took < std::time::Duration::from_secs(1),
        "the prompt came back {took:?} after Ctrl-C"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
