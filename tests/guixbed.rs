//! The Guix-shaped sandbox (tests/support/guixbed.rs): only a /gnu/store,
//! and what a pip-installed binary wheel meets there.

mod support;

use support::Sandbox;
use support::guixbed::Bed;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_sandbox_has_no_system_directories_only_the_store() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    for dir in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] {
        let out = bed.run(&s, &["ls", dir], &[]);
        assert!(
            !out.status.success(),
            "{dir} exists inside:\n{}",
            text(&out)
        );
        assert!(
            text(&out).contains("No such file or directory"),
            "{}",
            text(&out)
        );
    }
    let out = bed.run(&s, &["ls", "/gnu/store"], &[]);
    let listed = support::succeeded_as("inside the bed", &out);
    for spec in [
        "glibc",
        "python",
        "gcc:lib",
        "zlib",
        "bash",
        "coreutils",
        "patchelf",
        "guix",
    ] {
        assert!(
            listed.contains(&bed.name(spec)),
            "{spec} not in the store:\n{listed}"
        );
    }
}

#[test]
fn store_items_are_named_as_guix_names_them() {
    let Some(bed) = Bed::get() else { return };
    for (spec, tail) in [
        ("python", "-python-3.11.7"),
        ("gcc:lib", "-lib"),
        ("glibc", ""),
    ] {
        let name = bed.name(spec);
        let (hash, rest) = name.split_at(32);
        assert!(
            hash.chars()
                .all(|c| "0123456789abcdfghijklmnpqrsvwxyz".contains(c)),
            "{name}"
        );
        assert!(rest.starts_with('-') && rest.ends_with(tail), "{name}");
    }
    assert!(
        bed.name("gcc:lib").contains("-gcc-"),
        "{}",
        bed.name("gcc:lib")
    );
}

#[test]
fn the_store_python_runs_inside_linked_to_the_store_only() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let python = bed.item("python").join("bin/python3");
    let py = python.to_str().unwrap();
    let out = bed.run(
        &s,
        &[
            py,
            "-c",
            "import sys, ssl, ctypes, sqlite3, zlib; print(sys.prefix)",
        ],
        &[],
    );
    assert_eq!(
        support::succeeded_as("inside the bed", &out).trim(),
        bed.item("python").to_str().unwrap()
    );
    // What the loader maps: the store's files, and nothing else.
    let out = bed.run(
        &s,
        &[
            py,
            "-c",
            "import zlib; print(open('/proc/self/maps').read())",
        ],
        &[],
    );
    let maps = support::succeeded_as("inside the bed", &out);
    for line in maps.lines().filter(|l| l.contains(".so")) {
        let file = line.split_whitespace().last().unwrap();
        assert!(
            file.starts_with("/gnu/store/"),
            "{file} is not in the store:\n{maps}"
        );
    }
    assert!(
        maps.contains(&format!("{}/lib/libz.so.1", bed.item("zlib").display())),
        "{maps}"
    );
    let out = bed.run(&s, &[py, "-m", "pip", "--version"], &[]);
    assert!(
        support::succeeded_as("inside the bed", &out).contains("pip "),
        "{}",
        text(&out)
    );
}

/// A profile of `specs` made by the stand-in inside the sandbox, as
/// pyenv-guix makes one: `guix package -p PROFILE -m MANIFEST.scm`.
fn profile(bed: &Bed, s: &Sandbox, specs: &[&str]) -> std::path::PathBuf {
    let quoted: Vec<String> = specs.iter().map(|p| format!("\"{p}\"")).collect();
    s.write(
        "manifest.scm",
        &format!("(specifications->manifest\n (list {}))\n", quoted.join(" ")),
    );
    let profile = s.path("profile");
    let guix = bed.item("guix").join("bin/guix");
    let out = bed.run(
        s,
        &[
            guix.to_str().unwrap(),
            "package",
            "-p",
            profile.to_str().unwrap(),
            "-m",
            s.path("manifest.scm").to_str().unwrap(),
        ],
        &[],
    );
    support::succeeded_as("inside the bed", &out);
    profile
}

