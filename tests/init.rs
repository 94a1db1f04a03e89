//! `init` on projects shaped like real ones: requirements files are
//! referenced as they are (`-r` chains, `-e`, `-c`, pip-compile hashes),
//! pyproject's dependency groups and extras are taken by choice, a huge
//! requirements file fits in Guix's query, and what `init` prints cannot
//! drive the terminal. One project goes from `init` to an import.

mod support;

use std::ffi::OsString;

use support::{Sandbox, toml_strings};

/// The Guix the stand-in plays: what `guix package -A` lists.
fn guix_knows(s: &Sandbox, catalogue: &str) -> Vec<(OsString, OsString)> {
    s.write("guix-catalogue", catalogue);
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.env()
}

fn no_guix(s: &Sandbox) -> Vec<(OsString, OsString)> {
    let mut env = s.env();
    env.retain(|(k, _)| k != "PYENV_GUIX_GUIX");
    env.push(("PYENV_GUIX_GUIX".into(), "/nonexistent/guix".into()));
    env
}

const CATALOGUE: &str = "\
python-numpy 1.26.4 gnu/packages/python-xyz.scm
python-six 1.16.0 gnu/packages/python-xyz.scm
python-requests 2.32.3 gnu/packages/python-web.scm
python-pytest 8.3.3 gnu/packages/check.scm
python-idna 3.10 gnu/packages/python-xyz.scm
";

fn manifest(s: &Sandbox, rel: &str) -> toml::Table {
    let text = std::fs::read_to_string(s.path(rel).join(".pyguix.toml")).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A project laid out as requests' or fastapi's: a runtime file, a dev
/// file that includes it, installs the project editable and constrains it.
fn dev_project(s: &Sandbox, rel: &str) {
    s.write(
        &format!("{rel}/requirements.txt"),
        "# Runtime dependencies\nrequests>=2.31  # HTTP\nnumpy >= 2, \\\n    < 3\nsix\n",
    );
    s.write(
        &format!("{rel}/requirements-dev.txt"),
        "-r requirements.txt\n-e .\n-c constraints.txt\n\n# Tests\npytest>=7 \\\n  # the runner\nidna==3.7\n",
    );
    s.write(
        &format!("{rel}/constraints.txt"),
        "# Kept below what Guix has\nsix<1.16\n",
    );
}

#[test]
fn a_requirements_file_is_referenced_with_its_chain_editable_and_constraints() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    dev_project(&s, "p");
    let p = s.path("p");
    let (table, said) = s.ok_with(&env, &p, &["init", "--from", "requirements-dev.txt"]);
    let m = manifest(&s, "p");
    // The file as it is: the chain, the editable line and the constraint
    // stay in it, for pip to read.
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements-dev.txt"]
    );
    for key in ["packages", "options", "editable"] {
        assert!(
            toml_strings(&m, "pip", key).is_empty(),
            "[pip].{key} repeats the file: {m:?}"
        );
    }
    // What Guix satisfies, under the file's constraints too, comes from
    // Guix: pip's resolution sees the profile and installs the rest.
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-requests", "python-pytest"],
        "{table}"
    );
    for want in [
        "requirements.txt",
        "requirements-dev.txt",
        "Guix has 1.26.4, which does not satisfy it",
        "Guix has 1.16.0, which does not satisfy constraints.txt",
        "Guix has 3.10, which does not satisfy it",
        "editable",
    ] {
        assert!(table.contains(want), "{want:?} not in:\n{table}");
    }
    assert!(!said.contains("is an option"), "nothing is dropped: {said}");
    s.ok_with(&env, &p, &["allow"]);

    // Without Guix, the same file for pip, and nothing else.
    let (_, said) = s.ok_with(
        &no_guix(&s),
        &p,
        &["init", "--force", "--from", "requirements-dev.txt"],
    );
    let m = manifest(&s, "p");
    assert!(m.get("guix").is_none(), "{m:?}");
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements-dev.txt"]
    );
    assert!(said.contains("no `/nonexistent/guix`"), "{said}");

    // A file named from elsewhere in the project is referenced from the root.
    s.write("p/requirements/ci.txt", "-r ../requirements.txt\n");
    s.ok_with(
        &env,
        &p.join("requirements"),
        &["init", "--force", "--from", "ci.txt", ".."],
    );
    assert_eq!(
        toml_strings(&manifest(&s, "p"), "pip", "requirements"),
        ["requirements/ci.txt"]
    );

    // A broken chain is said, naming the file and line that include it.
    s.write("q/requirements.txt", "six\n-r missing.txt\n");
    let (done, _, err) = s.run_with(&env, &s.path("q"), &["init", "--from", "requirements.txt"]);
    assert!(!done, "{err}");
    assert!(
        err.contains("requirements.txt:2: -r missing.txt: ") && err.contains("missing.txt"),
        "{err}"
    );
    assert!(
        !s.path("q/.pyguix.toml").exists(),
        "nothing written on error"
    );
    // A chain that comes back is an error, not a hang.
    s.write("loop/requirements.txt", "six\n-r more.txt\n");
    s.write("loop/more.txt", "-r requirements.txt\n");
    let (done, _, err) = s.run_with(
        &env,
        &s.path("loop"),
        &["init", "--from", "requirements.txt"],
    );
    assert!(!done && err.contains("includes itself"), "{err}");
}

