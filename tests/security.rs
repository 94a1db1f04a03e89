//! Attacks on the trust boundary and on the hook, each written as the
//! attack: a hostile project, a hostile environment, hostile files.

mod support;

use std::ffi::OsString;
use std::process::Output;

use base64::Engine;
use support::{Sandbox, Sh, quote};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A state in the first format, which had no MAC: records named as the
/// attacker likes.
fn forged_state(manifest: &str, records: &[(&str, Option<&str>, &str)]) -> String {
    let mut w: Vec<u8> = Vec::new();
    let bytes = |w: &mut Vec<u8>, b: &[u8]| {
        w.extend_from_slice(&(b.len() as u64).to_le_bytes());
        w.extend_from_slice(b);
    };
    bytes(&mut w, manifest.as_bytes());
    w.extend_from_slice(&0u64.to_le_bytes());
    bytes(&mut w, b"x");
    w.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for (name, before, set) in records {
        bytes(&mut w, name.as_bytes());
        w.extend_from_slice(&0u64.to_le_bytes());
        match before {
            Some(b) => {
                w.extend_from_slice(&1u64.to_le_bytes());
                bytes(&mut w, b.as_bytes());
            }
            None => w.extend_from_slice(&0u64.to_le_bytes()),
        }
        bytes(&mut w, set.as_bytes());
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&w);
    format!("pg1.{b64}")
}

/// A crafted PYENV_GUIX_STATE must not make export print commands, unset
/// HOME or rewrite PATH: only a state this user's pyenv-guix signed is
/// believed, in any format.
fn forged_state_is_not_believed(sh: Sh) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let pwned = s.path("out/pwned");
    let home = s.path("home").display().to_string();
    let attacks = [
        forged_state(
            "/nowhere/.pyguix.toml",
            &[(&format!("X;touch {};Y", pwned.display()), None, "v")],
        ),
        forged_state("/nowhere/.pyguix.toml", &[("HOME", None, &home)]),
        forged_state(
            "/nowhere/.pyguix.toml",
            &[(
                "PATH",
                Some("/attacker/bin"),
                "/usr/local/bin:/usr/bin:/bin",
            )],
        ),
        // Well-formed in today's format, signed with another key.
        "pg2.AAAA.AAAA".to_string(),
    ];
    for (i, state) in attacks.iter().enumerate() {
        let mut env = s.env();
        env.push(("PYENV_GUIX_STATE".into(), OsString::from(state)));
        let lines = vec![
            sh.hook_line(),
            format!("dump {i}-outside"),
            format!("cd {}", quote(s.path("p").as_os_str())),
            format!("dump {i}-inside"),
        ];
        let out = s.interactive(sh, &s.path("home"), &env, &lines);
        assert!(!pwned.exists(), "attack {i} ran a command: {out}");
        let outside = s.dump(&format!("{i}-outside"));
        assert_eq!(
            outside.get("HOME"),
            Some(home.as_str()),
            "attack {i}: {out}"
        );
        assert_eq!(
            outside.get("PATH"),
            Some("/usr/local/bin:/usr/bin:/bin"),
            "attack {i}: {out}"
        );
        assert_eq!(outside.get("PYENV_GUIX_STATE"), None, "attack {i}");
        assert!(out.contains("ignoring a PYENV_GUIX_STATE"), "{out}");
        // And the shell goes on to load the project as usual.
        assert_eq!(s.dump(&format!("{i}-inside")).get("A"), Some("1"));
    }
}

per_shell!(forged_state_is_not_believed);

/// A state another user's pyenv-guix signed (another data directory,
/// another key) is not believed either.
#[test]
fn another_users_state_is_not_believed() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    s.allow("p");
    let out = s.pyenv_guix(&["export", "json"], &s.path("p"));
    let snippet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = snippet["PYENV_GUIX_STATE"].as_str().unwrap().to_string();
    // Our own state is believed: nothing to change.
    let again = s
        .command(&["export", "json"], &s.path("p"))
        .env("PYENV_GUIX_STATE", &state)
        .env("A", "1")
        .env("PYENV_GUIX_ROOT", s.path("p"))
        .output()
        .unwrap();
    assert!(again.stdout.is_empty(), "{}", text(&again));
    let other = s.path("other-data");
    std::fs::create_dir_all(&other).unwrap();
    let theirs = s
        .command(&["export", "json"], &s.path("p"))
        .env("PYENV_GUIX_STATE", &state)
        .env("PYENV_GUIX_DATA_DIR", &other)
        .output()
        .unwrap();
    assert!(
        text(&theirs).contains("ignoring a PYENV_GUIX_STATE"),
        "{}",
        text(&theirs)
    );
}
