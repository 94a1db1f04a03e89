//! Against real GNU Guix (PYENV_GUIX_REAL_GUIX=/path/to/bin/guix, as
//! ../shared/realguix/setup.sh makes it): a module `promote --import`
//! writes, drafted by the stand-in from real Guix's recorded importer
//! output, loads in Guix, and every input of every package it defines
//! resolves. Guix has no daemon here, so nothing is built; it interprets
//! its package modules, which takes minutes: one `guix repl` for it all.
//! The stand-in's `package -A` and `describe -f channels` are held against
//! real Guix's on the same packages and commit (those take a second).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Run, Sandbox};

/// The real guix, or `None` (said loudly) outside CI.
fn real_guix() -> Option<PathBuf> {
    match std::env::var_os("PYENV_GUIX_REAL_GUIX") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1") => {
            panic!("PYENV_GUIX_REAL_GUIX is not set and PYENV_GUIX_REQUIRE_TOOLS=1")
        }
        _ => {
            // Past the test harness's capture, so that it shows.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED: PYENV_GUIX_REAL_GUIX is not set; tests/realguix.rs needs real Guix (../shared/realguix/setup.sh)\n",
            );
            None
        }
    }
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guix-samples")
}

#[test]
fn a_module_promote_import_writes_loads_in_real_guix() {
    let Some(guix) = real_guix() else {
        return;
    };
    let s = Sandbox::new();
    // The stand-in plays real Guix: its -A rows are real Guix's (without
    // prov, so that prov is drafted), its imports real Guix's recordings.
    let real =
        std::fs::read_to_string(samples().join("package-A-webargs-prov-inputs.txt")).unwrap();
    let rows: String = real
        .lines()
        .filter(|l| !l.starts_with("python-prov "))
        .map(|l| format!("{l}\n"))
        .collect();
    s.write("guix-catalogue", &rows);
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.stand_in_setting("GUIX_STAND_IN_IMPORTS", &samples());
    // What the recorded import left out, drafted from PyPI metadata.
    s.pypi_pre_commit();
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"prov>=3\", \"webargs\"]\n",
    );
    let p = s.path("p");
    let env = s.env();
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["promote", "--import"]);
    let module = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    let vars: Vec<&str> = module
        .lines()
        .filter_map(|l| l.strip_prefix("(define-public "))
        .collect();
    assert!(
        vars.contains(&"python-prov") && vars.contains(&"python-webargs"),
        "{module}"
    );

    // Each package's inputs, forced (they are thunks: an unbound variable
    // shows only then), must be packages; and the bag of each, which Guix
    // refuses on a dependency cycle.
    let script = format!(
        "(use-modules (guix packages) (guix store) (guix monads) (pyguix packages) (ice-9 match))\n\
         (for-each\n (lambda (p)\n   (for-each (match-lambda ((label (? package?) . _) #t)\n                           (input (error \"not a package:\" (package-name p) input)))\n             (package-direct-inputs p))\n   (package->bag p))\n (list {}))\n\
         (format #t \"loaded ~a packages~%\" {})\n",
        vars.join(" "),
        vars.len()
    );
    s.write("check.scm", &script);
    let out = Command::new(&guix)
        .args(["repl", "-L"])
        .arg(p.join("guix"))
        .arg(s.path("check.scm"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "real guix repl:\n{said}\n{err}\n{module}"
    );
    assert_eq!(
        said.trim(),
        format!("loaded {} packages", vars.len()),
        "{err}"
    );
}

/// Common PyPI projects, the mapping's documented exceptions among them.
const COMMON: &[&str] = &[
    "numpy",
    "pandas",
    "scipy",
    "requests",
    "flask",
    "django",
    "six",
    "pytest",
    "attrs",
    "click",
    "jinja2",
    "pyyaml",
    "matplotlib",
    "sqlalchemy",
    "lxml",
    "pillow",
    "cryptography",
    "urllib3",
    "certifi",
    "idna",
    "charset-normalizer",
    "packaging",
    "setuptools",
    "wheel",
    "python-dateutil",
    "pytz",
    "networkx",
    "sympy",
    "pydot",
    "prov",
    "python-rapidjson",
    "torch",
    "jupyter",
    "opencv-python",
    "pyqt5",
    "dbus-python",
    "psycopg2-binary",
];

