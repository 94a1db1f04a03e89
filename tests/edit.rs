//! `edit` allows only what the user saved in the editor: an editor that
//! exits without saving allows nothing (and makes no manifest), and a
//! change another process saved while the editor was open is refused,
//! the user's own version kept. Scripted editors (shell scripts).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::{Run, Sandbox};

/// An editor script: records the file it was given in $OUT/given; if
/// $OTHER is set, another process writes it into $TARGET while the editor
/// is open; with $ED_SAVE it saves its file as it is; with $ED_ADD it
/// saves it with that added.
fn editor(s: &Sandbox) -> String {
    s.write(
        "tools/ed.sh",
        "#!/bin/sh\nfor last; do :; done\nprintf '%s' \"$last\" > \"$OUT/given\"\nif [ -n \"${OTHER:-}\" ]; then sh -c 'printf \"%b\" \"$OTHER\" > \"$TARGET\"'; fi\nif [ -n \"${ED_SAVE:-}\" ]; then c=$(cat \"$last\"; echo .); printf '%s' \"${c%.}\" > \"$last\"; fi\nif [ -n \"${ED_ADD:-}\" ]; then printf '%b' \"$ED_ADD\" >> \"$last\"; fi\nexit 0\n",
    );
    std::fs::set_permissions(
        s.path("tools/ed.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    s.path("tools/ed.sh").display().to_string()
}

fn edit(s: &Sandbox, dir: &str, env: &[(&str, &str)]) -> Output {
    let mut c = s.command(&["edit"], &s.path(dir));
    c.env("EDITOR", editor(s)).envs(env.iter().copied());
    c.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What entering `dir` sets (null for nothing); fails if export fails.
fn exported(s: &Sandbox, dir: &str, name: &str) -> serde_json::Value {
    let out = s.command(&["export", "json"], &s.path(dir)).stdout_ok();
    if out.bytes().all(|b| b.is_ascii_whitespace()) {
        return serde_json::Value::Null;
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[name].clone()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_editor_that_does_not_save_allows_nothing() {
    let s = Sandbox::new();
    // No manifest yet: nothing is made, nothing allowed.
    std::fs::create_dir_all(s.path("q")).unwrap();
    let out = edit(&s, "q", &[]);
    let said = text(&out);
    support::succeeded_as("edit", &out);
    assert!(said.contains("not saved"), "{said}");
    assert!(!s.path("q/.pyguix.toml").exists(), "{said}");
    assert_eq!(entries(&s.path("q")), Vec::<String>::new(), "{said}");
    // The template saved as it is: a valid project that changes nothing.
    let out = edit(&s, "q", &[("ED_SAVE", "1")]);
    let said = text(&out);
    support::succeeded_as("edit", &out);
    assert!(said.contains("allowed"), "{said}");
    assert!(s.path("q/.pyguix.toml").is_file());

    // A manifest nobody allowed, opened and left: still blocked.
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let out = edit(&s, "p", &[]);
    support::succeeded_as("edit", &out);
    assert_eq!(exported(&s, "p", "A"), serde_json::Value::Null);
}

#[test]
fn a_change_another_process_saved_meanwhile_is_not_allowed() {
    let s = Sandbox::new();
    let manifest = s.path("p/.pyguix.toml");
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let target = manifest.display().to_string();
    let other = "[env]\nA = \"theirs\"\n";

    // The editor saves nothing; another process changes the file.
    let out = edit(
        &s,
        "p",
        &[("TARGET", &target), ("OTHER", "[env]\\nA = \"theirs\"\\n")],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("changed by another process"), "{said}");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), other);
    assert_eq!(exported(&s, "p", "A"), serde_json::Value::Null, "{said}");

    // Both save: the other's change stays and is not allowed; the user's
    // edit is kept where the output says.
    std::fs::write(&manifest, "[env]\nA = \"1\"\n").unwrap();
    let out = edit(
        &s,
        "p",
        &[
            ("TARGET", &target),
            ("OTHER", "[env]\\nA = \"theirs\"\\n"),
            ("ED_ADD", "B = \"mine\"\\n"),
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("changed by another process"), "{said}");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), other);
    assert_eq!(exported(&s, "p", "A"), serde_json::Value::Null, "{said}");
    let given = PathBuf::from(s.read_out("given"));
    assert!(said.contains(&given.display().to_string()), "{said}");
    assert_eq!(
        std::fs::read_to_string(&given).unwrap(),
        "[env]\nA = \"1\"\nB = \"mine\"\n",
        "the user's version is kept"
    );
}

#[test]
fn an_edit_is_moved_in_whole_and_allowed() {
    let s = Sandbox::new();
    let manifest = s.path("p/.pyguix.toml");
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o640)).unwrap();
    s.allow("p");
    let out = edit(&s, "p", &[("ED_ADD", "B = \"2\"\\n")]);
    support::succeeded_as("edit", &out);
    // The editor had a copy beside the manifest, a TOML file by its name,
    // gone now.
    let given = PathBuf::from(s.read_out("given"));
    assert_ne!(given, manifest);
    assert_eq!(given.parent(), manifest.parent());
    assert!(given.extension().is_some_and(|x| x == "toml"), "{given:?}");
    assert_eq!(entries(&s.path("p")), vec![".pyguix.toml".to_string()]);
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "[env]\nA = \"1\"\nB = \"2\"\n"
    );
    let mode = std::fs::metadata(&manifest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(exported(&s, "p", "B"), serde_json::json!("2"));
}
