//! uv projects (`[pip] uv-project = true`): the environment is built from
//! `uv.lock` into the venv pyenv-guix keys, and inside the project uv
//! itself works on that very venv. Real uv, real bash, wheels built here,
//! no network (the project's own `[tool.uv]` points uv at its wheels).

mod support;

use std::ffi::OsString;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

/// A uv project `rel` as `uv init` and `uv add alpha` leave it, resolved
/// from its own wheels directory (which also holds `gamma`, for `uv add`),
/// and locked by uv.
fn uv_project(s: &Sandbox, rel: &str, env: &[(OsString, OsString)]) {
    let wheels = format!("{rel}/wheels");
    s.wheel_into(&wheels, "alpha", "1.0", &["--requires", "beta>=1"]);
    s.wheel_into(&wheels, "beta", "2.0", &[]);
    s.wheel_into(&wheels, "gamma", "3.0", &[]);
    s.write(
        &format!("{rel}/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\n    \"alpha>=1\",\n]\n\n[tool.uv]\npackage = false\n# offline: this project's wheels only\nno-index = true\nfind-links = [\"wheels\"]\n",
    );
    s.write(
        &format!("{rel}/.pyguix.toml"),
        "# The app, as uv locks it.\n[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nmode = \"venv\"\nuv-project = true\n",
    );
    uv_lock(s, rel, env);
}

/// `uv lock` in the project `rel`, as its user runs it.
fn uv_lock(s: &Sandbox, rel: &str, env: &[(OsString, OsString)]) {
    let locked = std::process::Command::new("uv")
        .args(["lock", "--python", "/usr/bin/python3"])
        .current_dir(s.path(rel))
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    support::succeeded_as("uv lock", &locked);
}

/// The sandbox's uv project `p`, allowed: the environment with uv, and
/// the project's path. `None` (loudly, outside CI) without uv.
fn allowed_uv_project(s: &Sandbox) -> Option<(Vec<(OsString, OsString)>, std::path::PathBuf)> {
    let uv = s.uv_dir()?;
    let env = env_with_uv(s, &uv);
    uv_project(s, "p", &env);
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    Some((env, p))
}

fn env_with_uv(s: &Sandbox, uv: &std::path::Path) -> Vec<(OsString, OsString)> {
    let mut env = s.env();
    for (k, v) in env.iter_mut() {
        if k == "PATH" {
            *v = format!("{}:{}", uv.display(), support::system_path()).into();
        }
    }
    env
}

#[test]
fn uv_run_uses_the_shells_venv_and_uv_add_blocks_then_rebuilds_and_leaving_restores() {
    let sh = ShellName::Bash;
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    uv_project(&s, "p", &env);
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let bin = quote(support::bin().as_os_str());
    let prefix = "python -c 'import sys; print(sys.prefix)'";
    let lines = vec![
        sh.hook_line(),
        // The user's own choice of Python for uv, from before the project.
        "export UV_PYTHON=/opt/my/python".into(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump inside".into(),
        format!("{prefix} > \"$OUT/shell-prefix\""),
        format!("uv run {prefix} > \"$OUT/uv-prefix\""),
        "python -c 'import alpha, beta' && echo yes > \"$OUT/alpha\"".into(),
        "v=$VIRTUAL_ENV".into(),
        // Before the next prompt: what uv add left in the shell's venv.
        "uv add gamma; ls \"$v\"/lib/python3*/site-packages > \"$OUT/after-add\"".into(),
        // The prompt after uv changed uv.lock and pyproject.toml.
        "true".into(),
        "dump changed".into(),
        // While blocked, uv is still sent nowhere: no `.venv` of its own.
        "uv run python -c 1 2> \"$OUT/blocked-run\"".into(),
        format!("{bin} allow"),
        "true".into(),
        "dump rebuilt".into(),
        "python -c 'import gamma' && echo yes > \"$OUT/gamma\"".into(),
        "cd ..".into(),
        "dump outside".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &env, &lines);

    let inside = s.dump("inside");
    let venv = inside
        .get("VIRTUAL_ENV")
        .unwrap_or_else(|| panic!("no venv: {out}"))
        .to_string();
    assert!(
        venv.starts_with(s.path("cache").to_str().unwrap()),
        "{venv}"
    );
    assert_eq!(s.read_out("shell-prefix"), format!("{venv}\n"), "{out}");
    assert_eq!(s.read_out("uv-prefix"), format!("{venv}\n"), "{out}");
    assert_eq!(s.read_out("alpha"), "yes\n", "{out}");
    assert!(!s.path("p/.venv").exists(), "uv made a second venv: {out}");
    assert_eq!(inside.get("UV_PROJECT_ENVIRONMENT"), Some(venv.as_str()));
    assert_eq!(
        inside.get("UV_PYTHON"),
        Some(format!("{venv}/bin/python").as_str())
    );
    let after_add = s.read_out("after-add");
    assert!(after_add.contains("alpha"), "{after_add}");
    assert!(
        !after_add.contains("gamma"),
        "uv add changed the keyed venv: {out}"
    );
    assert_eq!(inside.get("UV_NO_SYNC"), Some("1"), "{out}");

    // uv add changed uv.lock: blocked until allowed, then rebuilt with gamma.
    let lock = std::fs::read_to_string(s.path("p/uv.lock")).unwrap();
    assert!(lock.contains("name = \"gamma\""), "{lock}");
    assert!(
        out.contains("is blocked (pyproject.toml and uv.lock changed, and wheels/gamma-3.0-py3-none-any.whl is new since it was allowed)"),
        "both files uv add wrote are said: {out}"
    );
    let changed = s.dump("changed");
    assert_eq!(
        changed.get("UV_PROJECT_ENVIRONMENT"),
        Some("/dev/null/pyenv-guix-blocked-this-project-run-pyenv-guix-allow"),
        "{out}"
    );
    assert_eq!(changed.get("VIRTUAL_ENV"), None, "{out}");
    assert_eq!(changed.get("UV_PYTHON"), Some("/opt/my/python"), "{out}");
    let blocked_run = s.read_out("blocked-run");
    assert!(
        blocked_run.contains("pyenv-guix-blocked-this-project-run-pyenv-guix-allow"),
        "{blocked_run}"
    );
    let rebuilt = s.dump("rebuilt");
    let new_venv = rebuilt.get("UV_PROJECT_ENVIRONMENT").unwrap_or_default();
    assert_eq!(rebuilt.get("VIRTUAL_ENV"), Some(new_venv), "{out}");
    assert_ne!(new_venv, venv, "a new lock is a new key: {out}");
    assert_eq!(s.read_out("gamma"), "yes\n", "{out}");

    // Leaving restores exactly: the user's UV_PYTHON, no UV_PROJECT_ENVIRONMENT.
    let outside = s.dump("outside");
    assert_eq!(outside.get("UV_PYTHON"), Some("/opt/my/python"), "{out}");
    assert_eq!(outside.get("UV_PROJECT_ENVIRONMENT"), None, "{out}");
    assert_eq!(outside.get("UV_NO_SYNC"), None, "{out}");
    assert_eq!(outside.get("VIRTUAL_ENV"), None, "{out}");
}

/// `uv run` and `uv sync` typed while the venv is still building in the
/// background (the interpreter stalls uv's look at it until `stall` is
/// gone): uv fails, saying so, and makes no venv, neither a `.venv` in
/// the project nor one where pyenv-guix puts the keyed venv; the build
/// then finishes and the next prompt gives uv that venv.
#[test]
fn uv_typed_while_the_venv_builds_makes_no_venv_of_its_own() {
    let sh = ShellName::Bash;
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let mut env = env_with_uv(&s, &uv);
    env.retain(|(k, _)| k != "PYENV_GUIX_BUILD");
    uv_project(&s, "p", &env);
    let stall = s.path("stall");
    let python = s.python_running(
        "slow",
        &format!(
            "import os, time; os.path.basename(os.readlink('/proc/%d/exe' % os.getppid())) == 'uv' and [time.sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)]",
            stall.display().to_string()
        ),
    );
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\nmode = \"venv\"\nuv-project = true\n",
            python.display().to_string()
        ),
    );
    std::fs::write(&stall, "").unwrap();
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let bin = quote(support::bin().as_os_str());
    let prefix = "python -c 'import sys; print(sys.prefix)'";
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump pending".into(),
        format!("uv run {prefix} > \"$OUT/run\" 2> \"$OUT/run-err\"; echo $? > \"$OUT/run-rc\""),
        "uv sync 2> \"$OUT/sync-err\"; echo $? > \"$OUT/sync-rc\"".into(),
        format!(
            "rm {}; {bin} prefix > \"$OUT/prefix\"",
            quote(stall.as_os_str())
        ),
        "true".into(),
        "dump built".into(),
        format!("uv run {prefix} > \"$OUT/run-built\""),
    ];
    let out = s.interactive(sh, &s.path("home"), &env, &lines);
    let pending = s.dump("pending");
    assert_eq!(pending.get("VIRTUAL_ENV"), None, "not built yet: {out}");
    assert_ne!(s.read_out("run-rc"), "0\n", "{out}");
    assert_ne!(s.read_out("sync-rc"), "0\n", "{out}");
    for said in [s.read_out("run-err"), s.read_out("sync-err")] {
        assert!(
            said.contains("pyenv-guix-is-still-building-this-venv"),
            "{said}"
        );
    }
    assert!(!s.path("p/.venv").exists(), "uv made a second venv: {out}");
    let venv = s.read_out("prefix").trim().to_string();
    assert!(venv.starts_with(s.path("cache").to_str().unwrap()), "{out}");
    let built = s.dump("built");
    assert_eq!(
        built.get("UV_PROJECT_ENVIRONMENT"),
        Some(venv.as_str()),
        "{out}"
    );
    assert_eq!(s.read_out("run-built"), format!("{venv}\n"), "{out}");
    assert!(records(&venv).contains_key("alpha-1.0.dist-info"), "{out}");
}

