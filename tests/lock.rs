//! `pyenv-guix lock` and locked projects: the pip layer resolved once into
//! a PEP 751 `pylock.toml`, by pip or by uv, and built from exactly its
//! artefacts, checked against their hashes. Real pip and uv, wheels built
//! here, no network.

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use pyenv_guix::shells::ShellName;
use sha2::{Digest, Sha256};
use support::{Run, Sandbox, UserShell};

/// A project `rel` as a user would write it: a commented manifest, a
/// requirements file with a constraint file, and its own wheels directory
/// holding `alpha` 1.0 (a script; needs beta) and `beta` 2.0.
fn project(s: &Sandbox, rel: &str, installer: &str) {
    s.wheel_into(
        &format!("{rel}/wheels"),
        "alpha",
        "1.0",
        &["--script", "alpha", "--requires", "beta>=1"],
    );
    s.wheel_into(&format!("{rel}/wheels"), "beta", "2.0", &[]);
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!(
            "# The app's environment.\n[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\n# resolved by `pyenv-guix lock`\nrequirements = [\"requirements.txt\"]\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n"
        ),
    );
    s.write(
        &format!("{rel}/requirements.txt"),
        "# what the app needs\n-c constraints.txt\nalpha>=1  # the tool\n",
    );
    s.write(&format!("{rel}/constraints.txt"), "beta<4\n");
}

/// `lock --check` in `rel` fails, saying why the lock is stale.
fn check_says_stale(s: &Sandbox, rel: &str, why: &str) {
    let err = s.command(&["lock", "--check"], &s.path(rel)).fails();
    assert!(err.contains(&format!("is stale: {why}")), "{err}");
}

/// `rel`'s manifest with `installer` set to `to`, allowed.
fn switch_installer(s: &Sandbox, rel: &str, to: &str) {
    let manifest = std::fs::read_to_string(s.path(rel).join(".pyguix.toml")).unwrap();
    let installer = |i: &str| format!("installer = {i:?}");
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &manifest
            .replace(&installer("pip"), &installer(to))
            .replace(&installer("uv"), &installer(to)),
    );
    s.allow(rel);
}

fn path_with(dir: &Path) -> OsString {
    format!("{}:{}", dir.display(), support::system_path()).into()
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The lock's packages: (name, version, sha256 of each artefact).
fn locked(s: &Sandbox, rel: &str) -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(s.path(rel).join("pylock.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(doc["lock-version"].as_str(), Some("1.0"), "{text}");
    assert!(doc["created-by"].is_str(), "{text}");
    let mut out = Vec::new();
    for p in doc["packages"].as_array().unwrap() {
        let mut hashes = Vec::new();
        for w in p.get("wheels").and_then(|w| w.as_array()).unwrap() {
            assert!(w.get("url").or(w.get("path")).is_some(), "{text}");
            hashes.push(w["hashes"]["sha256"].as_str().unwrap().to_string());
        }
        out.push((
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
            hashes,
        ));
    }
    out.sort();
    out
}

/// The distributions installed in `rel`'s prefix, by their dist-info names.
fn dists(s: &Sandbox, rel: &str, path: &OsString) -> BTreeSet<String> {
    let out = s
        .command(&["prefix"], &s.path(rel))
        .env("PATH", path)
        .stdout_ok();
    let mut found = BTreeSet::new();
    collect(Path::new(out.trim()), 0, &mut found);
    found
}

fn collect(dir: &Path, depth: usize, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(dist) = name.strip_suffix(".dist-info") {
            out.insert(dist.to_string());
        } else if e.path().is_dir() && depth < 6 {
            collect(&e.path(), depth + 1, out);
        }
    }
}

fn the_lock_of_alpha_and_beta(s: &Sandbox, rel: &str) {
    let wheels = s.path(rel).join("wheels");
    assert_eq!(
        locked(s, rel),
        vec![
            (
                "alpha".to_string(),
                "1.0".to_string(),
                vec![sha256(&wheels.join("alpha-1.0-py3-none-any.whl"))]
            ),
            (
                "beta".to_string(),
                "2.0".to_string(),
                vec![sha256(&wheels.join("beta-2.0-py3-none-any.whl"))]
            ),
        ]
    );
}

#[test]
fn lock_with_pip_writes_pylock_and_names_it_in_the_manifest_which_stays_allowed() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    let (_, said) = s.ok_with(&s.env(), &s.path("p"), &["lock"]);
    assert!(said.contains("pylock.toml"), "{said}");
    the_lock_of_alpha_and_beta(&s, "p");
    let text = std::fs::read_to_string(s.path("p/pylock.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let ours = &doc["tool"]["pyenv-guix"];
    assert_eq!(ours["inputs"].as_str().map(str::len), Some(64), "{text}");

    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    assert!(
        manifest.contains("# resolved by `pyenv-guix lock`"),
        "{manifest}"
    );
    assert!(manifest.contains("# The app's environment."), "{manifest}");
    assert!(manifest.contains("lock = \"pylock.toml\""), "{manifest}");
    // Allowed before, allowed after: the lock and the manifest line were
    // the change asked for.
    let out = s
        .command(&["exec", "--", "alpha"], &s.path("p"))
        .stdout_ok();
    assert_eq!(out, "alpha 1.0\n");
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
}

#[test]
fn lock_with_uv_writes_the_same_packages_and_uv_installs_it() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    project(&s, "p", "uv");
    s.allow("p");
    s.command(&["lock"], &s.path("p"))
        .env("PATH", &path)
        .succeeds();
    let text = std::fs::read_to_string(s.path("p/pylock.toml")).unwrap();
    assert!(text.contains("created-by = \"uv\""), "{text}");
    the_lock_of_alpha_and_beta(&s, "p");
    let (_, built) = {
        let out = s
            .command(&["rebuild"], &s.path("p"))
            .env("PATH", &path)
            .succeeds();
        (
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(built.contains("(prefix mode, uv)"), "{built}");
    assert_eq!(
        dists(&s, "p", &path),
        BTreeSet::from(["alpha-1.0".to_string(), "beta-2.0".to_string()])
    );
    s.command(&["lock", "--check"], &s.path("p"))
        .env("PATH", &path)
        .succeeds();
}

#[test]
fn check_fails_on_a_missing_or_stale_lock_and_changes_nothing() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    let manifest_before = std::fs::read(s.path("p/.pyguix.toml")).unwrap();
    let err = s.command(&["lock", "--check"], &s.path("p")).fails();
    assert!(err.contains("no lock"), "{err}");
    assert!(!s.path("p/pylock.toml").exists());
    assert_eq!(
        std::fs::read(s.path("p/.pyguix.toml")).unwrap(),
        manifest_before
    );

    s.pyenv_guix(&["lock"], &s.path("p"));
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));

    // The requirements change after locking: stale, said, nothing written.
    s.write(
        "p/requirements.txt",
        "# what the app needs\n-c constraints.txt\nalpha>=1  # the tool\nbeta\n",
    );
    s.allow("p");
    let lock_before = std::fs::read(s.path("p/pylock.toml")).unwrap();
    check_says_stale(
        &s,
        "p",
        "the requirements changed since it was written; run 'pyenv-guix lock' to renew it",
    );
    assert_eq!(std::fs::read(s.path("p/pylock.toml")).unwrap(), lock_before);
    // An option too, with the requirements: both are named.
    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    s.write(
        "p/.pyguix.toml",
        &manifest.replace("\"--no-index\", ", "\"--no-index\", \"--prefer-binary\", "),
    );
    s.allow("p");
    check_says_stale(
        &s,
        "p",
        "the requirements and the pip options changed since",
    );
    s.write("p/.pyguix.toml", &manifest);
    s.allow("p");

    // The lock named in the manifest is gone: missing, said.
    std::fs::remove_file(s.path("p/pylock.toml")).unwrap();
    let err = s.command(&["lock", "--check"], &s.path("p")).fails();
    assert!(err.contains("pylock.toml"), "{err}");
}

