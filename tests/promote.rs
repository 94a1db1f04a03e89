//! The seed's last step, through the Guix stand-in: `init` sorts
//! requirements between Guix and pip, `promote` moves a pip fallback to a
//! Guix package (one Guix has, or one drafted by `guix import pypi` into
//! the project's load-path), `pin` pins the channels. Comments survive each
//! edit; an allowed manifest stays allowed; `--dry-run` changes no byte.

mod support;

use std::ffi::OsString;
use std::path::Path;

use pyenv_guix::shells::ShellName;
use support::{Sandbox, UserShell, toml_strings};

/// The Guix the stand-in plays: what `guix package -A` lists, and the PyPI
/// metadata `guix import pypi` drafts from.
fn guix_knows(s: &Sandbox, catalogue: &str) -> Vec<(OsString, OsString)> {
    s.write("guix-catalogue", catalogue);
    s.write(
        "pypi/prov.json",
        r#"{"name": "prov", "version": "1.5.3", "requires": ["lxml", "pydot"], "summary": "W3C provenance data model library", "home_page": "https://github.com/trungdong/prov", "license": "MIT"}"#,
    );
    s.write(
        "pypi/pydot.json",
        r#"{"name": "pydot", "version": "2.0.0", "requires": [], "summary": "Python interface to Graphviz's Dot", "home_page": "https://github.com/pydot/pydot", "license": "MIT"}"#,
    );
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.stand_in_setting("GUIX_STAND_IN_PYPI", &s.path("pypi"));
    s.env()
}

const CATALOGUE: &str = "\
python-numpy 1.26.4 gnu/packages/python-xyz.scm
python-six 1.16.0 gnu/packages/python-xyz.scm
python-lxml 4.9.2 gnu/packages/xml.scm
";

fn manifest(s: &Sandbox, rel: &str) -> toml::Table {
    let text = std::fs::read_to_string(s.path(rel).join(".pyguix.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn guix_calls(s: &Sandbox, what: &str) -> usize {
    std::fs::read_to_string(s.path("guix.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(what))
        .count()
}

#[test]
fn init_sorts_requirements_between_guix_and_pip_with_one_guix_query() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.write(
        "a/requirements.txt",
        "numpy>=1.20\nsix>=2  # newer than Guix's\nprov==1.5.3\n--index-url https://example.org/simple\nrequests[socks]\n",
    );
    let (table, said) = s.ok_with(&env, &s.path("a"), &["init", "--from", "requirements.txt"]);
    let m = manifest(&s, "a");
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-numpy"]
    );
    // The file stays whole for pip (tests/init.rs has the details).
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements.txt"]
    );
    assert!(toml_strings(&m, "pip", "packages").is_empty(), "{m:?}");
    assert_eq!(guix_calls(&s, "package -A"), 1, "one query for all");
    assert!(
        table.contains("Guix has 1.16.0, which does not satisfy it"),
        "{table}"
    );
    assert!(table.contains("not in Guix"), "{table}");
    assert!(table.contains("asks for extras"), "{table}");
    assert!(said.contains("run 'pyenv-guix allow'"), "{said}");
    // Never allowed by init.
    let (allowed, _, err) = s.run_with(&env, &s.path("a"), &["exec", "--", "true"]);
    assert!(!allowed && err.contains("not allowed"), "{err}");
    // Nothing is overwritten without --force.
    let (again, _, err) = s.run_with(&env, &s.path("a"), &["init"]);
    assert!(!again && err.contains("--force"), "{err}");
    s.ok_with(&env, &s.path("a"), &["init", "--force"]);
    assert_eq!(
        toml_strings(&manifest(&s, "a"), "guix", "packages"),
        ["python"]
    );

    s.write(
        "b/pyproject.toml",
        "[project]\nname = \"b\"\ndependencies = [\"numpy >= 1.20, < 2\", \"prov\"]\n",
    );
    s.ok_with(&env, &s.path("b"), &["init", "--from", "pyproject.toml"]);
    let m = manifest(&s, "b");
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-numpy"]
    );
    assert_eq!(toml_strings(&m, "pip", "packages"), ["prov"]);
    s.ok_with(&env, &s.path("b"), &["allow"]);

    // Without Guix: everything to pip, and why.
    let mut no_guix = env.clone();
    no_guix.retain(|(k, _)| k != "PYENV_GUIX_GUIX");
    no_guix.push(("PYENV_GUIX_GUIX".into(), "/nonexistent/guix".into()));
    s.write("c/requirements.txt", "numpy>=1.20\n");
    let (_, said) = s.ok_with(
        &no_guix,
        &s.path("c"),
        &["init", "--from", "requirements.txt"],
    );
    let m = manifest(&s, "c");
    assert!(m.get("guix").is_none(), "{m:?}");
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements.txt"]
    );
    assert!(
        said.contains("no `/nonexistent/guix` on your PATH"),
        "{said}"
    );
}

