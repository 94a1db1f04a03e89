//! Issue 14's attack pass: what a hostile repository author, or a hostile
//! environment, can do to what this round built. Each test is an attack;
//! those whose doc says HOLE failed before their fix. Real binary, real
//! bash, real pip.

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pyenv_guix::envdiff::Record;
use pyenv_guix::state::State;
use support::{Run, Sandbox, quote};

/// A `PYENV_GUIX_STATE` saying whatever its author wants, signed with a
/// key that is not the user's: what a hostile environment (a parent
/// process, a terminal multiplexer's saved environment, an ssh AcceptEnv
/// of `PYENV_*`) hands a shell. No key is needed: since the lost-key
/// change, a state that fails its MAC is still read for removals.
fn forged(manifest: &Path, records: Vec<(&str, Record)>) -> OsString {
    let state = State {
        manifest: manifest.to_path_buf(),
        watched: Vec::new(),
        loaded: Some("0".repeat(64)),
        records: records
            .into_iter()
            .map(|(n, r)| (n.to_string(), r))
            .collect(),
    };
    state.encode(&[0x5a; 32]).unwrap()
}

fn scalar_over_nothing(set: &str) -> Record {
    Record::Scalar {
        before: None,
        set: set.into(),
    }
}

fn prepended(entries: &[&str]) -> Record {
    Record::List {
        before_unset: false,
        prepended: entries.iter().map(OsString::from).collect(),
        appended: Vec::new(),
    }
}

/// A real bash, outside any project, with `state` in its environment and
/// `extra` set: one prompt's export is evaluated, then `names` are
/// printed (`NAME=value`, or `NAME unset`).
fn one_prompt_with(
    s: &Sandbox,
    state: &OsString,
    extra: &[(&str, &str)],
    names: &[&str],
) -> String {
    let outside = s.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut print = String::new();
    for n in names {
        print.push_str(&format!(
            "if [ \"${{{n}+x}}\" ]; then printf '%s=%s\\n' {n} \"${n}\"; else printf '%s unset\\n' {n}; fi\n"
        ));
    }
    let script = format!(
        "cd {out}\neval \"$({bin} export bash)\"\n{print}",
        out = quote(outside.as_os_str()),
        bin = quote(support::bin().as_os_str()),
    );
    s.bash(&script)
        .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .env("PYENV_GUIX_STATE", state)
        .stdout_ok()
}

/// HOLE: a forged state claims that a project set the user's own
/// variables "over nothing" (`before: None`). Salvage believes any
/// variable name a project may set, and unsets it when its value is the
/// one claimed. Guessable values are enough: the user's EDITOR, LANG, and
/// PATH itself (a project may set PATH in [env], so the name passes):
/// after one prompt the shell has no PATH and runs no program at all.
#[test]
fn a_forged_state_cannot_unset_the_users_variables() {
    let s = Sandbox::new();
    let user_path = support::system_path();
    let state = forged(
        Path::new("/nowhere/.pyguix.toml"),
        vec![
            ("EDITOR", scalar_over_nothing("vim")),
            ("PATH", scalar_over_nothing(user_path)),
        ],
    );
    let after = one_prompt_with(&s, &state, &[("EDITOR", "vim")], &["EDITOR", "PATH"]);
    assert_eq!(
        after,
        format!("EDITOR=vim\nPATH={user_path}\n"),
        "one prompt with a forged state took the user's own variables"
    );
}

/// HOLE: a forged state names a manifest at `/usr/.pyguix.toml` (or in
/// the user's home): salvage takes that as "the project", so every PATH
/// entry under it is "one the project added" and is removed. Nothing
/// checks that the manifest exists, was ever allowed, or that the state
/// was ever this shell's.
#[test]
fn a_forged_state_cannot_claim_system_or_home_directories_as_its_project() {
    let s = Sandbox::new();
    let home = s.path("home");
    let local_bin = home.join(".local/bin").display().to_string();
    let user_path = format!("{local_bin}:{}", support::system_path());
    for (manifest, claimed) in [
        (
            PathBuf::from("/usr/.pyguix.toml"),
            vec!["/usr/local/bin", "/usr/bin"],
        ),
        (home.join(".pyguix.toml"), vec![local_bin.as_str()]),
    ] {
        let state = forged(&manifest, vec![("PATH", prepended(&claimed))]);
        let after = one_prompt_with(&s, &state, &[("PATH", &user_path)], &["PATH"]);
        assert_eq!(
            after,
            format!("PATH={user_path}\n"),
            "a state claiming {} as its manifest took the user's PATH entries",
            manifest.display()
        );
    }
}

