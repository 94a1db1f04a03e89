//! A built prefix stays what its key says: damage is found and repaired by
//! `rebuild`, and gc keeps what trusted projects use, whatever PATH or
//! directory it runs from. Real pip, wheels built here.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{Run, Sandbox};

fn project(s: &Sandbox, name: &str, interpreter: &str, mode: &str, wheels: &Path) {
    s.write(
        &format!("{name}/.pyguix.toml"),
        &format!(
            "[project]\nname = \"app\"\n\n[python]\ninterpreter = {interpreter:?}\n\n[pip]\nmode = {mode:?}\npackages = [\"greetpkg==1.0\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow(name);
}

fn run(s: &Sandbox, args: &[&str]) -> Output {
    s.command(args, &s.path("")).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn status(s: &Sandbox, name: &str) -> serde_json::Value {
    let out = s.pyenv_guix(&["status", "--json", name], &s.path(""));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn prefix_of(s: &Sandbox, name: &str) -> PathBuf {
    let out = s.pyenv_guix(&["prefix", name], &s.path(""));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn site_dir(prefix: &Path) -> PathBuf {
    site_dir_of(prefix, "greetpkg")
}

/// The directory under `prefix` holding the package `name`.
fn site_dir_of(prefix: &Path, name: &str) -> PathBuf {
    let mut stack = vec![prefix.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == name) {
                return dir;
            }
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    panic!("no {name} under {}", prefix.display());
}

/// HOLE: pip keeps the rows of a wheel's RECORD as the wheel gives them,
/// those naming files outside the prefix too (a path from the root, or
/// `..` enough times). `status` read each such file whole to hash it (a
/// FIFO hung it, `/dev/zero` would fill the memory), and the first
/// executable one outside the site directory became the prefix's scripts
/// directory, put on PATH. A RECORD names files in its prefix only; the
/// rest are never looked at.
#[test]
fn a_record_naming_files_outside_its_prefix_reaches_none_of_them() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    s.write("outside/bin/tool", "#!/bin/sh\necho planted\n");
    let tool = s.path("outside/bin/tool");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fifo = s.path("outside/fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|m| m.success()));
    let climbed = format!("{}{}", "../".repeat(40), tool.display());
    let rows: Vec<String> = [fifo.display().to_string(), climbed]
        .iter()
        .map(|path| format!("--record-row={path},sha256=AAAA,1"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let wheels = s.wheel("greetpkg", "1.0", &rows);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[pip]\ninstaller = \"pip\"\npackages = [\"greetpkg==1.0\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow("p");
    let prefix = prefix_of(&s, "p");
    let record = std::fs::read_to_string(site_dir(&prefix).join("greetpkg-1.0.dist-info/RECORD"));
    assert!(record.unwrap().contains("outside/fifo"), "pip kept the row");

    let mut c = s.command(&["status", "--json", "p"], &s.path(""));
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = support::run_with_timeout(c, b"", std::time::Duration::from_secs(30));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let damage = said["pip"]["prefix"]["damage"].to_string();
    assert!(!damage.contains("outside"), "{damage}");

    let mut c = s.command(&["exec", "--", "sh", "-c", "echo \"$PATH\""], &s.path("p"));
    let path = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert!(
        !path.contains(&s.path("outside").display().to_string()),
        "{path}"
    );
}

/// A project of pip `packages` from `wheels`, installed by pip, in `mode`.
fn pip_project(s: &Sandbox, name: &str, mode: &str, packages: &[&str], wheels: &Path) {
    s.write(
        &format!("{name}/.pyguix.toml"),
        &format!(
            "[pip]\ninstaller = \"pip\"\nmode = {mode:?}\npackages = {packages:?}\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    s.allow(name);
}

/// What `sh -c SCRIPT` prints, run by `exec` in project `name`.
fn exec_sh(s: &Sandbox, name: &str, script: &str) -> String {
    let out = s.pyenv_guix(&["exec", "--", "sh", "-c", script], &s.path(name));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// HOLE (attack pass): a wheel's data files land anywhere in the prefix,
/// under directory names of its choosing. An executable at `a:./tool`
/// made `<prefix>/a:.` the scripts directory, and `PATH` split it into
/// `<prefix>/a` and `.`: any program in the directory the user stood in
/// ran before the system's. A `*.dist-info` under `q:.` did the same to
/// `PYTHONPATH`. A directory whose name holds `:` is put on no search
/// path.
#[test]
fn a_directory_named_with_a_colon_splits_no_search_path() {
    let s = Sandbox::new();
    let wheels = s.wheel(
        "colonpkg",
        "1.0",
        &[
            "--exec=colonpkg-1.0.data/data/a:./tool=#!/bin/sh\\necho planted\\n",
            "--file=colonpkg-1.0.data/data/q:./z-1.0.dist-info/METADATA=Metadata-Version: 2.1\\nName: z\\nVersion: 1.0\\n",
            "--file=colonpkg-1.0.data/data/q:./z-1.0.dist-info/RECORD=",
        ],
    );
    pip_project(&s, "p", "prefix", &["colonpkg==1.0"], &wheels);
    // Where pip put the data files (Debian's pip: under `local`).
    let data = site_dir_of(&prefix_of(&s, "p"), "a:.");
    assert!(data.join("a:./tool").is_file() && data.join("q:./z-1.0.dist-info").is_dir());
    let said = exec_sh(&s, "p", "echo \"$PATH\"; echo \"$PYTHONPATH\"");
    for entry in said.lines().flat_map(|l| l.split(':')) {
        assert!(entry.starts_with('/'), "{entry:?} in {said}");
    }
    let imported = exec_sh(&s, "p", "python3 -c 'import colonpkg; print(\"imported\")'");
    assert_eq!(imported.trim(), "imported");
}

/// A RECORD too large to read (over 64 MiB) is the build's own doing, not
/// a file lost while it was built: the build fails once, naming it, and
/// is not started again at every use.
#[test]
fn a_record_too_large_to_read_fails_the_build_once() {
    let s = Sandbox::new();
    let size = (64 << 20) + 1;
    let wheels = s.wheel(
        "bigrec",
        "1.0",
        &[
            "--file=bigrec-1.0.data/data/zz-1.0.dist-info/METADATA=Metadata-Version: 2.1\\nName: zz\\nVersion: 1.0\\n",
            &format!("--zeros=bigrec-1.0.data/data/zz-1.0.dist-info/RECORD={size}"),
        ],
    );
    pip_project(&s, "p", "prefix", &["bigrec==1.0"], &wheels);
    let first = run(&s, &["prefix", "p"]);
    assert!(!first.status.success());
    assert!(
        text(&first).contains("zz-1.0.dist-info/RECORD"),
        "{}",
        text(&first)
    );
    let again = run(&s, &["prefix", "p"]);
    assert!(
        text(&again).contains("failed (run 'pyenv-guix reload'"),
        "{}",
        text(&again)
    );
}

/// A prefix's layout found by the rules before the colon and planted
/// `*.dist-info` fixes (its marker has no `format`) is not used: the
/// prefix is built again, and what the old layout put on `PATH` is not.
#[test]
fn a_layout_found_by_earlier_rules_is_built_again() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    pip_project(&s, "p", "prefix", &["greetpkg==1.0"], &wheels);
    let first = prefix_of(&s, "p");
    let marker = first.join(".pyenv-guix-prefix.json");
    let mut layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    let layout_map = layout.as_object_mut().unwrap();
    assert!(layout_map.remove("format").is_some());
    layout_map.insert("scripts_dir".into(), "/planted:.".into());
    std::fs::write(&marker, serde_json::to_vec(&layout).unwrap()).unwrap();
    let path = exec_sh(&s, "p", "echo \"$PATH\"");
    assert!(!path.contains("planted"), "{path}");
    assert_ne!(prefix_of(&s, "p"), first);
}

/// HOLE (attack pass): a `*.dist-info` a wheel put above the real site
/// directory (its data files land at the prefix's root) ended the search
/// for site directories there: the real one, and every distribution in
/// it, went unchecked, and `status` said nothing of a module changed
/// under it. A site directory of the interpreter's scheme
/// (`site-packages`, `dist-packages`) is looked for below any other.
#[test]
fn a_planted_dist_info_hides_no_distribution_from_the_check() {
    let s = Sandbox::new();
    s.wheel("victim", "1.0", &[]);
    let wheels = s.wheel(
        "hider",
        "1.0",
        &[
            "--file=hider-1.0.data/data/zz-1.0.dist-info/METADATA=Metadata-Version: 2.1\\nName: zz\\nVersion: 1.0\\n",
            "--file=hider-1.0.data/data/zz-1.0.dist-info/RECORD=",
        ],
    );
    pip_project(&s, "p", "venv", &["victim==1.0", "hider==1.0"], &wheels);
    let venv = prefix_of(&s, "p");
    assert!(venv.join("zz-1.0.dist-info").is_dir());
    let module = site_dir_of(&venv, "victim").join("victim/__init__.py");
    std::fs::write(&module, "print('backdoor')\n").unwrap();
    let damage = status(&s, "p")["pip"]["prefix"]["damage"].to_string();
    assert!(
        damage.contains("victim/__init__.py was changed"),
        "{damage}"
    );
}

/// HOLE (attack pass): a RECORD row naming `../../../bin/python3` of a venv
/// stays in the venv by its text, but that is the venv's link to the
/// interpreter: `status` opened it and hashed the interpreter outside.
/// A file a RECORD lists is read only if it is a file, not a link.
#[test]
fn a_record_row_naming_a_link_is_not_followed() {
    let s = Sandbox::new();
    let wheels = s.wheel(
        "linkrow",
        "1.0",
        &["--record-row=../../../bin/python3,sha256=AAAA,1"],
    );
    pip_project(&s, "p", "venv", &["linkrow==1.0"], &wheels);
    let venv = prefix_of(&s, "p");
    assert!(
        std::fs::symlink_metadata(venv.join("bin/python3"))
            .unwrap()
            .is_symlink()
    );
    let damage = status(&s, "p")["pip"]["prefix"]["damage"].to_string();
    assert!(damage.contains("bin/python3 is a link"), "{damage}");
}

#[test]
fn a_damaged_prefix_is_found_and_rebuilt() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(&s, "p", "/usr/bin/python3", "prefix", &wheels);
    let prefix = prefix_of(&s, "p");
    let site = site_dir(&prefix);
    assert_eq!(
        status(&s, "p")["pip"]["prefix"]["damage"],
        serde_json::json!([])
    );

    // A file changed by hand: the full check in status finds it.
    let module = site.join("greetpkg/__init__.py");
    std::fs::write(&module, "ORIGIN = 'hand'\n").unwrap();
    let damage = status(&s, "p")["pip"]["prefix"]["damage"].clone();
    assert!(
        damage.to_string().contains("__init__.py was changed"),
        "{damage}"
    );

    // A site directory removed: entering says so, with what to do.
    std::fs::remove_dir_all(&site).unwrap();
    let entered = run(&s, &["exec", "-C", "p", "--", "true"]);
    let said = text(&entered);
    assert!(said.contains("changed since it was built"), "{said}");
    assert!(said.contains("pyenv-guix rebuild"), "{said}");
    let plain = s.pyenv_guix(&["status", "p"], &s.path(""));
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        plain.contains("damaged") && plain.contains("is gone"),
        "{plain}"
    );

    // rebuild: a new generation, switched to in one step; clean again.
    let rebuilt = s.pyenv_guix(&["rebuild", "p"], &s.path(""));
    let new = PathBuf::from(String::from_utf8_lossy(&rebuilt.stdout).trim());
    assert_ne!(new, prefix, "a new generation");
    assert!(String::from_utf8_lossy(&rebuilt.stderr).contains("building prefix"));
    assert_eq!(
        status(&s, "p")["pip"]["prefix"]["damage"],
        serde_json::json!([])
    );
    let out = run(
        &s,
        &[
            "exec",
            "-C",
            "p",
            "--",
            "python3",
            "-c",
            "import greetpkg; print(greetpkg.ORIGIN, greetpkg.__file__)",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.starts_with("wheel "), "{said}");
    assert!(said.contains(&new.display().to_string()), "{said}");
    assert!(!said.contains("changed since"), "{said}");
    // gc drops the replaced generation and keeps the current one.
    let gc = s.pyenv_guix(&["gc"], &s.path(""));
    assert!(
        String::from_utf8_lossy(&gc.stdout).contains(&format!("removed {} (", prefix.display())),
        "{}",
        text(&gc)
    );
    assert!(new.is_dir());
}

/// `pip install` by hand inside a venv-mode project changes a prefix that
/// other projects share (the same inputs and the same name, which is the
/// venv's prompt): never silently.
#[test]
fn a_hand_install_in_a_shared_venv_is_reported() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    s.wheel("extrapkg", "1.0", &[]);
    project(&s, "one", "/usr/bin/python3", "venv", &wheels);
    project(&s, "two", "/usr/bin/python3", "venv", &wheels);
    let out = run(
        &s,
        &[
            "exec",
            "-C",
            "one",
            "--",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            &wheels.display().to_string(),
            "extrapkg",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let entered = run(&s, &["exec", "-C", "two", "--", "true"]);
    let said = text(&entered);
    assert!(
        said.contains("changed since it was built (installed since: extrapkg-1.0)"),
        "{said}"
    );
}

/// gc keeps what a trusted project last used, even when the PATH and the
/// directory gc runs with resolve another Python, and keeps everything
/// when it cannot tell.
#[test]
fn gc_keeps_what_projects_use_whatever_path_it_runs_with() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    let Some(other) = support::interpreters()
        .into_iter()
        .find(|p| !same_python(p, Path::new("/usr/bin/python3")))
    else {
        eprintln!(
            "\n!!! SKIPPED: only one Python on this machine; gc across PATHs not tested !!!\n"
        );
        return;
    };
    let bin_dir = other.parent().unwrap().display().to_string();
    // `python3` on the user's PATH is `other`; gc's PATH has Debian's.
    project(&s, "p", "python3", "prefix", &wheels);
    let mut enter = s.command(&["exec", "-C", "p", "--", "true"], &s.path(""));
    enter.env("PATH", format!("{bin_dir}:{}", support::system_path()));
    assert!(enter.output().unwrap().status.success());
    let mut prefix = s.command(&["prefix", "p"], &s.path(""));
    prefix.env("PATH", format!("{bin_dir}:{}", support::system_path()));
    let prefix = String::from_utf8(prefix.output().unwrap().stdout).unwrap();
    let prefix = PathBuf::from(prefix.trim());
    assert!(prefix.is_dir());

    let gc = run(&s, &["gc"]);
    assert!(gc.status.success(), "{}", text(&gc));
    assert!(prefix.is_dir(), "kept: {}", text(&gc));

    // A project whose interpreter gc cannot find: everything is kept.
    project(&s, "q", "python-not-on-this-path", "prefix", &wheels);
    let mut enter = s.command(&["exec", "-C", "q", "--", "true"], &s.path(""));
    let fake = s.path("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", fake.join("python-not-on-this-path")).unwrap();
    enter.env("PATH", format!("{}:/usr/bin:/bin", fake.display()));
    assert!(enter.output().unwrap().status.success());
    std::fs::remove_file(s.path("p/.pyguix.toml")).unwrap();
    let gc = run(&s, &["gc"]);
    assert!(text(&gc).contains("keeping everything"), "{}", text(&gc));
    assert!(prefix.is_dir(), "nothing removed while unsure");

    // Sure again, and p's manifest gone: its prefix goes.
    std::fs::remove_file(s.path("q/.pyguix.toml")).unwrap();
    let gc = run(&s, &["gc"]);
    assert!(!prefix.exists(), "{}", text(&gc));
}

#[test]
fn gc_older_than_removes_prefixes_unused_for_that_long() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(&s, "p", "/usr/bin/python3", "prefix", &wheels);
    let prefix = prefix_of(&s, "p");
    let gc = run(&s, &["gc", "--older-than", "30"]);
    assert!(prefix.is_dir(), "used today: {}", text(&gc));
    // Its last use, forty days ago.
    for e in std::fs::read_dir(s.path("data/used")).unwrap().flatten() {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
        std::fs::File::options()
            .write(true)
            .open(e.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let gc = run(&s, &["gc", "--older-than", "30"]);
    assert!(!prefix.exists(), "{}", text(&gc));
    // The project still works: it builds again on entry.
    let again = run(
        &s,
        &["exec", "-C", "p", "--", "python3", "-c", "import greetpkg"],
    );
    assert!(again.status.success(), "{}", text(&again));
}

fn same_python(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| {
        std::process::Command::new(p)
            .args([
                "-c",
                "import os, sys; print(os.path.realpath(sys.executable))",
            ])
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default()
    };
    real(a) == real(b)
}

/// The prefix's record is written without waiting for the disk, as the
/// installer's files are: after a power cut it may be empty. An empty
/// record is no prefix, and the next use builds it again.
#[test]
fn a_prefix_whose_record_was_lost_is_built_again() {
    let s = Sandbox::new();
    let wheels = s.wheel("greetpkg", "1.0", &[]);
    project(&s, "p", "/usr/bin/python3", "prefix", &wheels);
    let first = prefix_of(&s, "p");
    let record = first.join(".pyenv-guix-prefix.json");
    assert!(record.is_file(), "{}", record.display());
    std::fs::write(&record, "").unwrap();
    let again = prefix_of(&s, "p");
    assert_ne!(again, first, "a prefix with an empty record was used");
    assert!(site_dir(&again).join("greetpkg").exists());
    assert!(std::fs::read(again.join(".pyenv-guix-prefix.json")).is_ok_and(|b| !b.is_empty()));
}

/// FOUND (try-out, fastapi and fastapi-cli): two distributions may ship
/// one script, and each RECORD gives its own hash for it; the file is the
/// last one installed. Such a file is not damage, in any mode or by
/// either installer, and one that matches neither RECORD still is.
#[test]
fn a_script_two_distributions_ship_is_not_damage() {
    let s = Sandbox::new();
    let wheels = s.wheel("clicore", "1.0", &["--script=tool"]);
    s.wheel("cliextra", "1.0", &["--script=tool"]);
    // In this order uv installs cliextra's last, and pip clicore's.
    for (name, installer, mode) in [("pip", "pip", "prefix"), ("uv", "uv", "venv")] {
        let path = match (installer, s.uv_dir()) {
            ("pip", _) => "/usr/bin:/bin".to_string(),
            (_, Some(uv)) => format!("{}:/usr/bin:/bin", uv.display()),
            _ => continue,
        };
        let run = |args: &[&str]| {
            let out = s.command(args, &s.path("")).env("PATH", &path).succeeds();
            String::from_utf8(out.stdout).unwrap()
        };
        let damage = || {
            let v: serde_json::Value =
                serde_json::from_str(&run(&["status", "--json", name])).unwrap();
            v["pip"]["prefix"]["damage"].clone()
        };
        s.write(
            &format!("{name}/.pyguix.toml"),
            &format!(
                "[pip]\ninstaller = {installer:?}\nmode = {mode:?}\npackages = [\"cliextra==1.0\", \"clicore==1.0\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
                wheels.display().to_string()
            ),
        );
        s.allow(name);
        let prefix = PathBuf::from(run(&["prefix", name]).trim());
        assert_eq!(damage(), serde_json::json!([]), "{name}");
        let tool = std::fs::read_dir(&prefix)
            .unwrap()
            .map(|e| e.unwrap().path().join("bin/tool"))
            .chain([prefix.join("bin/tool"), prefix.join("local/bin/tool")])
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no bin/tool in {}", prefix.display()));
        // Replaced, not written through: the file may be a read-only copy.
        std::fs::remove_file(&tool).unwrap();
        std::fs::write(&tool, "#!/bin/sh\necho other\n").unwrap();
        let damage = damage().to_string();
        assert!(damage.contains("bin/tool was changed"), "{name}: {damage}");
    }
}