const SIX_PROJECT: &str = "\
# The seed, part way: six from pip for now.
[guix]
packages = [\"python\"]   # Guix's Python

[pip]
# six moves to Guix once Guix has it
packages = [\"six==1.16.0\", \"alpha\"]
options = [\"--no-index\", \"--find-links\", \"WHEELS\"]
";

#[test]
fn promote_moves_a_fallback_guix_has_and_keeps_comments_and_trust() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.wheel("six", "1.16.0", &[]);
    let wheels = s.wheel("alpha", "1.0", &[]);
    let text = SIX_PROJECT.replace("WHEELS", &wheels.display().to_string());
    s.write("p/.pyguix.toml", &text);
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    let probe = [
        "exec",
        "--",
        "python3",
        "-c",
        "import six; print(six.__file__)",
    ];
    let (before, _) = s.ok_with(&env, &p, &probe);
    assert!(before.contains("/cache/prefixes/"), "{before}");

    let (diff, said) = s.ok_with(&env, &p, &["promote", "--dry-run"]);
    assert_eq!(
        std::fs::read_to_string(p.join(".pyguix.toml")).unwrap(),
        text
    );
    assert!(
        diff.contains("-packages = [\"six==1.16.0\", \"alpha\"]"),
        "{diff}"
    );
    assert!(
        diff.contains("+packages = [\"python\", \"python-six\"]"),
        "{diff}"
    );
    assert!(said.contains("nothing was changed"), "{said}");

    let (_, said) = s.ok_with(&env, &p, &["promote"]);
    assert!(said.contains("it was allowed before"), "{said}");
    let after = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    for comment in [
        "# The seed, part way: six from pip for now.",
        "# Guix's Python",
        "# six moves to Guix once Guix has it",
    ] {
        assert!(after.contains(comment), "{after}");
    }
    let m = manifest(&s, "p");
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-six"]
    );
    assert_eq!(toml_strings(&m, "pip", "packages"), ["alpha"]);
    let (now, _) = s.ok_with(&env, &p, &probe);
    assert!(now.contains("/gnu/store/"), "six from the profile: {now}");
    let (prefix, _) = s.ok_with(&env, &p, &["prefix"]);
    let dists: Vec<String> = walk(Path::new(prefix.trim()))
        .into_iter()
        .filter(|n| n.ends_with(".dist-info"))
        .collect();
    assert!(dists.iter().all(|d| !d.starts_with("six-")), "{dists:?}");
    assert!(dists.iter().any(|d| d.starts_with("alpha-")), "{dists:?}");

    // One not allowed before stays blocked.
    s.write("q/.pyguix.toml", &text);
    let q = s.path("q");
    let (_, said) = s.ok_with(&env, &q, &["promote"]);
    assert!(said.contains("stays blocked"), "{said}");
    let (allowed, _, _) = s.run_with(&env, &q, &["exec", "--", "true"]);
    assert!(!allowed);
}

#[test]
fn promote_import_drafts_a_module_the_profile_builds_with() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    let wheels = s.wheel("prov", "1.5.3", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"prov==1.5.3\"]  # not in Guix yet\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    let before = std::fs::read(p.join(".pyguix.toml")).unwrap();
    let (diff, _) = s.ok_with(&env, &p, &["promote", "--import", "--dry-run"]);
    assert_eq!(std::fs::read(p.join(".pyguix.toml")).unwrap(), before);
    assert!(!p.join("guix").exists());
    assert!(diff.contains("+(define-public python-prov"), "{diff}");

    let (_, said) = s.ok_with(&env, &p, &["promote", "--import"]);
    assert!(said.contains("it was allowed before"), "{said}");
    let module = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    assert!(
        module.contains("(define-module (pyguix packages)"),
        "{module}"
    );
    // lxml is Guix's: used from its module, not drafted again; pydot is not.
    assert!(
        module.contains("#:use-module (gnu packages xml)"),
        "{module}"
    );
    assert!(!module.contains("(define-public python-lxml"), "{module}");
    assert!(module.contains("(define-public python-pydot"), "{module}");
    assert!(module.contains("(define-public python-prov"), "{module}");
    let m = manifest(&s, "p");
    assert_eq!(toml_strings(&m, "guix", "load-path"), ["guix"]);
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-prov"]
    );
    assert!(toml_strings(&m, "pip", "packages").is_empty());
    let text = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    assert!(text.contains("# not in Guix yet"), "{text}");

    let probe = [
        "exec",
        "--",
        "python3",
        "-c",
        "import prov; print(prov.__file__)",
    ];
    let (from, _) = s.ok_with(&env, &p, &probe);
    assert!(
        from.contains("/gnu/store/"),
        "prov from the profile: {from}"
    );
    assert_eq!(guix_calls(&s, " -L "), 1, "built with -L");

    // Editing a drafted definition blocks the project until allowed, and
    // the allowed edit is another profile.
    let mut edited = module.clone();
    edited.push_str("\n;; reviewed\n");
    std::fs::write(p.join("guix/pyguix/packages.scm"), edited).unwrap();
    let (allowed, _, err) = s.run_with(&env, &p, &["exec", "--", "true"]);
    assert!(!allowed, "an edited module blocks the project");
    assert!(err.contains("packages.scm"), "{err}");
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &probe);
    assert_eq!(guix_calls(&s, " -L "), 2, "rebuilt after the allowed edit");
}