#[test]
fn the_key_and_trust_cover_uv_lock_and_pyproject_by_content() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    uv_project(&s, "p", &env);
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let (first, _) = s.ok_with(&env, &s.path("p"), &["prefix"]);
    // The same bytes written again: the same key, still allowed.
    let lock = std::fs::read(s.path("p/uv.lock")).unwrap();
    std::fs::write(s.path("p/uv.lock"), &lock).unwrap();
    let (again, _) = s.ok_with(&env, &s.path("p"), &["prefix"]);
    assert_eq!(first, again);
    // A comment in pyproject.toml: uv reads that file, so it is blocked.
    let pyproject = std::fs::read_to_string(s.path("p/pyproject.toml")).unwrap();
    s.write("p/pyproject.toml", &format!("{pyproject}# edited\n"));
    let (ok, _, err) = s.run_with(&env, &s.path("p"), &["prefix"]);
    assert!(!ok, "an unreviewed pyproject.toml was used");
    assert!(
        err.contains("pyproject.toml") || err.contains("blocked"),
        "{err}"
    );
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let (edited, _) = s.ok_with(&env, &s.path("p"), &["prefix"]);
    assert_ne!(first, edited, "pyproject.toml is in the key");
    // uv.lock names a local wheel by path alone (no hash): a wheel of the
    // same name with other bytes is a change to review, and another key.
    s.wheel_into("p/wheels", "beta", "2.0", &["--script", "beta"]);
    let (ok, _, err) = s.run_with(&env, &s.path("p"), &["prefix"]);
    assert!(!ok, "a replaced wheel was used unreviewed");
    assert!(err.contains("beta-2.0-py3-none-any.whl"), "{err}");
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let (replaced, _) = s.ok_with(&env, &s.path("p"), &["prefix"]);
    assert_ne!(edited, replaced, "the wheel's bytes are in the key");
    let (out, _) = s.ok_with(&env, &s.path("p"), &["exec", "--", "beta"]);
    assert_eq!(out, "beta 2.0\n");
}

#[test]
fn uv_project_needs_venv_mode_and_no_other_requirements() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[pip]\nuv-project = true\npackages = [\"six\"]\nmode = \"venv\"\n",
    );
    let err = s.command(&["allow"], &s.path("p")).fails();
    assert!(err.contains(".pyguix.toml:2:"), "{err}");
    assert!(err.contains("uv.lock"), "{err}");
    s.write("q/.pyguix.toml", "[pip]\nuv-project = true\n");
    let err = s.command(&["allow"], &s.path("q")).fails();
    assert!(err.contains("mode = \"venv\""), "{err}");
    // No uv.lock to build from: nothing is allowed, and the file is named.
    s.write(
        "r/.pyguix.toml",
        "[pip]\nmode = \"venv\"\nuv-project = true\n",
    );
    s.write(
        "r/pyproject.toml",
        "[project]\nname = \"r\"\nversion = \"1\"\n",
    );
    let err = s.command(&["allow"], &s.path("r")).fails();
    assert!(
        err.contains(&format!("{}", s.path("r/uv.lock").display())),
        "{err}"
    );
    // uv syncs a uv project: without uv, entering says so.
    std::fs::write(s.path("r/uv.lock"), "version = 1\n").unwrap();
    s.allow("r");
    let err = s.command(&["prefix"], &s.path("r")).fails();
    assert!(
        err.contains("uv-project = true") && err.contains("no uv on your PATH"),
        "{err}"
    );
    // Entering it: nothing is built, and uv is sent nowhere rather than
    // to a `.venv` of its own.
    let out = s.command(&["export", "bash"], &s.path("r")).stdout_ok();
    assert!(
        out.contains("UV_PROJECT_ENVIRONMENT='/dev/null/pyenv-guix-could-not-build-this-venv-see-pyenv-guix-status'"),
        "{out}"
    );
    assert!(!out.contains("VIRTUAL_ENV"), "{out}");
    // A uv that is a wrapper script: which uv it runs is unknown, and the
    // error says why uv is needed at all (no installer = "uv" is written).
    s.write("r-bin/uv", "#!/bin/sh\nexec uv \"$@\"\n");
    std::fs::set_permissions(
        s.path("r-bin/uv"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let err = s
        .command(&["prefix"], &s.path("r"))
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", s.path("r-bin").display()),
        )
        .fails();
    assert!(
        err.contains(&format!(
            "[pip] uv-project = true: uv syncs the project's uv.lock, but {} is a script",
            s.path("r-bin/uv").display()
        )),
        "{err}"
    );
    assert!(!err.contains("installer"), "{err}");
}

