//! CI exports (issue 19): `export gha` appends to the files GitHub Actions
//! names in `$GITHUB_ENV` and `$GITHUB_PATH`, read back here by a parser of
//! the runner's own rules; `export dotenv` prints a `.env` read back by
//! python-dotenv, and `export docker` one read back by docker's
//! `--env-file` rules. A value a format cannot carry is refused naming the
//! variable, and a refused, blocked or broken project writes nothing.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{Command, Output};

use support::{Rng, Run, Sandbox, quote};

/// GitHub's runner (actions/runner, `SetEnvFileCommand`): lines split at
/// `\n`; `NAME=VALUE`, or `NAME<<DELIM` then the value's lines up to a
/// line that is exactly `DELIM` (the last line break before it is not part
/// of the value). The file is read as UTF-8 text.
fn parse_github_env(text: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(text).expect("GITHUB_ENV must be UTF-8");
    let mut out = Vec::new();
    let mut lines = text.split_inclusive('\n');
    while let Some(raw) = lines.next() {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            (_, Some(h)) => {
                let (name, delim) = (&line[..h], &line[h + 2..]);
                assert!(!name.is_empty() && !delim.is_empty(), "bad line {line:?}");
                let mut value = String::new();
                loop {
                    let raw = lines.next().unwrap_or_else(|| panic!("no {delim:?} line"));
                    let l = raw.strip_suffix('\n').unwrap_or(raw);
                    if l == delim {
                        break;
                    }
                    value.push_str(raw);
                }
                // The line break before the delimiter ends the value's last line.
                if value.ends_with('\n') {
                    value.pop();
                }
                out.push((name.to_string(), value));
            }
            _ => panic!("invalid GITHUB_ENV line {line:?}"),
        }
    }
    out
}

/// The environment a later step sees: `GITHUB_ENV`'s values over the
/// step's, and `GITHUB_PATH`'s lines put in front of PATH, the last line
/// first (the runner adds each to a list it then reverses).
fn next_step(before: &BTreeMap<String, OsString>, s: &Sandbox) -> BTreeMap<String, OsString> {
    let mut env = before.clone();
    for (name, value) in parse_github_env(&std::fs::read(s.path("gh-env")).unwrap()) {
        env.insert(name, value.into());
    }
    let added = String::from_utf8(std::fs::read(s.path("gh-path")).unwrap()).unwrap();
    let mut prepend: Vec<&str> = Vec::new();
    for line in added.lines().filter(|l| !l.is_empty()) {
        prepend.retain(|p| *p != line);
        prepend.push(line);
    }
    if !prepend.is_empty() {
        prepend.reverse();
        let mut path = prepend.join(":").into_bytes();
        if let Some(old) = env.get("PATH") {
            path.push(b':');
            path.extend_from_slice(old.as_bytes());
        }
        env.insert("PATH".into(), OsString::from_vec(path));
    }
    env
}

fn env_map(env: &[(OsString, OsString)]) -> BTreeMap<String, OsString> {
    env.iter()
        .map(|(k, v)| (k.to_str().unwrap().to_string(), v.clone()))
        .collect()
}

/// What `eval "$(pyenv-guix export bash)"` gives bash: the reference.
fn applied_by_bash(
    s: &Sandbox,
    dir: &Path,
    env: &[(OsString, OsString)],
) -> BTreeMap<String, OsString> {
    let bin = quote(support::bin().as_os_str());
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!("eval \"$({bin} export bash)\" && env -0"))
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned())
        .succeeds();
    let _ = s;
    let mut map: BTreeMap<String, OsString> = support::parse_env0(&out.stdout)
        .into_iter()
        .map(|(k, v)| (k.into_string().unwrap(), v))
        .collect();
    for own in ["PWD", "OLDPWD", "SHLVL", "_"] {
        map.remove(own);
    }
    map
}

/// `export gha` run in `dir` with `env`, its files made empty first (or
/// holding `seed`, to see that a failure leaves them as they were).
fn gha(s: &Sandbox, dir: &Path, env: &[(OsString, OsString)], seed: &str) -> Output {
    std::fs::write(s.path("gh-env"), seed).unwrap();
    std::fs::write(s.path("gh-path"), seed).unwrap();
    Command::new(support::bin())
        .args(["export", "gha"])
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned())
        .env("GITHUB_ENV", s.path("gh-env"))
        .env("GITHUB_PATH", s.path("gh-path"))
        .output()
        .unwrap()
}

fn export(s: &Sandbox, dir: &Path, env: &[(OsString, OsString)], target: &str) -> Output {
    let _ = s;
    Command::new(support::bin())
        .args(["export", target])
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

/// TOML's basic string for any text: every character not plainly safe as
/// a `\U` escape.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' {
            out.push(c);
        } else {
            out.push_str(&format!("\\U{:08X}", c as u32));
        }
    }
    out.push('"');
    out
}

