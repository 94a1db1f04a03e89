//! pyenv machines: a project whose interpreter is a pyenv shim enters
//! without starting a process when nothing pyenv reads has changed,
//! `pyenv local` switches it at the next prompt, `status` says which build
//! is active, and nothing the project ships runs in place of pyenv's
//! Python or pip.
//!
//! These drive the real pyenv of this machine (`$PYENV_ROOT`, or
//! `~/.pyenv`) through a pyenv root of the test's own: its versions are
//! links to real installed Pythons, its shims and its `pyenv` are logging
//! wrappers, so every run of pyenv is counted.

mod support;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

/// The real pyenv: its root and two installed versions (3.9 or later, of
/// different minor versions). `None`, loudly, when this machine has no
/// pyenv with two such versions and PYENV_GUIX_REQUIRE_TOOLS is not set.
fn real_pyenv() -> Option<(PathBuf, String, String)> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")))
        .filter(|r| r.join("libexec/pyenv").is_file());
    let mut minors = std::collections::BTreeMap::new();
    if let Some(entries) = root
        .as_ref()
        .and_then(|r| r.join("versions").read_dir().ok())
    {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut parts = name.split('.').map(|p| p.parse::<u32>().ok());
            if let (Some(Some(3)), Some(Some(minor)), Some(Some(_))) =
                (parts.next(), parts.next(), parts.next())
                && minor >= 9
                && e.path().join("bin/python3").is_file()
            {
                minors.insert(minor, name);
            }
        }
    }
    let mut versions = minors.into_values();
    if let (Some(root), Some(a), Some(b)) = (root, versions.next(), versions.next()) {
        return Some((root, a, b));
    }
    if std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!(
            "pyenv with two Python versions (3.9+) is not installed and PYENV_GUIX_REQUIRE_TOOLS=1"
        );
    }
    eprintln!(
        "\n!!! SKIPPED: no pyenv with two Python versions 3.9+; the pyenv tests did not run !!!\n"
    );
    None
}

/// A pyenv root of the test's own, at `pyenv/` in the sandbox: versions
/// `a` (the global one) and `b` link to the real ones; `shims/python3`,
/// `shims/python` and `shims/uv` are shims as `pyenv rehash` writes them,
/// and `libexec/pyenv` runs the real pyenv; each of these first appends a
/// line to `pyenv.log`.
struct Pyenv {
    root: PathBuf,
    a: String,
    b: String,
    log: PathBuf,
}