#[test]
fn init_from_a_pyproject_beside_uv_lock_offers_uv_project_and_sets_it() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    uv_project(&s, "p", &env);
    std::fs::remove_file(s.path("p/.pyguix.toml")).unwrap();
    let p = s.path("p");
    // Offered: init says how to build from uv.lock itself.
    let (_, said) = s.ok_with(&env, &p, &["init", "--from", "pyproject.toml"]);
    assert!(
        said.contains("pyenv-guix init --force --from pyproject.toml --uv-project"),
        "{said}"
    );
    // Set: the manifest builds from uv.lock, in a venv, and nothing else.
    s.ok_with(
        &env,
        &p,
        &[
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--uv-project",
        ],
    );
    let text = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    let m: toml::Table = toml::from_str(&text).unwrap();
    let pip = m["pip"].as_table().unwrap();
    assert_eq!(
        pip.get("uv-project").and_then(|v| v.as_bool()),
        Some(true),
        "{text}"
    );
    assert_eq!(
        pip.get("mode").and_then(|v| v.as_str()),
        Some("venv"),
        "{text}"
    );
    assert!(
        pip.get("packages").is_none() && pip.get("editable").is_none(),
        "{text}"
    );
    s.ok_with(&env, &p, &["allow"]);
    let (out, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python",
            "-c",
            "import alpha, beta, sys; print(sys.prefix)",
        ],
    );
    assert!(out.starts_with(s.path("cache").to_str().unwrap()), "{out}");
    let manifest = std::fs::read(p.join(".pyguix.toml")).unwrap();
    assert!(
        String::from_utf8_lossy(&manifest).contains("--from pyproject.toml --uv-project`"),
        "the header names the command that wrote it"
    );

    // What uv sync does not install is refused, not dropped, and nothing
    // is written: a group or an extra, or a pylock.toml.
    for (extra, said) in [
        ("--group=docs", "[tool.uv] default-groups"),
        ("--extra=cli", "[tool.uv] default-groups"),
        ("--lock", "'uv lock'"),
    ] {
        let argv = [
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--uv-project",
            extra,
        ];
        let (ok, _, err) = s.run_with(&env, &p, &argv);
        assert!(!ok && err.contains(said), "{extra}: {err}");
        assert_eq!(std::fs::read(p.join(".pyguix.toml")).unwrap(), manifest);
    }

    // Without a uv.lock there is nothing to sync: refused, named.
    std::fs::remove_file(p.join("uv.lock")).unwrap();
    let (ok, _, err) = s.run_with(
        &env,
        &p,
        &[
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--uv-project",
        ],
    );
    assert!(
        !ok && err.contains("uv.lock") && err.contains("run 'uv lock' first"),
        "{err}"
    );
}

/// What uv installed in a venv: each dist's RECORD, by name, and the
/// names at the top of site-packages (bytecode aside: python writes it on
/// import, uv does not).
fn records(venv: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let lib = std::path::Path::new(venv).join("lib");
    for python in std::fs::read_dir(&lib).unwrap().flatten() {
        let site = python.path().join("site-packages");
        for e in std::fs::read_dir(&site).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "__pycache__" {
                continue;
            }
            let record = std::fs::read_to_string(e.path().join("RECORD")).unwrap_or_default();
            out.insert(name, record);
        }
    }
    out
}

/// `uv lock`, `uv run`, `uv add` and `uv remove`, run as the shell has
/// the project (`exec` gives the command the project's variables): the
/// keyed venv is never changed by uv; `uv add` changes only the files,
/// which block the project until allowed, and the allowed change builds
/// another key with the new package.
#[test]
fn uv_inside_the_project_never_changes_the_keyed_venv() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let (venv, _) = s.ok_with(&env, &p, &["prefix"]);
    let venv = venv.trim().to_string();
    let before = records(&venv);
    assert!(before.contains_key("alpha-1.0.dist-info"), "{before:?}");
    let files = ["pyproject.toml", "uv.lock"];
    let read = || files.map(|f| std::fs::read(p.join(f)).unwrap());
    let unedited = read();

    s.ok_with(&env, &p, &["exec", "--", "uv", "lock"]);
    // uv sync typed by hand: the venv was synced from this very lock.
    s.ok_with(&env, &p, &["exec", "--", "uv", "sync"]);
    assert_eq!(records(&venv), before, "uv sync changed the keyed venv");
    let (prefix, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "uv",
            "run",
            "python",
            "-c",
            "import sys; print(sys.prefix)",
        ],
    );
    assert_eq!(prefix.trim(), venv);
    s.ok_with(&env, &p, &["exec", "--", "uv", "add", "gamma"]);
    let added = read();
    let lock = String::from_utf8_lossy(&added[1]).into_owned();
    assert!(lock.contains("name = \"gamma\""), "{lock}");
    assert_eq!(records(&venv), before, "uv add changed the keyed venv");
    assert!(!p.join(".venv").exists(), "uv made a second venv");

    // The change undone (git checkout): the old key, unchanged.
    for (f, bytes) in files.iter().zip(&unedited) {
        std::fs::write(p.join(f), bytes).unwrap();
    }
    let (again, said) = s.ok_with(&env, &p, &["prefix"]);
    assert_eq!(again.trim(), venv);
    assert!(!said.contains("changed since"), "{said}");
    let (status, _) = s.ok_with(&env, &p, &["status"]);
    assert!(!status.contains("changed since"), "{status}");

    // uv add's files back, allowed: another key, with gamma; uv remove
    // there changes the files only.
    for (f, bytes) in files.iter().zip(&added) {
        std::fs::write(p.join(f), bytes).unwrap();
    }
    let (ok, _, err) = s.run_with(&env, &p, &["prefix"]);
    assert!(!ok && err.contains("blocked"), "{err}");
    s.ok_with(&env, &p, &["allow"]);
    let (out, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python",
            "-c",
            "import gamma, sys; print(sys.prefix)",
        ],
    );
    let with_gamma = out.trim().to_string();
    assert_ne!(with_gamma, venv, "a new lock is a new key");
    let built = records(&with_gamma);
    s.ok_with(&env, &p, &["exec", "--", "uv", "remove", "gamma"]);
    assert_eq!(
        records(&with_gamma),
        built,
        "uv remove changed the keyed venv"
    );
}