#[test]
fn pin_writes_the_channels_and_the_next_build_goes_through_time_machine() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.stand_in_setting(
        "GUIX_STAND_IN_COMMIT",
        std::path::Path::new("0123456789abcdef0123456789abcdef01234567"),
    );
    s.write(
        "p/.pyguix.toml",
        "# pinned below\n[guix]\npackages = [\"python\", \"python-six\"]  # from Guix\n",
    );
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["exec", "--", "true"]);
    let before = std::fs::read(p.join(".pyguix.toml")).unwrap();
    let (diff, _) = s.ok_with(&env, &p, &["pin", "--dry-run"]);
    assert_eq!(std::fs::read(p.join(".pyguix.toml")).unwrap(), before);
    assert!(!p.join("channels.scm").exists());
    assert!(diff.contains("+channels = \"channels.scm\""), "{diff}");

    let (_, said) = s.ok_with(&env, &p, &["pin"]);
    assert!(said.contains("it was allowed before"), "{said}");
    let channels = std::fs::read_to_string(p.join("channels.scm")).unwrap();
    assert!(channels.contains("(channel"), "{channels}");
    assert!(
        channels.contains("0123456789abcdef0123456789abcdef01234567"),
        "{channels}"
    );
    let text = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    assert!(
        text.contains("# pinned below") && text.contains("# from Guix"),
        "{text}"
    );
    assert_eq!(
        manifest(&s, "p")["guix"]["channels"].as_str(),
        Some("channels.scm")
    );
    s.ok_with(&env, &p, &["exec", "--", "true"]);
    // Guix is given the hashed copy of the pinned file, in the build's stage.
    let want = format!("time-machine -C {}/", s.path("cache/staging").display());
    assert_eq!(guix_calls(&s, &want), 1, "the next build is pinned");
}