/// pip-compile's output: every pin with `--hash` options on continued
/// lines, comments saying who needs what.
const LOCKED: &str = "\
#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    pip-compile --generate-hashes requirements.in
#
idna==3.10 \\
    --hash=sha256:12f65c9b470abda6dc35cf8e63cc574b1c52b11df2c86030af0ac09b01b13ea9 \\
    --hash=sha256:946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3
    # via requests
requests==2.32.3 \\
    --hash=sha256:55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760 \\
    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6
    # via -r requirements.in
";

#[test]
fn a_pip_compile_hashed_file_is_referenced_never_split_into_packages() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.write("p/requirements.txt", LOCKED);
    let p = s.path("p");
    let (table, _) = s.ok_with(&env, &p, &["init", "--from", "requirements.txt"]);
    let m = manifest(&s, "p");
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements.txt"]
    );
    assert!(toml_strings(&m, "pip", "packages").is_empty(), "{m:?}");
    // Guix has both at the pinned versions, but not the artifacts the
    // hashes name: a locked file stays whole with pip.
    assert_eq!(toml_strings(&m, "guix", "packages"), ["python"], "{table}");
    assert!(table.contains("requests==2.32.3"), "{table}");
    assert!(table.contains("pinned with hashes"), "{table}");
    assert!(!table.contains("--hash"), "{table}");
    s.ok_with(&env, &p, &["allow"]);
}

const PYPROJECT: &str = r#"
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "webthing"
version = "0.1"
dependencies = [
    "requests >= 2.31",
    "numpy<2",
]

[project.optional-dependencies]
socks = ["PySocks>=1.5.6, !=1.5.7"]
cli = ["click>=8"]

[dependency-groups]
typing = ["mypy>=1.10"]
test = ["pytest>=8", { include-group = "typing" }]
dev = [{ include-group = "test" }, "ruff"]
"#;

#[test]
fn pyproject_groups_and_extras_are_taken_by_choice() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    s.write("p/pyproject.toml", PYPROJECT);
    let p = s.path("p");
    let (table, _) = s.ok_with(
        &env,
        &p,
        &[
            "init",
            "--from",
            "pyproject.toml",
            "--group",
            "dev",
            "--group",
            "typing",
            "--extra",
            "socks",
        ],
    );
    // A requirement two chosen groups hold (`dev` includes `typing`
    // through `test`) is one row.
    assert_eq!(table.matches("mypy>=1.10").count(), 1, "{table}");
    let m = manifest(&s, "p");
    // The project itself, editable, with the extra chosen: its own
    // dependencies come with it, from Guix when Guix has them.
    assert_eq!(toml_strings(&m, "pip", "editable"), [".[socks]"]);
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-requests", "python-numpy", "python-pytest"],
        "{table}"
    );
    // The group, include-group followed, for pip where Guix lacks it.
    assert_eq!(toml_strings(&m, "pip", "packages"), ["mypy>=1.10", "ruff"]);
    assert!(!table.contains("click"), "an extra not chosen: {table}");
    assert!(table.contains("PySocks"), "{table}");
    s.ok_with(&env, &p, &["allow"]);

    // A uv.lock's pins are not read: init says how to keep them (flask's
    // and fastapi's suites fail on versions newer than their locks).
    s.write("p/uv.lock", "version = 1\n");
    let (_, said) = s.ok_with(
        &env,
        &p,
        &[
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--group",
            "test",
        ],
    );
    assert!(
        said.contains("uv.lock")
            && said.contains("uv export --frozen --no-hashes --no-default-groups --group test -o requirements.lock")
            && said.contains("pyenv-guix init --force --from requirements.lock"),
        "{said}"
    );

    // Each by name, and what there is when the name is wrong.
    let (done, _, err) = s.run_with(
        &env,
        &p,
        &[
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--group",
            "lint",
        ],
    );
    assert!(!done);
    assert!(
        err.contains("pyproject.toml") && err.contains("no dependency group `lint`"),
        "{err}"
    );
    assert!(err.contains("dev, test, typing"), "{err}");
    let (done, _, err) = s.run_with(
        &env,
        &p,
        &[
            "init",
            "--force",
            "--from",
            "pyproject.toml",
            "--extra",
            "gui",
        ],
    );
    assert!(
        !done && err.contains("no optional dependencies `gui`") && err.contains("cli, socks"),
        "{err}"
    );

    // A group including itself is an error, not a hang.
    s.write(
        "loop/pyproject.toml",
        "[project]\nname = \"l\"\nversion = \"1\"\n[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}]\n",
    );
    let (done, _, err) = s.run_with(
        &env,
        &s.path("loop"),
        &["init", "--from", "pyproject.toml", "--group", "a"],
    );
    assert!(!done && err.contains("includes itself"), "{err}");

    // --group and --extra read a pyproject only.
    dev_project(&s, "r");
    let (done, _, err) = s.run_with(
        &env,
        &s.path("r"),
        &["init", "--from", "requirements.txt", "--group", "dev"],
    );
    assert!(!done && err.contains("pyproject.toml"), "{err}");
}