/// Any of pyenv-guix's (cache, data) or uv's (home) files holding `text`.
fn holding(dir: &std::path::Path, text: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            if let Some(found) = holding(&path, text) {
                return Some(found);
            }
        } else if meta.is_file() {
            let content = std::fs::read(&path).unwrap_or_default();
            if content.windows(text.len()).any(|w| w == text.as_bytes()) {
                return Some(path);
            }
        }
    }
    None
}

const SECRET_TEXT: &str = "not-for-the-project-5c1e";

/// The sha256 of a file, as uv.lock writes it.
fn uv_hash(path: &std::path::Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A uv project `rel` whose one dependency, `gamma`, is a wheel of its
/// own (`dist/`, a path source in uv.lock, with its hash), locked by uv;
/// and `outside/`, beside the project, holding another `gamma` 1.0 whose
/// code holds a text found nowhere else.
fn path_project(s: &Sandbox, rel: &str, env: &[(OsString, OsString)]) {
    s.wheel_into(&format!("{rel}/dist"), "gamma", "1.0", &[]);
    s.wheel_into("outside", "gamma", "1.0", &["--origin", SECRET_TEXT]);
    s.write(
        &format!("{rel}/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"gamma\"]\n\n[tool.uv]\npackage = false\nno-index = true\n\n[tool.uv.sources]\ngamma = { path = \"dist/gamma-1.0-py3-none-any.whl\" }\n",
    );
    s.write(
        &format!("{rel}/.pyguix.toml"),
        "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nmode = \"venv\"\nuv-project = true\n",
    );
    uv_lock(s, rel, env);
}

/// Refused, at `allow` or at the build: what was said. Nothing of the
/// secret is installed, or copied anywhere of pyenv-guix's or uv's.
fn refused(s: &Sandbox, env: &[(OsString, OsString)], rel: &str) -> String {
    let p = s.path(rel);
    let (allowed, _, said) = s.run_with(env, &p, &["allow"]);
    let err = match allowed {
        true => {
            let (ok, out, err) = s.run_with(env, &p, &["prefix"]);
            assert!(!ok, "built from outside the project: {out}");
            err
        }
        false => said,
    };
    let (ok, _, _) = s.run_with(env, &p, &["exec", "--", "python", "-c", "import gamma"]);
    assert!(!ok, "something was activated");
    for dir in ["cache", "data", "home"] {
        assert_eq!(holding(&s.path(dir), SECRET_TEXT), None, "{dir}: {err}");
    }
    err
}

/// uv.lock's relative path that climbs out of the project (`../`) is
/// refused, naming uv.lock, the package and the path: nothing outside is
/// read, hashed or synced.
#[test]
fn a_uv_lock_path_out_of_the_project_is_refused() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    path_project(&s, "p", &env);
    // The project's own wheel, inside: built.
    s.ok_with(&env, &s.path("p"), &["allow"]);
    s.ok_with(
        &env,
        &s.path("p"),
        &["exec", "--", "python", "-c", "import gamma"],
    );

    let lock = std::fs::read_to_string(s.path("p/uv.lock")).unwrap();
    // HOLE (the second): a path with `://` in it was taken for a URL and
    // not checked; uv reads it as a path, `x:` a directory name.
    for planted in [
        "../outside/gamma-1.0-py3-none-any.whl",
        "x:///../../outside/gamma-1.0-py3-none-any.whl",
    ] {
        let attack = lock
            .replace("dist/gamma-1.0-py3-none-any.whl", planted)
            .replace(
                &uv_hash(&s.path("p/dist/gamma-1.0-py3-none-any.whl")),
                &uv_hash(&s.path("outside/gamma-1.0-py3-none-any.whl")),
            );
        assert_ne!(attack, lock);
        s.write("p/uv.lock", &attack);
        let err = refused(&s, &env, "p");
        assert!(
            err.contains(&s.path("p/uv.lock").display().to_string()),
            "{err}"
        );
        assert!(err.contains("gamma"), "{err}");
        assert!(err.contains(planted), "{err}");
        assert!(err.contains("outside the project"), "{err}");
    }
}

/// HOLE (attack pass): uv.lock may name a registry's file by URL with no
/// hash, and uv then installs whatever the URL holds when it builds: a
/// server, or a file changed after `allow`, chose the code. Each file a
/// uv.lock names by URL must carry its hash, or the lock is refused.
#[test]
fn a_uv_lock_file_by_url_without_a_hash_is_refused() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    path_project(&s, "p", &env);
    let outside = s.path("outside/gamma-1.0-py3-none-any.whl");
    s.write(
        "p/pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"gamma\"]\n\n[tool.uv]\npackage = false\n",
    );
    s.write(
        "p/uv.lock",
        &format!(
            "version = 1\nrevision = 3\nrequires-python = \">=3.8\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\ndependencies = [\n    {{ name = \"gamma\" }},\n]\n\n[package.metadata]\nrequires-dist = [{{ name = \"gamma\" }}]\n\n[[package]]\nname = \"gamma\"\nversion = \"1.0\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\nwheels = [\n    {{ url = \"file://{}\" }},\n]\n",
            outside.display()
        ),
    );
    let err = refused(&s, &env, "p");
    assert!(
        err.contains(&s.path("p/uv.lock").display().to_string()),
        "{err}"
    );
    assert!(err.contains("gamma") && err.contains("no hash"), "{err}");
}

