//! `[pip] installer`: uv builds what pip builds (the same importable
//! packages and scripts in prefix and venv modes, the Guix profile's
//! packages reused), is part of the key, and gives way to pip, saying so,
//! where it cannot do what pip would.

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use support::{Run, Sandbox};

/// Wheels: `alpha` (a console script, needs beta) and `beta`.
fn wheels(s: &Sandbox) -> PathBuf {
    s.wheel(
        "alpha",
        "1.0",
        &["--script", "alpha", "--requires", "beta>=1"],
    );
    s.wheel("beta", "2.0", &[])
}

fn manifest(wheels: &Path, mode: &str, installer: &str, extra: &str) -> String {
    format!(
        "[pip]\npackages = [\"alpha\"]\nmode = {mode:?}\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", {:?}{extra}]\n",
        wheels.display().to_string()
    )
}

fn path_with(dir: &Path) -> OsString {
    format!("{}:{}", dir.display(), support::system_path()).into()
}

/// Run `args` in project `rel` with `PATH`; its stdout and stderr.
fn run(s: &Sandbox, rel: &str, path: &OsString, args: &[&str]) -> (String, String) {
    let out = s.command(args, &s.path(rel)).env("PATH", path).succeeds();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a built project offers: each distribution installed (name and
/// version, from the dist-info directories), what the modules say, and
/// what the script prints.
fn offered(s: &Sandbox, rel: &str, path: &OsString) -> (BTreeSet<String>, String) {
    let (prefix, _) = run(s, rel, path, &["prefix"]);
    let mut dists = BTreeSet::new();
    collect_dists(Path::new(prefix.trim()), 0, &mut dists);
    let probe = "import alpha, beta, sys; print(alpha.__version__, beta.__version__)";
    let (imported, _) = run(s, rel, path, &["exec", "--", "python3", "-c", probe]);
    let (script, _) = run(s, rel, path, &["exec", "--", "alpha"]);
    (dists, format!("{imported}{script}"))
}

fn collect_dists(dir: &Path, depth: usize, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(dist) = name.strip_suffix(".dist-info") {
            out.insert(dist.to_string());
        } else if e.path().is_dir() && depth < 6 && name != "__pycache__" {
            collect_dists(&e.path(), depth + 1, out);
        }
    }
}

#[test]
fn uv_and_pip_build_the_same_packages_and_scripts_in_prefix_and_venv_modes() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    for mode in ["prefix", "venv"] {
        let by_pip = format!("{mode}-pip");
        let by_uv = format!("{mode}-uv");
        s.write(
            &format!("{by_pip}/.pyguix.toml"),
            &manifest(&wheels, mode, "pip", ""),
        );
        s.write(
            &format!("{by_uv}/.pyguix.toml"),
            &manifest(&wheels, mode, "uv", ""),
        );
        for rel in [&by_pip, &by_uv] {
            s.allow(rel);
        }
        let (_, built) = run(&s, &by_uv, &path, &["rebuild"]);
        assert!(built.contains(&format!("({mode} mode, uv)")), "{built}");
        let (_, built) = run(&s, &by_pip, &path, &["rebuild"]);
        assert!(built.contains(&format!("({mode} mode, pip)")), "{built}");
        let mut pip = offered(&s, &by_pip, &path);
        let uv = offered(&s, &by_uv, &path);
        if mode == "venv" {
            // pip's venv carries pip itself (ensurepip's seed); uv's does not.
            pip.0
                .retain(|d| !d.starts_with("pip-") && !d.starts_with("setuptools-"));
        }
        assert_eq!(
            pip.0,
            BTreeSet::from(["alpha-1.0".to_string(), "beta-2.0".to_string()]),
            "{mode}"
        );
        assert_eq!(pip, uv, "{mode}: pip and uv built different things");
        assert_eq!(uv.1, "1.0 2.0\nalpha 1.0\n");
        // Every file uv installed is as its RECORD says.
        let (status, _) = run(&s, &by_uv, &path, &["status"]);
        assert!(status.contains("installer uv "), "{status}");
        assert!(!status.contains("was changed"), "{status}");
    }
    // A venv by uv has no pip installed inside (it needed no ensurepip):
    // its `pip` is the uv that built it.
    let (venv, _) = run(&s, "venv-uv", &path, &["prefix"]);
    let pip = std::fs::read_to_string(Path::new(venv.trim()).join("bin/pip")).unwrap();
    assert!(
        pip.starts_with("#!/bin/sh") && pip.contains(" pip "),
        "{pip}"
    );
    // FOUND (try-out): `pip --version`, as editors ask it, went to `uv pip
    // --version`, which uv refuses.
    for asked in ["--version", "-V"] {
        let (said, _) = run(&s, "venv-uv", &path, &["exec", "--", "pip", asked]);
        assert!(
            said.starts_with("pip for this venv is uv pip: uv "),
            "{asked}: {said}"
        );
    }
    // Each venv is named as its project, in pyvenv.cfg and for prompts.
    for rel in ["venv-pip", "venv-uv"] {
        let (venv, _) = run(&s, rel, &path, &["prefix"]);
        let cfg = std::fs::read_to_string(Path::new(venv.trim()).join("pyvenv.cfg")).unwrap();
        let prompt = cfg.lines().find(|l| l.starts_with("prompt")).unwrap_or("");
        assert!(prompt.contains(rel), "{rel}: {cfg}");
        let (shown, _) = run(
            &s,
            rel,
            &path,
            &["exec", "--", "printenv", "VIRTUAL_ENV_PROMPT"],
        );
        assert_eq!(shown.trim(), rel);
    }
}