#[test]
fn a_pip_group_option_is_accepted() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[pip]\noptions = [\"--group\", \"test\", \"--group=pyproject.toml:dev\"]\n",
    );
    let (done, _, err) = s.run_with(&s.env(), &s.path("p"), &["allow"]);
    assert!(done, "{err}");
}

#[test]
fn what_init_prints_cannot_drive_the_terminal() {
    let s = Sandbox::new();
    let env = guix_knows(&s, CATALOGUE);
    // Set a window title, ring, move the cursor: all from project text.
    s.write(
        "p/pyproject.toml",
        "[project]\nname = \"p\"\nversion = \"1\"\ndependencies = [\"six\\u001b]0;pwned\\u0007\", \"a\\u001b[2J\\nforged-row  x  y  [guix]\", \"b\\u202e\"]\n",
    );
    let (table, said) = s.ok_with(&env, &s.path("p"), &["init", "--from", "pyproject.toml"]);
    for out in [&table, &said] {
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{202e}'),
            "{out:?}"
        );
    }
    assert!(table.contains("\\u{1b}]0;pwned"), "shown escaped: {table}");
    assert!(
        !table.lines().any(|l| l.starts_with("forged-row")),
        "a line break in a requirement forges no row: {table}"
    );
}

#[test]
fn a_requirements_file_of_100k_lines_fits_guix_query() {
    let s = Sandbox::new();
    let env = guix_knows(&s, "python-p77777 1.0 gnu/packages/python-xyz.scm\n");
    let mut text = String::from("# generated\n");
    for i in 0..100_000 {
        text.push_str(&format!("p{i}\n"));
    }
    s.write("p/requirements.txt", &text);
    let p = s.path("p");
    let (table, _) = s.ok_with(&env, &p, &["init", "--from", "requirements.txt"]);
    let m = manifest(&s, "p");
    assert_eq!(
        toml_strings(&m, "pip", "requirements"),
        ["requirements.txt"]
    );
    assert_eq!(
        toml_strings(&m, "guix", "packages"),
        ["python", "python-p77777"]
    );
    assert_eq!(table.lines().count(), 100_001, "a row for each");
    s.ok_with(&env, &p, &["allow"]);
}

/// A PEP 517/660 build backend kept in the project (as `backend-path`
/// allows): pip needs nothing from an index to build it, editable or not.
const BACKEND: &str = r#"
import base64, hashlib, os, zipfile

NAME, VERSION = "webthing", "0.1"
DIST = f"{NAME}-{VERSION}.dist-info"
METADATA = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nRequires-Dist: alpha\n"
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