/// A link planted in the project (`dist -> ../outside`) makes uv.lock's
/// innocent `dist/…` lead out of it: refused, named, nothing read.
#[test]
fn a_link_in_a_uv_project_does_not_lead_its_lock_out_of_it() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    path_project(&s, "p", &env);
    let lock = std::fs::read_to_string(s.path("p/uv.lock")).unwrap();
    let attack = lock.replace(
        &uv_hash(&s.path("p/dist/gamma-1.0-py3-none-any.whl")),
        &uv_hash(&s.path("outside/gamma-1.0-py3-none-any.whl")),
    );
    assert_ne!(attack, lock);
    s.write("p/uv.lock", &attack);
    std::fs::remove_dir_all(s.path("p/dist")).unwrap();
    std::os::unix::fs::symlink(s.path("outside"), s.path("p/dist")).unwrap();
    let err = refused(&s, &env, "p");
    assert!(
        err.contains(&s.path("p/uv.lock").display().to_string()),
        "{err}"
    );
    assert!(err.contains("gamma"), "{err}");
    assert!(err.contains("dist/gamma-1.0-py3-none-any.whl"), "{err}");
    assert!(err.contains("outside the project"), "{err}");
}

/// A uv workspace `w` as `uv init` leaves one: its root (a virtual project
/// holding the wheels, the workspace table and the one uv.lock) and the
/// member `w/packages/p`, the pyenv-guix project, which needs `alpha`.
fn workspace(s: &Sandbox, env: &[(OsString, OsString)]) {
    s.wheel_into("w/wheels", "alpha", "1.0", &["--requires", "beta>=1"]);
    s.wheel_into("w/wheels", "beta", "2.0", &[]);
    s.write(
        "w/pyproject.toml",
        "[project]\nname = \"root\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = []\n\n[tool.uv]\npackage = false\nno-index = true\nfind-links = [\"wheels\"]\n\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\nexclude = [\"packages/old\"]\n",
    );
    s.write(
        "w/packages/p/pyproject.toml",
        "[project]\nname = \"p\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"alpha\"]\n\n[tool.uv]\npackage = false\n",
    );
    s.write(
        "w/packages/p/.pyguix.toml",
        "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nmode = \"venv\"\nuv-project = true\n",
    );
    uv_lock(s, "w", env);
    assert!(!s.path("w/packages/p/uv.lock").exists());
}

/// A workspace member builds from the workspace root's uv.lock, offline,
/// and trust and the key cover the root's uv.lock and pyproject.toml (and
/// the wheels the lock names) as they cover a project's own.
#[test]
fn a_workspace_member_builds_from_the_roots_lock_which_trust_and_the_key_cover() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    workspace(&s, &env);
    let p = s.path("w/packages/p");
    s.ok_with(&env, &p, &["allow"]);
    let (out, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python",
            "-c",
            "import alpha, beta, sys; print(sys.prefix)",
        ],
    );
    let first = out.trim().to_string();
    assert!(
        first.starts_with(s.path("cache").to_str().unwrap()),
        "{out}"
    );
    assert!(!p.join(".venv").exists() && !s.path("w/.venv").exists());

    // The root's uv.lock edited: blocked until allowed, then another key.
    let lock = std::fs::read_to_string(s.path("w/uv.lock")).unwrap();
    s.write("w/uv.lock", &format!("{lock}# edited\n"));
    let (ok, _, err) = s.run_with(&env, &p, &["prefix"]);
    assert!(
        !ok && err.contains("blocked"),
        "an unreviewed uv.lock was used: {err}"
    );
    assert!(err.contains("uv.lock"), "{err}");
    s.ok_with(&env, &p, &["allow"]);
    let (locked, _) = s.ok_with(&env, &p, &["prefix"]);
    assert_ne!(locked.trim(), first, "the root's uv.lock is in the key");

    // The root's pyproject.toml edited: the same.
    let root = std::fs::read_to_string(s.path("w/pyproject.toml")).unwrap();
    s.write("w/pyproject.toml", &format!("{root}# edited\n"));
    let (ok, _, err) = s.run_with(&env, &p, &["prefix"]);
    assert!(!ok && err.contains("pyproject.toml"), "{err}");
    s.ok_with(&env, &p, &["allow"]);
    let (edited, _) = s.ok_with(&env, &p, &["prefix"]);
    assert_ne!(edited, locked, "the root's pyproject.toml is in the key");

    // A wheel the root's lock names, replaced: reviewed, another key.
    s.wheel_into("w/wheels", "beta", "2.0", &["--script", "beta"]);
    let (ok, _, err) = s.run_with(&env, &p, &["prefix"]);
    assert!(!ok && err.contains("beta-2.0-py3-none-any.whl"), "{err}");
    s.ok_with(&env, &p, &["allow"]);
    let (out, _) = s.ok_with(&env, &p, &["exec", "--", "beta"]);
    assert_eq!(out, "beta 2.0\n");
}

/// `init --uv-project` in a workspace member finds the root's uv.lock, as
/// the build does; a project the workspace excludes has none, and is
/// told so.
#[test]
fn init_in_a_workspace_member_builds_from_the_roots_lock() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    workspace(&s, &env);
    let p = s.path("w/packages/p");
    std::fs::remove_file(p.join(".pyguix.toml")).unwrap();
    let (_, said) = s.ok_with(&env, &p, &["init", "--from", "pyproject.toml"]);
    assert!(said.contains("--uv-project"), "not offered: {said}");
    // Not `uv export`: its `-e ./packages/p` is the root's path, and
    // `init --from` that file, here, fails.
    assert!(!said.contains("requirements.lock"), "{said}");
    assert!(said.contains("member of its workspace"), "{said}");
    s.ok_with(
        &env,
        &p,
        &[
            "init",
            "--from",
            "pyproject.toml",
            "--uv-project",
            "--force",
        ],
    );
    s.ok_with(&env, &p, &["allow"]);
    let (out, _) = s.ok_with(
        &env,
        &p,
        &["exec", "--", "python", "-c", "import alpha, beta"],
    );
    assert_eq!(out, "");
    // `lock` is `uv lock`, which works on the workspace's lock.
    let (_, said) = s.ok_with(&env, &p, &["lock", "--check"]);
    assert!(
        said.contains(&format!("{} is up to date", s.path("w/uv.lock").display())),
        "{said}"
    );

    // Excluded from the workspace: no lock of its own, refused, named.
    s.write(
        "w/packages/old/pyproject.toml",
        "[project]\nname = \"old\"\nversion = \"0.1.0\"\ndependencies = []\n",
    );
    let old = s.path("w/packages/old");
    let (ok, _, err) = s.run_with(
        &env,
        &old,
        &["init", "--from", "pyproject.toml", "--uv-project"],
    );
    assert!(!ok && err.contains("uv.lock"), "{err}");
}

