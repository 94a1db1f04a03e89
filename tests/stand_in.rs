//! The stand-in `guix` itself (tests/guix-stand-in/guix), run directly: the
//! forms the promote/pin/init flows lean on print what Guix prints.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{Run, Sandbox};

const CATALOGUE: &str = "\
# name version module
python-six 1.16.0 gnu/packages/python-xyz.scm
python-rapidjson 1.10 gnu/packages/python-xyz.scm

python-requests 2.31.0 gnu/packages/python-web.scm
hello 2.12.1 gnu/packages/base.scm
";

const MODULE: &str = "\
(define-module (my pkgs)
  #:use-module (guix packages)
  #:use-module (guix build-system pyproject))

(define-public python-prov
  (package
    (name \"python-prov\")
    (version \"2.0.1\")
    (build-system pyproject-build-system)))
";

/// Run the stand-in with a small, known environment plus `env`.
fn guix(s: &Sandbox, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut c = Command::new(support::stand_in());
    c.args(args)
        .current_dir(s.path(""))
        .env_clear()
        .env("PATH", support::system_path())
        .env("GUIX_STAND_IN_STORE", s.path("gnu/store"))
        .env("GUIX_STAND_IN_LOG", s.path("guix.log"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn ok(out: Output) -> Output {
    support::succeeded_as("the stand-in", &out);
    out
}

/// Guix's pretty-print-table: cells padded with spaces, then a tab.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split('\t').map(|c| c.trim_end().to_string()).collect())
        .collect()
}

#[test]
fn list_available_prints_guix_table() {
    let s = Sandbox::new();
    s.write("catalogue", CATALOGUE);
    let cat = s.path("catalogue");
    let env = [("GUIX_STAND_IN_CATALOGUE", cat.as_path())];

    let out = ok(guix(
        &s,
        &env,
        &["package", "-A", "^python-(six|rapidjson|requests)$"],
    ));
    let text = stdout(&out);
    let table = rows(&text);
    let names: Vec<&str> = table.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["python-rapidjson", "python-requests", "python-six"],
        "{text}"
    );
    for row in &table {
        assert_eq!(row.len(), 4, "{text}");
        assert_eq!(row[2], "out");
        let (file, rest) = row[3].split_once(':').unwrap();
        assert!(file.starts_with("gnu/packages/python-"), "{text}");
        let (line, col) = rest.split_once(':').unwrap();
        assert!(line.parse::<u32>().is_ok() && col == "2", "{text}");
    }
    assert_eq!(table[2][1], "1.16.0");
    // Columns line up: every first tab at the widest name's length.
    assert!(text.lines().all(|l| l.find('\t') == Some(16)), "{text}");

    // Case-insensitive, as Guix compiles the regexp with regexp/icase; the
    // long option form too; and the same answer twice.
    let once = stdout(&ok(guix(&s, &env, &["package", "--list-available=SIX"])));
    assert!(once.starts_with("python-six\t1.16.0\tout\t"), "{once}");
    let again = stdout(&ok(guix(&s, &env, &["package", "-A", "six"])));
    assert_eq!(once, again);

    // No catalogue: nothing, and success.
    let none = ok(guix(&s, &[], &["package", "-A", "python"]));
    assert_eq!(stdout(&none), "");

    let log = std::fs::read_to_string(s.path("guix.log")).unwrap();
    assert!(log.contains("package -A ^python-(six|rapidjson|requests)$\n"));
    assert!(log.contains("package --list-available=SIX\n"));
}

#[test]
fn load_path_package_installs_and_imports() {
    let s = Sandbox::new();
    s.write("catalogue", CATALOGUE);
    s.write("mods/my/pkgs.scm", MODULE);
    s.write(
        "manifest.scm",
        "(specifications->manifest '(\"python\" \"python-prov\" \"python-six@1.16\"))\n",
    );
    s.write("channels.scm", "(list)\n");
    let cat = s.path("catalogue");
    let env = [("GUIX_STAND_IN_CATALOGUE", cat.as_path())];
    let profile = s.path("profiles/p");
    let profile = profile.to_str().unwrap();
    let mods = s.path("mods");
    let mods = mods.to_str().unwrap();

    // -A sees the module's package, at its place under the -L directory.
    // Real Guix prints the location with the -L directory as typed.
    let listed = stdout(&ok(guix(
        &s,
        &env,
        &["package", "-A", "prov", "-L", "mods"],
    )));
    assert_eq!(listed, "python-prov\t2.0.1\tout\tmods/my/pkgs.scm:6:2\n");

    ok(guix(
        &s,
        &env,
        &[
            "time-machine",
            "-C",
            "channels.scm",
            "--",
            "package",
            "-p",
            profile,
            "-m",
            "manifest.scm",
            &format!("--load-path={mods}"),
        ],
    ));
    let paths = stdout(&ok(guix(
        &s,
        &[],
        &["package", "-p", profile, "--search-paths=prefix"],
    )));
    let pythonpath = paths
        .lines()
        .find_map(|l| l.strip_prefix("export GUIX_PYTHONPATH=\""))
        .and_then(|l| l.split('$').next())
        .expect("GUIX_PYTHONPATH in the search paths");
    let imported = Command::new(format!("{profile}/bin/python3"))
        .args([
            "-c",
            "import prov, six; print(prov.__version__, six.__version__)",
        ])
        .env_clear()
        .env("GUIX_PYTHONPATH", pythonpath)
        .stdout_ok();
    assert_eq!(imported, "2.0.1 1.16.0\n");
}

#[test]
fn unknown_packages_are_refused_as_guix_does() {
    let s = Sandbox::new();
    s.write("catalogue", CATALOGUE);
    let cat = s.path("catalogue");
    let env = [("GUIX_STAND_IN_CATALOGUE", cat.as_path())];
    let profile = s.path("p");
    let profile = profile.to_str().unwrap();
    let build = |specs: &str, extra: &[&str]| {
        s.write("m.scm", &format!("(specifications->manifest '({specs}))\n"));
        let mut args = vec!["package", "-p", profile, "-m", "m.scm"];
        args.extend(extra);
        guix(&s, &env, &args)
    };

    let out = build("\"python\" \"python-nope@1.0\"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guix package: error: python-nope: unknown package\n"
    );
    assert!(!Path::new(profile).exists());

    let out = build("\"python-six@2\"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guix package: error: python-six: package not found for version 2\n"
    );

    // A module whose name does not match its file does not load: Guix warns,
    // and its packages stay unknown.
    s.write(
        "bad/my/pkgs.scm",
        &MODULE.replace("(define-module (my pkgs)", "(define-module (their pkgs)"),
    );
    let out = build("\"python-prov\"", &["-L", "bad"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("guix package: warning: failed to load '(my pkgs)':\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "bad/my/pkgs.scm:1:0: warning: module name (their pkgs) does not match file name 'my/pkgs.scm'\n"
        ),
        "{err}"
    );
    assert!(
        err.ends_with("guix package: error: python-prov: unknown package\n"),
        "{err}"
    );

    // A definition without a version: a warning naming the file.
    s.write(
        "noversion/my/pkgs.scm",
        &MODULE.replace("    (version \"2.0.1\")\n", ""),
    );
    let out = build("\"python-prov\"", &["-L", "noversion"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("noversion/my/pkgs.scm:6:2: warning: missing field initializers (version)\n"),
        "{err}"
    );
}

#[test]
fn import_pypi_prints_package_definitions() {
    let s = Sandbox::new();
    s.write(
        "pypi/prov.json",
        r#"{"name": "prov", "version": "2.0.1", "requires": ["rdflib", "six"],
            "summary": "A library for W3C Provenance Data Model",
            "home_page": "https://github.com/trungdong/prov", "license": "MIT"}"#,
    );
    s.write(
        "pypi/rdflib.json",
        r#"{"name": "rdflib", "version": "7.0.0", "requires": ["isodate"],
            "summary": "RDF library", "home_page": "https://rdflib.dev",
            "license": "BSD"}"#,
    );
    s.write(
        "pypi/isodate.json",
        r#"{"name": "isodate", "version": "0.6.1", "requires": [],
            "summary": "ISO 8601 parser", "home_page": "https://example.org",
            "license": "BSD"}"#,
    );
    s.write("pypi/six.json", r#"{"name": "six", "version": "1.17.0"}"#);
    s.write("catalogue", CATALOGUE);
    let pypi = s.path("pypi");
    let cat = s.path("catalogue");
    let env = [
        ("GUIX_STAND_IN_PYPI", pypi.as_path()),
        ("GUIX_STAND_IN_CATALOGUE", cat.as_path()),
    ];

    let out = ok(guix(&s, &env, &["import", "pypi", "prov"]));
    let single = stdout(&out);
    // As real Guix: a definition, then a blank line.
    let lines: Vec<&str> = single.lines().collect();
    assert_eq!(lines[0], "(define-public python-prov");
    assert_eq!(lines[1], "  (package");
    assert_eq!(lines[2], "    (name \"python-prov\")");
    assert_eq!(lines[3], "    (version \"2.0.1\")");
    assert!(single.contains("       (method url-fetch)\n"));
    assert!(single.contains("       (uri (pypi-uri \"prov\" version))\n"));
    let base32 = lines[9]
        .strip_prefix("        (base32 \"")
        .and_then(|l| l.strip_suffix("\"))))"))
        .unwrap();
    assert_eq!(base32.len(), 52);
    assert!(single.contains("    (build-system pyproject-build-system)\n"));
    assert!(single.contains("    (propagated-inputs (list python-rdflib python-six))\n"));
    assert!(single.contains(
        "    (description\n     \"This package provides a library for W3C Provenance Data Model.\")\n"
    ));
    assert!(
        single.ends_with("    (license license:expat)))\n\n"),
        "{single}"
    );
    // Downloads on stderr, the progress bar redrawn in place.
    let err = stderr(&out);
    assert!(
        err.starts_with("\nStarting download of /tmp/guix-file."),
        "{err}"
    );
    assert!(
        err.contains("\nFrom https://files.pythonhosted.org/packages/"),
        "{err}"
    );
    assert!(err.contains("\r\x1b[K "), "{err}");

    // Recursive: dependencies first, stopping at what Guix has (python-six).
    let all = stdout(&ok(guix(
        &s,
        &env,
        &["import", "pypi", "--recursive", "prov"],
    )));
    let defined: Vec<&str> = all
        .lines()
        .filter_map(|l| l.strip_prefix("(define-public "))
        .collect();
    assert_eq!(
        defined,
        ["python-isodate", "python-rdflib", "python-prov"],
        "{all}"
    );
    assert!(all.contains("(define-public python-prov\n  (package\n    (name \"python-prov\")\n"));
    assert!(all.ends_with("    (license license:expat)))\n\n"), "{all}");

    // Real Guix: -r on an unknown name prints nothing and succeeds; the
    // plain form fails.
    let out = ok(guix(&s, &env, &["import", "pypi", "-r", "no-such-thing"]));
    assert_eq!((stdout(&out), stderr(&out)), (String::new(), String::new()));
    let out = guix(&s, &env, &["import", "pypi", "no-such-thing"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "guix import: error: failed to download meta-data for package 'no-such-thing'\n"
    );
}

#[test]
fn describe_prints_channels() {
    let s = Sandbox::new();
    let commit = "a".repeat(40);
    let out = ok(guix(&s, &[], &["describe", "-f", "channels"]));
    let text = stdout(&out);
    assert!(
        text.starts_with("(list (channel\n        (name 'guix)\n"),
        "{text}"
    );
    assert!(text.contains("        (branch \"master\")\n"));
    assert!(text.contains("          \"9edb3f66fd807b096b48283debdcddccfea34bad\"\n"));
    assert!(
        text.ends_with(
            "              \"BBB0 2DDF 2CEA F6A8 0D1D  E643 A2A0 6DF2 A33A 54FA\")))))\n"
        )
    );

    let mut c = Command::new(support::stand_in());
    c.args(["describe", "--format=channels"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GUIX_STAND_IN_COMMIT", &commit);
    let pinned = stdout(&ok(c.output().unwrap()));
    assert!(pinned.contains(&format!("        (commit\n          \"{commit}\")\n")));
    // Only the commit differs from the default, a fixed 40-hex string.
    let default = text
        .split("(commit\n          \"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap();
    assert!(default.len() == 40 && default.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(pinned.replace(&commit, default), text);
}

fn sample(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guix-samples");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// `describe -f channels` as real Guix printed it at the commit it names
/// (tests/guix-samples/describe-f-channels.scm, recorded with its exit
/// status after it): URL, branch, commit and introduction, byte for byte.
#[test]
fn describe_prints_what_real_guix_printed() {
    let s = Sandbox::new();
    let real = sample("describe-f-channels.scm");
    let real = real.strip_suffix("rc=0\n").unwrap();
    let commit = real
        .split("(commit\n          \"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap();
    let c = Path::new(commit);
    let out = ok(guix(
        &s,
        &[("GUIX_STAND_IN_COMMIT", c)],
        &["describe", "-f", "channels"],
    ));
    assert_eq!(stdout(&out), real);
}

/// What the stand-in drafts from prov's real PyPI metadata is what real
/// Guix printed (tests/guix-samples/import-pypi-prov.scm), but for the
/// hash, which the stand-in makes up: the define-public, the blank line,
/// the inputs filled, (home-page null), the beautified and filled
/// description. Webargs's double-quoted extras are inputs, as real Guix
/// makes them, and its inputs one a line.
#[test]
fn import_pypi_prints_what_real_guix_printed() {
    let s = Sandbox::new();
    s.write(
        "pypi/prov.json",
        r#"{"name": "prov", "version": "3.2.3", "requires_dist": ["lxml>=3.3.5", "networkx>=2.0", "rdflib>=4.2.1", "pydot>=1.2.0", "matplotlib>=3.0 ; extra == \"dot\"", "pytest ; extra == 'docs'"], "summary": "A library for W3C Provenance Data Model supporting PROV-N, PROV-JSON, PROV-XML, PROV-O (RDF) and PROV-JSONLD", "home_page": null, "license": null}"#,
    );
    s.write(
        "pypi/furo.json",
        r#"{"name": "furo", "version": "2025.12.19", "requires_dist": ["accessible-pygments>=0.0.5", "beautifulsoup4", "pygments>=2.7", "sphinx<10.0,>=7.0", "sphinx-basic-ng>=1.0.0.beta2"], "summary": "A clean customisable Sphinx documentation theme.", "home_page": null}"#,
    );
    s.write(
        "pypi/webtest-aiohttp.json",
        r#"{"name": "webtest-aiohttp", "version": "2.0.0", "requires_dist": ["WebTest"], "summary": "webtest-aiohttp provides integration of WebTest with aiohttp.web applications", "home_page": "https://github.com/sloria/webtest-aiohttp", "license": "MIT"}"#,
    );
    let pypi = s.path("pypi");
    let env = [("GUIX_STAND_IN_PYPI", pypi.as_path())];
    let hashless = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("(base32 \""))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let prov = stdout(&ok(guix(&s, &env, &["import", "pypi", "prov"])));
    assert_eq!(hashless(&prov), hashless(&sample("import-pypi-prov.scm")));
    let real = sample("import-pypi-recursive-webargs.scm");
    for name in ["furo", "webtest-aiohttp"] {
        let drafted = stdout(&ok(guix(&s, &env, &["import", "pypi", name])));
        let var = format!("(define-public python-{name}\n");
        let from = real.find(&var).unwrap();
        let end = from + real[from..].find("\n\n").unwrap() + 2;
        assert_eq!(hashless(&drafted), hashless(&real[from..end]), "{name}");
    }
}

/// `package -A` as real Guix prints it (tests/guix-samples): a catalogue
/// made of real rows comes back byte for byte; names sort, and a name's
/// versions go newest first.
#[test]
fn list_available_prints_what_real_guix_printed() {
    let s = Sandbox::new();
    let real = sample("package-A.txt");
    s.write("catalogue", &real);
    let cat = s.path("catalogue");
    let env = [("GUIX_STAND_IN_CATALOGUE", cat.as_path())];
    let listed = stdout(&ok(guix(
        &s,
        &env,
        &["package", "-A", "^python-(numpy|prov|rapidjson)$"],
    )));
    assert_eq!(listed, real);

    let versions = sample("package-A-versions-outputs.txt");
    let mut shuffled: Vec<&str> = versions.lines().collect();
    shuffled.reverse();
    s.write("catalogue", &(shuffled.join("\n") + "\n"));
    let listed = stdout(&ok(guix(&s, &env, &["package", "-A", "^python-"])));
    let cells = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter(|l| l.starts_with("python-"))
            .map(|l| {
                let mut c = l.split('\t').map(|c| c.trim().to_string());
                (c.next().unwrap(), c.next().unwrap())
            })
            .collect()
    };
    assert_eq!(cells(&listed), cells(&versions));
    // A name longer than 20 is not padded; the others are, to 20.
    assert!(
        listed.contains("python-text-unidecode\t1.3   \t"),
        "{listed}"
    );
    assert!(
        listed.contains("python-click        \t8.1.7 \t"),
        "{listed}"
    );
}