impl Pyenv {
    fn new(s: &Sandbox) -> Option<Pyenv> {
        let (real, a, b) = real_pyenv()?;
        let root = s.path("pyenv");
        let log = s.path("pyenv.log");
        for d in ["versions", "shims", "libexec"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for v in [&a, &b] {
            std::os::unix::fs::symlink(
                real.join("versions").join(v),
                root.join("versions").join(v),
            )
            .unwrap();
        }
        std::fs::write(root.join("version"), format!("{a}\n")).unwrap();
        let logged = |path: &Path, what: &str, body: &str| {
            let text = format!(
                "#!/usr/bin/env bash\necho \"{what} $*\" >> {}\n{body}",
                quote(log.as_os_str())
            );
            std::fs::write(path, text).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let pyenv = root.join("libexec/pyenv");
        logged(
            &pyenv,
            "pyenv",
            &format!(
                "exec {} \"$@\"\n",
                quote(real.join("libexec/pyenv").as_os_str())
            ),
        );
        // pyenv-rehash's template, with the log line.
        let shim = format!(
            "set -e\nprogram=\"${{0##*/}}\"\nexport PYENV_ROOT={}\nexec {} exec \"$program\" \"$@\"\n",
            quote(root.as_os_str()),
            quote(pyenv.as_os_str()).replace('\'', "\"")
        );
        for name in ["python3", "python", "uv"] {
            logged(&root.join("shims").join(name), "shim", &shim);
        }
        Some(Pyenv { root, a, b, log })
    }

    /// The sandbox's environment with this pyenv's shims first on PATH.
    fn env(&self, s: &Sandbox) -> Vec<(OsString, OsString)> {
        let mut env = s.env();
        env.retain(|(k, _)| k != "PATH");
        env.push((
            "PATH".into(),
            format!(
                "{}:{}",
                self.root.join("shims").display(),
                support::system_path()
            )
            .into(),
        ));
        env.push(("PYENV_ROOT".into(), self.root.clone().into()));
        env
    }

    /// What ran since the last call, and the log emptied.
    fn ran(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text
    }

    /// `X.Y` of a version name.
    fn minor(version: &str) -> String {
        version.split('.').take(2).collect::<Vec<_>>().join(".")
    }
}

/// A project needing `alpha` (one wheel, made once per sandbox: made
/// again, its bytes would differ and block the projects allowed with it).
fn project(s: &Sandbox, rel: &str, installer: &str) {
    let wheels = s.path("wheels");
    if !wheels.join("alpha-1.0-py3-none-any.whl").exists() {
        s.wheel("alpha", "1.0", &[]);
    }
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!(
            "[pip]\npackages = [\"alpha==1.0\"]\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
}

fn export(s: &Sandbox, env: &[(OsString, OsString)], rel: &str) -> std::process::Output {
    s.command(&["export", "bash"], &s.path(rel))
        .env_clear()
        .envs(env.iter().cloned())
        .succeeds()
}

/// Entering a built project whose interpreter is a pyenv shim, and whose
/// installer is `auto` (with a uv shim that the chosen version lacks, as
/// on a machine where another version has uv), starts no process: not the
/// shim, not `pyenv which uv`. A change pyenv reads is seen at once.
#[test]
fn entering_a_built_project_with_a_pyenv_shim_runs_no_pyenv() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    let env = pyenv.env(&s);
    for (rel, installer) in [("auto", "auto"), ("pip", "pip")] {
        project(&s, rel, installer);
        s.pyenv_guix(&["allow"], &s.path(rel));
        export(&s, &env, rel);
        assert!(!pyenv.ran().is_empty(), "the first entry asks pyenv");
        // A new shell entering: no state, a full plan, nothing cached in it.
        let out = export(&s, &env, rel);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("loading"), "{said}");
        assert_eq!(pyenv.ran(), "", "{rel}: entering again ran pyenv");
    }
    // What pyenv reads changed: asked again, and the other version is used.
    std::fs::write(s.path("pip/.python-version"), format!("{}\n", pyenv.b)).unwrap();
    let out = export(&s, &env, "pip");
    assert!(
        !pyenv.ran().is_empty(),
        "a new .python-version is looked at"
    );
    let snippet = String::from_utf8_lossy(&out.stdout);
    let status = s
        .command(&["status", "--json"], &s.path("pip"))
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let executable = status["interpreter"]["executable"].as_str().unwrap();
    assert!(
        executable.contains(&format!("/{}/", pyenv.b)),
        "{executable} is not {}\n{snippet}",
        pyenv.b
    );
    // The global version changed: the project without a local file follows.
    std::fs::write(pyenv.root.join("version"), format!("{}\n", pyenv.b)).unwrap();
    let out = export(&s, &env, "auto");
    assert!(
        !pyenv.ran().is_empty(),
        "a new global version is looked at: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `pyenv local OTHER` typed inside an active project: the next prompt
/// loads the project built with OTHER, in a real interactive bash.
#[test]
fn pyenv_local_switches_the_interpreter_at_the_next_prompt() {
    if !ShellName::Bash.available() {
        return;
    }
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    s.pyenv_guix(&["allow"], &s.path("p"));
    let version = "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'";
    let lines = vec![
        ShellName::Bash.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        format!("{version} > \"$OUT/before\""),
        format!(
            "{} local {}",
            quote(pyenv.root.join("libexec/pyenv").as_os_str()),
            pyenv.b
        ),
        format!("{version} > \"$OUT/after\""),
        "dump after-env".into(),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &pyenv.env(&s), &lines);
    assert_eq!(s.read_out("before").trim(), Pyenv::minor(&pyenv.a), "{out}");
    assert_eq!(s.read_out("after").trim(), Pyenv::minor(&pyenv.b), "{out}");
    let d = s.dump("after-env");
    let prefix = d.get("PYENV_GUIX_PREFIX").unwrap_or_default().to_string();
    let status = s
        .command(&["status", "--json"], &s.path("p"))
        .env_clear()
        .envs(pyenv.env(&s))
        .env("PYENV_GUIX_STATE", d.get("PYENV_GUIX_STATE").unwrap())
        .env("PYENV_GUIX_PREFIX", &prefix)
        .env("PATH", d.get("PATH").unwrap())
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["active"], true, "{status}");
}

/// `pyenv local OTHER` after the first build failed (the project needs
/// OTHER): the next prompt builds for OTHER and loads it, as the failure
/// said ("retried when an input changes"), without leaving the project.
#[test]
fn pyenv_local_after_a_failed_build_builds_for_the_new_version_at_the_next_prompt() {
    if !ShellName::Bash.available() {
        return;
    }
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    // Something no index has, asked for on the first version only.
    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    let needs = format!(
        "\"nosuchpkg; python_version == '{}'\"",
        Pyenv::minor(&pyenv.a)
    );
    s.write(
        "p/.pyguix.toml",
        &manifest.replace("\"alpha==1.0\"", &format!("\"alpha==1.0\", {needs}")),
    );
    s.pyenv_guix(&["allow"], &s.path("p"));
    let version = "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'";
    let lines = vec![
        ShellName::Bash.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump failed-env".into(),
        format!(
            "{} local {}",
            quote(pyenv.root.join("libexec/pyenv").as_os_str()),
            pyenv.b
        ),
        "true".into(),
        format!("{version} > \"$OUT/after\""),
        "dump after-env".into(),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &pyenv.env(&s), &lines);
    assert!(out.contains("nosuchpkg"), "the first build fails: {out}");
    assert_eq!(s.dump("failed-env").get("PYENV_GUIX_PREFIX"), None, "{out}");
    assert_eq!(s.read_out("after").trim(), Pyenv::minor(&pyenv.b), "{out}");
    assert!(
        s.dump("after-env").get("PYENV_GUIX_PREFIX").is_some(),
        "{out}"
    );
}

/// `status` in a shell that loaded the project before its interpreter
/// resolved to another version: the key it shows now is not built, and
/// not what the shell has, so it is not called active.
#[test]
fn status_never_calls_an_unbuilt_key_active() {
    if !ShellName::Bash.available() {
        return;
    }
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    s.pyenv_guix(&["allow"], &s.path("p"));
    let bin = quote(support::bin().as_os_str());
    let lines = vec![
        ShellName::Bash.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        format!("{bin} status > \"$OUT/loaded\""),
        // One line: no prompt between the change and `status`.
        format!(
            "echo {} > .python-version; {bin} status > \"$OUT/changed\"; {bin} status --json > \"$OUT/changed.json\"",
            pyenv.b
        ),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &pyenv.env(&s), &lines);
    let loaded = s.read_out("loaded");
    assert!(loaded.contains("yes, in this shell"), "{loaded}\n{out}");
    let changed = s.read_out("changed");
    assert!(changed.contains("(not built)"), "{changed}");
    assert!(!changed.contains("yes, in this shell"), "{changed}");
    let active = changed.lines().find(|l| l.starts_with("active")).unwrap();
    assert!(active.contains("another build"), "{changed}");
    let json: serde_json::Value = serde_json::from_str(&s.read_out("changed.json")).unwrap();
    assert_eq!(json["active"], false, "{json}");
    assert_eq!(json["other_build_active"], true, "{json}");
}

/// A project that ships `.python-version` saying `system` and its own
/// `python`: on a PATH with an empty entry (the directory one is in),
/// pyenv run in the project's directory would find and run the project's
/// `python` while pyenv-guix asks who the interpreter is. It must not.
#[test]
fn asking_a_shim_who_it_is_never_runs_the_projects_python() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"python\"\n[pip]\npackages = [\"alpha==1.0\"]\ninstaller = \"pip\"\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.pyenv_guix(&["allow"], &s.path("p"));
    let marker = s.path("out/project-python-ran");
    s.write("p/.python-version", "system\n");
    s.write(
        "p/python",
        &format!(
            "#!/bin/sh\necho ran > {}\nexec /usr/bin/python3 \"$@\"\n",
            quote(marker.as_os_str())
        ),
    );
    std::fs::set_permissions(s.path("p/python"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = pyenv.env(&s);
    for (k, v) in &mut env {
        if k == "PATH" {
            v.push(":");
        }
    }
    let out = s
        .command(&["export", "bash"], &s.path("p"))
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert!(
        !marker.exists(),
        "the project's python ran: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The probe that asks an interpreter who it is imports nothing from the
/// project, nor from a PYTHONPATH the project set: not `sitecustomize`,
/// `site`, `encodings`, nor the modules the probe itself imports. (pip's
/// runs are prefix.rs's; this test starts none.)
#[test]
fn the_interpreter_probe_imports_nothing_from_the_project() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    let marker = s.path("out/imported");
    let write = format!(
        "open({:?}, 'a').write(__name__ + '\\n')\n",
        marker.display().to_string()
    );
    for m in [
        "sitecustomize",
        "usercustomize",
        "site",
        "json",
        "os",
        "sysconfig",
        "pip",
    ] {
        s.write(&format!("p/{m}.py"), &write);
    }
    s.write("p/encodings/__init__.py", &write);
    s.pyenv_guix(&["allow"], &s.path("p"));
    let mut env = pyenv.env(&s);
    env.push(("PYTHONPATH".into(), s.path("p").into()));
    env.push(("PYTHONSTARTUP".into(), s.path("p/site.py").into()));
    // `status` asks the interpreter and builds nothing: no pip runs.
    let out = s
        .command(&["status"], &s.path("p"))
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("/{}/", pyenv.a)),
        "not asked: {said}"
    );
    assert!(
        !marker.exists(),
        "{}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

/// `pip` typed in an active project (prefix mode) is the interpreter's pip,
/// never a `pip.py` the project ships: the wrapper pyenv-guix puts on PATH
/// does not search the directory the user is in.
#[test]
fn the_pip_on_a_projects_path_is_never_the_projects_pip_py() {
    if !ShellName::Bash.available() {
        return;
    }
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    s.pyenv_guix(&["allow"], &s.path("p"));
    // Built before the project holds `pip.py`: the build's own pip is not
    // what this test is about.
    export(&s, &pyenv.env(&s), "p");
    let marker = s.path("out/project-pip-ran");
    s.write(
        "p/pip.py",
        &format!(
            "open({:?}, 'w').write('ran')\n",
            marker.display().to_string()
        ),
    );
    let lines = vec![
        ShellName::Bash.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "pip --version > \"$OUT/pip-version\"".into(),
    ];
    let out = s.interactive(ShellName::Bash, &s.path("home"), &pyenv.env(&s), &lines);
    assert!(!marker.exists(), "the project's pip.py ran:\n{out}");
    assert!(s.read_out("pip-version").starts_with("pip "), "{out}");
}

/// The lock's packages as "name version" lines, sorted, and its writer.
fn locked(s: &Sandbox, rel: &str) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(s.path(rel).join("pylock.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut out: Vec<String> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    (
        out,
        doc["created-by"].as_str().unwrap_or_default().to_string(),
    )
}

/// A project needing `app`, which needs `old` on Pythons before `minor`
/// and `new` from it on (a marker, as real packages have for backports):
/// what a lock holds says which Python it was resolved for. Its
/// interpreter is `python3`, the shim.
fn marker_project(s: &Sandbox, rel: &str, installer: &str, minor: &str) {
    let wheels = format!("{rel}/wheels");
    s.wheel_into(
        &wheels,
        "app",
        "1.0",
        &[
            "--script",
            "app",
            "--requires",
            &format!("old; python_version < \"{minor}\""),
            "--requires",
            &format!("new; python_version >= \"{minor}\""),
        ],
    );
    s.wheel_into(&wheels, "old", "1.0", &[]);
    s.wheel_into(&wheels, "new", "1.0", &[]);
    s.write(
        &format!("{rel}/requirements.txt"),
        "# the app and what it needs on this Python\napp>=1\n",
    );
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!(
            "[pip]\nrequirements = [\"requirements.txt\"]\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n"
        ),
    );
}

/// What the project's build runs: its Python's X.Y, and which of old and
/// new it has.
const WHICH: &str = "import importlib.util as u, sys; print('%d.%d' % sys.version_info[:2], [m for m in ('old', 'new') if u.find_spec(m)])";

/// `lock` in a project whose interpreter is the pyenv shim resolves for
/// the Python the shim stands for (its marker), the build runs that
/// Python, `--check` is current; `pyenv local OTHER` makes the lock stale
/// (the interpreter changed, though the shim did not), and locking again
/// resolves for OTHER.
#[test]
fn lock_resolves_for_the_python_behind_the_shim_and_pyenv_local_makes_it_stale() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    let env = pyenv.env(&s);
    let p = s.path("p");
    marker_project(&s, "p", "pip", &Pyenv::minor(&pyenv.b));
    s.ok_with(&env, &p, &["allow"]);
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    assert!(said.contains("with pip"), "{said}");
    assert_eq!(locked(&s, "p").0, ["app 1.0", "old 1.0"], "for {}", pyenv.a);
    s.ok_with(&env, &p, &["lock", "--check"]);
    let (status, _) = s.ok_with(&env, &p, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let executable = status["interpreter"]["executable"].as_str().unwrap();
    assert!(
        executable.contains(&format!("/{}/", pyenv.a)) && !executable.contains("/shims/"),
        "{executable}"
    );
    assert_eq!(status["pip"]["lock"]["state"], "current", "{status}");
    let (ran, _) = s.ok_with(&env, &p, &["exec", "--", "python3", "-c", WHICH]);
    assert_eq!(ran, format!("{} ['old']\n", Pyenv::minor(&pyenv.a)));

    // `pyenv local` as the user types it, in the project.
    let local = std::process::Command::new(pyenv.root.join("libexec/pyenv"))
        .args(["local", &pyenv.b])
        .current_dir(&p)
        .env_clear()
        .envs(env.iter().cloned())
        .succeeds();
    drop(local);
    let (ok, _, err) = s.run_with(&env, &p, &["lock", "--check"]);
    assert!(
        !ok && err.contains("stale: the interpreter changed"),
        "{err}"
    );
    assert!(err.contains("pyenv-guix lock"), "{err}");
    s.ok_with(&env, &p, &["lock"]);
    assert_eq!(locked(&s, "p").0, ["app 1.0", "new 1.0"], "for {}", pyenv.b);
    s.ok_with(&env, &p, &["lock", "--check"]);
    let (ran, _) = s.ok_with(&env, &p, &["exec", "--", "python3", "-c", WHICH]);
    assert_eq!(ran, format!("{} ['new']\n", Pyenv::minor(&pyenv.b)));
}

/// A real pyenv version into which uv was pip-installed (its `bin/uv`):
/// `None`, loudly, when there is none and tools are not required.
fn real_version_with_uv() -> Option<(PathBuf, String)> {
    let (real, _, _) = real_pyenv()?;
    let found = real
        .join("versions")
        .read_dir()
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|v| {
            let bin = real.join("versions").join(v).join("bin");
            bin.join("uv").is_file() && bin.join("python3").is_file()
        })
        .max();
    if let Some(v) = found {
        return Some((real, v));
    }
    let required = std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1")
        || std::env::var_os("CI").is_some_and(|v| v == "true");
    if required {
        panic!("no pyenv Python has uv installed (pip install uv into one)");
    }
    eprintln!("\n!!! SKIPPED: no pyenv Python has uv; the uv-behind-a-shim test did not run !!!\n");
    None
}

/// uv as a user of pyenv has it: pip-installed into a pyenv Python, so
/// the `uv` on PATH is a shim. The project selects that version
/// (`pyenv local`): `lock` runs uv (the binary behind the shim), resolves
/// for that Python, and the locked build is uv's.
#[test]
fn lock_with_uv_reached_through_a_pyenv_shim() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    let Some((real, version)) = real_version_with_uv() else {
        return;
    };
    let linked = pyenv.root.join("versions").join(&version);
    if !linked.exists() {
        std::os::unix::fs::symlink(real.join("versions").join(&version), &linked).unwrap();
    }
    let env = pyenv.env(&s);
    let p = s.path("p");
    let minor = Pyenv::minor(&version);
    marker_project(&s, "p", "uv", &minor);
    std::process::Command::new(pyenv.root.join("libexec/pyenv"))
        .args(["local", &version])
        .current_dir(&p)
        .env_clear()
        .envs(env.iter().cloned())
        .succeeds();
    s.ok_with(&env, &p, &["allow"]);
    pyenv.ran();
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    assert!(said.contains("with uv"), "{said}");
    assert!(
        pyenv.ran().contains("which uv"),
        "the uv shim was not resolved through pyenv"
    );
    let (packages, by) = locked(&s, "p");
    assert_eq!(by, "uv");
    assert_eq!(packages, ["app 1.0", "new 1.0"], "for {version}");
    s.ok_with(&env, &p, &["lock", "--check"]);
    let (_, built) = s.ok_with(&env, &p, &["rebuild"]);
    assert!(built.contains("(prefix mode, uv)"), "{built}");
    let (ran, _) = s.ok_with(&env, &p, &["exec", "--", "python3", "-c", WHICH]);
    assert_eq!(ran, format!("{minor} ['new']\n"));
}

/// A `.python-version` naming a version pyenv does not have: pyenv's
/// `python3` shim then runs the system's python3, silently. `status` says
/// what pyenv says, and what the shim runs instead.
#[test]
fn status_says_the_version_pyenv_does_not_have() {
    let s = Sandbox::new();
    let Some(pyenv) = Pyenv::new(&s) else { return };
    project(&s, "p", "pip");
    s.write("p/.python-version", "3.99.0\n");
    let env = pyenv.env(&s);
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let (text, _) = s.ok_with(&env, &s.path("p"), &["status"]);
    let missing = "version `3.99.0' is not installed";
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("pyenv "))
        .unwrap_or_default();
    assert!(
        line.contains(missing) && line.contains(" runs /usr/bin/python3"),
        "{text}"
    );
    let (json, _) = s.ok_with(&env, &s.path("p"), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let said = json["interpreter"]["pyenv"].as_str().unwrap_or_default();
    assert!(said.contains(missing), "{json}");
    // An installed version: nothing said.
    s.write("p/.python-version", &format!("{}\n", pyenv.a));
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let (json, _) = s.ok_with(&env, &s.path("p"), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json["interpreter"].get("pyenv").is_none(), "{json}");
}
