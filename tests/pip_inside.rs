//! `pip` typed inside a project is the project's, in every mode: it never
//! installs into what every project on the same Python shares, and a venv
//! that uv built has a working pip of its own.

mod support;

use support::Sandbox;

fn exec(
    s: &Sandbox,
    dir: &str,
    args: &[&str],
    path: Option<&std::path::Path>,
) -> std::process::Output {
    let mut all = vec!["exec", "--"];
    all.extend(args);
    let mut c = s.command(&all, &s.path(dir));
    if let Some(uv) = path {
        c.env(
            "PATH",
            format!("{}:{}", uv.display(), support::system_path()),
        );
    }
    c.output().unwrap()
}

#[test]
fn pip_install_in_a_prefix_project_never_touches_the_shared_python() {
    let s = Sandbox::new();
    let wheels = s.pip_project_on_own_python("p", "prefix", "pip");
    let w = wheels.display().to_string();
    let out = exec(
        &s,
        "p",
        &["pip", "install", "--no-index", "--find-links", &w, "beta"],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "pip install went through:\n{err}");
    assert!(err.contains("pyenv-guix edit"), "{err}");
    let out = exec(&s, "p", &["python3", "-c", "import beta"], None);
    assert!(
        !out.status.success(),
        "beta was installed somewhere the project sees"
    );
    // pip's other commands still work.
    let out = exec(&s, "p", &["pip", "--version"], None);
    support::succeeded_as("exec", &out);
}

#[test]
fn a_venv_uv_built_has_a_pip_of_its_own() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let wheels = s.pip_project_on_own_python("v", "venv", "uv");
    let w = wheels.display().to_string();
    let out = exec(
        &s,
        "v",
        &["pip", "install", "--no-index", "--find-links", &w, "beta"],
        Some(&uv),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("outside"),
        "says it is outside the manifest: {err}"
    );
    let out = exec(
        &s,
        "v",
        &["python", "-c", "import beta, sys; print(sys.prefix)"],
        Some(&uv),
    );
    let prefix = support::succeeded_as("exec", &out);
    assert!(prefix.contains("/cache/prefixes/"), "{prefix}");
    let out = exec(&s, "v", &["pip", "list"], Some(&uv));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("beta"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `status` says when the interpreter's own packages reach the project,
/// and PYTHONNOUSERSITE is set only where a user site could shadow.
#[test]
fn status_says_what_else_a_project_sees() {
    let s = Sandbox::new();
    s.pip_project_on_own_python("p", "prefix", "pip");
    s.pip_project_on_own_python("v", "venv", "pip");
    let status = |dir: &str| {
        let out = s.command(&["status"], &s.path(dir)).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(status("p").contains("sees also"), "{}", status("p"));
    assert!(status("p").contains("isolates the project fully"));
    assert!(!status("v").contains("sees also"), "{}", status("v"));
    let nousersite = |dir: &str| {
        let out = exec(
            &s,
            dir,
            &[
                "python3",
                "-c",
                "import os; print(os.environ.get('PYTHONNOUSERSITE', 'unset'))",
            ],
            None,
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(nousersite("p"), "1");
    assert_eq!(nousersite("v"), "unset");
}