#[test]
fn a_locked_build_installs_the_locked_versions_when_a_newer_wheel_appears() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.wheel_into("p/wheels", "beta", "3.0", &[]);
    s.allow("p");
    let path = s.env().into_iter().find(|(k, _)| k == "PATH").unwrap().1;
    assert_eq!(
        dists(&s, "p", &path),
        BTreeSet::from(["alpha-1.0".to_string(), "beta-2.0".to_string()])
    );
    // Unlocked, the same inputs resolve to the newer wheel.
    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    s.write(
        "p/.pyguix.toml",
        &manifest.replace("lock = \"pylock.toml\"", ""),
    );
    s.allow("p");
    assert!(dists(&s, "p", &path).contains("beta-3.0"));
}

#[test]
fn the_same_lock_is_the_same_prefix_in_two_projects() {
    let s = Sandbox::new();
    project(&s, "a", "pip");
    s.allow("a");
    s.pyenv_guix(&["lock"], &s.path("a"));
    // b asks differently (beta by name too), from a copy of a's wheels,
    // and has a's lock.
    s.write("b/wheels/.keep", "");
    for w in ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"] {
        std::fs::copy(s.path("a/wheels").join(w), s.path("b/wheels").join(w)).unwrap();
    }
    std::fs::remove_file(s.path("b/wheels/.keep")).unwrap();
    let manifest = std::fs::read_to_string(s.path("a/.pyguix.toml")).unwrap();
    s.write("b/.pyguix.toml", &manifest);
    s.write("b/requirements.txt", "alpha\nbeta>=2\n");
    s.write("b/constraints.txt", "");
    std::fs::copy(s.path("a/pylock.toml"), s.path("b/pylock.toml")).unwrap();
    s.allow("b");
    let a = s.command(&["prefix"], &s.path("a")).stdout_ok();
    let b = s.command(&["prefix"], &s.path("b")).stdout_ok();
    assert_eq!(a, b);
    // Without the lock, their requirements make two keys.
    s.write(
        "b/.pyguix.toml",
        &manifest.replace("lock = \"pylock.toml\"", ""),
    );
    s.allow("b");
    let b = s.command(&["prefix"], &s.path("b")).stdout_ok();
    assert_ne!(a, b);
}

#[test]
fn a_wheel_that_does_not_match_its_hash_fails_the_build_naming_it() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    // The same name and version, other code.
    s.wheel_into("p/wheels", "beta", "2.0", &["--origin", "tampered"]);
    s.allow("p");
    let err = s.command(&["prefix"], &s.path("p")).fails();
    assert!(err.contains("beta-2.0-py3-none-any.whl"), "{err}");
    assert!(err.contains("sha256"), "{err}");
    // Nothing is activated.
    let out = s
        .command(
            &["exec", "--", "python3", "-c", "import beta"],
            &s.path("p"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let prefixes = s.path("cache/prefixes");
    let built: Vec<_> = std::fs::read_dir(&prefixes)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !built.iter().any(|n| n.to_string_lossy().len() == 64),
        "{built:?}"
    );
}

/// HOLE (attack pass): pip checks a locked file's hash, then opens it
/// again to install it, and it read the project's own files: a wheel
/// swapped in between (a loop renaming another over it) was installed in
/// 3 of 60 builds, and its prefix kept under the lock's key for every
/// project with that lock. pip now reads only copies in the stage, each
/// hashed as it was made; the project's directory is not one it searches.
#[test]
fn pip_installs_a_lock_from_copies_checked_as_they_were_made() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.allow("p");
    let out = s.command(&["rebuild"], &s.path("p")).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let processed: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("Processing "))
        .collect();
    assert_eq!(processed.len(), 2, "{said}");
    for line in processed {
        assert!(line.starts_with("Processing ./locked/"), "{said}");
    }
    let project = s.path("p").display().to_string();
    let searched = said.lines().filter(|l| l.starts_with("Looking in links"));
    assert!(searched.clone().count() > 0, "{said}");
    assert!(searched.clone().all(|l| !l.contains(&project)), "{said}");
}

#[test]
fn an_edit_to_the_lock_blocks_the_project_until_allowed() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.command(&["exec", "--", "true"], &s.path("p")).succeeds();
    let text = std::fs::read_to_string(s.path("p/pylock.toml")).unwrap();
    s.write("p/pylock.toml", &format!("{text}\n# edited\n"));
    let err = s.command(&["exec", "--", "true"], &s.path("p")).fails();
    assert!(
        err.contains("pylock.toml changed since it was allowed"),
        "{err}"
    );
    s.allow("p");
    s.command(&["exec", "--", "true"], &s.path("p")).succeeds();
}

#[test]
fn lock_keeps_what_is_locked_and_upgrades_only_what_it_is_asked_to() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.wheel_into("p/wheels", "alpha", "1.1", &["--requires", "beta>=1"]);
    s.wheel_into("p/wheels", "beta", "3.0", &[]);
    s.allow("p");
    let versions = |s: &Sandbox| -> Vec<(String, String)> {
        locked(s, "p").into_iter().map(|(n, v, _)| (n, v)).collect()
    };
    let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
    // Locking again keeps the versions locked, newer wheels or not.
    s.pyenv_guix(&["lock"], &s.path("p"));
    assert_eq!(versions(&s), [pair("alpha", "1.0"), pair("beta", "2.0")]);
    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let err = said(s.pyenv_guix(&["lock", "--upgrade-package", "beta"], &s.path("p")));
    assert_eq!(versions(&s), [pair("alpha", "1.0"), pair("beta", "3.0")]);
    assert!(err.contains("changed: beta 2.0 -> 3.0\n"), "{err}");
    let err = said(s.pyenv_guix(&["lock", "--upgrade"], &s.path("p")));
    assert_eq!(versions(&s), [pair("alpha", "1.1"), pair("beta", "3.0")]);
    assert!(err.contains("changed: alpha 1.0 -> 1.1\n"), "{err}");
    let err = said(s.pyenv_guix(&["lock"], &s.path("p")));
    assert!(err.contains("no package changed version"), "{err}");
    // A name the lock does not hold (a typo) moves nothing: refused.
    let before = std::fs::read(s.path("p/pylock.toml")).unwrap();
    let err = s
        .command(&["lock", "--upgrade-package", "Bta"], &s.path("p"))
        .fails();
    assert!(
        err.contains(
            "--upgrade-package Bta: the lock holds no such package (it holds alpha, beta)"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(s.path("p/pylock.toml")).unwrap(), before);
    s.pyenv_guix(&["lock", "--upgrade-package", "BETA"], &s.path("p"));
    // A requirement the locked versions no longer fit is resolved afresh.
    // The resolver's "no solution" to the locked versions is not shown:
    // the command did not fail.
    s.write("p/constraints.txt", "beta<3\n");
    s.allow("p");
    let err = said(s.pyenv_guix(&["lock"], &s.path("p")));
    assert_eq!(versions(&s), [pair("alpha", "1.1"), pair("beta", "2.0")]);
    assert!(
        err.contains("resolving afresh") && !err.to_lowercase().contains("error"),
        "{err}"
    );
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
}