/// Guard: a forged state claiming entries outside any place a project
/// could have added them (not in its claimed project, the cache or the
/// store) takes nothing; the real project's manifest path is needed.
#[test]
fn a_forged_state_with_an_unrelated_project_takes_no_path_entries() {
    let s = Sandbox::new();
    let user_path = support::system_path();
    let state = forged(
        &s.path("p/.pyguix.toml"),
        vec![("PATH", prepended(&["/usr/local/bin", "/usr/bin", "/bin"]))],
    );
    let after = one_prompt_with(&s, &state, &[], &["PATH", "PYENV_GUIX_STATE"]);
    assert_eq!(after, format!("PATH={user_path}\nPYENV_GUIX_STATE unset\n"));
}

/// HOLE: with the state key lost (a reset data directory: the case the
/// salvage was built for), entering B from inside A builds B with A's
/// `[env]`: the build environment starts from `before_projects`, which
/// undoes only an authenticated state and otherwise takes the shell's
/// environment as the user's. A's proxy, CA and TMPDIR reach B's pip.
#[test]
fn a_lost_key_never_lets_the_left_project_reach_a_build() {
    let s = Sandbox::new();
    let seen = s.path("seen");
    let python = s.python_recording_env("spy", &seen);
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "a/.pyguix.toml",
        "[env]\nTMPDIR = \"/a-tmp\"\nhttps_proxy = \"http://a-proxy:3128\"\nPIP_CERT = \"/a-ca.pem\"\n",
    );
    s.write(
        "b/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"alpha\"]\nmode = \"venv\"\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            python.display().to_string(),
            wheels.display().to_string()
        ),
    );
    s.allow("a");
    s.allow("b");
    let bin = quote(support::bin().as_os_str());
    let script = format!(
        "set -e\ncd {a}\neval \"$({bin} export bash)\"\ntest \"$TMPDIR\" = /a-tmp\nrm {key}\ncd {b}\neval \"$({bin} export bash)\"\n",
        a = quote(s.path("a").as_os_str()),
        b = quote(s.path("b").as_os_str()),
        key = quote(s.path("data/state-key").as_os_str()),
    );
    s.bash(&script).succeeds();
    let mut looked = 0;
    for e in std::fs::read_dir(&seen).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        looked += 1;
        for leaked in ["/a-tmp", "a-proxy", "/a-ca.pem"] {
            assert!(
                !text.contains(leaked),
                "B's build saw the left project's {leaked}:\n{text}"
            );
        }
    }
    assert!(looked > 0, "B's Python never ran");
}

/// Values no compressor can shrink, from `rng`, of TOML-safe ASCII.
fn incompressible(rng: &mut support::Rng, len: usize) -> String {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
        .collect()
}

/// HOLE: `allow` checks the variables against 64 KiB in all, but the
/// state that must remember them (each value set, each entry prepended)
/// is capped at 64 KiB too, after compression and base64. A manifest
/// `allow` accepted then fails at every prompt ("would need a
/// PYENV_GUIX_STATE of … bytes"): nothing of it ever loads. Item 7 wants
/// the refusal at `allow`, with the total and the limit.
#[test]
fn what_allow_accepts_can_be_entered() {
    let s = Sandbox::new();
    let mut rng = support::Rng::seeded();
    let mut manifest = String::from("[env]\n");
    for i in 0..30 {
        manifest.push_str(&format!("V{i} = \"{}\"\n", incompressible(&mut rng, 2000)));
    }
    s.write("p/.pyguix.toml", &manifest);
    let allow = s.command(&["allow"], &s.path("p")).output().unwrap();
    let said = String::from_utf8_lossy(&allow.stderr);
    if !allow.status.success() {
        // Refused at allow, with the size and the limit.
        assert!(
            said.contains("PYENV_GUIX_STATE") && said.contains("32768"),
            "{said}"
        );
        return;
    }
    let out = s.command(&["export", "bash"], &s.path("p")).stdout_ok();
    assert!(out.contains("V29"), "allowed, but not loaded: {out}");
}