/// Entered through a link (`alone -> w/packages/p`), the member is still
/// a member: uv finds its workspace from the directory the kernel gives
/// it, so the root's uv.lock, which uv installs, is what trust and the
/// key cover, not whatever lies above the link.
#[test]
fn a_member_entered_through_a_link_is_keyed_by_the_lock_uv_reads() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let mut env = env_with_uv(&s, &uv);
    workspace(&s, &env);
    std::os::unix::fs::symlink(s.path("w/packages/p"), s.path("alone")).unwrap();
    let alone = s.path("alone");
    env.push(("PWD".into(), alone.clone().into_os_string()));
    s.ok_with(&env, &alone, &["allow"]);
    let (first, _) = s.ok_with(&env, &alone, &["prefix"]);
    let lock = std::fs::read_to_string(s.path("w/uv.lock")).unwrap();
    s.write("w/uv.lock", &format!("{lock}# edited\n"));
    let (ok, _, err) = s.run_with(&env, &alone, &["prefix"]);
    assert!(
        !ok && err.contains("blocked") && err.contains("uv.lock"),
        "the lock uv installs from was edited, and the project still loads: {err}"
    );
    s.ok_with(&env, &alone, &["allow"]);
    let (second, _) = s.ok_with(&env, &alone, &["prefix"]);
    assert_ne!(first, second, "the root's uv.lock is in the key");
}

/// Excluded, or in no member glob: not a member, as uv has it (its own
/// uv.lock counts, the root's does not).
#[test]
fn a_project_the_workspace_excludes_keeps_its_own_lock() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    workspace(&s, &env);
    uv_project(&s, "w/packages/old", &env);
    let p = s.path("w/packages/old");
    s.ok_with(&env, &p, &["allow"]);
    let (first, _) = s.ok_with(&env, &p, &["prefix"]);
    let lock = std::fs::read_to_string(s.path("w/uv.lock")).unwrap();
    s.write("w/uv.lock", &format!("{lock}# edited\n"));
    let (again, _) = s.ok_with(&env, &p, &["prefix"]);
    assert_eq!(first, again, "the root's lock is not this project's");
}

/// The root's pyproject.toml is the workspace's, not the project's: a
/// member glob that climbs out of the workspace is refused, naming the
/// file and the glob, and so is a root lock naming a wheel outside it.
#[test]
fn a_workspace_root_leading_out_of_the_workspace_is_refused() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    workspace(&s, &env);
    let p = s.path("w/packages/p");
    let root = std::fs::read_to_string(s.path("w/pyproject.toml")).unwrap();
    s.write(
        "w/pyproject.toml",
        &root.replace("\"packages/*\"", "\"packages/*\", \"../elsewhere/*\""),
    );
    let (ok, _, err) = s.run_with(&env, &p, &["allow"]);
    assert!(!ok, "allowed a root that names what is outside");
    assert!(
        err.contains(&s.path("w/pyproject.toml").display().to_string()),
        "{err}"
    );
    assert!(err.contains("../elsewhere/*"), "{err}");
    assert!(err.contains("outside the workspace"), "{err}");
    s.write("w/pyproject.toml", &root);

    s.wheel_into("outside", "beta", "2.0", &["--origin", SECRET_TEXT]);
    let lock = std::fs::read_to_string(s.path("w/uv.lock")).unwrap();
    s.write(
        "w/uv.lock",
        &lock.replace("path = \"beta-2.0", "path = \"../../outside/beta-2.0"),
    );
    let (ok, _, err) = s.run_with(&env, &p, &["allow"]);
    assert!(!ok, "allowed a root lock that names what is outside");
    assert!(
        err.contains(&s.path("w/uv.lock").display().to_string()),
        "{err}"
    );
    assert!(err.contains("outside the workspace"), "{err}");
    for dir in ["cache", "data", "home"] {
        assert_eq!(holding(&s.path(dir), SECRET_TEXT), None, "{dir}: {err}");
    }
}

/// `uv sync` typed by hand after `uv add` (one command line, before the
/// prompt blocks the project) is the one uv command that installs: into
/// the shell's venv, as `pip install` there would. That is said when the
/// key is used again, and `rebuild` puts it back.
#[test]
fn uv_sync_typed_after_uv_add_is_said_and_rebuild_undoes_it() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let (venv, _) = s.ok_with(&env, &p, &["prefix"]);
    let venv = venv.trim().to_string();
    let before = records(&venv);
    let files = ["pyproject.toml", "uv.lock"];
    let unedited = files.map(|f| std::fs::read(p.join(f)).unwrap());
    s.ok_with(
        &env,
        &p,
        &["exec", "--", "sh", "-c", "uv add gamma && uv sync"],
    );
    assert!(records(&venv).contains_key("gamma-3.0.dist-info"));
    for (f, bytes) in files.iter().zip(&unedited) {
        std::fs::write(p.join(f), bytes).unwrap();
    }
    let (again, said) = s.ok_with(&env, &p, &["prefix"]);
    assert_eq!(again.trim(), venv);
    assert!(
        said.contains("changed since it was built") && said.contains("gamma"),
        "{said}"
    );
    s.ok_with(&env, &p, &["rebuild"]);
    let (venv, said) = s.ok_with(&env, &p, &["prefix"]);
    assert!(!said.contains("changed since"), "{said}");
    assert_eq!(records(venv.trim()), before);
}

/// A venv that something else made where the keyed venv goes (the link a
/// build switches in one rename) is never taken for the build's: the
/// next build replaces it with its own.
#[test]
fn a_venv_planted_at_the_keyed_path_is_not_used() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let (built, _) = s.ok_with(&env, &p, &["prefix"]);
    let built = std::path::PathBuf::from(built.trim());
    let link = built.with_extension("");
    assert!(link.is_symlink(), "{}", link.display());
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_dir_all(&built).unwrap();
    let planted = std::process::Command::new("uv")
        .args(["venv", "--quiet", "--python", "/usr/bin/python3"])
        .arg(&link)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    support::succeeded_as("uv venv", &planted);
    let (venv, _) = s.ok_with(&env, &p, &["prefix"]);
    assert!(link.is_symlink(), "the planted venv stayed");
    assert_ne!(std::path::Path::new(venv.trim()), link);
    assert!(records(venv.trim()).contains_key("alpha-1.0.dist-info"));
}