/// A lock is a lock whoever wrote it: uv's is installed by pip, and pip's by uv.
#[test]
fn a_lock_by_one_installer_is_installed_by_the_other() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for (rel, by, installs) in [("a", "uv", "pip"), ("b", "pip", "uv")] {
        project(&s, rel, by);
        s.allow(rel);
        s.command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        let manifest = std::fs::read_to_string(s.path(rel).join(".pyguix.toml")).unwrap();
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &manifest.replace(
                &format!("installer = {by:?}"),
                &format!("installer = {installs:?}"),
            ),
        );
        s.allow(rel);
        let out = s
            .command(&["rebuild"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("(prefix mode, {installs})")),
            "{said}"
        );
        assert_eq!(
            dists(&s, rel, &path),
            BTreeSet::from(["alpha-1.0".to_string(), "beta-2.0".to_string()]),
            "{rel}"
        );
    }
}

/// A requirement continued over lines (`\\` inside it, as pip-compile and
/// hand-written files have), with its hash on the next line: pip joins
/// the lines, uv does not, so uv resolves from a copy pip's way.
#[test]
fn a_requirement_continued_over_lines_locks_with_either_resolver() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for (rel, by) in [("a", "uv"), ("b", "pip")] {
        project(&s, rel, by);
        let hash = |w: &str| sha256(&s.path(rel).join(format!("wheels/{w}-py3-none-any.whl")));
        let (alpha, beta) = (hash("alpha-1.0"), hash("beta-2.0"));
        s.write(
            &format!("{rel}/requirements.txt"),
            &format!(
                "# what the app needs\n-c constraints.txt\nalpha==1.0 \\\n    ; python_version >= \"3\" \\\n    --hash=sha256:{alpha}\nbeta==2.0 \\\n    --hash=sha256:{beta}\n"
            ),
        );
        s.allow(rel);
        s.command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        the_lock_of_alpha_and_beta(&s, rel);
    }
}

/// The lock of `project`, then its requirements asking for a newer beta
/// than the lock has (the index has one): a stale lock.
fn stale_project(s: &Sandbox, rel: &str) {
    project(s, rel, "pip");
    s.allow(rel);
    s.pyenv_guix(&["lock"], &s.path(rel));
    s.wheel_into(&format!("{rel}/wheels"), "beta", "3.0", &[]);
    s.write(
        &format!("{rel}/requirements.txt"),
        "# what the app needs\n-c constraints.txt\nalpha>=1  # the tool\nbeta>=3\n",
    );
    s.allow(rel);
}

const BETA_VERSION: &str =
    "python3 -c \"import importlib.metadata as m; print('beta', m.version('beta'))\"";

#[test]
fn entering_a_stale_lock_says_so_once_and_builds_from_the_lock_as_it_is() {
    let sh = ShellName::Bash;
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    stale_project(&s, "p");
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", support::quote(s.path("p").as_os_str())),
        BETA_VERSION.to_string(),
        "true".into(),
        "cd .".into(),
        "alpha".into(),
    ];
    let out = s.interactive(sh, &s.path("p/.."), &s.env(), &lines);
    assert!(out.contains("beta 2.0"), "built from the lock: {out}");
    assert!(out.contains("alpha 1.0"), "{out}");
    let said = "pylock.toml is stale";
    assert_eq!(out.matches(said).count(), 1, "said once: {out}");
    assert!(out.contains("run 'pyenv-guix lock' to renew it"), "{out}");
}

#[test]
fn with_pyenv_guix_locked_a_stale_lock_activates_nothing_and_names_the_lock() {
    let sh = ShellName::Bash;
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    stale_project(&s, "p");
    let mut env = s.env();
    env.push(("PYENV_GUIX_LOCKED".into(), "1".into()));
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", support::quote(s.path("p").as_os_str())),
        "dump in-p".into(),
        "echo still-working".into(),
    ];
    let out = s.interactive(sh, &s.path("p/.."), &env, &lines);
    let lock = s.path("p/pylock.toml");
    assert!(
        out.contains(&format!("error: {} is stale", lock.display())),
        "{out}"
    );
    assert!(out.contains("PYENV_GUIX_LOCKED=1"), "{out}");
    assert!(out.contains("still-working"), "{out}");
    let d = s.dump("in-p");
    assert_eq!(d.get("PYENV_GUIX_ROOT"), None, "nothing is active");
    assert_eq!(d.get("PYENV_GUIX_PREFIX"), None, "nothing is active");
    // A script (CI) fails the same way; without the variable it runs.
    let (ok, _, err) = s.run_with(&env, &s.path("p"), &["exec", "--", "alpha"]);
    assert!(!ok && err.contains("pylock.toml is stale"), "{err}");
    let out = s
        .command(&["exec", "--", "alpha"], &s.path("p"))
        .stdout_ok();
    assert_eq!(out, "alpha 1.0\n");
}

#[test]
fn status_shows_the_lock_its_state_and_packages_and_doctor_a_stale_one() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    let json = |s: &Sandbox| -> serde_json::Value {
        let out = s.command(&["status", "--json"], &s.path("p")).stdout_ok();
        serde_json::from_str(&out).unwrap()
    };
    assert_eq!(json(&s)["pip"]["lock"], serde_json::Value::Null);
    s.pyenv_guix(&["lock"], &s.path("p"));
    let lock = s.path("p/pylock.toml").display().to_string();
    let v = json(&s);
    assert_eq!(v["pip"]["lock"]["file"], lock.as_str(), "{v}");
    assert_eq!(v["pip"]["lock"]["state"], "current", "{v}");
    assert_eq!(
        v["pip"]["lock"]["packages"],
        serde_json::json!([
            {"name": "alpha", "version": "1.0"},
            {"name": "beta", "version": "2.0"}
        ]),
        "{v}"
    );
    let text = s.command(&["status"], &s.path("p")).stdout_ok();
    assert!(
        text.contains(&format!("lock         {lock} (current)")),
        "{text}"
    );
    // The key's line for each locked package is counted, not printed:
    // `locks` names them, and `--json` has each line.
    assert!(text.contains("    locked (2: each by name"), "{text}");
    assert!(!text.contains("    locked alpha"), "{text}");
    let inputs = json(&s)["pip"]["prefix"]["inputs"].to_string();
    assert!(inputs.contains("locked alpha 1.0"), "{inputs}");
    assert!(text.contains("alpha 1.0"), "{text}");
    let (_, doctor, _) = s.run_with(&s.env(), &s.path("p"), &["doctor"]);
    assert!(!doctor.contains("stale"), "{doctor}");

    s.write(
        "p/requirements.txt",
        "# what the app needs\n-c constraints.txt\nalpha>=1  # the tool\nbeta\n",
    );
    s.allow("p");
    assert_eq!(json(&s)["pip"]["lock"]["state"], "stale");
    let text = s.command(&["status"], &s.path("p")).stdout_ok();
    assert!(
        text.contains(&format!("lock         {lock} (stale)")),
        "{text}"
    );
    assert!(text.contains("run 'pyenv-guix lock' to renew it"), "{text}");
    let (_, doctor, _) = s.run_with(&s.env(), &s.path("p"), &["doctor"]);
    assert!(doctor.contains(&format!("{lock} is stale")), "{doctor}");
    assert!(doctor.contains("pyenv-guix lock"), "{doctor}");

    // Gone: the project is blocked (trust covers the lock), and status
    // says the lock is missing without reading anything.
    std::fs::remove_file(s.path("p/pylock.toml")).unwrap();
    assert_eq!(json(&s)["pip"]["lock"]["state"], "missing");
    // There again, changed: still blocked, so status reads nothing and
    // cannot tell.
    s.write("p/pylock.toml", "not = [a lock\n");
    let v = json(&s);
    assert_eq!(v["pip"]["lock"]["state"], "unknown", "{v}");
    assert!(
        v["pip"]["lock"]["why"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{v}"
    );
}