/// The values each format must carry byte for byte (what python-dotenv
/// would expand, `${NAME}`, is tested on its own).
const ODD: &[(&str, &str)] = &[
    ("SPACES", "  two  leading and trailing  "),
    ("QUOTES", "it's \"quoted\" 'twice'"),
    ("DOLLAR", "$HOME and $ alone and $(date) and `date`"),
    ("HASH", "a # not a comment #"),
    ("BACKSLASH", "C:\\path\\n\\t\\\\ and a trailing \\"),
    ("NEWLINES", "line one\nline two\n\nline four\n"),
    ("CR", "carriage\rreturn\r\nthen more"),
    ("EQUALS", "a=b<<c=d"),
    ("UNICODE", "café ☕ 𝄞 \u{202e}rtl"),
    ("EMPTY", ""),
    ("TABS", "\tcol\tcol\t"),
    // A line that is the delimiter a naive writer would choose.
    (
        "DELIMITER",
        "EOF\nghadelimiter_00\nPYENV_GUIX_EOF\nPYENV_GUIX_EOF_1\nend",
    ),
];

fn odd_project(s: &Sandbox, values: &[(&str, &str)]) -> std::path::PathBuf {
    let mut manifest = String::from("[env]\n");
    for (name, value) in values {
        manifest.push_str(&format!("{name} = {}\n", toml_string(value)));
    }
    manifest.push_str("\n[path]\nPATH = [\"bin\", \"tools/bin\"]\nLISTED = [\"lib\"]\n");
    s.write("p/.pyguix.toml", &manifest);
    s.allow("p");
    s.path("p")
}

#[test]
fn gha_carries_every_value_as_bash_gets_it() {
    let s = Sandbox::new();
    let dir = odd_project(&s, ODD);
    let mut env = s.env();
    env.push(("LISTED".into(), "/usr/lib:/lib".into()));
    let out = gha(&s, &dir, &env, "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export gha failed: {err}");
    assert!(
        out.stdout.is_empty(),
        "gha prints nothing: {:?}",
        out.stdout
    );
    let got = next_step(&env_map(&env), &s);
    let want = applied_by_bash(&s, &dir, &env);
    assert_eq!(got, want, "{err}");
    for (name, value) in ODD {
        assert_eq!(
            got.get(*name).and_then(|v| v.to_str()),
            Some(*value),
            "{name}"
        );
    }
    // The project's directories arrive by GITHUB_PATH, in front of what a
    // step's PATH holds, so that a later GITHUB_PATH line of another
    // action cannot be put behind them by a PATH in GITHUB_ENV.
    let listed = std::fs::read_to_string(s.path("gh-path")).unwrap();
    assert_eq!(
        listed,
        format!(
            "{}\n{}\n",
            dir.join("tools/bin").display(),
            dir.join("bin").display()
        )
    );
    let env_file = std::fs::read_to_string(s.path("gh-env")).unwrap();
    assert!(!env_file.contains("\nPATH"), "{env_file}");
}

#[test]
fn gha_refuses_what_github_cannot_hold_and_writes_nothing() {
    let s = Sandbox::new();
    let dir = odd_project(&s, &[("PLAIN", "x")]);
    // The runner reads GITHUB_ENV as UTF-8: a byte that is not would
    // arrive as U+FFFD.
    let mut env = s.env();
    env.push((
        "LISTED".into(),
        OsString::from_vec(b"/usr/\xfflib".to_vec()),
    ));
    let out = gha(&s, &dir, &env, "KEPT=1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("LISTED") && err.contains("UTF-8"), "{err}");
    assert_eq!(
        std::fs::read_to_string(s.path("gh-env")).unwrap(),
        "KEPT=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.path("gh-path")).unwrap(),
        "KEPT=1\n"
    );

    // Without the runner's variables there is nowhere to write.
    let out = export(&s, &dir, &s.env(), "gha");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("GITHUB_ENV"), "{err}");
}