/// `pin` and `promote` write only inside the project: a manifest naming a
/// channels file elsewhere, or a load-path directory linked out, is refused
/// and nothing outside is touched.
#[test]
fn pin_and_promote_write_only_inside_the_project() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.write(".bashrc", "# the user's\n");
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nchannels = \"../.bashrc\"\n",
    );
    let (done, _, err) = s.run_with(&env, &s.path("p"), &["pin"]);
    assert!(!done && err.contains("outside the project"), "{err}");
    assert_eq!(
        std::fs::read_to_string(s.path(".bashrc")).unwrap(),
        "# the user's\n"
    );

    std::fs::create_dir_all(s.path("elsewhere")).unwrap();
    s.write(
        "q/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nload-path = [\"guix\"]\n\n[pip]\npackages = [\"prov==1.5.3\"]\n",
    );
    std::os::unix::fs::symlink(s.path("elsewhere"), s.path("q/guix")).unwrap();
    let (done, _, err) = s.run_with(&env, &s.path("q"), &["promote", "--import"]);
    assert!(!done && err.contains("outside the project"), "{err}");
    assert!(!s.path("elsewhere/pyguix").exists());
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            out.push(e.file_name().to_string_lossy().into_owned());
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}

/// In a shell inside the project, the prompt after `promote` loads the
/// promoted environment, with no `cd`: the edit and the carried-over trust
/// are seen like any other change.
fn promote_in_a_shell(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.wheel("six", "1.16.0", &[]);
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &SIX_PROJECT.replace("WHEELS", &wheels.display().to_string()),
    );
    s.ok_with(&env, &s.path("p"), &["allow"]);
    let bin = support::quote(support::bin().as_os_str());
    let lines = vec![
        sh.hook_line(),
        format!("cd {}", support::quote(s.path("p").as_os_str())),
        "dump before".into(),
        format!("{bin} promote"),
        "true".into(),
        "dump after".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &env, &lines);
    let before = s.dump("before");
    let after = s.dump("after");
    assert!(before.get("PYENV_GUIX_PREFIX").is_some(), "{out}");
    let search = |d: &support::Dump| d.get("GUIX_PYTHONPATH").unwrap_or("").to_string();
    assert!(!search(&before).contains("six"), "{out}");
    assert_ne!(
        before.get("PYENV_GUIX_PROFILE"),
        after.get("PYENV_GUIX_PROFILE"),
        "the promoted profile is loaded at the next prompt: {out}"
    );
    assert!(out.contains("it was allowed before"), "{out}");
    assert!(!out.contains("is blocked"), "{out}");
}

bash_zsh_fish!(promote_in_a_shell);

/// Real Guix's outputs, recorded byte for byte (tests/guix-samples).
fn samples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guix-samples")
}

/// The stand-in plays real Guix: its `package -A` is real Guix's for the
/// inputs of prov and webargs (less `without`), and `import pypi -r` prints
/// what real Guix printed.
fn real_guix(s: &Sandbox, without: &str) -> Vec<(OsString, OsString)> {
    let real =
        std::fs::read_to_string(samples().join("package-A-webargs-prov-inputs.txt")).unwrap();
    let kept: String = real
        .lines()
        .filter(|l| l.split('\t').next().map(str::trim) != Some(without))
        .map(|l| format!("{l}\n"))
        .collect();
    s.write("guix-catalogue", &kept);
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.stand_in_setting("GUIX_STAND_IN_IMPORTS", &samples());
    s.env()
}

fn pip_project(s: &Sandbox, rel: &str, requirement: &str) -> std::path::PathBuf {
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!("[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"{requirement}\"]\n"),
    );
    s.path(rel)
}

/// `guix import pypi` prints `(home-page null)` when PyPI has no home
/// page: an unbound variable in Guile. The module written has the
/// project's PyPI page instead, and uses the modules of its inputs.
#[test]
fn promote_import_repairs_home_page_null_from_real_guix() {
    let s = Sandbox::new();
    let env = real_guix(&s, "python-prov");
    let p = pip_project(&s, "p", "prov>=3");
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["promote", "--import"]);
    let module = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    assert!(
        module.contains("(home-page \"https://pypi.org/project/prov/\")"),
        "{module}"
    );
    assert!(!module.contains("null"), "{module}");
    for m in ["xml", "graphviz", "rdf", "python-xyz"] {
        assert!(
            module.contains(&format!("#:use-module (gnu packages {m})")),
            "{m}: {module}"
        );
    }
    assert_eq!(
        toml_strings(&manifest(&s, "p"), "guix", "packages"),
        ["python", "python-prov"]
    );
}

