//! A hostile repository ships links where pyenv-guix writes: under the
//! names a temporary file could take, at the final path, or as the file a
//! manifest names. None of them may send a write outside the project.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Run, Sandbox};

const VICTIM: &str = "# the user's own file\n";

/// The binary started by `sh`, which first plants `link` (with `$$`, the
/// pid the binary will have: `exec` keeps it) pointing at the victim.
fn planted(s: &Sandbox, dir: &Path, link: &str, args: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "ln -s \"$VICTIM\" \"{link}\" && exec \"$BIN\" {args}"
        ))
        .current_dir(dir)
        .env_clear()
        .envs(s.env())
        .env("VICTIM", s.path("victim"))
        .env("BIN", support::bin());
    c
}

fn victim_untouched(s: &Sandbox) {
    assert_eq!(
        std::fs::read_to_string(s.path("victim")).unwrap(),
        VICTIM,
        "the file outside the project was written"
    );
}

#[test]
fn init_never_writes_through_a_link_under_a_temporary_name() {
    let s = Sandbox::new();
    s.write("victim", VICTIM);
    s.write("p/requirements.txt", "alpha==1.0\n");
    // The name the temporary file had: `.{name}.{pid}.tmp`.
    planted(
        &s,
        &s.path("p"),
        "..pyguix.toml.$$.tmp",
        "init --from requirements.txt",
    )
    .succeeds();
    victim_untouched(&s);
    let written = std::fs::read_to_string(s.path("p/.pyguix.toml")).unwrap();
    assert!(written.contains("[pip]"), "{written}");
    assert!(
        !std::fs::symlink_metadata(s.path("p/.pyguix.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn init_refuses_a_manifest_that_is_a_link() {
    let s = Sandbox::new();
    s.write("victim", VICTIM);
    std::fs::create_dir_all(s.path("p")).unwrap();
    std::os::unix::fs::symlink(s.path("victim"), s.path("p/.pyguix.toml")).unwrap();
    let out = s
        .command(&["init", "--force"], &s.path("p"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    victim_untouched(&s);
    assert!(
        std::fs::symlink_metadata(s.path("p/.pyguix.toml"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself was replaced"
    );
}

#[test]
fn pin_never_writes_through_a_link_under_a_temporary_name() {
    let s = Sandbox::new();
    s.write("victim", VICTIM);
    s.write("p/.pyguix.toml", "[guix]\npackages = [\"python\"]\n");
    for link in [".channels.scm.$$.tmp", "..pyguix.toml.$$.tmp"] {
        planted(&s, &s.path("p"), link, "pin").succeeds();
        victim_untouched(&s);
    }
    let channels = std::fs::read_to_string(s.path("p/channels.scm")).unwrap();
    assert!(channels.contains("(channel"), "{channels}");
}

/// `pin` writes a channels file it owns: one that does not exist yet, or
/// one that already holds channels. A manifest naming any other file of
/// the project (its git config, its setup.py) is refused, and the file
/// keeps every byte.
#[test]
fn pin_writes_only_a_channels_file() {
    let s = Sandbox::new();
    let config = "[core]\n\trepositoryformatversion = 0\n";
    s.write("p/.git/config", config);
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nchannels = \".git/config\"\n",
    );
    let out = s.command(&["pin"], &s.path("p")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(".git/config") && err.contains("not a channels file"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(s.path("p/.git/config")).unwrap(),
        config
    );

    // A channels file the user keeps is pinned again.
    s.write(
        "q/guix/channels.scm",
        ";; pinned by hand\n(list (channel (name 'guix) (url \"https://example.org/guix.git\") (commit \"0\")))\n",
    );
    s.write(
        "q/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nchannels = \"guix/channels.scm\"\n",
    );
    s.pyenv_guix(&["pin"], &s.path("q"));
    let pinned = std::fs::read_to_string(s.path("q/guix/channels.scm")).unwrap();
    assert!(!pinned.contains("pinned by hand"), "{pinned}");
}