/// uv is chosen by the user's PATH and named in the key by its bytes: with
/// and without it on PATH, one manifest has two prefixes.
#[test]
fn auto_takes_uv_from_the_users_path_and_the_key_says_which() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let wheels = wheels(&s);
    s.write("p/.pyguix.toml", &manifest(&wheels, "prefix", "auto", ""));
    s.allow("p");
    let (with_uv, said) = run(&s, "p", &path_with(&uv), &["prefix"]);
    assert!(said.contains("(prefix mode, uv)"), "{said}");
    let without = path_with(&s.path("nothing-here"));
    let (with_pip, said) = run(&s, "p", &without, &["prefix"]);
    assert!(said.contains("(prefix mode, pip)"), "{said}");
    assert_ne!(with_uv, with_pip);
    // Each is built once: the next look changes nothing.
    let (again, said) = run(&s, "p", &path_with(&uv), &["prefix"]);
    assert_eq!(again, with_uv);
    assert!(!said.contains("building"), "{said}");

    // A different uv (another binary, so other bytes) is another prefix.
    let other = s.path("other-uv");
    std::fs::create_dir_all(&other).unwrap();
    let mut bytes = std::fs::read(uv.join("uv")).unwrap();
    bytes.extend_from_slice(b"\0another build");
    std::fs::write(other.join("uv"), bytes).unwrap();
    let mut perms = std::fs::metadata(other.join("uv")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(other.join("uv"), perms).unwrap();
    let (status, _) = run(&s, "p", &path_with(&other), &["status"]);
    assert!(status.contains("(not built)"), "{status}");
}

