//! What a project sets must fit the kernel's limits as a whole, not only
//! value by value: past them no program starts, the hook included, and
//! the shell could never leave the project.

mod support;

use support::Sandbox;

fn refused(s: &Sandbox, project: &str) -> String {
    let out = s.command(&["allow"], &s.path(project)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{project} was allowed:\n{err}");
    assert!(
        !s.path("data/trust").exists()
            || std::fs::read_dir(s.path("data/trust")).unwrap().count() == 0,
        "a trust record was written"
    );
    err
}

#[test]
fn thousands_of_short_path_entries_are_refused_with_the_total() {
    let s = Sandbox::new();
    // 6000 entries of a few bytes each: every one is fine alone; joined,
    // PATH is far past what one variable can hold for execve.
    let entries: Vec<String> = (0..6000).map(|i| format!("\"b{i}\"")).collect();
    s.write(
        "p/.pyguix.toml",
        &format!("[path]\nPATH = [{}]\n", entries.join(", ")),
    );
    let err = refused(&s, "p");
    assert!(err.contains(".pyguix.toml:2:1"), "{err}");
    assert!(err.contains("PATH") && err.contains("32768"), "{err}");

    // Many variables, each under the limit, that add up past it.
    let value = "v".repeat(30_000);
    let vars: Vec<String> = (0..8).map(|i| format!("V{i} = \"{value}\"")).collect();
    s.write("q/.pyguix.toml", &format!("[env]\n{}\n", vars.join("\n")));
    let err = refused(&s, "q");
    assert!(
        err.contains("240") && err.contains("65536"),
        "the total and the limit: {err}"
    );
}