#[test]
fn init_from_requirements_with_lock_writes_the_manifest_and_the_lock_at_once() {
    let s = Sandbox::new();
    s.wheel_into(
        "p/wheels",
        "alpha",
        "1.0",
        &["--script", "alpha", "--requires", "beta>=1"],
    );
    s.wheel_into("p/wheels", "beta", "2.0", &[]);
    s.write(
        "p/requirements.txt",
        "# the app\n--no-index\n--find-links wheels\nalpha>=1\n",
    );
    let mut env = s.env();
    env.retain(|(k, _)| k != "PYENV_GUIX_GUIX");
    env.push(("PYENV_GUIX_GUIX".into(), "/nonexistent/guix".into()));
    let (_, said) = s.ok_with(
        &env,
        &s.path("p"),
        &["init", "--from", "requirements.txt", "--lock"],
    );
    assert!(said.contains("pylock.toml"), "{said}");
    // Said once, with what the user does next.
    assert_eq!(said.matches("wrote ").count(), 2, "{said}");
    assert_eq!(said.matches("run 'pyenv-guix allow'").count(), 1, "{said}");
    the_lock_of_alpha_and_beta(&s, "p");
    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    assert!(manifest.contains("lock = \"pylock.toml\""), "{manifest}");
    // Still for the user to review: init allows nothing.
    let (ok, _, err) = s.run_with(&env, &s.path("p"), &["exec", "--", "true"]);
    assert!(!ok && err.contains("not allowed"), "{err}");
    s.ok_with(&env, &s.path("p"), &["allow"]);
    s.ok_with(&env, &s.path("p"), &["lock", "--check"]);
}

/// A requirements file with no options, its index given to init: the
/// manifest names them in [pip].options, and the lock is made with them.
#[test]
fn init_writes_the_pip_options_it_is_given_and_locks_with_them() {
    let s = Sandbox::new();
    s.wheel_into("p/wheels", "alpha", "1.0", &["--requires", "beta>=1"]);
    s.wheel_into("p/wheels", "beta", "2.0", &[]);
    s.write("p/requirements.txt", "alpha>=1\n");
    let mut env = s.env();
    env.retain(|(k, _)| k != "PYENV_GUIX_GUIX");
    env.push(("PYENV_GUIX_GUIX".into(), "/nonexistent/guix".into()));
    let p = s.path("p");
    // What pyenv-guix decides itself is refused, and nothing is written.
    for bad in ["--target=/elsewhere", "--find-l=wheels", "-qfwheels"] {
        let (ok, _, err) = s.run_with(
            &env,
            &p,
            &[
                "init",
                "--from",
                "requirements.txt",
                &format!("--pip-option={bad}"),
            ],
        );
        assert!(
            !ok && err.contains("error: --pip-option") && err.contains(bad),
            "{err}"
        );
        assert!(!p.join(".pyguix.toml").exists(), "{bad}");
    }
    let (_, said) = s.ok_with(
        &env,
        &p,
        &[
            "init",
            "--from",
            "requirements.txt",
            "--pip-option=--no-index",
            "--pip-option",
            "--find-links",
            "--pip-option",
            "wheels",
            "--lock",
        ],
    );
    assert!(
        said.contains("locked 2 packages into pylock.toml"),
        "{said}"
    );
    the_lock_of_alpha_and_beta(&s, "p");
    let manifest = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    assert!(
        manifest.contains("options = [\"--no-index\", \"--find-links\", \"wheels\"]\n"),
        "{manifest}"
    );
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["lock", "--check"]);
    let (ran, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import alpha, beta; print('ok')",
        ],
    );
    assert_eq!(ran, "ok\n");
}

#[test]
fn promote_and_pin_say_the_lock_they_make_stale() {
    let s = Sandbox::new();
    s.write(
        "guix-catalogue",
        "python-six 1.16.0 gnu/packages/python-xyz.scm\n",
    );
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.wheel_into("p/wheels", "six", "1.16.0", &[]);
    s.wheel_into("p/wheels", "alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"six==1.16.0\", \"alpha\"]\ninstaller = \"pip\"\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n",
    );
    let p = s.path("p");
    s.allow("p");
    // A fresh lock, then `command`: it says the lock is now stale, and
    // `lock --check` agrees.
    let makes_stale = |command: &str| {
        s.pyenv_guix(&["lock"], &p);
        s.pyenv_guix(&["lock", "--check"], &p);
        let out = s.pyenv_guix(&[command], &p);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("pylock.toml is now stale: run 'pyenv-guix lock'"),
            "{command}: {said}"
        );
        let err = s.command(&["lock", "--check"], &p).fails();
        assert!(err.contains("stale: the Guix profile"), "{command}: {err}");
    };
    makes_stale("promote");
    makes_stale("pin");
    // Pinning again to the same channels changes nothing: nothing said.
    s.pyenv_guix(&["lock"], &p);
    let out = s.pyenv_guix(&["pin"], &p);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("stale"), "{said}");
    s.pyenv_guix(&["lock", "--check"], &p);
}

/// `secret` 1.0, built outside the project `p` (in `outside/`), whose
/// module holds a text found nowhere else: its wheel's path and bytes.
fn secret_outside(s: &Sandbox) -> (std::path::PathBuf, Vec<u8>) {
    s.wheel_into("outside", "secret", "1.0", &["--origin", SECRET_TEXT]);
    let wheel = s.path("outside/secret-1.0-py3-none-any.whl");
    let bytes = std::fs::read(&wheel).unwrap();
    (wheel, bytes)
}

const SECRET_TEXT: &str = "not-for-the-project-7f3a";

/// `rel`'s lock with one more package, `secret` 1.0, at `path` as the lock
/// spells it, with the true sha256 of `bytes` (whoever wrote the lock knew
/// the file).
fn lock_naming(s: &Sandbox, rel: &str, path: &str, bytes: &[u8]) {
    let file = s.path(rel).join("pylock.toml");
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry: toml::Table = toml::from_str(&format!(
        "name = \"secret\"\nversion = \"1.0\"\nwheels = [{{ name = \"secret-1.0-py3-none-any.whl\", path = {path:?}, hashes = {{ sha256 = \"{sha}\" }} }}]\n"
    ))
    .unwrap();
    doc["packages"]
        .as_array_mut()
        .unwrap()
        .push(toml::Value::Table(entry));
    std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
}