#[test]
fn a_blocked_or_broken_project_fails_every_ci_export() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nA = \"1\"\n");
    let dir = s.path("p");
    // Never allowed.
    for target in ["gha", "dotenv", "docker"] {
        let out = if target == "gha" {
            gha(&s, &dir, &s.env(), "KEPT=1\n")
        } else {
            export(&s, &dir, &s.env(), target)
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {err}");
        assert!(err.contains("allow"), "{target}: {err}");
        assert!(out.stdout.is_empty(), "{target}");
    }
    assert_eq!(
        std::fs::read_to_string(s.path("gh-env")).unwrap(),
        "KEPT=1\n"
    );
    // Allowed, then broken.
    s.allow("p");
    s.write("p/.pyguix.toml", "[env\nA = \"1\"\n");
    for target in ["gha", "dotenv"] {
        let out = if target == "gha" {
            gha(&s, &dir, &s.env(), "KEPT=1\n")
        } else {
            export(&s, &dir, &s.env(), target)
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {err}");
        assert!(err.contains(".pyguix.toml"), "{target}: {err}");
        assert!(out.stdout.is_empty(), "{target}");
    }
    assert_eq!(
        std::fs::read_to_string(s.path("gh-env")).unwrap(),
        "KEPT=1\n"
    );
    // No project at all.
    let out = export(&s, &s.path("home"), &s.env(), "dotenv");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".pyguix.toml"));
}