#[test]
fn a_project_initialised_from_its_requirements_builds_and_imports() {
    let s = Sandbox::new();
    let env = no_guix(&s);
    let p = s.path("web");
    s.wheel_into("web/wheels", "alpha", "1.0", &[]);
    s.wheel_into("web/wheels", "beta", "1.0", &[]);
    s.wheel_into("web/wheels", "beta", "2.0", &[]);
    s.wheel_into("web/wheels", "gamma", "3.0", &[]);
    s.write("web/backend.py", BACKEND);
    s.write(
        "web/pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"webthing\"\nversion = \"0.1\"\ndependencies = [\"alpha\"]\n",
    );
    s.write("web/src/webthing/__init__.py", "VALUE = 'from source'\n");
    s.write(
        "web/requirements.txt",
        "# served from the project's own wheels\n--no-index\n--find-links ./wheels\nalpha==1.0\n",
    );
    s.write(
        "web/requirements-dev.txt",
        "-r requirements.txt\n-e .\n-c constraints.txt\nbeta \\\n  # the newest the constraint allows\n",
    );
    s.write("web/constraints.txt", "beta<2\n");

    s.ok_with(&env, &p, &["init", "--from", "requirements-dev.txt"]);
    s.ok_with(&env, &p, &["allow"]);
    let (out, err) = s.ok_with(&env,
        &p,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "cd / && python3 -c 'import webthing, alpha, beta; print(webthing.VALUE, alpha.__version__, beta.__version__)'",
        ],
    );
    assert_eq!(out.trim(), "from source 1.0 1.0", "{err}");
    // Editable: an edit to the source is seen with no rebuild.
    s.write("web/src/webthing/__init__.py", "VALUE = 'edited'\n");
    let (out, _) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import webthing; print(webthing.VALUE)",
        ],
    );
    assert_eq!(out.trim(), "edited");

    // A pip-compile lock with real hashes builds as it is.
    let sha = |name: &str| {
        let out = std::process::Command::new("sha256sum")
            .arg(p.join("wheels").join(name))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    s.write(
        "web/requirements.lock",
        &format!(
            "#\n# pip-compile --generate-hashes\n#\n--no-index\n--find-links ./wheels\n\nalpha==1.0 \\\n    --hash=sha256:{}\n    # via webthing\ngamma==3.0 \\\n    --hash=sha256:{}\n",
            sha("alpha-1.0-py3-none-any.whl"),
            sha("gamma-3.0-py3-none-any.whl")
        ),
    );
    s.ok_with(
        &env,
        &p,
        &["init", "--force", "--from", "requirements.lock"],
    );
    s.ok_with(&env, &p, &["allow"]);
    let (out, err) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import alpha, gamma; print(gamma.__version__)",
        ],
    );
    assert_eq!(out.trim(), "3.0", "{err}");
}

/// With Guix, the same project: what Guix has comes from the profile, the
/// project itself stays editable from its source, and the file's own
/// `--no-index --find-links` still decide where pip looks. Fails today in
/// `prefix::lacking` (not init's): the dry run's report is turned into
/// `name==version` pins installed without the file, so the editable
/// project is looked up by name on the index (PyPI without the file's
/// `--no-index`: another project of the same name) and the file's
/// options are lost.
#[test]
fn with_guix_a_referenced_file_keeps_its_editable_and_its_index() {
    let s = Sandbox::new();
    let env = guix_knows(&s, "python-six 1.16.0 gnu/packages/python-xyz.scm\n");
    let p = s.path("web");
    s.wheel_into("web/wheels", "alpha", "1.0", &[]);
    s.wheel_into("web/wheels", "beta", "1.0", &[]);
    s.write("web/backend.py", BACKEND);
    s.write(
        "web/pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"webthing\"\nversion = \"0.1\"\ndependencies = [\"alpha\"]\n",
    );
    s.write("web/src/webthing/__init__.py", "VALUE = 'from source'\n");
    s.write(
        "web/requirements.txt",
        "--no-index\n--find-links ./wheels\n-e .\nbeta\nsix\n",
    );
    s.ok_with(&env, &p, &["init", "--from", "requirements.txt"]);
    assert_eq!(
        toml_strings(&manifest(&s, "web"), "guix", "packages"),
        ["python", "python-six"]
    );
    s.ok_with(&env, &p, &["allow"]);
    let (out, err) = s.ok_with(
        &env,
        &p,
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import webthing, alpha, beta, six; print(webthing.VALUE, six.__file__)",
        ],
    );
    assert!(out.starts_with("from source "), "{out}\n{err}");
    assert!(out.contains("/gnu/store/"), "six from Guix: {out}");
}

/// A pyproject's `requires-python` that the `python3` the project gets
/// does not fit is said at `init`, with how to choose one, before a
/// build fails on it with only the installer's words; one that fits is
/// not mentioned.
#[test]
fn init_says_when_python3_does_not_fit_requires_python() {
    let s = Sandbox::new();
    let p = s.path("p");
    let version = String::from_utf8(
        std::process::Command::new("python3")
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let version = version.trim();
    for (wanted, fits) in [
        (">=3.99".to_string(), false),
        (format!("=={version}.*"), true),
    ] {
        s.write(
            "p/pyproject.toml",
            &format!(
                "[project]\nname = \"app\"\nversion = \"1\"\nrequires-python = \"{wanted}\"\ndependencies = [\"six\"]\n"
            ),
        );
        let (_, said) = s.ok_with(
            &no_guix(&s),
            &p,
            &["init", "--force", "--from", "pyproject.toml"],
        );
        let warned = said.contains(&format!("pyproject.toml asks for Python {wanted}"))
            && said.contains("pyenv local");
        assert_eq!(warned, !fits, "{wanted}: {said}");
    }
}