/// `init`'s name mapping, judged by real Guix's `guix package -A`: every
/// common name is found. Then the stand-in, given real Guix's rows, prints
/// `-A` for them byte for byte as real Guix does. Both take well under a
/// second: `-A` reads Guix's package cache.
#[test]
fn init_finds_real_guix_packages_and_the_stand_in_lists_them_as_guix_does() {
    let Some(guix) = real_guix() else {
        return;
    };
    let names: Vec<String> = COMMON
        .iter()
        .map(|n| pyenv_guix::requirement::guix_name(n))
        .collect();
    let regexp = format!("^({})$", names.join("|"));
    let listed = Command::new(&guix)
        .args(["package", "-A", &regexp])
        .stdout_ok();
    let found: std::collections::BTreeSet<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let missed: Vec<(&str, &String)> = COMMON
        .iter()
        .zip(&names)
        .filter(|(_, g)| !found.contains(g.as_str()))
        .map(|(p, g)| (*p, g))
        .collect();
    assert!(
        missed.is_empty(),
        "real Guix has no package for these (PyPI name, mapped name): {missed:?}"
    );
    assert!(COMMON.len() >= 30);

    // The stand-in, with real Guix's rows as its catalogue, answers alike.
    let s = Sandbox::new();
    s.write("catalogue", &listed);
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("catalogue"));
    let out = Command::new(s.guix())
        .args(["package", "-A", &regexp])
        .env_clear()
        .envs(s.env())
        .stdout_ok();
    assert_eq!(out, listed, "stand-in vs real Guix");
}

/// `describe -f channels`: the stand-in prints what real Guix prints for
/// the same commit, byte for byte. `pin`, run against real Guix, writes
/// that output as it came, takes the file it wrote as its own when pinned
/// again, and the next build goes through `time-machine -C` with it.
#[test]
fn pin_writes_real_guix_channels_and_the_stand_in_describes_them_as_guix_does() {
    let Some(guix) = real_guix() else {
        return;
    };
    let real = Command::new(&guix)
        .args(["describe", "-f", "channels"])
        .stdout_ok();
    let commit = real
        .split("(commit\n          \"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("no commit in real Guix's channels:\n{real}"));
    let s = Sandbox::new();
    s.stand_in_setting("GUIX_STAND_IN_COMMIT", Path::new(commit));
    let stand_in = Command::new(s.guix())
        .args(["describe", "-f", "channels"])
        .env_clear()
        .envs(s.env())
        .stdout_ok();
    assert_eq!(stand_in, real, "stand-in vs real Guix");

    s.write("p/.pyguix.toml", "[guix]\npackages = [\"python\"]\n");
    let p = s.path("p");
    let with_real: Vec<_> = s
        .env()
        .into_iter()
        .map(|(k, v)| match k.to_str() {
            Some("PYENV_GUIX_GUIX") => (k, guix.clone().into_os_string()),
            _ => (k, v),
        })
        .collect();
    s.ok_with(&s.env(), &p, &["allow"]);
    s.ok_with(&with_real, &p, &["pin"]);
    assert_eq!(
        std::fs::read_to_string(p.join("channels.scm")).unwrap(),
        real
    );
    let (diff, _) = s.ok_with(&with_real, &p, &["pin", "--dry-run"]);
    assert_eq!(diff, "", "pinning again to the same Guix changes nothing");
    s.ok_with(&s.env(), &p, &["exec", "--", "true"]);
    let log = std::fs::read_to_string(s.path("guix.log")).unwrap_or_default();
    // Guix is given the hashed copy of the pinned file, in the build's stage.
    let want = format!("time-machine -C {}/", s.path("cache/staging").display());
    assert!(log.contains(&want), "{log}");
}