/// `lock` in a uv project is `uv lock`: `--check` says whether uv.lock
/// fits pyproject.toml (a CI step that runs `pyenv-guix lock --check` in
/// every project works here too), and `lock` writes uv's lock, which
/// stays allowed as any lock `lock` writes, unless it brings in a file no
/// one reviewed.
#[test]
fn lock_in_a_uv_project_is_uv_lock_and_stays_allowed() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let (_, said) = s.ok_with(&env, &p, &["lock", "--check"]);
    assert!(said.contains("uv.lock is up to date"), "{said}");
    let pyproject = std::fs::read_to_string(p.join("pyproject.toml")).unwrap();
    s.write(
        "p/pyproject.toml",
        &pyproject.replace("requires-python = \">=3.8\"", "requires-python = \">=3.9\""),
    );
    s.ok_with(&env, &p, &["allow"]);
    let lock_before = std::fs::read(p.join("uv.lock")).unwrap();
    let (ok, _, err) = s.run_with(&env, &p, &["lock", "--check"]);
    assert!(!ok && err.contains("uv lock"), "{err}");
    assert_eq!(std::fs::read(p.join("uv.lock")).unwrap(), lock_before);
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    assert!(said.contains("this is the change you asked for"), "{said}");
    assert_ne!(std::fs::read(p.join("uv.lock")).unwrap(), lock_before);
    s.ok_with(&env, &p, &["lock", "--check"]);
    s.ok_with(&env, &p, &["exec", "--", "python", "-c", "import alpha"]);
    // A new dependency brings in its wheel, which no one reviewed.
    let pyproject = std::fs::read_to_string(p.join("pyproject.toml")).unwrap();
    s.write(
        "p/pyproject.toml",
        &pyproject.replace("\"alpha>=1\",", "\"alpha>=1\",\n    \"gamma\","),
    );
    s.ok_with(&env, &p, &["allow"]);
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    assert!(
        said.contains("stays blocked")
            && said.contains("gamma-3.0-py3-none-any.whl was not reviewed"),
        "{said}"
    );
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["exec", "--", "python", "-c", "import gamma"]);
    s.ok_with(&env, &p, &["lock", "--upgrade-package", "gamma"]);
}

/// HOLE: `lock` runs `uv lock`, which reads a `uv.toml` beside
/// pyproject.toml over its [tool.uv]; trust did not cover it, so one that
/// arrived with a pull (an index of someone else's) decided the lock, and
/// the lock stayed allowed. Now a new or changed `uv.toml` blocks the
/// project first. Also: a `uv.lock` that is a link is refused before uv
/// writes through it, and `--upgrade-package` of a name the lock does not
/// hold is refused.
#[test]
fn lock_in_a_uv_project_reads_no_unreviewed_uv_toml() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    s.wheel_into("elsewhere", "alpha", "1.0", &["--origin", "elsewhere"]);
    s.write(
        "p/uv.toml",
        &format!(
            "no-index = true\nfind-links = [{:?}]\n",
            s.path("elsewhere").display().to_string()
        ),
    );
    let lock_before = std::fs::read(p.join("uv.lock")).unwrap();
    let (ok, _, err) = s.run_with(&env, &p, &["lock"]);
    assert!(
        !ok && err.contains("uv.toml is new since it was allowed"),
        "{err}"
    );
    assert_eq!(std::fs::read(p.join("uv.lock")).unwrap(), lock_before);
    std::fs::remove_file(p.join("uv.toml")).unwrap();

    let (ok, _, err) = s.run_with(&env, &p, &["lock", "--upgrade-package", "alpah"]);
    assert!(
        !ok && err.contains("--upgrade-package alpah") && err.contains("holds no such package"),
        "{err}"
    );

    std::fs::create_dir_all(p.join("locks")).unwrap();
    std::fs::rename(p.join("uv.lock"), p.join("locks/uv.lock")).unwrap();
    std::os::unix::fs::symlink("locks/uv.lock", p.join("uv.lock")).unwrap();
    s.ok_with(&env, &p, &["allow"]);
    let (ok, _, err) = s.run_with(&env, &p, &["lock"]);
    assert!(!ok && err.contains("is a symbolic link"), "{err}");
    assert_eq!(std::fs::read(p.join("locks/uv.lock")).unwrap(), lock_before);
}

/// `lock` of a uv project run from inside another project (through
/// `exec`, as a script would): uv runs with the user's own environment,
/// not the variables the other project set (here one that would make
/// `uv lock` refuse to change the lock).
#[test]
fn uv_lock_sees_no_variable_of_the_project_it_is_run_from() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    s.write("a/.pyguix.toml", "[env]\nUV_LOCKED = \"1\"\n");
    s.ok_with(&env, &s.path("a"), &["allow"]);
    let pyproject = std::fs::read_to_string(p.join("pyproject.toml")).unwrap();
    s.write(
        "p/pyproject.toml",
        &pyproject.replace("requires-python = \">=3.8\"", "requires-python = \">=3.9\""),
    );
    s.ok_with(&env, &p, &["allow"]);
    let bin = support::bin();
    let (_, said) = s.ok_with(
        &env,
        &s.path("a"),
        &[
            "exec",
            "--",
            bin.to_str().unwrap(),
            "lock",
            p.to_str().unwrap(),
        ],
    );
    assert!(said.contains("this is the change you asked for"), "{said}");
}

/// HOLE: `lock` in a uv project said the `uv lock` it ran with Rust's
/// description of the command, which lists every variable it passes: a
/// token in the user's environment went to the terminal, and to the log
/// of a CI step running `pyenv-guix lock --check`. The command is said by
/// its words only.
#[test]
fn lock_says_the_uv_lock_it_runs_and_none_of_the_users_variables() {
    let s = Sandbox::new();
    let Some((mut env, p)) = allowed_uv_project(&s) else {
        return;
    };
    env.push(("DEPLOY_TOKEN".into(), "hunter2-secret".into()));
    env.push(("PYENV_GUIX_LOG".into(), "debug".into()));
    let (_, said) = s.ok_with(&env, &p, &["lock", "--check"]);
    assert!(said.contains("uv lock --check"), "{said}");
    let pyproject = std::fs::read_to_string(p.join("pyproject.toml")).unwrap();
    s.write(
        "p/pyproject.toml",
        &pyproject.replace("requires-python = \">=3.8\"", "requires-python = \">=3.9\""),
    );
    s.ok_with(&env, &p, &["allow"]);
    let (ok, out, err) = s.run_with(&env, &p, &["lock", "--check"]);
    assert!(!ok);
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    for text in [&out, &err, &said] {
        assert!(!text.contains("hunter2"), "{text}");
    }
}