/// Real `guix import pypi -r webargs` references python-pre-commit without
/// drafting it (Guix has it only as `pre-commit`). With nothing to draft it
/// from, promote refuses, naming the input and who needs it, and writes
/// nothing.
#[test]
fn promote_import_refuses_an_input_neither_guix_nor_the_import_defines() {
    let s = Sandbox::new();
    let env = real_guix(&s, "");
    let p = pip_project(&s, "p", "webargs");
    s.ok_with(&env, &p, &["allow"]);
    let before = std::fs::read(p.join(".pyguix.toml")).unwrap();
    let (done, _, err) = s.run_with(&env, &p, &["promote", "--import"]);
    assert!(!done, "{err}");
    assert!(
        err.contains("python-pre-commit") && err.contains("python-webargs"),
        "{err}"
    );
    assert!(!p.join("guix").exists(), "nothing written");
    assert_eq!(std::fs::read(p.join(".pyguix.toml")).unwrap(), before);
}

/// When PyPI has the missing input, promote drafts it too; webargs, which
/// the importer lists among its own inputs, no longer is one of them.
/// Without an installed METADATA, the inputs extras brought stay, and
/// promote says so.
#[test]
fn promote_import_drafts_what_the_import_left_out_and_drops_self_inputs() {
    let s = Sandbox::new();
    let env = real_guix(&s, "");
    s.pypi_pre_commit();
    let p = pip_project(&s, "p", "webargs");
    s.ok_with(&env, &p, &["allow"]);
    let (_, said) = s.ok_with(&env, &p, &["promote", "--import"]);
    let module = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    for var in [
        "python-webargs",
        "python-furo",
        "python-pre-commit",
        "python-identify",
    ] {
        assert!(
            module.contains(&format!("(define-public {var}\n")),
            "{var}: {module}"
        );
    }
    let webargs = module
        .split("(define-public python-webargs\n")
        .nth(1)
        .unwrap();
    assert_eq!(webargs.matches("python-webargs").count(), 1, "{webargs}");
    assert!(!module.contains("null"), "{module}");
    // pyyaml is a test input of pre-commit that Guix lacks here: dropped.
    assert!(!module.contains("python-pyyaml"), "{module}");
    assert!(said.contains("python-pyyaml"), "{said}");
    // The prefix was never built: no METADATA tells webargs's extras from
    // what it requires, so its inputs stay as the importer made them.
    assert!(
        said.contains("webargs: no installed METADATA") && said.contains("pyenv-guix build"),
        "{said}"
    );
    assert_eq!(
        toml_strings(&manifest(&s, "p"), "guix", "packages"),
        ["python", "python-webargs"]
    );
}

/// webargs 8.7.1's Requires-Dist lines, as flit writes them: every extra
/// in double quotes, which real `guix import pypi` does not recognise, so
/// it made each of these an input (tests/guix-samples). The markers with
/// `and` and `or` are this test's, to cover how markers combine.
const WEBARGS_REQUIRES: &[&str] = &[
    "marshmallow>=3.0.0",
    "packaging>=17.0",
    "webargs[tests] ; extra == \"dev\"",
    "tox ; extra == \"dev\"",
    "pre-commit>=3.5,<5.0 ; extra == \"dev\"",
    "webargs[frameworks] ; extra == \"docs\"",
    "Sphinx==8.2.3 ; extra == \"docs\"",
    "sphinx-issues==5.0.1 ; extra == \"docs\"",
    "furo==2025.7.19 ; extra == \"docs\"",
    "Flask>=0.12.5 ; extra == \"frameworks\"",
    "Django>=2.2.0 ; extra == \"frameworks\"",
    "bottle>=0.12.13 ; extra == \"frameworks\"",
    "tornado>=4.5.2 ; extra == \"frameworks\"",
    "pyramid>=1.9.1 ; extra == \"frameworks\"",
    "falcon>=2.0.0 ; extra == \"frameworks\"",
    "aiohttp>=3.0.8 ; extra == \"frameworks\"",
    "webargs[frameworks] ; extra == \"tests\"",
    "pytest ; extra == \"tests\" or extra == \"dev\"",
    "pytest-asyncio ; extra == \"tests\"",
    "webtest==3.0.4 ; extra == \"tests\"",
    "webtest-aiohttp==2.0.0 ; extra == \"tests\"",
    "pytest-aiohttp>=0.3.0 ; extra == \"tests\"",
    "typing-extensions ; (extra == \"tests\") and python_version < \"3.11\"",
];

