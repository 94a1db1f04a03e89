//! The Guix-shaped sandbox (tests/support/guixbed.rs): only a /gnu/store,
//! and what a pip-installed binary wheel meets there.

mod support;

use support::Sandbox;
use support::guixbed::Bed;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_sandbox_has_no_system_directories_only_the_store() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    for dir in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] {
        let out = bed.run(&s, &["ls", dir], &[]);
        assert!(
            !out.status.success(),
            "{dir} exists inside:\n{}",
            text(&out)
        );
        assert!(
            text(&out).contains("No such file or directory"),
            "{}",
            text(&out)
        );
    }
    let out = bed.run(&s, &["ls", "/gnu/store"], &[]);
    let listed = support::succeeded(&out);
    for spec in [
        "glibc",
        "python",
        "gcc:lib",
        "zlib",
        "bash",
        "coreutils",
        "patchelf",
        "guix",
    ] {
        assert!(
            listed.contains(&bed.name(spec)),
            "{spec} not in the store:\n{listed}"
        );
    }
}

#[test]
fn store_items_are_named_as_guix_names_them() {
    let Some(bed) = Bed::get() else { return };
    for (spec, tail) in [
        ("python", "-python-3.11.7"),
        ("gcc:lib", "-lib"),
        ("glibc", ""),
    ] {
        let name = bed.name(spec);
        let (hash, rest) = name.split_at(32);
        assert!(
            hash.chars()
                .all(|c| "0123456789abcdfghijklmnpqrsvwxyz".contains(c)),
            "{name}"
        );
        assert!(rest.starts_with('-') && rest.ends_with(tail), "{name}");
    }
    assert!(
        bed.name("gcc:lib").contains("-gcc-"),
        "{}",
        bed.name("gcc:lib")
    );
}

#[test]
fn the_store_python_runs_inside_linked_to_the_store_only() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let python = bed.item("python").join("bin/python3");
    let py = python.to_str().unwrap();
    let out = bed.run(
        &s,
        &[
            py,
            "-c",
            "import sys, ssl, ctypes, sqlite3, zlib; print(sys.prefix)",
        ],
        &[],
    );
    assert_eq!(
        support::succeeded(&out).trim(),
        bed.item("python").to_str().unwrap()
    );
    // What the loader maps: the store's files, and nothing else.
    let out = bed.run(
        &s,
        &[
            py,
            "-c",
            "import zlib; print(open('/proc/self/maps').read())",
        ],
        &[],
    );
    let maps = support::succeeded(&out);
    for line in maps.lines().filter(|l| l.contains(".so")) {
        let file = line.split_whitespace().last().unwrap();
        assert!(
            file.starts_with("/gnu/store/"),
            "{file} is not in the store:\n{maps}"
        );
    }
    assert!(
        maps.contains(&format!("{}/lib/libz.so.1", bed.item("zlib").display())),
        "{maps}"
    );
    let out = bed.run(&s, &[py, "-m", "pip", "--version"], &[]);
    assert!(support::succeeded(&out).contains("pip "), "{}", text(&out));
}