/// Whether any file under `dir` holds `bytes`, or `text` inside it.
fn holds(dir: &Path, bytes: &[u8], text: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            if let Some(found) = holds(&path, bytes, text) {
                return Some(found);
            }
        } else if meta.is_file() {
            let content = std::fs::read(&path).unwrap_or_default();
            if content == bytes || content.windows(text.len()).any(|w| w == text.as_bytes()) {
                return Some(path);
            }
        }
    }
    None
}

/// After a refused build: `secret` is not importable, and nothing of
/// pyenv-guix's (cache, data) or pip's (home) holds a copy of it.
fn nothing_of_the_secret(s: &Sandbox, rel: &str, bytes: &[u8]) {
    let out = s
        .command(
            &["exec", "--", "python3", "-c", "import secret"],
            &s.path(rel),
        )
        .output()
        .unwrap();
    assert!(!out.status.success(), "the secret was installed");
    for dir in ["cache", "data", "home"] {
        assert_eq!(holds(&s.path(dir), bytes, SECRET_TEXT), None, "{dir}");
    }
}

/// A lock's relative path that climbs out of the project (`../`) is
/// refused, naming the lock, the package and the path; nothing outside
/// is read or installed. (An absolute path is the user's to name.)
#[test]
fn a_locks_relative_path_out_of_the_project_is_refused() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    let (wheel, bytes) = secret_outside(&s);
    let as_locked = std::fs::read(s.path("p/pylock.toml")).unwrap();
    let planted = "../outside/secret-1.0-py3-none-any.whl";
    lock_naming(&s, "p", planted, &bytes);
    let (allowed, _, said) = s.run_with(&s.env(), &s.path("p"), &["allow"]);
    let err = if allowed {
        s.command(&["prefix"], &s.path("p")).fails()
    } else {
        said
    };
    let lock = s.path("p/pylock.toml");
    assert!(err.contains(&lock.display().to_string()), "{err}");
    assert!(err.contains("\"secret\""), "{err}");
    assert!(err.contains(planted), "{err}");
    assert!(err.contains("outside the project"), "{err}");
    nothing_of_the_secret(&s, "p", &bytes);

    // The same file by its absolute path: named by the user, allowed.
    std::fs::write(s.path("p/pylock.toml"), &as_locked).unwrap();
    lock_naming(&s, "p", wheel.to_str().unwrap(), &bytes);
    s.allow("p");
    s.command(
        &["exec", "--", "python3", "-c", "import secret"],
        &s.path("p"),
    )
    .succeeds();
}

/// A link planted in the project (`vendor -> ../outside`) makes an
/// innocent relative path lead out: `allow` refuses the lock, naming the
/// lock, the package and the path, and trusts nothing; a link planted
/// after the lock was allowed is refused when the build would read the
/// file. Nothing outside is read: nothing is activated and no copy made.
#[test]
fn a_link_in_the_project_does_not_lead_a_lock_out_of_it() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    let (wheel, bytes) = secret_outside(&s);
    std::os::unix::fs::symlink(s.path("outside"), s.path("p/vendor")).unwrap();
    let planted = "vendor/secret-1.0-py3-none-any.whl";
    lock_naming(&s, "p", planted, &bytes);
    let lock = s.path("p/pylock.toml");
    let names_all = |err: &str| {
        assert!(err.contains(&lock.display().to_string()), "{err}");
        assert!(err.contains("\"secret\""), "{err}");
        assert!(err.contains(planted), "{err}");
        assert!(err.contains("outside the project"), "{err}");
    };
    let (allowed, _, err) = s.run_with(&s.env(), &s.path("p"), &["allow"]);
    assert!(!allowed, "allowed a lock leading out: {err}");
    names_all(&err);
    let out = s.command(&["status", "--json"], &s.path("p")).stdout_ok();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(v["trust"], "allowed", "{v}");
    let err = s.command(&["prefix"], &s.path("p")).fails();
    assert!(
        err.contains("not allowed") || err.contains("blocked"),
        "{err}"
    );
    nothing_of_the_secret(&s, "p", &bytes);

    // The same lock, allowed while `vendor` is the project's own directory
    // (the file inside it); the link planted after: the project is
    // blocked before anything is read, and `allow` says why.
    std::fs::remove_file(s.path("p/vendor")).unwrap();
    std::fs::create_dir(s.path("p/vendor")).unwrap();
    std::fs::copy(&wheel, s.path("p").join(planted)).unwrap();
    s.allow("p");
    std::fs::remove_dir_all(s.path("p/vendor")).unwrap();
    std::os::unix::fs::symlink(s.path("outside"), s.path("p/vendor")).unwrap();
    let err = s.command(&["prefix"], &s.path("p")).fails();
    assert!(err.contains("blocked"), "{err}");
    // The block says why the lock cannot be used, not only that it changed.
    for named in ["pylock.toml", "\"secret\"", planted, "outside the project"] {
        assert!(err.contains(named), "{named} not in: {err}");
    }
    let (allowed, _, err) = s.run_with(&s.env(), &s.path("p"), &["allow"]);
    assert!(!allowed, "{err}");
    names_all(&err);
    std::fs::remove_file(s.path("p/vendor")).unwrap();
    nothing_of_the_secret(&s, "p", &bytes);
}

/// `--check` recomputes what the lock was made from, and also tells a
/// lock whose packages were edited by hand (a merge, a package dropped)
/// from one `lock` wrote, though the inputs it records still match; a
/// lock only written out again, the same packages, is up to date.
#[test]
fn check_fails_on_a_lock_whose_packages_were_edited_by_hand() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    let file = s.path("p/pylock.toml");
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // Reformatted, the same packages: still the lock `lock` wrote.
    std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
    s.allow("p");
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
    // beta dropped by hand: the inputs still match, the packages do not.
    doc["packages"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["name"].as_str() != Some("beta"));
    std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
    s.allow("p");
    let before = std::fs::read(&file).unwrap();
    let err = s.command(&["lock", "--check"], &s.path("p")).fails();
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("edited"), "{err}");
    assert!(err.contains("pyenv-guix lock"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "--check wrote");
    // Locked again: up to date.
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
    // A lock with no record of its packages (an older pyenv-guix's): said.
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["tool"]["pyenv-guix"]
        .as_table_mut()
        .unwrap()
        .remove("packages");
    std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
    s.allow("p");
    let err = s.command(&["lock", "--check"], &s.path("p")).fails();
    assert!(err.contains("no record of the packages"), "{err}");
}

/// Every `*.dist-info/RECORD` under `dir`, by its path relative to `dir`.
fn records(dir: &Path, at: &Path, out: &mut std::collections::BTreeMap<String, Vec<String>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            records(&path, at, out);
        } else if path.file_name().is_some_and(|n| n == "RECORD")
            && path
                .parent()
                .is_some_and(|d| d.to_string_lossy().ends_with(".dist-info"))
        {
            let rel = path.strip_prefix(at).unwrap().display().to_string();
            // uv writes into each dist it installs from a local file
            // `uv_cache.json`, the file's change time (ctime, which no
            // one can set), to tell later whether the source changed:
            // the one file of uv's that differs from build to build, so
            // its line is left out, and only its.
            let lines: Vec<String> = (std::fs::read_to_string(&path).unwrap().lines())
                .filter(|l| !l.contains(".dist-info/uv_cache.json,"))
                .map(String::from)
                .collect();
            out.insert(rel, lines);
        }
    }
}

