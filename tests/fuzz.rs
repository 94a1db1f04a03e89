//! Random bytes as manifests and as states, fed to `export`, `status` and
//! `allow`: never a panic, never a hang, and a manifest that is not allowed
//! (or is not valid) sets nothing but pyenv-guix's own state.
//! A failure prints its seed; PYENV_GUIX_SEED=N replays it.

mod support;

use std::process::{Output, Stdio};
use std::time::Duration;

use support::{Rng, Sandbox};

const ROUNDS: usize = 150;

/// Valid manifests to mutate, so that the parser is reached deeply too.
const SEEDS: &[&str] = &[
    "[env]\nA = \"1\"\n\n[path]\nPATH = [\"bin\"]\n",
    "[pip]\npackages = [\"six==1.16\"]\nrequirements = [\"r.txt\"]\noptions = [\"-c\", \"c.txt\"]\nmode = \"venv\"\n",
    "[python]\ninterpreter = \"./py\"\n\n[guix]\npackages = [\"python\"]\nchannels = \"ch.scm\"\n",
];

fn manifest(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
    match rng.below(3) {
        // Pure noise.
        0 => {
            bytes = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        }
        // Flipped, inserted and deleted bytes.
        1 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(3) {
                    0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                    1 => {
                        let nasty = b"=[]\"'\\\n\x00\x1b:#.";
                        bytes.insert(at, nasty[rng.below(nasty.len())]);
                    }
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
        }
        // Cut short.
        _ => bytes.truncate(rng.below(bytes.len() + 1)),
    }
    bytes
}

fn state(rng: &mut Rng, real: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let noise = |rng: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| alphabet[rng.below(alphabet.len())] as char)
            .collect()
    };
    let len = rng.below(300);
    match rng.below(3) {
        0 => format!("pg2.{}.{}", noise(rng, len), noise(rng, 43)),
        1 => {
            let mut s = real.as_bytes().to_vec();
            let at = 4 + rng.below(s.len() - 4);
            // Another character, never the same one.
            let others: Vec<u8> = alphabet.iter().copied().filter(|&c| c != s[at]).collect();
            s[at] = others[rng.below(others.len())];
            String::from_utf8(s).unwrap()
        }
        _ => noise(rng, len),
    }
}

fn run(s: &Sandbox, args: &[&str], state: Option<&str>) -> Output {
    let mut cmd = s.command(args, &s.path("p"));
    if let Some(state) = state {
        cmd.env("PYENV_GUIX_STATE", state);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    support::run_with_timeout(cmd, b"", Duration::from_secs(20))
}

fn no_panic(out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_ne!(out.status.code(), Some(101), "{what}: {err}");
}

/// What `export json` set, apart from its own state.
fn set_by(out: &Output) -> Vec<String> {
    if out.stdout.is_empty() {
        return Vec::new();
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("export json prints JSON");
    v.as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "PYENV_GUIX_STATE")
        .cloned()
        .collect()
}

#[test]
fn random_manifests_and_states() {
    let mut rng = Rng::seeded();
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", SEEDS[0]);
    s.allow("p");
    let loaded = s.pyenv_guix(&["export", "json"], &s.path("p"));
    let v: serde_json::Value = serde_json::from_slice(&loaded.stdout).unwrap();
    let real = v["PYENV_GUIX_STATE"].as_str().unwrap().to_string();

    for round in 0..ROUNDS {
        let bytes = manifest(&mut rng);
        std::fs::write(s.path("p/.pyguix.toml"), &bytes).unwrap();
        let what = format!(
            "round {round}, manifest {:?}",
            String::from_utf8_lossy(&bytes)
        );
        // Never allowed in this form: export sets nothing of the project.
        let out = run(&s, &["export", "json"], None);
        no_panic(&out, &what);
        assert_eq!(set_by(&out), Vec::<String>::new(), "{what}");
        let out = run(&s, &["status", "--json"], None);
        no_panic(&out, &what);
        let out = run(&s, &["allow"], None);
        no_panic(&out, &what);
        assert!(out.stdout.is_empty(), "{what}");
        // Allowed or not, a random state is never believed (an empty one
        // is none, and said nothing of).
        let st = state(&mut rng, &real);
        let out = run(&s, &["export", "json"], Some(&st));
        no_panic(&out, &format!("{what}, state {st:?}"));
        if out.status.success() && !out.stdout.is_empty() && !st.is_empty() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("ignoring a PYENV_GUIX_STATE"),
                "{what}, state {st:?}: {err}"
            );
        }
        let out = run(&s, &["status"], Some(&st));
        no_panic(&out, &format!("{what}, state {st:?}"));
        s.pyenv_guix(&["deny"], &s.path("p"));
    }
}
