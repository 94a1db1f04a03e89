//! What editors read: `export json` in the shape of `direnv export json`,
//! compared with direnv itself; `--no-build`, which never starts a build.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use support::{Run, Sandbox};

type Env = BTreeMap<String, String>;

const GREETING: &str = "a \"quoted\" value with $dollar, `ticks`, \\backslash and été";

/// The variables each tool keeps for itself, left out of the comparison.
fn bookkeeping(name: &str) -> bool {
    name.starts_with("DIRENV_") || name == "PYENV_GUIX_STATE"
}

/// A JSON object of changes (name to value, null to unset) as the tool
/// printed it; nothing printed is no change.
fn changes(stdout: &str, who: &str) -> BTreeMap<String, Option<String>> {
    if stdout.bytes().all(|b| b.is_ascii_whitespace()) {
        return BTreeMap::new();
    }
    let value: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{who}: not JSON ({e}): {stdout:?}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{who}: not an object"));
    object
        .iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => panic!("{who}: {k} is neither a string nor null: {other}"),
            };
            (k.clone(), v)
        })
        .collect()
}

/// `env` after the changes, as an editor applies them.
fn apply(env: &mut Env, changes: &BTreeMap<String, Option<String>>) {
    for (k, v) in changes {
        match v {
            Some(v) => env.insert(k.clone(), v.clone()),
            None => env.remove(k),
        };
    }
}