/// One lock, built on "two machines": two fresh cache, data and home
/// directories, and the project at two paths. The same prefix key, and
/// every dist's RECORD the same, line for line: each installed file by
/// path, sha256 and size, alpha's console script too (its shebang names
/// the interpreter, not the prefix). Bytecode (`.pyc`) embeds the path it
/// was compiled at, so RECORD names it with no hash, the same on both.
/// By pip, and by uv when it is here.
#[test]
fn one_lock_builds_the_same_key_and_records_in_two_fresh_caches() {
    let s = Sandbox::new();
    let uv = s.uv_dir();
    for installer in ["pip", "uv"] {
        let Some(path) = (match installer {
            "pip" => Some(OsString::from(support::system_path())),
            _ => uv.as_deref().map(path_with),
        }) else {
            continue;
        };
        let a = format!("{installer}-a");
        let b = format!("{installer}-b");
        project(&s, &a, installer);
        s.allow(&a);
        s.command(&["lock"], &s.path(&a))
            .env("PATH", &path)
            .succeeds();
        // The other machine: a checkout of the project, lock and all.
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(s.path(&a))
            .arg(s.path(&b))
            .output()
            .unwrap();
        support::succeeded_as("cp", &copied);
        let mut built = Vec::new();
        for rel in [&a, &b] {
            let mut env = s.env();
            for (k, v) in env.iter_mut() {
                let fresh = |d: &str| s.path(&format!("machine-{rel}/{d}")).into_os_string();
                match k.to_str() {
                    Some("PATH") => *v = path.clone(),
                    Some("PYENV_GUIX_CACHE_DIR") => *v = fresh("cache"),
                    Some("PYENV_GUIX_DATA_DIR") => *v = fresh("data"),
                    Some("HOME") => *v = fresh("home"),
                    _ => {}
                }
            }
            std::fs::create_dir_all(s.path(&format!("machine-{rel}/home"))).unwrap();
            s.ok_with(&env, &s.path(rel), &["allow"]);
            let (prefix, _) = s.ok_with(&env, &s.path(rel), &["prefix"]);
            let prefix = std::path::PathBuf::from(prefix.trim());
            let key = prefix.file_name().unwrap().to_string_lossy().into_owned();
            let mut found = std::collections::BTreeMap::new();
            records(&prefix, &prefix, &mut found);
            built.push((key, found));
        }
        let (key_a, records_a) = &built[0];
        let (key_b, records_b) = &built[1];
        assert_eq!(key_a, key_b, "{installer}: two keys for one lock");
        assert_eq!(records_a.len(), 2, "{installer}: {records_a:?}");
        for (name, lines) in records_a {
            let hashed = lines.iter().filter(|l| l.contains(",sha256=")).count();
            assert!(hashed >= 4, "{installer} {name}: {lines:?}");
        }
        assert_eq!(records_a, records_b, "{installer}");
    }
}

/// The project's find-links directory gains a wheel of a locked version
/// that fits the interpreter better (`py311` before `py3`) after locking:
/// the build still installs the locked file, not the newcomer (which pip
/// would take first, then refuse by its hash).
#[test]
fn a_better_fitting_wheel_of_a_locked_version_does_not_stop_the_build() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.wheel_into("other", "beta", "2.0", &["--origin", "stranger"]);
    let minor = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import sys; print(sys.version_info[1])"])
        .output()
        .unwrap();
    let minor = String::from_utf8(minor.stdout).unwrap();
    std::fs::copy(
        s.path("other/beta-2.0-py3-none-any.whl"),
        s.path(&format!(
            "p/wheels/beta-2.0-py3{}-none-any.whl",
            minor.trim()
        )),
    )
    .unwrap();
    s.allow("p");
    let out = s
        .command(
            &[
                "exec",
                "--",
                "python3",
                "-c",
                "import beta; print(beta.ORIGIN)",
            ],
            &s.path("p"),
        )
        .stdout_ok();
    assert_eq!(out, "wheel\n");
}

/// A PEP 517/660 build backend kept in the project (`backend-path`): pip
/// and uv build it with nothing from an index. Its metadata needs beta.
const BACKEND: &str = r#"
import base64, hashlib, os, zipfile

NAME, VERSION = "webthing", "0.1"
DIST = f"{NAME}-{VERSION}.dist-info"
METADATA = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nRequires-Dist: beta>=1\nProvides-Extra: cli\nRequires-Dist: gamma; extra == \"cli\"\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

def _wheel(directory, files):
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    files = dict(files, **{f"{DIST}/METADATA": METADATA, f"{DIST}/WHEEL": WHEEL})
    record = []
    with zipfile.ZipFile(os.path.join(directory, name), "w") as z:
        for path, text in files.items():
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{DIST}/RECORD,,")
        z.writestr(f"{DIST}/RECORD", "\n".join(record) + "\n")
    return name

def build_wheel(directory, config_settings=None, metadata_directory=None):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src", NAME, "__init__.py")
    return _wheel(directory, {f"{NAME}/__init__.py": open(src).read()})

def build_editable(directory, config_settings=None, metadata_directory=None):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src")
    return _wheel(directory, {f"_{NAME}_editable.pth": src + "\n"})
"#;

const PYPROJECT: &str = "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"webthing\"\nversion = \"0.1\"\ndependencies = [\"beta>=1\"]\n\n[project.optional-dependencies]\ncli = [\"gamma\"]\n";

/// A project `rel` that installs itself editable, as real ones do: its
/// requirements file has `-e .` and `-r` of a file of pins with their
/// hashes, continued over lines; its wheels are in the project.
fn editable_project(s: &Sandbox, rel: &str, installer: &str) {
    s.wheel_into(&format!("{rel}/wheels"), "beta", "1.0", &[]);
    let beta = s
        .wheel_into(&format!("{rel}/wheels"), "beta", "2.0", &[])
        .join("beta-2.0-py3-none-any.whl");
    s.write(&format!("{rel}/backend.py"), BACKEND);
    s.write(&format!("{rel}/pyproject.toml"), PYPROJECT);
    s.write(
        &format!("{rel}/src/webthing/__init__.py"),
        "VALUE = 'from source'\n",
    );
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nrequirements = [\"requirements.txt\"]\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n"
        ),
    );
    s.write(
        &format!("{rel}/requirements.txt"),
        "# the app itself, editable, and what it runs on\n-e .\n-r requirements/pinned.txt\n",
    );
    s.write(
        &format!("{rel}/requirements/pinned.txt"),
        &format!(
            "# pinned by hand, every package by its hash\n--require-hashes\nbeta==2.0 \\\n    --hash=sha256:{}\n",
            sha256(&beta)
        ),
    );
}

