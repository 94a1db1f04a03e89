//! The Guix flows, through the stand-in `guix` of tests/guix-stand-in (no
//! machine here has Guix): the seed's story in bash, zsh and fish, a pip
//! fallback newer than Guix's copy, pinned channels, `guix pull`, no Guix.

mod support;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, quote};

/// The seed: python and python-rapidjson from Guix, prov from pip; and six,
/// which Guix has at 1.0, wanted at 2.0 from pip.
fn seed_project(s: &Sandbox) {
    s.wheel("prov", "1.5.3", &["--requires", "six>=1.0"]);
    let wheels = s.wheel("six", "2.0", &[]);
    s.write(
        "seed/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\", \"python-rapidjson\", \"python-six@1.0\"]\n\n[pip]\npackages = [\"prov==1.5.3\", \"six==2.0\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("seed");
}

fn seed_story(sh: ShellName) {
    if !sh.available() {
        return;
    }
    let s = Sandbox::new();
    seed_project(&s);
    let lines = vec![
        sh.hook_line(),
        "dump 1-outside".into(),
        format!("cd {}", quote(s.path("seed").as_os_str())),
        "dump 2-inside".into(),
        "python3 -c 'import prov, rapidjson, six; print(prov.__file__); print(rapidjson.__file__); print(six.__file__, six.__version__)' > \"$OUT/imports\"".into(),
        "cd ..".into(),
        "dump 3-left".into(),
    ];
    let out = s.interactive(sh, &s.path("home"), &s.env(), &lines);
    let d = s.dump("2-inside");
    let profile = d.get("PYENV_GUIX_PROFILE").expect("a profile").to_string();
    let prefix = d.get("PYENV_GUIX_PREFIX").expect("a prefix").to_string();
    let store = std::fs::canonicalize(&profile)
        .unwrap()
        .display()
        .to_string();
    assert!(
        store.starts_with(&s.path("gnu/store").display().to_string()),
        "{store}"
    );
    // The profile's search paths, with Guix's Python reading GUIX_PYTHONPATH.
    assert_eq!(d.path_entries("PATH")[0], format!("{store}/bin"));
    let guix_pythonpath = d.path_entries("GUIX_PYTHONPATH");
    assert!(
        guix_pythonpath[0].starts_with(&prefix),
        "the prefix first: {guix_pythonpath:?}"
    );
    assert_eq!(
        guix_pythonpath[1],
        format!(
            "{store}/lib/python3.{}/site-packages",
            minor(&guix_pythonpath[1])
        )
    );
    assert_eq!(d.get("PYTHONPATH"), None);
    assert_eq!(d.get("PYTHONNOUSERSITE"), Some("1"));
    let imports = s.read_out("imports");
    let lines: Vec<&str> = imports.lines().collect();
    assert!(
        lines[0].starts_with(&prefix),
        "prov from the pip prefix: {imports}"
    );
    assert!(
        lines[1].starts_with(&store),
        "rapidjson from the Guix profile: {imports}"
    );
    assert!(
        lines[2].starts_with(&prefix) && lines[2].ends_with(" 2.0"),
        "six 2.0 from pip, before Guix's 1.0: {imports}"
    );
    let six = std::fs::read_dir(s.path("gnu/store"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with("-python-six-1.0"))
        .expect("Guix's six");
    assert!(
        walk_find(&six.path(), "__init__.py").is_some(),
        "the store copy is untouched"
    );
    // The prefix is keyed by the interpreter's store item: the seed's PYTHONHASH.
    let status = s.pyenv_guix(&["status", "--json", "seed"], &s.path(""));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let item = status["interpreter"]["store_item"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(item.contains("-python-3."), "{item}");
    let inputs: Vec<&str> = status["pip"]["prefix"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let inputs = inputs.join("\n");
    assert!(inputs.contains(&format!("store {item}")), "{inputs}");
    assert!(inputs.contains(&format!("profile {store}")), "{inputs}");
    assert_eq!(
        s.dump("3-left").user_visible(),
        s.dump("1-outside").user_visible(),
        "left exactly"
    );
    assert!(out.contains("building Guix profile"), "{out}");
}

fn minor(site: &str) -> String {
    site.rsplit("/lib/python3.")
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

/// Guix provides six 1.0. A pip package that only needs six uses Guix's; a
/// pip requirement on six 2.0 goes into the prefix, and the store copy is
/// left as it was (pip issue 10136).
#[test]
fn pip_fallbacks_reuse_guix_and_go_newer_without_touching_the_store() {
    let s = Sandbox::new();
    s.wheel("usesix", "1.0", &["--requires", "six>=1.0"]);
    let wheels = s.wheel("six", "2.0", &[]);
    let manifest = |pkg: &str| {
        format!(
            "[guix]\npackages = [\"python\", \"python-six@1.0\"]\n\n[pip]\npackages = [{pkg:?}]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        )
    };
    s.write("uses/.pyguix.toml", &manifest("usesix==1.0"));
    s.write("newer/.pyguix.toml", &manifest("six==2.0"));
    s.allow("uses");
    s.allow("newer");
    let run = |project: &str| {
        s.command(
            &[
                "exec",
                "-C",
                project,
                "--",
                "python3",
                "-c",
                "import six; print(six.__version__); print(six.__file__)",
            ],
            &s.path(""),
        )
        .stdout_ok()
    };
    let uses = run("uses");
    assert!(uses.starts_with("1.0\n"), "{uses}");
    assert!(
        uses.contains("/gnu/store/"),
        "Guix's six serves the pip package: {uses}"
    );
    let newer = run("newer");
    assert!(newer.starts_with("2.0\n"), "{newer}");
    assert!(newer.contains("/cache/prefixes/"), "{newer}");
    let store_copies: Vec<_> = std::fs::read_dir(s.path("gnu/store"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("-python-six-1.0"))
        .collect();
    assert_eq!(store_copies.len(), 1);
    let module = store_copies[0].path().join("lib");
    let init = walk_find(&module, "__init__.py").expect("the store copy is still there");
    assert!(std::fs::read_to_string(init).unwrap().contains("\"1.0\""));
}

fn walk_find(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = walk_find(&p, name) {
                return Some(found);
            }
        } else if e.file_name() == name {
            return Some(p);
        }
    }
    None
}

/// Pinned channels go through `guix time-machine -C`; unpinned, the key
/// follows the Guix the user runs, so after `guix pull` the next entry
/// rebuilds.
#[test]
fn channels_pin_and_guix_pull() {
    let s = Sandbox::new();
    s.write(
        "pinned/.pyguix.toml",
        "[guix]\npackages = [\"python-attrs\"]\nchannels = \"channels.scm\"\n",
    );
    s.write("pinned/channels.scm", "(list %default-guix-channel)\n");
    s.allow("pinned");
    s.pyenv_guix(&["exec", "-C", "pinned", "--", "true"], &s.path(""));
    let log = std::fs::read_to_string(s.path("guix.log")).unwrap();
    // Guix reads the copy that was hashed, never the project's file, which
    // the project could change between the key and the build.
    let line = log
        .lines()
        .find(|l| l.starts_with("time-machine -C "))
        .unwrap_or_else(|| panic!("no time-machine call: {log}"));
    let staged = line["time-machine -C ".len()..].split(' ').next().unwrap();
    assert!(
        staged.starts_with(&s.path("cache/staging").display().to_string())
            && staged.ends_with(".scm"),
        "{line}"
    );
    assert!(line.contains(" -- package -p "), "{line}");

    s.write(
        "unpinned/.pyguix.toml",
        "[guix]\npackages = [\"python-attrs\"]\n",
    );
    s.allow("unpinned");
    let current = s.path("home/.config/guix/current");
    std::fs::create_dir_all(s.path("guix-a")).unwrap();
    std::fs::create_dir_all(s.path("guix-b")).unwrap();
    std::fs::create_dir_all(current.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(s.path("guix-a"), &current).unwrap();
    let profile_of = || {
        let out = s.pyenv_guix(
            &[
                "exec",
                "-C",
                "unpinned",
                "--",
                "printenv",
                "PYENV_GUIX_PROFILE",
            ],
            &s.path(""),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let before = profile_of();
    assert_eq!(profile_of(), before, "the same Guix reuses the profile");
    std::fs::remove_file(&current).unwrap();
    std::os::unix::fs::symlink(s.path("guix-b"), &current).unwrap();
    assert_ne!(profile_of(), before, "after guix pull, another profile");
    let log = std::fs::read_to_string(s.path("guix.log")).unwrap();
    assert_eq!(log.matches("package -p ").count(), 3, "{log}");
}

#[test]
fn no_guix_says_so_and_what_to_do() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[guix]\npackages = [\"python\"]\n");
    s.allow("p");
    let err = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .env("PYENV_GUIX_GUIX", "/nonexistent/guix")
        .fails();
    assert!(
        err.contains("lists Guix packages, but there is no `/nonexistent/guix` to build them. Install GNU Guix"),
        "{err}"
    );
}

#[test]
fn unknown_guix_package_shows_guix_own_message() {
    let s = Sandbox::new();
    s.write("p/.pyguix.toml", "[guix]\npackages = [\"no-such-thing\"]\n");
    s.allow("p");
    let err = s
        .command(&["exec", "-C", "p", "--", "true"], &s.path(""))
        .fails();
    assert!(
        err.contains("guix package: error: no-such-thing: unknown package"),
        "{err}"
    );
    assert!(err.contains("guix failed to build profile"), "{err}");
}

bash_zsh_fish!(seed_story);

/// A lock holds what the Guix profile lacks, never what it has: Guix's six
/// serves the locked package, and the lock names only that package.
#[test]
fn a_lock_leaves_out_what_the_guix_profile_has() {
    let s = Sandbox::new();
    s.wheel("usesix", "1.0", &["--requires", "six>=1.0"]);
    let wheels = s.wheel("six", "2.0", &[]);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\", \"python-six@1.0\"]\n\n[pip]\npackages = [\"usesix\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    s.command(&["lock"], &s.path("p")).stdout_ok();
    let lock: toml::Table = std::fs::read_to_string(s.path("p/pylock.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let names: Vec<&str> = lock["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["usesix"], "{lock}");
    let out = s
        .command(
            &[
                "exec",
                "--",
                "python3",
                "-c",
                "import usesix, six; print(six.__version__); print(six.__file__)",
            ],
            &s.path("p"),
        )
        .stdout_ok();
    assert!(
        out.starts_with("1.0\n") && out.contains("/gnu/store/"),
        "{out}"
    );
}
