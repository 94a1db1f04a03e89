//! A command that edits an allowed project (`promote`, `pin`) carries the
//! trust over only for what it wrote itself: a file nobody reviewed that
//! the edit brings in, or a change made meanwhile, leaves the project
//! blocked. And a definition the user commented out stays out, however
//! Scheme comments it.

mod support;

use std::ffi::OsString;
use std::path::Path;

use support::{Run, Sandbox};

fn guix_knows_prov(s: &Sandbox) -> Vec<(OsString, OsString)> {
    s.write(
        "guix-catalogue",
        "python-lxml 4.9.2 gnu/packages/xml.scm\npython-six 1.16.0 gnu/packages/python-xyz.scm\n",
    );
    s.write(
        "pypi/prov.json",
        r#"{"name": "prov", "version": "1.5.3", "requires": ["lxml"], "summary": "W3C provenance data model library", "home_page": "https://github.com/trungdong/prov", "license": "MIT"}"#,
    );
    s.stand_in_setting("GUIX_STAND_IN_CATALOGUE", &s.path("guix-catalogue"));
    s.stand_in_setting("GUIX_STAND_IN_PYPI", &s.path("pypi"));
    s.env()
}

fn run(s: &Sandbox, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = s.command(args, dir).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn allowed(s: &Sandbox, dir: &Path) -> (bool, String) {
    let (ok, err) = run(s, dir, &["exec", "--", "true"]);
    (ok, err)
}

const PROV: &str = "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"prov==1.5.3\"]\n";

/// The repository ships a module under the directory `promote --import`
/// will name in `load-path`: nobody reviewed it, so it is not trusted with
/// the rest.
#[test]
fn promote_never_trusts_files_it_did_not_write() {
    let s = Sandbox::new();
    guix_knows_prov(&s);
    s.write("p/.pyguix.toml", PROV);
    s.write(
        "p/guix/extra.scm",
        "(define-module (extra))\n(display \"runs at every build\")\n",
    );
    let p = s.path("p");
    s.allow("p");
    let (done, said) = run(&s, &p, &["promote", "--import"]);
    assert!(done, "{said}");
    assert!(p.join("guix/pyguix/packages.scm").is_file());
    assert!(
        said.contains("extra.scm") && said.contains("stays blocked"),
        "{said}"
    );
    let (ok, err) = allowed(&s, &p);
    assert!(!ok && err.contains("changed since it was allowed"), "{err}");

    // Without the stranger, the same promote is allowed after, as asked.
    s.write("q/.pyguix.toml", PROV);
    let q = s.path("q");
    s.allow("q");
    let (done, said) = run(&s, &q, &["promote", "--import"]);
    assert!(done, "{said}");
    let (ok, err) = allowed(&s, &q);
    assert!(ok, "{err}");
}

/// A definition commented out (`;`, `#;`, `#| |#`) in the module stays
/// out when `promote --import` adds to it, and a character literal such
/// as `#\λ` is read, not a crash.
#[test]
fn commented_out_definitions_stay_out() {
    let s = Sandbox::new();
    guix_knows_prov(&s);
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nload-path = [\"guix\"]\n\n[pip]\npackages = [\"prov==1.5.3\"]\n",
    );
    let module = "(define-module (pyguix packages)\n  #:use-module (guix packages))\n\n\
        ;; kept: mine\n\
        (define-public python-mine (package (name \"python-mine\") (version \"1\") (description \"#\\λ (\")))\n\
        #;(define-public python-datum (package (name \"python-datum\")))\n\
        #| (define-public python-block (package (name \"python-block\")))\n\
        #| nested |# (define-public python-nested (package)) |#\n\
        ; (define-public python-line (package))\n";
    s.write("p/guix/pyguix/packages.scm", module);
    let p = s.path("p");
    s.allow("p");
    let (done, said) = run(&s, &p, &["promote", "--import"]);
    assert!(done, "{said}");
    let written = std::fs::read_to_string(p.join("guix/pyguix/packages.scm")).unwrap();
    assert!(written.contains("(define-public python-prov"), "{written}");
    assert!(written.contains("(define-public python-mine"), "{written}");
    assert!(written.contains(";; kept: mine"), "{written}");
    for gone in [
        "python-datum",
        "python-block",
        "python-nested",
        "python-line",
    ] {
        let live = written
            .lines()
            .any(|l| l.trim_start().starts_with("(define-public") && l.contains(gone));
        assert!(!live, "{gone} came back to life:\n{written}");
    }
}

/// `pin` and `promote` keep a CRLF manifest CRLF, and its comments where
/// they were.
#[test]
fn edits_keep_line_ends() {
    let s = Sandbox::new();
    guix_knows_prov(&s);
    let text = "# mine\r\n[guix]\r\npackages = [\"python\"]  # Guix's\r\n\r\n[pip]\r\npackages = [\"prov==1.5.3\"]\r\n";
    s.write("p/.pyguix.toml", text);
    let p = s.path("p");
    s.allow("p");
    let (done, said) = run(&s, &p, &["pin"]);
    assert!(done, "{said}");
    let after = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    assert!(
        after.contains("channels = \"channels.scm\"\r\n"),
        "{after:?}"
    );
    assert!(!after.replace("\r\n", "").contains('\n'), "{after:?}");
    assert!(after.starts_with("# mine\r\n"), "{after:?}");
}

/// What `guix import` drafts comes from PyPI, anyone's words: a summary
/// holding terminal escape sequences reaches the terminal escaped, in the
/// diff `--dry-run` prints too.
#[test]
fn drafted_text_cannot_drive_the_terminal() {
    let s = Sandbox::new();
    guix_knows_prov(&s);
    s.write(
        "pypi/prov.json",
        "{\"name\": \"prov\", \"version\": \"1.5.3\", \"requires\": [], \"summary\": \"pwned \\u001b]0;title\\u0007 \\u001b[2J\", \"home_page\": \"https://example.org\", \"license\": \"MIT\"}",
    );
    s.write("p/.pyguix.toml", PROV);
    let p = s.path("p");
    let out = s
        .command(&["promote", "--import", "--dry-run"], &p)
        .succeeds();
    assert!(
        !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pwned"));
}
