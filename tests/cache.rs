//! A cache that cannot be written (a read-only mount, a full disk) costs
//! the builds, never the rest: `[env]` and `[path]` still load and unload,
//! and what failed is named.

mod support;

use std::process::Command;

use support::{Sandbox, quote};

/// `pyenv-guix ARGS` in `dir` with the cache mounted read-only, in a mount
/// namespace of its own (root may make one here; elsewhere the test says
/// why it cannot run).
fn read_only_cache(
    s: &Sandbox,
    dir: &str,
    args: &str,
    env: &[(String, String)],
) -> Option<std::process::Output> {
    let cache = quote(s.path("cache").as_os_str());
    let script = format!(
        "mount --bind {cache} {cache} && mount -o remount,bind,ro {cache} && cd {} && exec {} {args}",
        quote(s.path(dir).as_os_str()),
        quote(support::bin().as_os_str()),
    );
    let mut c = Command::new("unshare");
    c.args(["-m", "sh", "-c", &script])
        .env_clear()
        .envs(s.env());
    c.envs(env.iter().map(|(k, v)| (k, v)));
    let out = c.output().ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("unshare failed")
        || err.contains("mount: ") && err.contains("permission denied")
    {
        if std::env::var_os("CI").is_some() {
            panic!("cannot make a mount namespace here: {err}");
        }
        eprintln!("\n!!! SKIPPED: no mount namespace here: {err} !!!\n");
        return None;
    }
    Some(out)
}

#[test]
fn env_and_path_load_and_unload_with_a_read_only_cache() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[env]\nA = \"1\"\n\n[path]\nPATH = [\"bin\"]\n",
    );
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.allow("p");
    // Made once while the cache could be written: the state key is in the
    // data directory, which stays writable.
    let Some(out) = read_only_cache(&s, "p", "export bash --shell-pid 4242 --entered", &[]) else {
        return;
    };
    let snippet = support::succeeded_as("export bash, entering", &out);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(snippet.contains("export A='1'"), "{snippet}\n{err}");
    assert!(snippet.contains("/p/bin"), "{snippet}");
    assert!(
        err.contains(&s.path("cache").display().to_string()),
        "the unwritable place is named: {err}"
    );
    // And leaving undoes it.
    let state = snippet
        .lines()
        .find_map(|l| l.strip_prefix("export PYENV_GUIX_STATE='"))
        .and_then(|l| l.strip_suffix("';"))
        .expect("a state")
        .to_string();
    let entered = [
        ("PYENV_GUIX_STATE".to_string(), state),
        ("A".to_string(), "1".to_string()),
        (
            "PATH".to_string(),
            format!("{}:{}", s.path("p/bin").display(), support::system_path()),
        ),
    ];
    let Some(out) = read_only_cache(
        &s,
        "outside",
        "export bash --shell-pid 4242 --entered",
        &entered,
    ) else {
        return;
    };
    let snippet = support::succeeded_as("export bash, leaving", &out);
    assert!(snippet.contains("unset A;"), "{snippet}");
}