#[test]
fn the_stand_in_builds_profiles_of_the_beds_items_with_guixs_search_paths() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let profile = profile(bed, &s, &["python", "gcc-toolchain", "zlib@1.2", "glib"]);
    let real = std::fs::canonicalize(&profile).ok();
    // The profile lives in the sandbox's store, made inside: read it there.
    let out = bed.run(&s, &["readlink", "-f", profile.to_str().unwrap()], &[]);
    let store_profile = support::succeeded_as("inside the bed", &out)
        .trim()
        .to_string();
    assert!(store_profile.starts_with("/gnu/store/") && store_profile.ends_with("-profile"));
    assert!(real.is_none() || real.as_deref() != Some(profile.as_path()));
    let link = |rel: &str| {
        let out = bed.run(&s, &["readlink", &format!("{store_profile}/{rel}")], &[]);
        support::succeeded_as("inside the bed", &out)
            .trim()
            .to_string()
    };
    assert_eq!(
        link("lib/libstdc++.so.6"),
        format!("{}/lib/libstdc++.so.6", bed.item("gcc-toolchain").display())
    );
    let out = bed.run(
        &s,
        &[
            "readlink",
            "-f",
            &format!("{store_profile}/lib/libstdc++.so.6"),
        ],
        &[],
    );
    assert_eq!(
        support::succeeded_as("inside the bed", &out).trim(),
        format!("{}/lib/libstdc++.so.6", bed.item("gcc:lib").display())
    );
    assert_eq!(
        link("lib/libz.so.1"),
        format!("{}/lib/libz.so.1", bed.item("zlib").display())
    );
    assert_eq!(
        link("bin/python3"),
        format!("{}/bin/python3", bed.item("python").display())
    );
    let guix = bed.item("guix").join("bin/guix");
    let out = bed.run(
        &s,
        &[
            guix.to_str().unwrap(),
            "package",
            "-p",
            profile.to_str().unwrap(),
            "--search-paths",
        ],
        &[],
    );
    let paths = support::succeeded_as("inside the bed", &out);
    // As Guix declares them: $PATH, python's GUIX_PYTHONPATH, gcc's
    // gcc-toolchain's LIBRARY_PATH (lib/, no include/ here), glib's
    // none (no share/ or lib/gio/modules in these items).
    let vars: Vec<&str> = paths
        .lines()
        .map(|l| l.trim_start_matches("export ").split('=').next().unwrap())
        .collect();
    assert_eq!(vars, ["PATH", "GUIX_PYTHONPATH", "LIBRARY_PATH"], "{paths}");
    assert!(
        paths.contains(&format!("{store_profile}/lib/python3.11/site-packages")),
        "{paths}"
    );
    // Guix's spec syntax: an output the package lacks, a version it lacks.
    for (spec, said) in [
        ("gcc", "gcc: unknown package"),
        ("gcc:lib", "gcc: unknown package"),
        ("zlib:doc", "no output 'doc' of zlib"),
        ("zlib@9", "zlib: package not found for version 9"),
    ] {
        s.write(
            "manifest.scm",
            &format!("(specifications->manifest (list \"{spec}\"))\n"),
        );
        let out = bed.run(
            &s,
            &[
                guix.to_str().unwrap(),
                "package",
                "-p",
                s.path("p2").to_str().unwrap(),
                "-m",
                s.path("manifest.scm").to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            !out.status.success() && text(&out).contains(said),
            "{spec}: {}",
            text(&out)
        );
    }
}

/// pip-install the wheel `name` from `wheels` with `python` into `prefix`,
/// inside the sandbox, and import it there: the import's output.
fn install_and_import_inside(
    bed: &Bed,
    s: &Sandbox,
    python: &str,
    name: &str,
    library_path: &str,
) -> std::process::Output {
    let prefix = s.path("prefix");
    let out = bed.run(
        s,
        &[
            python,
            "-m",
            "pip",
            "install",
            "--prefix",
            prefix.to_str().unwrap(),
            "--no-index",
            "--find-links",
            s.path("wheels").to_str().unwrap(),
            name,
        ],
        &[],
    );
    support::succeeded_as("inside the bed", &out);
    let site = prefix.join("lib/python3.11/site-packages");
    // zlib is a module of this Python, loaded only when imported: the
    // import sees whether libz is found, not whether it was loaded already.
    let code =
        format!("import sys; assert 'zlib' not in sys.modules; import {name}; print({name}.run())");
    let failed = bed.run(
        s,
        &[python, "-c", &code],
        &[("PYTHONPATH", site.to_str().unwrap())],
    );
    // The control: the module itself is sound; given the library by hand
    // (the usual advice, LD_LIBRARY_PATH), it imports and runs inside.
    let given = bed.run(
        s,
        &[python, "-c", &code],
        &[
            ("PYTHONPATH", site.to_str().unwrap()),
            ("LD_LIBRARY_PATH", library_path),
        ],
    );
    support::succeeded_as("inside the bed", &given);
    failed
}