fn without_bookkeeping(
    changes: &BTreeMap<String, Option<String>>,
) -> BTreeMap<String, Option<String>> {
    changes
        .iter()
        .filter(|(k, _)| !bookkeeping(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `program` as an editor runs it: in `cwd`, with `env` and nothing else.
fn tool(program: &Path, args: &[&str], cwd: &Path, env: &Env) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .env("PWD", cwd);
    c
}

fn direnv() -> Option<std::path::PathBuf> {
    let found = Command::new("direnv")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("direnv".into());
    }
    if std::env::var_os("PYENV_GUIX_REQUIRE_SHELLS").is_some_and(|v| v == "1") {
        panic!("direnv is not installed and PYENV_GUIX_REQUIRE_SHELLS=1");
    }
    eprintln!("\n!!! SKIPPED: direnv is not installed; export json was not compared with it !!!\n");
    None
}

/// The same project as a `.pyguix.toml` and as an `.envrc`: entering, a
/// prompt inside with nothing changed, a subdirectory, and leaving give
/// the same variables with the same values, and null for what is unset.
#[test]
fn export_json_is_what_direnv_gives() {
    let Some(direnv) = direnv() else {
        return;
    };
    let s = Sandbox::new();
    let root = s.path("p");
    let dir = root.display().to_string();
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[env]\nGREETING = {}\nEDITOR_MODE = \"project\"\n\n[path]\nPATH = [\"bin\"]\n",
            toml_string(GREETING)
        ),
    );
    std::fs::create_dir_all(s.path("p/bin")).unwrap();
    std::fs::create_dir_all(s.path("p/sub")).unwrap();
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.allow("p");
    // direnv's copy of the project, beside it: the same variables, by
    // direnv's own means (PYENV_GUIX_ROOT and PYENV_GUIX_PROMPT are
    // variables the project sets for its users, not bookkeeping: the
    // .envrc sets them too).
    s.write(
        "d/.envrc",
        &format!(
            "export GREETING={}\nexport EDITOR_MODE=project\nPATH_add {dir}/bin\nexport PYENV_GUIX_ROOT={dir}\nexport PYENV_GUIX_PROMPT=p\n",
            shell_single(GREETING)
        ),
    );
    std::fs::create_dir_all(s.path("d/sub")).unwrap();

    let mut start: Env = s
        .env()
        .into_iter()
        .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
        .collect();
    // A value the user had before, which the project replaces.
    start.insert("EDITOR_MODE".into(), "the user's".into());
    // direnv: quiet, and its allow records in the sandbox.
    start.insert("DIRENV_LOG_FORMAT".into(), String::new());
    tool(&direnv, &["allow", "."], &s.path("d"), &start).succeeds();

    let pg = support::bin();
    let mut ours = start.clone();
    let mut theirs = start.clone();
    for (step, our_dir, their_dir) in [
        ("entering", "p", "d"),
        ("staying", "p", "d"),
        ("a subdirectory", "p/sub", "d/sub"),
        ("leaving", "outside", "outside"),
        ("outside", "outside", "outside"),
    ] {
        let mine = changes(
            &tool(&pg, &["export", "json"], &s.path(our_dir), &ours).stdout_ok(),
            "pyenv-guix",
        );
        let direnvs = changes(
            &tool(&direnv, &["export", "json"], &s.path(their_dir), &theirs).stdout_ok(),
            "direnv",
        );
        assert_eq!(
            without_bookkeeping(&mine),
            without_bookkeeping(&direnvs),
            "{step}: pyenv-guix (left) and direnv (right) differ"
        );
        apply(&mut ours, &mine);
        apply(&mut theirs, &direnvs);
        if step == "entering" {
            assert_eq!(ours.get("GREETING").map(String::as_str), Some(GREETING));
            assert_eq!(ours.get("EDITOR_MODE").map(String::as_str), Some("project"));
            assert!(ours["PATH"].starts_with(&format!("{dir}/bin:")));
        }
    }
    // Back where both started, bookkeeping aside.
    let strip = |env: &Env| -> Env {
        env.iter()
            .filter(|(k, _)| !bookkeeping(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut want = strip(&start);
    want.remove("DIRENV_LOG_FORMAT");
    let mut got = strip(&ours);
    got.remove("DIRENV_LOG_FORMAT");
    assert_eq!(got, want, "leaving restores the user's environment");
    assert_eq!(strip(&theirs), strip(&start));
}

fn toml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn shell_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `--no-build` in a project whose pip prefix is not built: nothing on
/// stdout, what is missing on stderr, a non-zero exit, and no build
/// started (no prefix appears, not even later, in the background). Once
/// built, the same command prints the environment.
#[test]
fn no_build_never_builds() {
    let s = Sandbox::new();
    let wheels = s.wheel("nobuildpkg", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"nobuildpkg\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n\n[env]\nX = \"1\"\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let prefixes = s.path("cache/prefixes");
    let listing = || -> Vec<String> {
        std::fs::read_dir(&prefixes)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for build_setting in ["foreground", "background"] {
        let out = s
            .command(&["export", "json", "--no-build"], &s.path("p"))
            .env("PYENV_GUIX_BUILD", build_setting)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
        assert!(err.contains("not built yet: the pip prefix"), "{err}");
        assert!(err.contains(&prefixes.display().to_string()), "{err}");
    }
    // Nothing started in the background either.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        listing()
            .iter()
            .all(|n| !n.starts_with(|c: char| c.is_ascii_hexdigit())),
        "no prefix was made: {:?}",
        listing()
    );
    assert!(!s.path("cache/logs").exists(), "no build log");

    s.pyenv_guix(&["prefix"], &s.path("p"));
    let out = s
        .command(&["export", "json", "--no-build"], &s.path("p"))
        .stdout_ok();
    let got = changes(&out, "pyenv-guix");
    assert_eq!(got.get("X"), Some(&Some("1".to_string())));
    assert!(got.get("PYENV_GUIX_PREFIX").is_some_and(Option::is_some));

    // Outside any project, and in a blocked one, there is nothing to build:
    // it answers as export json does.
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.command(&["export", "json", "--no-build"], &s.path("outside"))
        .succeeds();
    s.write("q/.pyguix.toml", "[env]\nY = \"1\"\n");
    let out = s
        .command(&["export", "json", "--no-build"], &s.path("q"))
        .succeeds();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is blocked (not allowed yet)"));
    let got = changes(&String::from_utf8_lossy(&out.stdout), "pyenv-guix");
    assert!(!got.contains_key("Y"));
}

/// The bridge the README gives for tools that only know direnv (envrc.el,
/// VS Code's direnv extensions): an `.envrc` beside the manifest that
/// evals `pyenv-guix export bash --no-build`. direnv then reports what
/// `pyenv-guix export json` does; an unbuilt project fails the `.envrc`
/// instead of building.
#[test]
fn an_envrc_bridge_gives_direnv_the_same_environment() {
    let Some(direnv) = direnv() else {
        return;
    };
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[env]\nGREETING = {}\n\n[path]\nPATH = [\"bin\"]\n",
            toml_string(GREETING)
        ),
    );
    s.allow("p");
    s.write(
        "p/.envrc",
        &format!(
            "eval \"$({} export bash --no-build)\"\n",
            shell_single(&support::bin().display().to_string())
        ),
    );
    let mut env: Env = s
        .env()
        .into_iter()
        .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
        .collect();
    env.insert("DIRENV_LOG_FORMAT".into(), String::new());
    tool(&direnv, &["allow", "."], &s.path("p"), &env).succeeds();
    let theirs = changes(
        &tool(&direnv, &["export", "json"], &s.path("p"), &env).stdout_ok(),
        "direnv",
    );
    let ours = changes(
        &tool(&support::bin(), &["export", "json"], &s.path("p"), &env).stdout_ok(),
        "pyenv-guix",
    );
    assert_eq!(without_bookkeeping(&theirs), without_bookkeeping(&ours));
    assert_eq!(
        theirs.get("GREETING"),
        Some(&Some(GREETING.to_string())),
        "{theirs:?}"
    );
}

/// A scripted editor in a directory with a space in its name: it records
/// its arguments and what it was shown, appends `$ED_ADD` to the file and
/// exits with `$ED_EXIT`.
fn scripted_editor(s: &Sandbox) -> String {
    let script = s.path("my tools/ed.sh");
    s.write(
        "my tools/ed.sh",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$OUT/args\"\nfor last; do :; done\ncp \"$last\" \"$OUT/seen\"\nprintf '%b' \"${ED_ADD:-}\" >> \"$last\"\nexit \"${ED_EXIT:-0}\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("'{}' --wait", script.display())
}

fn edit(s: &Sandbox, cwd: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["edit"];
    all.extend_from_slice(args);
    let mut c = s.command(&all, &s.path(cwd));
    c.envs(env.iter().copied());
    c.output().unwrap()
}

/// No manifest: the editor gets a commented template, and what it saves is
/// allowed and loads.
#[test]
fn edit_makes_a_new_manifest_and_allows_it() {
    let s = Sandbox::new();
    let editor = scripted_editor(&s);
    std::fs::create_dir_all(s.path("p")).unwrap();
    let out = edit(
        &s,
        "p",
        &[],
        &[
            ("EDITOR", &editor),
            ("ED_ADD", "\\n[env]\\nEDITED = \"yes\"\\n"),
        ],
    );
    support::succeeded_as("edit", &out);
    let err = String::from_utf8_lossy(&out.stderr);
    let manifest = s.path("p/.pyguix.toml");
    assert!(
        err.contains(&format!("new manifest {}", manifest.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("allowed {}", manifest.display())),
        "{err}"
    );
    // Split as a shell would: the quoted path, then its option, then the
    // file: a copy beside the manifest, which replaced the manifest.
    let args = s.read_out("args");
    let (option, copy) = args.trim_end().split_once('\n').unwrap();
    assert_eq!(option, "--wait");
    let copy = std::path::Path::new(copy);
    assert_eq!(copy.parent(), manifest.parent(), "{args}");
    assert!(
        copy.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".pyguix-edit-")),
        "{args}"
    );
    assert!(!copy.exists());
    let seen = s.read_out("seen");
    assert!(seen.starts_with("# pyenv-guix manifest."), "{seen}");
    assert!(
        seen.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "all comments: {seen}"
    );
    let env = changes(
        &s.command(&["export", "json"], &s.path("p")).stdout_ok(),
        "pyenv-guix",
    );
    assert_eq!(env.get("EDITED"), Some(&Some("yes".to_string())));

    // The template saved, nothing uncommented: a valid project that
    // changes nothing.
    std::fs::create_dir_all(s.path("q")).unwrap();
    let out = edit(&s, "q", &[], &[("EDITOR", &editor), ("ED_ADD", "\\n")]);
    support::succeeded_as("edit", &out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("allowed"));
}

/// $VISUAL wins over $EDITOR; a manifest above the directory is the one
/// edited; an edit of an allowed manifest is allowed again.
#[test]
fn edit_prefers_visual_and_finds_the_manifest_above() {
    let s = Sandbox::new();
    let editor = scripted_editor(&s);
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    std::fs::create_dir_all(s.path("p/sub")).unwrap();
    s.allow("p");
    let out = edit(
        &s,
        "p/sub",
        &[],
        &[
            ("VISUAL", &editor),
            ("EDITOR", "/nonexistent/editor"),
            ("ED_ADD", "B = \"2\"\\n"),
        ],
    );
    support::succeeded_as("edit", &out);
    assert_eq!(s.read_out("seen"), "[env]\nA = \"1\"\n");
    let env = changes(
        &s.command(&["export", "json"], &s.path("p/sub")).stdout_ok(),
        "pyenv-guix",
    );
    assert_eq!(env.get("B"), Some(&Some("2".to_string())));
    assert!(!s.path("p/sub/.pyguix.toml").exists());
}

/// An invalid result is shown with its errors (file, line, column) and
/// left blocked; so is a valid one whose editor failed; an unchanged
/// manifest keeps the trust it had; no editor at all is an error.
#[test]
fn edit_leaves_an_invalid_or_abandoned_manifest_blocked() {
    let s = Sandbox::new();
    let editor = scripted_editor(&s);
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let manifest = s.path("p/.pyguix.toml");
    let blocked_now = || {
        let out = s.command(&["export", "json"], &s.path("p")).succeeds();
        let env = changes(&String::from_utf8_lossy(&out.stdout), "pyenv-guix");
        (
            env.keys().all(|k| k.starts_with("PYENV_GUIX_")),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let out = edit(&s, "p", &[], &[("EDITOR", &editor), ("ED_ADD", "B = 2\\n")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{}:3:5", manifest.display())),
        "the error names file, line and column: {err}"
    );
    assert!(err.contains("has errors and stays blocked"), "{err}");
    let (blocked, why) = blocked_now();
    assert!(blocked, "{why}");

    // Fixed, but the editor fails: nothing is allowed.
    std::fs::write(&manifest, "[env]\nA = \"1\"\n").unwrap();
    let out = edit(
        &s,
        "p",
        &[],
        &[
            ("EDITOR", &editor),
            ("ED_ADD", "B = \"2\"\\n"),
            ("ED_EXIT", "3"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("failed") && err.contains("is not allowed"),
        "{err}"
    );
    assert!(blocked_now().0);

    // Opened and closed with no change: still blocked, as direnv edit does.
    let out = edit(&s, "p", &[], &[("EDITOR", &editor)]);
    support::succeeded_as("edit", &out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unchanged"));
    assert!(blocked_now().0);

    // A manifest with a requirements file that is missing: refused as allow refuses it.
    let out = edit(
        &s,
        "p",
        &[],
        &[
            ("EDITOR", &editor),
            ("ED_ADD", "\\n[pip]\\nrequirements = [\"missing.txt\"]\\n"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("missing.txt"), "{err}");
    assert!(blocked_now().0);

    let out = s.command(&["edit"], &s.path("p")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("set VISUAL or EDITOR"), "{err}");
}