/// HOLE: the pip in a prefix project's `python-bin` refuses `install`
/// only when it is the first argument that does not start with `-`. An
/// option taking a value before it (`--cache-dir DIR install`, `--log
/// FILE install`) goes through, and installs into the interpreter's own
/// site-packages, which every project on that Python shares (item 21).
/// (`python3 -m pip install` is not refused either; here Debian's
/// EXTERNALLY-MANAGED stops it, a Guix or pyenv Python has none.)
#[test]
fn pip_install_in_a_prefix_project_is_refused_however_it_is_typed() {
    let mut went_through = Vec::new();
    for (i, how) in [
        vec!["pip", "--cache-dir", "CACHE", "install"],
        vec!["pip", "--log", "CACHE", "install"],
    ]
    .into_iter()
    .enumerate()
    {
        let s = Sandbox::new();
        let wheels = s
            .pip_project_on_own_python("p", "prefix", "pip")
            .display()
            .to_string();
        let cache = s.path("pip-cache").display().to_string();
        let mut args: Vec<&str> = vec!["exec", "--"];
        args.extend(
            how.iter()
                .map(|a| if *a == "CACHE" { cache.as_str() } else { a }),
        );
        args.extend(["--no-index", "--find-links", &wheels, "beta"]);
        let out = s.command(&args, &s.path("p")).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // What every project on this Python now sees, outside any project.
        let shared = std::process::Command::new(s.path("base/bin/python3"))
            .args(["-c", "import beta"])
            .output()
            .unwrap();
        if shared.status.success() {
            went_through.push(format!("case {i} ({how:?}):\n{err}"));
        }
    }
    assert!(
        went_through.is_empty(),
        "installed beta into the shared interpreter:\n{}",
        went_through.join("\n")
    );
}

/// Guard: what the salvage filter does hold. A forged state cannot touch
/// a variable no project may set (HOME), and cannot reach out of its
/// claimed project with `..` in an entry.
#[test]
fn a_forged_state_cannot_take_home_or_climb_out_of_its_project() {
    let s = Sandbox::new();
    let home = s.path("home").display().to_string();
    let project = s.path("p");
    let climbing = format!("{}/../../../usr/bin", project.display());
    let state = forged(
        &project.join(".pyguix.toml"),
        vec![
            ("HOME", scalar_over_nothing(&home)),
            ("PATH", prepended(&[&climbing])),
        ],
    );
    let user_path = format!("{climbing}:/usr/bin:/bin");
    let after = one_prompt_with(&s, &state, &[("PATH", &user_path)], &["HOME", "PATH"]);
    assert_eq!(after, format!("HOME={home}\nPATH={user_path}\n"));
}

/// Guard: a repository ships `conf` as a link to a directory of the
/// user's (here: outside the project, where `~/.config/guix` would be)
/// and names `conf/channels.scm` as its channels file, which does not
/// exist there yet, so the "is it a channels file" check passes. `pin`
/// must still write nothing through the link.
#[test]
fn pin_never_writes_through_a_linked_directory() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("victim")).unwrap();
    std::fs::create_dir_all(s.path("p")).unwrap();
    std::os::unix::fs::symlink(s.path("victim"), s.path("p/conf")).unwrap();
    s.write(
        "p/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\nchannels = \"conf/channels.scm\"\n",
    );
    let out = s.command(&["pin"], &s.path("p")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "pin went through the link: {err}");
    assert!(err.contains("outside the project"), "{err}");
    let left: Vec<_> = std::fs::read_dir(s.path("victim"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "written through the link: {left:?}");
}

/// HOLE: a forged state naming a real, allowed project that is not a uv
/// project claims that it set `UV_NO_SYNC=1` over nothing; a user who
/// keeps `UV_NO_SYNC=1` in their own environment lost it at one prompt.
/// Only a uv project sets uv's variables, so only its state is believed.
#[test]
fn a_forged_state_cannot_unset_the_users_uv_variables_for_a_project_not_of_uv() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nAPP_MODE = \"dev\"\n");
    s.allow("p");
    let state = forged(
        &s.path("p/.pyguix.toml"),
        vec![("UV_NO_SYNC", scalar_over_nothing("1"))],
    );
    let after = one_prompt_with(&s, &state, &[("UV_NO_SYNC", "1")], &["UV_NO_SYNC"]);
    assert_eq!(after, "UV_NO_SYNC=1\n");
}