/// Where uv cannot do what pip would, pip builds and the user is told why;
/// `installer = "uv"` without uv is an error that says so.
#[test]
fn pip_stands_in_where_uv_cannot_and_says_so() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    s.write("user/.pyguix.toml", &manifest(&wheels, "user", "uv", ""));
    s.write(
        "option/.pyguix.toml",
        &manifest(&wheels, "prefix", "auto", ", \"--prefer-binary\""),
    );
    s.write(
        "infile/.pyguix.toml",
        &format!(
            "[pip]\nrequirements = [\"r.txt\"]\ninstaller = \"uv\"\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    // uv would ignore `--pre` in a file (with a warning) and resolve otherwise.
    s.write("infile/r.txt", "--pre\nalpha\n");
    for (rel, why) in [
        ("user", "uv does not install in user mode"),
        (
            "option",
            "uv does not take `--prefer-binary` in [pip].options",
        ),
        ("infile", "uv does not take `--pre` in a requirements file"),
    ] {
        s.allow(rel);
        let (_, said) = run(&s, rel, &path, &["prefix"]);
        assert!(said.contains(why), "{rel}: {said}");
        assert!(said.contains(", pip)"), "{rel}: {said}");
        let (out, _) = run(&s, rel, &path, &["exec", "--", "alpha"]);
        assert_eq!(out, "alpha 1.0\n");
    }

    s.write("nouv/.pyguix.toml", &manifest(&wheels, "prefix", "uv", ""));
    s.allow("nouv");
    let err = s.command(&["prefix"], &s.path("nouv")).fails();
    assert!(
        err.contains("installer = \"uv\", but there is no uv on your PATH"),
        "{err}"
    );
}

/// With a Guix profile, uv installs only what the profile lacks (pip tells
/// it what that is), and the store is left as it was.
#[test]
fn uv_reuses_the_guix_profiles_packages() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    s.write(
        "g/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\", \"python-beta@2.0\"]\n\n{}",
            manifest(&wheels, "prefix", "uv", "")
        ),
    );
    s.allow("g");
    let (prefix, said) = run(&s, "g", &path, &["prefix"]);
    assert!(said.contains("(prefix mode, uv)"), "{said}");
    let mut dists = BTreeSet::new();
    collect_dists(Path::new(prefix.trim()), 0, &mut dists);
    assert_eq!(dists, BTreeSet::from(["alpha-1.0".to_string()]));
    let probe = "import alpha, beta; print(alpha.__file__); print(beta.__file__)";
    let (files, _) = run(&s, "g", &path, &["exec", "--", "python3", "-c", probe]);
    let mut lines = files.lines();
    assert!(
        lines.next().unwrap().contains("/cache/prefixes/"),
        "{files}"
    );
    assert!(lines.next().unwrap().contains("/gnu/store/"), "{files}");
    let (script, _) = run(&s, "g", &path, &["exec", "--", "alpha"]);
    assert_eq!(script, "alpha 1.0\n");
}

/// A venv does not see the Guix profile's packages: uv installs all it
/// needs into it, as pip does.
#[test]
fn a_uv_venv_with_a_guix_profile_has_everything_it_needs() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    s.write(
        "v/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\", \"python-beta@2.0\"]\n\n{}",
            manifest(&wheels, "venv", "uv", "")
        ),
    );
    s.allow("v");
    let (_, said) = run(&s, "v", &path, &["prefix"]);
    assert!(said.contains("(venv mode, uv)"), "{said}");
    let (out, _) = run(
        &s,
        "v",
        &path,
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import alpha, beta; print('ok')",
        ],
    );
    assert_eq!(out, "ok\n");
}

/// Every regular file under `dir`, with its link count.
fn files_with_links(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    use std::os::unix::fs::MetadataExt;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        if meta.is_dir() {
            files_with_links(&e.path(), out);
        } else if meta.is_file() {
            out.push((e.path(), meta.nlink()));
        }
    }
}