/// FOUND (try-out): a dependency added to pyproject.toml by hand, without
/// `uv lock`, was built from the old uv.lock without a word; `status`
/// showed no lock and `PYENV_GUIX_LOCKED=1` built it all the same. A uv
/// project's lock is stale when `uv lock --check` says so: entering says
/// it and builds from the lock as it is, `status` and `doctor` show it,
/// `PYENV_GUIX_LOCKED=1` refuses it, and `pyenv-guix lock` renews it.
#[test]
fn a_uv_lock_behind_pyproject_is_said_stale_and_refused_when_locked() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let lock_of = |s: &Sandbox| {
        let (out, _) = s.ok_with(&env, &p, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["pip"]["lock"].clone()
    };
    let lock = lock_of(&s);
    assert_eq!(lock["state"], "current", "{lock}");
    assert_eq!(lock["why"], serde_json::Value::Null, "{lock}");
    assert!(
        lock["file"].as_str().unwrap().ends_with("/p/uv.lock"),
        "{lock}"
    );

    let pyproject = std::fs::read_to_string(p.join("pyproject.toml")).unwrap();
    s.write(
        "p/pyproject.toml",
        &pyproject.replace("\"alpha>=1\",", "\"alpha>=1\",\n    \"gamma\","),
    );
    s.ok_with(&env, &p, &["allow"]);
    let (ok, _, err) = s.run_with(&env, &p, &["exec", "--", "python", "-c", "import gamma"]);
    assert!(!ok, "gamma is not in the lock: {err}");
    assert!(
        err.contains("uv.lock is stale: pyproject.toml asks for what it does not hold")
            && err.contains("run 'pyenv-guix lock' to renew it (building from it as it is)"),
        "{err}"
    );
    let (_, _, err) = s.run_with(&env, &p, &["exec", "--", "python", "-c", "import alpha"]);
    assert!(
        err.contains("uv.lock is stale"),
        "said at each entry: {err}"
    );
    assert_eq!(lock_of(&s)["state"], "stale");
    let (_, doctor) = {
        let (ok, out, err) = s.run_with(&env, &p, &["doctor"]);
        (ok, format!("{out}{err}"))
    };
    assert!(doctor.contains("uv.lock is stale"), "{doctor}");

    let mut locked = env.clone();
    locked.push(("PYENV_GUIX_LOCKED".into(), "1".into()));
    let (ok, _, err) = s.run_with(&locked, &p, &["exec", "--", "python", "-c", "import alpha"]);
    assert!(!ok);
    assert!(err.contains("nothing is built from a stale lock"), "{err}");

    // The lock brings in a local wheel not reviewed yet: allowed by hand.
    let (_, err) = s.ok_with(&env, &p, &["lock"]);
    assert!(
        err.contains("gamma-3.0-py3-none-any.whl was not reviewed"),
        "{err}"
    );
    s.ok_with(&env, &p, &["allow"]);
    let lock = lock_of(&s);
    assert_eq!(lock["state"], "current", "{lock}");
    let (out, err) = s.ok_with(
        &locked,
        &p,
        &["exec", "--", "python", "-c", "import gamma; print('gamma')"],
    );
    assert_eq!(out, "gamma\n", "{err}");
    assert!(!err.contains("stale"), "{err}");
}

/// FOUND (try-out, a workspace like full-stack-fastapi-template's): at a
/// uv workspace's virtual root (no `[project]`), `init --uv-project` said
/// to name a group, and `--group` was refused with `--uv-project`. The
/// root builds what `uv sync` builds there; without the flag, init says
/// the flag.
#[test]
fn init_at_a_virtual_workspace_root_builds_what_uv_sync_builds_there() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    s.wheel_into("w/wheels", "alpha", "1.0", &["--requires", "beta>=1"]);
    s.wheel_into("w/wheels", "beta", "2.0", &[]);
    s.write(
        "w/pyproject.toml",
        "[tool.uv]\nno-index = true\nfind-links = [\"wheels\"]\n\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\n",
    );
    s.write(
        "w/packages/p/pyproject.toml",
        "[project]\nname = \"p\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"alpha\"]\n\n[tool.uv]\npackage = false\n",
    );
    uv_lock(&s, "w", &env);
    let w = s.path("w");
    let (ok, _, err) = s.run_with(&env, &w, &["init", "--from", "pyproject.toml"]);
    assert!(
        !ok && err.contains("virtual root") && err.contains("--uv-project"),
        "{err}"
    );
    s.ok_with(
        &env,
        &w,
        &["init", "--from", "pyproject.toml", "--uv-project"],
    );
    s.ok_with(&env, &w, &["allow"]);
    let (out, err) = s.ok_with(
        &env,
        &w,
        &[
            "exec",
            "--",
            "python",
            "-c",
            "import alpha, beta; print('both')",
        ],
    );
    assert_eq!(out, "both\n", "{err}");
}

/// At a real prompt, where builds go to the background: the prompt runs
/// no uv of its own to tell whether uv.lock is stale (the build asks it),
/// and the prompt that loads the build says it.
#[test]
fn a_stale_uv_lock_is_said_at_the_prompt_that_loads_its_build() {
    let sh = ShellName::Bash;
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let env = env_with_uv(&s, &uv);
    uv_project(&s, "p", &env);
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let bin = quote(support::bin().as_os_str());
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", quote(s.path("p").as_os_str())),
        "dump inside".into(),
        "sed -i 's/\"alpha>=1\",/\"alpha>=1\", \"gamma\",/' pyproject.toml".into(),
        format!("{bin} allow"),
        "true".into(),
        "true".into(),
        "dump stale".into(),
        "python -c 'import gamma' 2> /dev/null || echo no > \"$OUT/gamma\"".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &env, &lines);
    let (inside, stale) = (s.dump("inside"), s.dump("stale"));
    let venv = |d: &support::Dump| d.get("VIRTUAL_ENV").map(String::from);
    assert!(venv(&inside).is_some(), "{out}");
    assert!(
        venv(&stale).is_some() && venv(&stale) != venv(&inside),
        "{out}"
    );
    assert!(
        out.contains("uv.lock is stale: pyproject.toml asks for what it does not hold"),
        "{out}"
    );
    assert_eq!(
        s.read_out("gamma"),
        "no\n",
        "built from the lock as it is: {out}"
    );
}

/// HOLE (attack pass): `uv lock --check`, run to tell whether uv.lock is
/// stale, let uv pick the interpreter the project points at: a `.venv`
/// of its own or a `.python-version` naming a file in it, which trust
/// does not cover, ran at the build, at `status` and with
/// `PYENV_GUIX_LOCKED=1`. The check asks the build's interpreter only.
#[test]
fn the_lock_check_runs_no_interpreter_the_project_points_at() {
    let s = Sandbox::new();
    let Some((env, p)) = allowed_uv_project(&s) else {
        return;
    };
    let ran = s.path("ran");
    let planted = format!(
        "#!/bin/sh\ntouch {}\nexec /usr/bin/python3 \"$@\"\n",
        ran.display()
    );
    for file in ["p/.venv/bin/python", "p/tools/python"] {
        s.write(file, &planted);
        std::fs::set_permissions(
            s.path(file),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    s.write("p/.python-version", "tools/python\n");
    let mut locked = env.clone();
    locked.push(("PYENV_GUIX_LOCKED".into(), "1".into()));
    s.ok_with(&env, &p, &["prefix"]);
    s.ok_with(&env, &p, &["status"]);
    s.ok_with(&locked, &p, &["rebuild"]);
    assert!(!ran.exists(), "a planted interpreter ran");
}
