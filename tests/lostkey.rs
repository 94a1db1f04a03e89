//! Losing the state key (a data directory reset, or another one named)
//! never strands a project's variables: leaving still takes off what the
//! project added, where it is still there, and nothing else. Real bash.

mod support;

use support::{Run, Sandbox, quote};

#[test]
fn leaving_after_the_state_key_is_lost_takes_off_what_the_project_added() {
    let s = Sandbox::new();
    s.write(
        "p/.pyguix.toml",
        "[env]\nPROJECT_ONLY = \"1\"\nEDITOR = \"project-editor\"\n\n[path]\nPATH = [\"bin\"]\n",
    );
    std::fs::create_dir_all(s.path("outside")).unwrap();
    s.allow("p");
    let bin = quote(support::bin().as_os_str());
    let script = format!(
        "set -e\nexport EDITOR=mine\ncd {p}\neval \"$({bin} export bash)\"\ntest \"$PROJECT_ONLY\" = 1\n\
         rm {key}\n\
         cd {out}\neval \"$({bin} export bash)\"\n\
         printf 'PROJECT_ONLY=%s\\nEDITOR=%s\\nPATH=%s\\n' \"${{PROJECT_ONLY-unset}}\" \"$EDITOR\" \"$PATH\" > \"$OUT/after\"\n",
        p = quote(s.path("p").as_os_str()),
        out = quote(s.path("outside").as_os_str()),
        key = quote(s.path("data/state-key").as_os_str()),
    );
    let out = s.bash(&script).succeeds();
    let err = String::from_utf8_lossy(&out.stderr);
    let after = s.read_out("after");
    assert!(after.contains("PROJECT_ONLY=unset\n"), "{after}\n{err}");
    assert!(
        !after.contains(&s.path("p/bin").display().to_string()),
        "the project's PATH entry stayed: {after}"
    );
    assert!(
        after.contains(&format!("PATH={}\n", support::system_path())),
        "{after}"
    );
    // A value it replaced cannot be given back from a state no one can
    // vouch for: it is left, and said.
    assert!(after.contains("EDITOR=project-editor\n"), "{after}");
    assert!(err.contains("EDITOR"), "{err}");
}

// Forged states (claims no project of the user's makes) are attacked in
// tests/attack14.rs.