/// A drafted definition's propagated inputs, as written in the module.
fn propagated(module: &str, var: &str) -> Vec<String> {
    let def = module
        .split(&format!("(define-public {var}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {var}: {module}"));
    let def = def.split("\n(define-public ").next().unwrap();
    let Some(inputs) = def.split("(propagated-inputs (list").nth(1) else {
        return Vec::new();
    };
    inputs
        .split("))")
        .next()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Wheels built by flit or hatchling write their extras `extra == "…"`,
/// and real `guix import pypi` takes those for required inputs: webargs
/// among webargs's own, Django, Flask, pytest. The fallbacks' installed
/// METADATA tells which inputs only extras bring; those are not written,
/// nor the definitions drafted only for them (furo, and pre-commit, which
/// the import referenced without drafting it).
#[test]
fn promote_import_drops_inputs_only_optional_extras_bring() {
    let s = Sandbox::new();
    let env = real_guix(&s, "python-prov");
    for (name, version) in [
        ("marshmallow", "3.19.0"),
        ("packaging", "21.3"),
        ("lxml", "4.9.1"),
        ("networkx", "2.8.6"),
        ("rdflib", "6.1.1"),
        ("pydot", "1.4.2"),
    ] {
        s.wheel(name, version, &[]);
    }
    let with_requires = |requires: &[&str]| -> Vec<String> {
        requires
            .iter()
            .flat_map(|r| ["--requires".to_string(), r.to_string()])
            .collect()
    };
    let webargs = with_requires(WEBARGS_REQUIRES);
    let webargs: Vec<&str> = webargs.iter().map(String::as_str).collect();
    s.wheel("webargs", "8.7.1", &webargs);
    // prov 3's dot extra, as setuptools writes it; real Guix made
    // matplotlib an input of prov (tests/guix-samples/import-pypi-prov.scm).
    let prov = with_requires(&[
        "lxml>=3.3.5",
        "networkx>=2.0",
        "rdflib>=4.2.1",
        "pydot>=1.2.0",
        "matplotlib>=3.0; extra == \"dot\"",
    ]);
    let prov: Vec<&str> = prov.iter().map(String::as_str).collect();
    let wheels = s.wheel("prov", "3.2.3", &prov);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"prov>=3\", \"webargs\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["exec", "--", "true"]);
    let (_, said) = s.ok_with(&env, &p, &["promote", "--import"]);
    let module = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    assert_eq!(
        propagated(&module, "python-webargs"),
        ["python-marshmallow", "python-packaging"],
        "{module}"
    );
    assert_eq!(
        propagated(&module, "python-prov"),
        [
            "python-lxml",
            "python-networkx",
            "python-pydot",
            "python-rdflib"
        ],
        "{module}"
    );
    for gone in [
        "python-furo",
        "python-accessible-pygments",
        "python-playwright",
        "python-pre-commit",
        "python-django",
        "python-matplotlib",
    ] {
        assert!(!module.contains(gone), "{gone}: {module}");
    }
    assert!(
        said.contains("python-webargs: dropped python-django")
            && said.contains("python-furo: not drafted after all"),
        "{said}"
    );
    assert_eq!(
        toml_strings(&manifest(&s, "p"), "guix", "packages"),
        ["python", "python-prov", "python-webargs"]
    );
}