/// The lock's entry for the project itself, as uv writes it: a directory,
/// editable, at the project's root; and beta locked by its file's hash.
fn locks_the_project_editable(s: &Sandbox, rel: &str) {
    let text = std::fs::read_to_string(s.path(rel).join("pylock.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let me = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("webthing"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(me["directory"]["path"].as_str(), Some("."), "{text}");
    assert_eq!(me["directory"]["editable"].as_bool(), Some(true), "{text}");
    assert!(me.get("wheels").is_none(), "{text}");
    let beta = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("beta"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(beta["version"].as_str(), Some("2.0"), "{text}");
    let wheel = s.path(rel).join("wheels/beta-2.0-py3-none-any.whl");
    assert_eq!(
        beta["wheels"][0]["hashes"]["sha256"].as_str(),
        Some(sha256(&wheel).as_str()),
        "{text}"
    );
}

const IMPORTS_BOTH: &str = "import webthing, beta; print(webthing.VALUE, beta.__version__)";

/// An editable project locks by pip and by uv: every dependency by hash,
/// the project as an editable directory. Each lock builds by pip and by
/// uv (the project installed editable after the hashed install), imports
/// the project and its locked dependency, and sees an edit to the source
/// with no rebuild.
#[test]
fn an_editable_project_locks_and_builds_by_either_installer() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for (rel, by) in [("a", "pip"), ("b", "uv")] {
        editable_project(&s, rel, by);
        s.allow(rel);
        let out = s
            .command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(&format!("with {by}")), "{said}");
        locks_the_project_editable(&s, rel);
        s.command(&["lock", "--check"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        // status shows the project the lock installs editable, as it is.
        let out = s.command(&["status", "--json"], &s.path(rel)).stdout_ok();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["pip"]["lock"]["editable"],
            serde_json::json!([{"name": "webthing", "path": "."}]),
            "{v}"
        );
        let out = s.command(&["status"], &s.path(rel)).stdout_ok();
        assert!(out.contains("  editable   webthing (.)"), "{out}");
        for installs in ["pip", "uv"] {
            switch_installer(&s, rel, installs);
            let built = s
                .command(&["rebuild"], &s.path(rel))
                .env("PATH", &path)
                .succeeds();
            let said = String::from_utf8_lossy(&built.stderr);
            assert!(
                said.contains(&format!("(prefix mode, {installs})")),
                "{rel} {installs}: {said}"
            );
            s.write(
                &format!("{rel}/src/webthing/__init__.py"),
                &format!("VALUE = 'from source {installs}'\n"),
            );
            let out = s
                .command(&["exec", "--", "python3", "-c", IMPORTS_BOTH], &s.path(rel))
                .env("PATH", &path)
                .stdout_ok();
            assert_eq!(out, format!("from source {installs} 2.0\n"), "{rel}");
        }
    }
}

/// `[pip] editable = [".[cli]"]` in a project whose path has a space:
/// both resolvers read the project (uv takes no quotes after `-e`), the
/// lock holds what the extra brings, and a build by either installer
/// imports it.
#[test]
fn an_editable_project_with_extras_at_a_path_with_a_space_locks_and_builds() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for (rel, by) in [("my app/a", "pip"), ("my app/b", "uv")] {
        editable_project(&s, rel, by);
        s.wheel_into(&format!("{rel}/wheels"), "gamma", "3.0", &[]);
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &format!(
                "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\neditable = [\".[cli]\"]\ninstaller = {by:?}\noptions = [\"--no-index\", \"--find-links\", \"wheels\"]\n"
            ),
        );
        s.allow(rel);
        s.command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .succeeds();
        let text = std::fs::read_to_string(s.path(rel).join("pylock.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let names: Vec<&str> = (doc["packages"].as_array().unwrap().iter())
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["beta", "gamma", "webthing"], "{rel}");
        locks_the_project_editable(&s, rel);
        for installs in ["pip", "uv"] {
            switch_installer(&s, rel, installs);
            s.command(&["rebuild"], &s.path(rel))
                .env("PATH", &path)
                .succeeds();
            let out = s
                .command(
                    &[
                        "exec",
                        "--",
                        "python3",
                        "-c",
                        "import webthing, gamma; print(webthing.VALUE, gamma.__version__)",
                    ],
                    &s.path(rel),
                )
                .env("PATH", &path)
                .stdout_ok();
            assert_eq!(out, "from source 3.0\n", "{rel} {installs}");
        }
    }
}

/// `-e "./proj dir[cli]"` in a requirements file, as pip reads it: both
/// resolvers lock it (uv took the quotes as part of the path), and a line
/// pip cannot split is refused when allowed, naming file, line and column.
#[test]
fn an_editable_line_quoted_in_a_requirements_file_locks_by_either_resolver() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for by in ["pip", "uv"] {
        editable_project(&s, &format!("{by}/proj dir"), by);
        s.wheel_into(&format!("{by}/proj dir/wheels"), "gamma", "3.0", &[]);
        s.write(
            &format!("{by}/.pyguix.toml"),
            &format!(
                "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nrequirements = [\"requirements.txt\"]\ninstaller = {by:?}\noptions = [\"--no-index\", \"--find-links\", \"proj dir/wheels\"]\n"
            ),
        );
        s.write(
            &format!("{by}/requirements.txt"),
            "# the app, with its command line\n-e \"./proj dir[ cli ]\"\n",
        );
        s.allow(by);
        s.command(&["lock"], &s.path(by))
            .env("PATH", &path)
            .succeeds();
        let text = std::fs::read_to_string(s.path(by).join("pylock.toml")).unwrap();
        assert!(text.contains("name = \"gamma\""), "{by}: {text}");
        assert!(
            text.contains("directory = { path = \"proj dir\", editable = true }"),
            "{by}: {text}"
        );
        s.command(&["rebuild"], &s.path(by))
            .env("PATH", &path)
            .succeeds();
        let out = s
            .command(
                &["exec", "--", "python3", "-c", "import webthing, gamma"],
                &s.path(by),
            )
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{by}: {out:?}");
    }
    s.write("pip/requirements.txt", "# the app\n\n-e ./proj\"dir\n");
    allow_refuses_at(&s, "pip", "3:10", "pip cannot split `-e ./proj\"dir`");
}

/// `allow` in `rel` fails, saying `said` at `at` (line:column) of its
/// requirements.txt.
fn allow_refuses_at(s: &Sandbox, rel: &str, at: &str, said: &str) {
    let err = s.command(&["allow"], &s.path(rel)).fails();
    let file = s.path(rel).join("requirements.txt");
    assert!(
        err.contains(&format!("{}:{at}: {said}", file.display())),
        "{err}"
    );
}