/// The same wheel on this host's Python (pyenv's, the Python the bed's is
/// made from), outside the sandbox: it finds Debian's libraries.
fn install_and_import_on_host(s: &Sandbox, name: &str) -> String {
    let python = format!("{}/bin/python3.11", "/root/.pyenv/versions/3.11.7");
    let prefix = s.path("host-prefix");
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        std::process::Command::new(&python)
            .args(args)
            .env_clear()
            .envs(s.env())
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    support::succeeded_as(
        "inside the bed",
        &run(
            &[
                "-m",
                "pip",
                "install",
                "--prefix",
                prefix.to_str().unwrap(),
                "--no-index",
                "--find-links",
                s.path("wheels").to_str().unwrap(),
                name,
            ],
            &[],
        ),
    );
    let site = prefix.join("lib/python3.11/site-packages");
    let code =
        format!("import sys; assert 'zlib' not in sys.modules; import {name}; print({name}.run())");
    // -S: the host's site-packages has .pth files that load zlib.
    support::succeeded_as(
        "inside the bed",
        &run(
            &["-S", "-c", &code],
            &[("PYTHONPATH", site.to_str().unwrap())],
        ),
    )
}

#[test]
fn a_cxx_wheel_installed_by_plain_pip_does_not_import_on_guix_but_does_on_the_host() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    s.ext_wheel("cxxmod", "1.0", &["--cxx"]);
    let profile = profile(bed, &s, &["python"]);
    let python = profile.join("bin/python3");
    let out = install_and_import_inside(
        bed,
        &s,
        python.to_str().unwrap(),
        "cxxmod",
        bed.item("gcc:lib").join("lib").to_str().unwrap(),
    );
    assert!(!out.status.success(), "imported inside:\n{}", text(&out));
    assert!(
        text(&out).contains("libstdc++.so.6: cannot open shared object file"),
        "{}",
        text(&out)
    );
    let ran = install_and_import_on_host(&s, "cxxmod");
    assert!(ran.contains("c++:3"), "{ran}");
}

#[test]
fn a_wheel_needing_libz_does_not_import_on_guix_but_does_on_the_host() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    s.ext_wheel("zmod", "1.0", &["--link", "z"]);
    let profile = profile(bed, &s, &["python"]);
    let python = profile.join("bin/python3");
    let out = install_and_import_inside(
        bed,
        &s,
        python.to_str().unwrap(),
        "zmod",
        bed.item("zlib").join("lib").to_str().unwrap(),
    );
    assert!(!out.status.success(), "imported inside:\n{}", text(&out));
    assert!(
        text(&out).contains("libz.so.1: cannot open shared object file"),
        "{}",
        text(&out)
    );
    let ran = install_and_import_on_host(&s, "zmod");
    assert!(ran.contains('z'), "{ran}");
}

/// A project of the store's python with a C++ wheel as a pip fallback,
/// allowed inside the bed; the shell's `export bash` line and its stdout.
fn cxx_project(bed: &Bed, s: &Sandbox) -> std::path::PathBuf {
    let wheels = s.ext_wheel("cxxmod", "1.0", &["--cxx"]);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[guix]\npackages = [\"python\"]\n\n[pip]\npackages = [\"cxxmod==1.0\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    let dir = s.path("proj");
    bed.pyenv_guix(s, &["allow"], &dir);
    dir
}

#[test]
fn pyenv_guix_runs_inside_and_builds_from_the_stores_python() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let dir = cxx_project(bed, &s);
    let out = bed.shell(
        &s,
        &dir,
        "eval \"$(pyenv-guix export bash)\" && command -v python3 && python3 -c 'import sys; print(sys.base_prefix)'",
    );
    let said = support::succeeded_as("inside the bed", &out);
    assert!(
        said.contains(bed.item("python").to_str().unwrap()),
        "{said}{}",
        text(&out)
    );
}

