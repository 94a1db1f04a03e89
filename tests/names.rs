//! Names and places pyenv-guix is given: a project name that looks like
//! an option, a cache under a path that is not UTF-8, a state key others
//! can read.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use support::{Run, Sandbox};

fn venv_project(s: &Sandbox, dir: &str, name: &str, installer: &str) {
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        &format!("{dir}/.pyguix.toml"),
        &format!(
            "[project]\nname = {name:?}\n\n[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nmode = \"venv\"\ninstaller = {installer:?}\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow(dir);
}

#[test]
fn a_project_named_like_an_option_builds_its_venv() {
    let s = Sandbox::new();
    let uv = s.uv_dir();
    let mut installers = vec!["pip"];
    if uv.is_some() {
        installers.push("uv");
    }
    for installer in installers {
        let dir = format!("p-{installer}");
        venv_project(&s, &dir, "--help", installer);
        let mut c = s.command(
            &[
                "exec",
                "--",
                "python3",
                "-c",
                "import alpha, os; print(os.environ['VIRTUAL_ENV_PROMPT'])",
            ],
            &s.path(&dir),
        );
        if let Some(uv) = &uv {
            c.env(
                "PATH",
                format!("{}:{}", uv.display(), support::system_path()),
            );
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{installer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "--help");
    }
}

#[test]
fn a_cache_under_a_path_that_is_not_utf8_builds_once() {
    let s = Sandbox::new();
    let cache = s
        .path("")
        .join(std::ffi::OsStr::from_bytes_compat(b"cach\xe9"));
    // Prefix mode: Python's venv itself cannot write a pyvenv.cfg there.
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let run = || {
        s.command(
            &["exec", "--", "python3", "-c", "import alpha"],
            &s.path("p"),
        )
        .env("PYENV_GUIX_CACHE_DIR", &cache)
        .succeeds()
    };
    let first = run();
    assert!(String::from_utf8_lossy(&first.stderr).contains("building prefix"));
    let again = run();
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("building"),
        "built again: {}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Like ssh with a private key others can read: the state key is refused,
/// and `doctor` says why.
#[test]
fn a_state_key_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    s.pyenv_guix(&["export", "bash"], &s.path("p"));
    let key = s.path("data/state-key");
    assert!(key.is_file());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s
        .command(&["export", "bash"], &s.path("p"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("state-key") && err.contains("others"), "{err}");
    let out = s.command(&["doctor"], &s.path("p")).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("state-key") && said.contains("others"),
        "{said}"
    );
}

trait FromBytes {
    fn from_bytes_compat(b: &[u8]) -> OsString;
}

impl FromBytes for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> OsString {
        OsString::from_vec(b.to_vec())
    }
}

/// A line break in a project's path cannot forge a line of `status`.
#[test]
fn a_line_break_in_a_path_forges_no_status_line() {
    let s = Sandbox::new();
    let dir = "p\nactive       yes, in this shell";
    s.write(&format!("{dir}/.pyguix.toml"), "[env]\nA = \"1\"\n");
    let out = s.command(&["status"], &s.path(dir)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let forged = text.lines().filter(|l| l.starts_with("active")).count();
    assert_eq!(forged, 1, "{text}");
    assert!(text.contains("active       no"), "{text}");
}

/// Paths given on the command line are printed back normalised.
#[test]
fn printed_paths_are_normalised() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    std::fs::create_dir_all(s.path("q")).unwrap();
    let out = s
        .command(&["allow", "../p/./"], &s.path("q"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let want = format!("allowed {}", s.path("p/.pyguix.toml").display());
    assert!(said.contains(&want), "{said}");
    assert!(!said.contains("/../") && !said.contains("/./"), "{said}");
}