/// A dependency's wheel replaced after locking fails the build of the
/// editable project, naming the file; nothing is activated.
#[test]
fn an_editable_projects_replaced_dependency_fails_the_build_naming_it() {
    let s = Sandbox::new();
    editable_project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.wheel_into("p/wheels", "beta", "2.0", &["--origin", "tampered"]);
    s.allow("p");
    let err = s.command(&["prefix"], &s.path("p")).fails();
    assert!(err.contains("beta-2.0-py3-none-any.whl"), "{err}");
    assert!(err.contains("sha256"), "{err}");
    assert!(err.contains("pylock.toml"), "{err}");
    let out = s
        .command(
            &["exec", "--", "python3", "-c", "import webthing"],
            &s.path("p"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// What makes an editable project's lock stale: its requirements, and its
/// own `pyproject.toml` (where its dependencies are), by content. Its
/// source is live, and does not.
#[test]
fn an_editable_projects_lock_is_stale_once_its_pyproject_changes() {
    let s = Sandbox::new();
    editable_project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
    s.write("p/src/webthing/__init__.py", "VALUE = 'edited'\n");
    s.pyenv_guix(&["lock", "--check"], &s.path("p"));
    s.write(
        "p/pyproject.toml",
        &PYPROJECT.replace("[\"beta>=1\"]", "[\"beta>=1\", \"gamma\"]"),
    );
    s.allow("p");
    check_says_stale(
        &s,
        "p",
        "an editable project's pyproject.toml, setup.cfg or setup.py changed",
    );
}

/// A lock may name the project only as an editable directory inside it.
#[test]
fn a_lock_names_no_directory_that_is_not_editable_or_leaves_the_project() {
    let s = Sandbox::new();
    editable_project(&s, "p", "pip");
    s.allow("p");
    s.pyenv_guix(&["lock"], &s.path("p"));
    let text = std::fs::read_to_string(s.path("p/pylock.toml")).unwrap();
    let editable = "directory = { path = \".\", editable = true }";
    assert!(text.contains(editable), "{text}");
    s.write("outside/pyproject.toml", PYPROJECT);
    std::os::unix::fs::symlink(s.path("outside"), s.path("p/lib")).unwrap();
    for (to, why) in [
        ("directory = { path = \".\" }", "not editable"),
        (
            "directory = { path = \"../outside\", editable = true }",
            "outside the project",
        ),
        // A link in the project leading out: refused at `allow` too.
        (
            "directory = { path = \"lib\", editable = true }",
            "outside the project",
        ),
    ] {
        s.write("p/pylock.toml", &text.replace(editable, to));
        let (ok, _, err) = s.run_with(&s.env(), &s.path("p"), &["allow"]);
        assert!(!ok, "{to}");
        assert!(err.contains("pylock.toml"), "{err}");
        assert!(err.contains("\"webthing\""), "{err}");
        assert!(err.contains(why), "{err}");
    }
}

/// A `--hash` in a requirements file holds when the project is locked,
/// by pip (which would refuse the editable beside it in its own hash
/// checking) and by uv (which ignores it when it resolves): a lock never
/// records a file the requirements' hashes do not allow.
#[test]
fn a_locks_files_are_ones_the_requirements_hashes_allow() {
    let s = Sandbox::new();
    let uv = s.uv_dir();
    for (rel, by) in [("a", "pip"), ("b", "uv")] {
        let path = match (by, &uv) {
            ("pip", _) => OsString::from(support::system_path()),
            (_, Some(uv)) => path_with(uv),
            _ => continue,
        };
        editable_project(&s, rel, by);
        // beta 2.0 pinned by the hash of beta 1.0's file.
        let other = sha256(&s.path(rel).join("wheels/beta-1.0-py3-none-any.whl"));
        s.write(
            &format!("{rel}/requirements/pinned.txt"),
            &format!("# pinned by hand\nbeta==2.0 \\\n    --hash=sha256:{other}\n"),
        );
        s.allow(rel);
        let err = s
            .command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .fails();
        assert!(err.contains("beta-2.0-py3-none-any.whl"), "{by}: {err}");
        // The file and the line that pin it (FOUND by a try-out: no line).
        assert!(
            err.contains("requirements/pinned.txt:2 allows (--hash)"),
            "{by}: {err}"
        );
        assert!(!s.path(rel).join("pylock.toml").exists(), "{by}");
        // `--require-hashes`: a package pinned by no hash is refused too.
        s.wheel_into(&format!("{rel}/wheels"), "gamma", "1.0", &[]);
        let beta = sha256(&s.path(rel).join("wheels/beta-2.0-py3-none-any.whl"));
        s.write(
            &format!("{rel}/requirements/pinned.txt"),
            &format!("--require-hashes\nbeta==2.0 --hash=sha256:{beta}\ngamma==1.0\n"),
        );
        s.allow(rel);
        let err = s
            .command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .fails();
        assert!(err.contains("gamma"), "{by}: {err}");
        assert!(!s.path(rel).join("pylock.toml").exists(), "{by}");
        // As pip has it, one requirement's --hash asks a hash of all,
        // whichever tool resolves.
        s.write(
            &format!("{rel}/requirements/pinned.txt"),
            &format!("beta==2.0 --hash=sha256:{beta}\ngamma==1.0\n"),
        );
        s.allow(rel);
        let err = s
            .command(&["lock"], &s.path(rel))
            .env("PATH", &path)
            .fails();
        assert!(
            err.contains("gamma") && err.contains("--hash for beta"),
            "{by}: {err}"
        );
        assert!(!s.path(rel).join("pylock.toml").exists(), "{by}");
    }
}

#[test]
fn a_lock_that_cannot_be_resolved_says_why_once_and_writes_nothing() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    for installer in ["pip", "uv"] {
        project(&s, installer, installer);
        s.allow(installer);
        s.write(
            &format!("{installer}/requirements.txt"),
            "alpha>=1\nnowhere-to-be-found\n",
        );
        s.allow(installer);
        let manifest = std::fs::read(s.path(&format!("{installer}/.pyguix.toml"))).unwrap();
        let err = s
            .command(&["lock"], &s.path(installer))
            .env("PATH", &path)
            .fails();
        // The resolver's own words name the package; they are shown as it
        // runs, and the error points at them instead of repeating them.
        let (theirs, ours) = err.split_once("pyenv-guix: error: ").expect(&err);
        assert!(theirs.contains("nowhere-to-be-found"), "{installer}: {err}");
        assert_eq!(
            ours.trim_end(),
            format!(
                "{installer} could not resolve the project's packages (exit status: 1); its output is above"
            ),
            "{err}"
        );
        assert!(!s.path(&format!("{installer}/pylock.toml")).exists());
        let after = std::fs::read(s.path(&format!("{installer}/.pyguix.toml"))).unwrap();
        assert_eq!(manifest, after, "{installer}: the manifest changed");
    }
}

/// A `--hash` neither pip nor uv takes (too short, a weak algorithm) is
/// refused when allowed, at its line and column, continued lines and all:
/// the lock said the wheel's own hash "is not one the file allows", and
/// the build failed in uv's words.
#[test]
fn a_malformed_hash_is_refused_where_it_is() {
    let s = Sandbox::new();
    project(&s, "p", "pip");
    for (hash, column) in [
        ("sha256:0000", 12),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", 12),
    ] {
        s.write(
            "p/requirements.txt",
            &format!("# pinned\nalpha==1.0 \\\n    --hash={hash}\n"),
        );
        allow_refuses_at(
            &s,
            "p",
            &format!("3:{column}"),
            &format!("`{hash}` is not a hash pip and uv take"),
        );
    }
}

/// HOLE: the manifest changed while `lock` ran (an editor, a checkout;
/// here the project's build backend, which the resolver runs): `lock`
/// wrote its own manifest over the change. Now nothing is written, and
/// the change is kept, blocked until reviewed.
#[test]
fn a_manifest_changed_while_lock_runs_is_kept_and_stays_blocked() {
    let s = Sandbox::new();
    editable_project(&s, "p", "pip");
    let meddling = format!(
        "import os\n_m = os.path.join(os.path.dirname(os.path.abspath(__file__)), '.pyguix.toml')\nif 'MEDDLED' not in open(_m).read():\n    open(_m, 'a').write('\\n[env]\\nMEDDLED = \"yes\"\\n')\n{BACKEND}"
    );
    s.write("p/backend.py", &meddling);
    s.allow("p");
    let err = s.command(&["lock"], &s.path("p")).fails();
    assert!(
        err.contains("changed while this ran: nothing was written"),
        "{err}"
    );
    let manifest = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    assert!(
        manifest.contains("MEDDLED"),
        "the change was lost: {manifest}"
    );
    assert!(!s.path("p/pylock.toml").exists());
    let err = s.command(&["exec", "--", "true"], &s.path("p")).fails();
    assert!(err.contains("is blocked"), "{err}");
}