/// What issue 17 item 2 must make true; today it fails as the proof above.
#[test]
fn a_cxx_wheel_as_pip_fallback_imports_inside() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let dir = cxx_project(bed, &s);
    let out = bed.shell(
        &s,
        &dir,
        "eval \"$(pyenv-guix export bash)\" && python3 -c 'import cxxmod; print(cxxmod.run())' && env",
    );
    let said = support::succeeded_as("inside the bed", &out);
    assert!(said.contains("c++:3"), "{said}");
    assert!(!said.lines().any(|l| l.starts_with("LD_")), "{said}");
}

/// The sha256 of the one wheel of `name`-`version` in `dir`, and its name.
fn wheel_sha256(dir: &std::path::Path, name: &str, version: &str) -> (String, String) {
    use sha2::Digest;
    let prefix = format!("{name}-{version}-");
    let file = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        .unwrap_or_else(|| panic!("no wheel {prefix}* in {}", dir.display()));
    let bytes = std::fs::read(dir.join(&file)).unwrap();
    let sha = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (file, sha)
}

/// A locked package: name, version, and each file's (name, sha256).
type Locked = (String, String, Vec<(String, String)>);

/// The lock's packages, sorted, and who wrote it (`created-by`).
fn locked(lock: &std::path::Path) -> (Vec<Locked>, String) {
    let text = std::fs::read_to_string(lock).unwrap_or_else(|e| panic!("{}: {e}", lock.display()));
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut out = Vec::new();
    for p in doc["packages"].as_array().unwrap() {
        let wheels = p["wheels"].as_array().unwrap_or_else(|| panic!("{text}"));
        let files = wheels
            .iter()
            .map(|w| {
                let name = w.get("name").and_then(|n| n.as_str()).map_or_else(
                    || {
                        let at = w.get("path").or(w.get("url")).unwrap();
                        at.as_str().unwrap().rsplit('/').next().unwrap().to_string()
                    },
                    String::from,
                );
                (name, w["hashes"]["sha256"].as_str().unwrap().to_string())
            })
            .collect();
        out.push((
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
            files,
        ));
    }
    out.sort();
    (out, doc["created-by"].as_str().unwrap().to_string())
}