/// HOLE: uv hard-linked its cache's files into a prefix, so a hand edit
/// in one project's prefix changed uv's cache and every other prefix
/// built from it (another project, of other inputs, was "damaged"), and
/// `rebuild` linked the edited file back; a CA patched into certifi in
/// uv's cache reached every prefix. A prefix now shares its linked files
/// with the pool only: read-only copies named by their bytes, dated as
/// Guix dates its store, which no environment of uv's own shares. An edit
/// forced through one is seen in every prefix holding it, and `rebuild`
/// repairs each; `gc` removes the copies no prefix holds.
#[test]
fn a_uv_build_shares_files_with_the_read_only_pool_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    // Two projects of other inputs: two keys, the same wheels, by uv.
    for (rel, packages) in [("a", "\"alpha\""), ("b", "\"alpha\", \"beta\"")] {
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &manifest(&wheels, "prefix", "uv", "").replace("\"alpha\"", packages),
        );
        s.allow(rel);
        let (_, said) = run(&s, rel, &path, &["rebuild"]);
        assert!(said.contains("prefix mode, uv)"), "{said}");
    }
    let files = |rel: &str| {
        let (prefix, _) = run(&s, rel, &path, &["prefix"]);
        let prefix = PathBuf::from(prefix.trim());
        let mut files = Vec::new();
        files_with_links(&prefix, &mut files);
        (prefix, files)
    };
    let inode = |p: &Path| std::fs::symlink_metadata(p).unwrap().ino();
    let (a, a_files) = files("a");
    let (b, _) = files("b");
    assert_ne!(a, b);
    let module = (a_files.iter().map(|(p, _)| p))
        .find(|p| p.ends_with("alpha/__init__.py"))
        .unwrap()
        .strip_prefix(&a)
        .unwrap()
        .to_path_buf();
    assert_eq!(inode(&a.join(&module)), inode(&b.join(&module)));
    let mut uv_cache = Vec::new();
    files_with_links(&s.path("home/.cache/uv"), &mut uv_cache);
    let uv_inodes: BTreeSet<u64> = uv_cache.iter().map(|(p, _)| inode(p)).collect();
    assert!(!uv_inodes.is_empty());
    for (file, links) in a_files.iter().filter(|(_, n)| *n > 1) {
        let m = std::fs::metadata(file).unwrap();
        assert!(!uv_inodes.contains(&m.ino()), "{file:?} is uv's cache's");
        assert_eq!((m.mode() & 0o222, m.mtime()), (0, 1), "{file:?} ({links})");
    }
    // An edit forced through, of the same size, then the mode and date
    // put back (as root's `cp -p` from another prefix does): both see it.
    let edited = a.join(&module);
    let size = std::fs::metadata(&edited).unwrap().len() as usize;
    std::fs::set_permissions(&edited, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&edited, format!("{:#<size$}", "raise SystemExit\n")).unwrap();
    std::fs::set_permissions(&edited, std::fs::Permissions::from_mode(0o444)).unwrap();
    let date = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
    let set_date = |file: &Path| {
        // Its owner dates a file it cannot write (as `cp -p` does).
        let f = std::fs::File::open(file).unwrap();
        f.set_times(std::fs::FileTimes::new().set_modified(date))
            .unwrap();
    };
    set_date(&edited);
    assert_eq!(std::fs::metadata(&edited).unwrap().len() as usize, size);
    let damaged = |rel: &str| run(&s, rel, &path, &["status"]).0.contains("damaged");
    assert!(damaged("a") && damaged("b"));
    // A rebuild of a undoes it in a, from uv's cache, which it never
    // reached; b is repaired by its own.
    run(&s, "a", &path, &["rebuild"]);
    assert!(!damaged("a") && damaged("b"));
    run(&s, "b", &path, &["rebuild"]);
    assert!(!damaged("b"));
    let (a, _) = files("a");
    let (b, _) = files("b");
    assert_eq!(inode(&a.join(&module)), inode(&b.join(&module)));
    // With both projects gone, gc leaves nothing in the pool, and says
    // beforehand what it frees. A copy being made (dated 1970 before it
    // is renamed into place) is not a stale temporary.
    std::fs::remove_dir_all(s.path("a")).unwrap();
    std::fs::remove_dir_all(s.path("b")).unwrap();
    let making = s.path("cache/pool/.pool.making.tmp");
    std::fs::write(&making, "").unwrap();
    set_date(&making);
    let total = |said: &str| {
        said.lines()
            .last()
            .unwrap_or("")
            .replace("would remove", "removed")
    };
    let (_, would) = run(&s, ".", &path, &["gc", "--dry-run"]);
    let (said, did) = run(&s, ".", &path, &["gc"]);
    assert_eq!(total(&would), total(&did));
    assert!(making.exists());
    std::fs::remove_file(&making).unwrap();
    assert!(
        said.contains("files of the pool that no prefix holds"),
        "{said}"
    );
    let left: Vec<_> = std::fs::read_dir(s.path("cache/pool"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A file over a MiB takes the pool's other way: found in the pool under
/// the hash its wheel's RECORD gives, compared as it streams (never read
/// whole), copied and hashed in one pass the first time. Two projects of
/// other keys hold one read-only copy, named by the SHA-256 of exactly the
/// wheel's bytes, shared with nothing of uv's cache, and a rebuild links
/// the same copy again.
#[test]
fn a_large_file_is_shared_through_the_pool_under_the_hash_of_its_bytes() {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    s.wheel("big", "1.0", &["--data", "3000000"]);
    let wheels = s.wheel("small", "1.0", &[]);
    for (rel, packages) in [("a", "\"big\""), ("b", "\"big\", \"small\"")] {
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &manifest(&wheels, "prefix", "uv", "").replace("\"alpha\"", packages),
        );
        s.allow(rel);
    }
    let data = |rel: &str| {
        let (prefix, _) = run(&s, rel, &path, &["prefix"]);
        let mut files = Vec::new();
        files_with_links(Path::new(prefix.trim()), &mut files);
        let (file, _) = (files.into_iter())
            .find(|(p, _)| p.ends_with("big/data.bin"))
            .unwrap_or_else(|| panic!("no big/data.bin in {prefix}"));
        file
    };
    let (a, b) = (data("a"), data("b"));
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes.len(), 3_000_000);
    let copy = s.path("cache/pool").join(hex(&Sha256::digest(&bytes)));
    let m = std::fs::metadata(&copy).unwrap();
    let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!((inode(&a), inode(&b)), (m.ino(), m.ino()));
    assert_eq!((m.mode() & 0o7777, m.mtime(), m.nlink()), (0o444, 1, 3));
    let mut uv_cache = Vec::new();
    files_with_links(&s.path("home/.cache/uv"), &mut uv_cache);
    assert!(uv_cache.iter().all(|(p, _)| inode(p) != m.ino()));
    // Exactly the wheel's bytes: `status` checks each file against its
    // RECORD.
    for rel in ["a", "b"] {
        let (said, _) = run(&s, rel, &path, &["status"]);
        assert!(!said.contains("damaged"), "{said}");
    }
    run(&s, "a", &path, &["rebuild"]);
    assert_eq!(inode(&data("a")), m.ino());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// uv builds with the cache the user's own uv uses (XDG_CACHE_HOME, or
/// UV_CACHE_DIR), not a second one under HOME that starts cold.
#[test]
fn uv_builds_with_the_users_own_uv_cache() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = path_with(&uv);
    let wheels = wheels(&s);
    for (rel, var, dir) in [
        ("a", "XDG_CACHE_HOME", "xdg"),
        ("b", "UV_CACHE_DIR", "uv-cache"),
    ] {
        s.write(
            &format!("{rel}/.pyguix.toml"),
            &manifest(&wheels, "prefix", "uv", ""),
        );
        s.allow(rel);
        s.command(&["rebuild"], &s.path(rel))
            .env("PATH", &path)
            .env(var, s.path(dir))
            .succeeds();
        assert!(s.path(dir).is_dir(), "{var}: uv used no cache there");
    }
    assert!(
        !s.path("home/.cache/uv").exists(),
        "a second uv cache under HOME"
    );
}