/// python-dotenv's reading of a `.env` file: `None` when it is not
/// installed (CI installs it: PYENV_GUIX_REQUIRE_TOOLS).
fn python_dotenv(file: &Path) -> Option<BTreeMap<String, String>> {
    let script = "import json, sys\nfrom dotenv import dotenv_values\n\
                  json.dump(dotenv_values(sys.argv[1]), sys.stdout)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .ok()?;
    if !out.status.success() {
        if std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
            panic!(
                "python-dotenv is not installed and PYENV_GUIX_REQUIRE_TOOLS=1: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!("\n!!! SKIPPED: python-dotenv is not installed; .env files not read back !!!\n");
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// docker's `--env-file` (docker/cli `opts/file.go`): lines as Go's
/// bufio.ScanLines gives them (split at `\n`, one trailing `\r` dropped),
/// must be UTF-8, leading white space trimmed, empty and `#` lines
/// skipped, then `NAME=VALUE` with the value kept as it is.
fn docker_env_file(text: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(text).expect("docker refuses a non-UTF-8 env file");
    let mut out = Vec::new();
    for line in text.split_terminator('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .expect("no `=`: docker would look it up");
        out.push((name.to_string(), value.to_string()));
    }
    out
}

/// The variables a `.env` sets, as the changes bash gets from the
/// project: every one, with the same value.
fn same_as_bash(s: &Sandbox, dir: &Path, env: &[(OsString, OsString)], read: &[(String, String)]) {
    let before = env_map(env);
    let after = applied_by_bash(s, dir, env);
    let changed: BTreeMap<String, String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.to_str().unwrap().to_string()))
        .collect();
    let read: BTreeMap<String, String> = read.iter().cloned().collect();
    assert_eq!(read, changed);
}

#[test]
fn dotenv_is_read_back_by_python_dotenv() {
    let s = Sandbox::new();
    let dir = odd_project(&s, ODD);
    let out = export(&s, &dir, &s.env(), "dotenv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    std::fs::write(s.path("p.env"), &out.stdout).unwrap();
    let Some(read) = python_dotenv(&s.path("p.env")) else {
        return;
    };
    for (name, value) in ODD {
        assert_eq!(read.get(*name).map(String::as_str), Some(*value), "{name}");
    }
    let read: Vec<(String, String)> = read.into_iter().collect();
    same_as_bash(&s, &dir, &s.env(), &read);
}

#[test]
fn docker_is_read_back_by_dockers_rules() {
    let s = Sandbox::new();
    let carried: Vec<(&str, &str)> = ODD
        .iter()
        .copied()
        .filter(|(_, v)| !v.contains('\n'))
        .collect();
    let dir = odd_project(&s, &carried);
    let out = export(&s, &dir, &s.env(), "docker");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let read = docker_env_file(&out.stdout);
    for (name, value) in &carried {
        let got = read
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        assert_eq!(got, Some(*value), "{name}");
    }
    same_as_bash(&s, &dir, &s.env(), &read);
}

#[test]
fn what_a_format_cannot_carry_is_refused_by_name() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // target, variable, value, a word of the reason
        ("dotenv", "EXPANDED", "${HOME}/x", "${"),
        ("dotenv", "LEAD_BACKSLASH", "  indented\\", "backslash"),
        ("dotenv", "LINES_BACKSLASH", "one\ntwo\\", "backslash"),
        ("docker", "MULTI", "one\ntwo", "newline"),
        ("docker", "ENDS_CR", "value\r", "carriage return"),
    ];
    for (target, name, value, why) in cases {
        let s = Sandbox::new();
        let dir = odd_project(&s, &[("FINE", "ok"), (name, value)]);
        let out = export(&s, &dir, &s.env(), target);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target} {name}: {err}");
        assert!(
            err.contains(name) && err.contains(why),
            "{target} {name}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{target} {name}: half a file printed"
        );
    }
    // Bytes that are not UTF-8, in a list the project prepends to.
    for target in ["dotenv", "docker"] {
        let s = Sandbox::new();
        let dir = odd_project(&s, &[("FINE", "ok")]);
        let mut env = s.env();
        env.push((
            "LISTED".into(),
            OsString::from_vec(b"/usr/\xfflib".to_vec()),
        ));
        let out = export(&s, &dir, &env, target);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {err}");
        assert!(
            err.contains("LISTED") && err.contains("UTF-8"),
            "{target}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Random text (the quoting test's alphabet: quotes, backslashes, `$`,
/// `#`, newlines, carriage returns, any Unicode), 300 values at once,
/// through `.env` and python-dotenv and through GITHUB_ENV and its parser.
#[test]
fn random_values_survive_dotenv_and_gha() {
    const NASTY: &[u8] = b"'\"\\$`\n\t\r !*?[]{}();&|<>~#%=:@^,.-_+/ \x01\x7f";
    let seed = std::env::var("PYENV_GUIX_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("PYENV_GUIX_SEED={seed}");
    let mut rng = Rng(seed);
    let values: Vec<String> = (0..300)
        .map(|_| {
            let len = rng.below(30);
            let text: String = (0..len)
                .map(|_| match rng.below(3) {
                    0 | 1 => NASTY[rng.below(NASTY.len())] as char,
                    _ => char::from_u32(0x80 + rng.below(0x2000) as u32).unwrap_or('x'),
                })
                .collect();
            // What python-dotenv cannot read is refused, tested above:
            // `${...}`, and a backslash at the end (unless bare).
            let text = text.replace("${", "$ {");
            if text.ends_with('\\') {
                text + "x"
            } else {
                text
            }
        })
        .collect();
    let names: Vec<String> = (0..values.len()).map(|i| format!("V{i}")).collect();
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    let s = Sandbox::new();
    let dir = odd_project(&s, &pairs);

    let out = gha(&s, &dir, &s.env(), "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = next_step(&env_map(&s.env()), &s);
    for (name, value) in &pairs {
        assert_eq!(
            got.get(*name).and_then(|v| v.to_str()),
            Some(*value),
            "gha {name}"
        );
    }

    let out = export(&s, &dir, &s.env(), "dotenv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(s.path("r.env"), &out.stdout).unwrap();
    if let Some(read) = python_dotenv(&s.path("r.env")) {
        for (name, value) in &pairs {
            assert_eq!(
                read.get(*name).map(String::as_str),
                Some(*value),
                "dotenv {name}"
            );
        }
    }
}

/// One-shot exports wait for the build, as a script's `export bash` does:
/// the next step has the project's packages.
#[test]
fn gha_waits_for_the_build_and_the_next_step_has_the_packages() {
    let s = Sandbox::new();
    let wheels = s.wheel("cidemo", "3.1", &[]);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\ninstaller = \"pip\"\n\
             packages = [\"cidemo == 3.1\"]\noptions = [\"--no-index\", \"--find-links\", \"{}\"]\n",
            wheels.display()
        ),
    );
    s.allow("proj");
    let dir = s.path("proj");
    // A CI machine's default: no foreground setting.
    let env = s.user_env();
    let out = gha(&s, &dir, &env, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let step = next_step(&env_map(&env), &s);
    let out = Command::new("python3")
        .args(["-c", "import cidemo; print(cidemo.__version__)"])
        .current_dir(&dir)
        .env_clear()
        .envs(step)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3.1\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No format here can unset: a step whose environment carries a project
/// that set `GONE`, exporting the project after `GONE` left its manifest,
/// is refused naming `GONE` rather than leaving the old value behind.
#[test]
fn an_unset_is_refused_by_name() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[env]\nKEPT = \"1\"\nGONE = \"2\"\n");
    s.allow("p");
    let dir = s.path("p");
    let loaded: Vec<(OsString, OsString)> = applied_by_bash(&s, &dir, &s.env())
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect();
    assert!(loaded.iter().any(|(k, _)| k == "GONE"));
    s.write("p/.pyguix.toml", "[env]\nKEPT = \"1\"\n");
    s.allow("p");
    for target in ["gha", "dotenv", "docker"] {
        let out = if target == "gha" {
            gha(&s, &dir, &loaded, "KEPT=1\n")
        } else {
            export(&s, &dir, &loaded, target)
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target}: {err}");
        assert!(
            err.contains("`GONE`") && err.contains("unsets"),
            "{target}: {err}"
        );
        assert!(out.stdout.is_empty(), "{target}");
    }
    assert_eq!(
        std::fs::read_to_string(s.path("gh-env")).unwrap(),
        "KEPT=1\n"
    );
}