/// A project of the store's python whose pip layer is a C++ wheel, asked
/// for through a requirements file with a constraint, as a user writes
/// it; `pip` is the rest of its [pip] table. Allowed inside the bed.
fn cxx_requirements_project(bed: &Bed, s: &Sandbox, rel: &str, pip: &str) -> std::path::PathBuf {
    let wheels = s.ext_wheel("cxxmod", "1.0", &["--cxx"]);
    s.write(
        &format!("{rel}/requirements.txt"),
        "# native code, built for manylinux\n-c constraints.txt\ncxxmod>=1  # the C++ part\n",
    );
    s.write(&format!("{rel}/constraints.txt"), "cxxmod<2\n");
    s.write(
        &format!("{rel}/.pyguix.toml"),
        &format!(
            "# On Guix: the store's python, the rest from pip.\n[guix]\npackages = [\"python\"]\n\n[pip]\nrequirements = [\"requirements.txt\"]\n{pip}options = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    let dir = s.path(rel);
    bed.pyenv_guix(s, &["allow"], &dir);
    dir
}

/// What the locked project's shell imports: cxxmod's version and what
/// its C++ code returns, then the shell's environment.
const IMPORT_CXXMOD: &str = "eval \"$(pyenv-guix export bash)\" && python3 -c 'import cxxmod, importlib.metadata as m; print(\"cxxmod\", m.version(\"cxxmod\"), cxxmod.run())' && env";

/// After locking, a newer cxxmod that fits the requirements appears: the
/// build inside installs the locked 1.0 and its C++ code runs, the wheel's
/// libstdc++ found in the store without LD_LIBRARY_PATH. What the shell
/// printed, stdout and stderr.
fn builds_the_lock_and_imports(
    bed: &Bed,
    s: &Sandbox,
    dir: &std::path::Path,
    path: &str,
) -> String {
    let out = bed.run_in(
        s,
        dir,
        &["pyenv-guix", "lock", "--check"],
        &[("PATH", path)],
    );
    support::succeeded_as("lock --check inside the bed", &out);
    s.ext_wheel("cxxmod", "1.1", &["--cxx"]);
    // Trust covers the find-links directory's files: the user allows.
    let out = bed.run_in(s, dir, &["pyenv-guix", "allow"], &[("PATH", path)]);
    support::succeeded_as("allow inside the bed", &out);
    let out = bed.run_in(
        s,
        dir,
        &["bash", "--norc", "--noprofile", "-c", IMPORT_CXXMOD],
        &[("PATH", path)],
    );
    let said = support::succeeded_as("inside the bed", &out);
    assert!(
        said.contains("cxxmod 1.0 "),
        "not the locked version: {said}"
    );
    assert!(said.contains("c++:3"), "{said}");
    assert!(!said.lines().any(|l| l.starts_with("LD_")), "{said}");
    text(&out)
}

#[test]
fn a_locked_cxx_wheel_resolved_by_the_stores_pip_builds_and_imports_inside() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let dir = cxx_requirements_project(bed, &s, "proj", "installer = \"pip\"\n");
    let out = bed.pyenv_guix(&s, &["lock"], &dir);
    let said = text(&out);
    assert!(
        said.contains("resolving") && said.contains("with pip"),
        "{said}"
    );
    let (packages, by) = locked(&dir.join("pylock.toml"));
    assert_eq!(by, "pyenv-guix");
    let wheel = wheel_sha256(&s.path("wheels"), "cxxmod", "1.0");
    assert!(wheel.0.contains("manylinux"), "{wheel:?}");
    assert_eq!(
        packages,
        [("cxxmod".to_string(), "1.0".to_string(), vec![wheel])]
    );
    let path = bed.path_with(&[]);
    let built = builds_the_lock_and_imports(bed, &s, &dir, &path);
    assert!(built.contains("(prefix mode, pip)"), "{built}");
}

/// uv from the store on the user's PATH (as `guix install uv` puts it):
/// in venv mode uv resolves the lock and installs it; in prefix mode, with
/// the Guix profile's packages to leave out, pip resolves (only pip sees
/// them) and uv installs. Either way the C++ code runs inside.
#[test]
fn a_locked_cxx_wheel_with_the_stores_uv_builds_and_imports_inside() {
    let Some(bed) = Bed::get() else { return };
    let Some(uv) = bed.uv_bin() else { return };
    let path = bed.path_with(&[&uv]);
    for (rel, mode, resolver) in [("venv", "venv", "uv"), ("prefix", "prefix", "pyenv-guix")] {
        let s = Sandbox::new();
        let pip = format!("installer = \"uv\"\nmode = {mode:?}\n");
        let dir = cxx_requirements_project(bed, &s, rel, &pip);
        let out = bed.run_in(&s, &dir, &["pyenv-guix", "lock"], &[("PATH", &path)]);
        support::succeeded_as("lock inside the bed", &out);
        let (packages, by) = locked(&dir.join("pylock.toml"));
        assert_eq!(by, resolver, "{mode}: {}", text(&out));
        let wheel = wheel_sha256(&s.path("wheels"), "cxxmod", "1.0");
        assert_eq!(
            packages,
            [("cxxmod".to_string(), "1.0".to_string(), vec![wheel])],
            "{mode}"
        );
        let built = builds_the_lock_and_imports(bed, &s, &dir, &path);
        assert!(built.contains(&format!("({mode} mode, uv)")), "{built}");
        // Built again from an empty prefix: a prefix beside the profile is
        // laid out from what uv installed (its libraries found in the
        // store again), a venv is uv's to build.
        std::fs::remove_dir_all(s.path("cache/prefixes")).unwrap();
        let log = [("PATH", path.as_str()), ("PYENV_GUIX_LOG", "debug")];
        let out = bed.run_in(&s, &dir, &["pyenv-guix", "prefix"], &log);
        support::succeeded_as("pyenv-guix prefix inside the bed", &out);
        let said = text(&out);
        let laid_out = said.contains("laid out from the pool");
        assert_eq!(laid_out, mode == "prefix", "{mode}: {said}");
        let out = bed.run_in(
            &s,
            &dir,
            &["bash", "--norc", "--noprofile", "-c", IMPORT_CXXMOD],
            &[("PATH", &path)],
        );
        let said = support::succeeded_as("inside the bed, again", &out);
        assert!(
            said.contains("cxxmod 1.0 ") && said.contains("c++:3"),
            "{said}"
        );
    }
}

/// A uv project (`pyproject.toml` and `uv.lock`, locked by the store's uv
/// inside) whose dependency is the C++ wheel: built in the bed from
/// `uv.lock` into pyenv-guix's venv, the C++ code runs, and `uv run` uses
/// the shell's own environment.
#[test]
fn a_uv_project_with_a_cxx_wheel_builds_from_uv_lock_and_imports_inside() {
    let Some(bed) = Bed::get() else { return };
    let Some(uv) = bed.uv_bin() else { return };
    let path = bed.path_with(&[&uv]);
    let s = Sandbox::new();
    let wheels = s.ext_wheel("cxxmod", "1.0", &["--cxx"]);
    s.write(
        "app/pyproject.toml",
        &format!(
            "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\ndependencies = [\n    \"cxxmod>=1\",\n]\n\n[tool.uv]\npackage = false\nno-index = true\nfind-links = [{:?}]\n",
            wheels.display().to_string()
        ),
    );
    let dir = s.path("app");
    let python = bed.item("python").join("bin/python3");
    let out = bed.run_in(
        &s,
        &dir,
        &["uv", "lock", "--python", python.to_str().unwrap()],
        &[("PATH", &path)],
    );
    support::succeeded_as("uv lock inside the bed", &out);
    s.write(
        "app/.pyguix.toml",
        "[guix]\npackages = [\"python\"]\n\n[pip]\nmode = \"venv\"\nuv-project = true\n",
    );
    bed.run_in(&s, &dir, &["pyenv-guix", "allow"], &[("PATH", &path)]);
    // A newer cxxmod on the index: uv.lock, not the index, decides.
    s.ext_wheel("cxxmod", "1.1", &["--cxx"]);
    let script = format!(
        "{IMPORT_CXXMOD} && echo \"shell $(python3 -c 'import sys; print(sys.prefix)')\" && echo \"uv-run $(uv run --offline python -c 'import sys; print(sys.prefix)')\""
    );
    let out = bed.run_in(
        &s,
        &dir,
        &["bash", "--norc", "--noprofile", "-c", &script],
        &[("PATH", &path)],
    );
    let said = support::succeeded_as("inside the bed", &out);
    assert!(said.contains("cxxmod 1.0 "), "{said}{}", text(&out));
    assert!(said.contains("c++:3"), "{said}");
    let prefix = |tag: &str| {
        said.lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("no {tag}: {said}"))
            .to_string()
    };
    assert_eq!(prefix("shell "), prefix("uv-run "), "{said}");
    assert!(
        prefix("shell ").starts_with(s.path("cache").to_str().unwrap()),
        "{said}"
    );
    assert!(!dir.join(".venv").exists(), "uv made a second venv");
}

/// Why the bed's uv is the store's: uv as PyPI ships it (the binary
/// `pip install uv` puts in place) asks for /lib64's loader, which a Guix
/// system lacks, so it cannot start inside; linked to the store's glibc,
/// as Guix packages it, it runs.
#[test]
fn pypis_uv_cannot_start_inside_the_stores_uv_can() {
    let Some(bed) = Bed::get() else { return };
    let Some(uv) = bed.uv_bin() else { return };
    let s = Sandbox::new();
    let host = std::process::Command::new("python3")
        .args(["-c", "import uv; print(uv.find_uv_bin())"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(host) = host {
        std::fs::copy(&host, s.path("pypi-uv")).unwrap();
        let copy = s.path("pypi-uv");
        let out = bed.run(&s, &[copy.to_str().unwrap(), "--version"], &[]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("No such file or directory"),
            "{}",
            text(&out)
        );
    }
    let out = bed.run(&s, &[uv.join("uv").to_str().unwrap(), "--version"], &[]);
    assert!(
        support::succeeded_as("inside the bed", &out).starts_with("uv "),
        "{}",
        text(&out)
    );
}
