//! Binary wheels on Guix (issue 17): inside the Guix-shaped bed, where
//! the only software is a /gnu/store, the pip fallbacks' extension modules
//! find the libraries they expect from the system, in every mode, without
//! any `LD_*` variable; what nothing provides is said precisely; and on the
//! host's own Python nothing of this happens.

mod support;

use std::path::{Path, PathBuf};

use support::Sandbox;
use support::guixbed::Bed;

/// What each test wheel's `run()` prints when all its code ran.
const EXPECTED: &[(&str, &str)] = &[
    ("cxxdemo", "ok c++:3"),
    ("ompdemo", "ok omp:5050"),
    ("zdemo", "ok z:352441c2"),
    ("bundled", "ok c++:3 bundled:42"),
];

/// The wheels: C++ (libstdc++, libgcc_s), OpenMP (libgomp), zlib, and one
/// that bundles its own library and also needs libstdc++.
fn wheels(s: &Sandbox) -> PathBuf {
    s.ext_wheel("cxxdemo", "1.0", &["--cxx", "--script", "cxxdemo-run"]);
    s.ext_wheel("ompdemo", "1.0", &["--openmp"]);
    s.ext_wheel("zdemo", "1.0", &["--link", "z"]);
    s.ext_wheel("bundled", "1.0", &["--cxx", "--bundle"])
}

fn project(s: &Sandbox, mode: &str, guix: &str, packages: &str, extra: &str) -> PathBuf {
    let wheels = s.path("wheels");
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[guix]\npackages = [{guix}]\n\n[pip]\nmode = \"{mode}\"\ninstaller = \"pip\"\n\
             packages = [{packages}]\noptions = [\"--no-index\", \"--find-links\", \"{}\"]\n{extra}",
            wheels.display()
        ),
    );
    s.path("proj")
}

const ALL: &str = "\"cxxdemo\", \"ompdemo\", \"zdemo\", \"bundled\"";

fn import_all() -> String {
    let names: Vec<&str> = EXPECTED.iter().map(|(n, _)| *n).collect();
    format!(
        "import {0}\nfor m in ({0},): print(m.__name__, m.run())",
        names.join(", ")
    )
}

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cxxdemo.run()` through `pyenv-guix exec` inside the bed: stdout, stderr.
fn run_cxxdemo(bed: &Bed, s: &Sandbox, dir: &Path) -> (String, String) {
    let code = "import cxxdemo; print(cxxdemo.run())";
    let argv = ["pyenv-guix", "exec", "--", "python3", "-c", code];
    let out = bed.run_in(s, dir, &argv, &[]);
    let said = text(&out);
    assert!(out.status.success(), "{}{}", said.0, said.1);
    said
}

fn status_json(bed: &Bed, s: &Sandbox, dir: &Path) -> serde_json::Value {
    let out = bed.pyenv_guix(s, &["status", "--json"], dir);
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

#[test]
fn binary_wheels_import_on_guix_in_every_mode() {
    let Some(bed) = Bed::get() else { return };
    for mode in ["prefix", "venv", "user"] {
        let s = Sandbox::new();
        wheels(&s);
        let dir = project(&s, mode, "\"python\"", ALL, "");
        bed.pyenv_guix(&s, &["allow"], &dir);
        let out = bed.run_in(
            &s,
            &dir,
            &["pyenv-guix", "exec", "--", "python3", "-c", &import_all()],
            &[],
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{mode}: {stdout}{stderr}");
        for (name, line) in EXPECTED {
            assert!(
                stdout.contains(&format!("{name} {line}")),
                "{mode}: {name} did not run all its code:\n{stdout}{stderr}"
            );
        }
        // A console script that imports one of them.
        let out = bed.run_in(&s, &dir, &["pyenv-guix", "exec", "--", "cxxdemo-run"], &[]);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{mode}: console script: {stdout}{stderr}"
        );
        assert_eq!(stdout.trim(), "ok c++:3", "{mode}");
        // status says which packages were pulled in, and for which files.
        let status = status_json(bed, &s, &dir);
        let libraries = &status["pip"]["prefix"]["libraries"];
        let provider_of = |lib: &str| {
            libraries
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["libraries"].as_array().unwrap().iter().any(|l| l == lib))
                .map(|p| p["provider"].as_str().unwrap().to_string())
        };
        assert_eq!(
            provider_of("libstdc++.so.6").as_deref(),
            Some("gcc-toolchain"),
            "{mode}: {libraries}"
        );
        assert_eq!(
            provider_of("libgomp.so.1").as_deref(),
            Some("gcc-toolchain")
        );
        assert!(provider_of("libz.so.1").is_some(), "{mode}: {libraries}");
        // The bundled library is the wheel's own: nothing is pulled for it.
        assert_eq!(provider_of("libbundledhelper-5f2e1c3a.so.1"), None);
        // doctor names what was pulled in.
        let out = bed.run_in(&s, &dir, &["pyenv-guix", "doctor"], &[]);
        let said = text(&out).0;
        assert!(
            said.lines().any(|l| l.starts_with("note")
                && l.contains("libstdc++.so.6")
                && l.contains("from gcc-toolchain")),
            "{mode}: {said}"
        );
        // The integrity check holds the patched files to their new content.
        assert_eq!(
            status["pip"]["prefix"]["damage"],
            serde_json::json!([]),
            "{mode}"
        );
    }
}

#[test]
fn without_pyenv_guix_the_same_wheels_fail_to_import_in_the_bed() {
    // The bed shows the problem first: pip alone, on Guix's Python.
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    let wheels = wheels(&s);
    let prefix = s.path("plain");
    let python = bed.item("python").join("bin/python3");
    let python = python.to_str().unwrap();
    let out = bed.run(
        &s,
        &[
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            wheels.to_str().unwrap(),
            "--prefix",
            prefix.to_str().unwrap(),
            "cxxdemo",
        ],
        &[],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let site = prefix.join("lib/python3.11/site-packages");
    let out = bed.run(
        &s,
        &[python, "-c", "import cxxdemo"],
        &[("PYTHONPATH", site.to_str().unwrap())],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("libstdc++.so.6: cannot open shared object file"),
        "{stderr}"
    );
}

#[test]
fn the_shell_gets_no_loader_variable_and_guix_programs_still_run() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    wheels(&s);
    let dir = project(&s, "prefix", "\"python\"", ALL, "");
    bed.pyenv_guix(&s, &["allow"], &dir);
    // Build first, in the foreground, so that the prompt below loads it.
    bed.pyenv_guix(&s, &["exec", "--", "true"], &dir);
    let glibc_loader = bed.item("glibc").join("lib/ld-linux-x86-64.so.2");
    let script = format!(
        "eval \"$(pyenv-guix hook bash)\"\n\
         cd {dir}\n\
         eval \"$(pyenv-guix export bash)\"\n\
         echo \"python=$(command -v python3)\"\n\
         for v in $(compgen -e); do case $v in LD_*) echo \"has $v\";; esac; done; echo env-checked\n\
         python3 -c 'import cxxdemo, subprocess, sys; print(cxxdemo.run(), flush=True); \
         subprocess.run([sys.executable, \"-c\", \"print(42)\"], check=True)'\n\
         {loader} --list {python} >/dev/null && echo loader-ok\n\
         cxxdemo-run\n",
        dir = dir.display(),
        loader = glibc_loader.display(),
        python = bed.item("python").join("bin/python3.11").display(),
    );
    let out = bed.shell(&s, &dir, &script);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("env-checked"), "{stdout}{stderr}");
    assert!(
        !stdout.contains("has LD_"),
        "an LD_ variable reached the shell:\n{stdout}"
    );
    assert!(stdout.contains("ok c++:3\n42\n"), "{stdout}{stderr}");
    assert!(stdout.contains("loader-ok"), "{stdout}{stderr}");
    assert!(stdout.ends_with("ok c++:3\n"), "{stdout}{stderr}");
}

#[test]
fn a_library_no_package_provides_fails_the_build_by_name() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    wheels(&s);
    let libdir = s.shared_library("mylibs", "pgxmissing");
    s.ext_wheel(
        "missdemo",
        "1.0",
        &["--link", "pgxmissing", "--libdir", libdir.to_str().unwrap()],
    );
    let dir = project(&s, "prefix", "\"python\"", "\"cxxdemo\", \"missdemo\"", "");
    bed.pyenv_guix(&s, &["allow"], &dir);
    let out = bed.run_in(&s, &dir, &["pyenv-guix", "exec", "--", "true"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    for said in [
        "libpgxmissing.so.1",
        "missdemo/_native.abi3.so",
        "from missdemo 1.0",
        "[guix] packages",
    ] {
        assert!(stderr.contains(said), "missing {said:?} in:\n{stderr}");
    }
    // libstdc++ is known: it is not among the missing.
    assert!(!stderr.contains("libstdc++.so.6 (needed"), "{stderr}");

    // Asked to warn instead, the build goes on and says the same.
    s.write(
        "proj/.pyguix.toml",
        &std::fs::read_to_string(dir.join(".pyguix.toml"))
            .unwrap()
            .replace(
                "installer = \"pip\"",
                "installer = \"pip\"\nmissing-libraries = \"warn\"",
            ),
    );
    bed.pyenv_guix(&s, &["allow"], &dir);
    let (stdout, stderr) = run_cxxdemo(bed, &s, &dir);
    assert_eq!(stdout.trim(), "ok c++:3");
    assert!(stderr.contains("libpgxmissing.so.1 (needed by"), "{stderr}");
    // Named with the distribution whose RECORD lists the file.
    assert!(stderr.contains(", from missdemo "), "{stderr}");
    // status and doctor keep saying it after the build.
    let status = status_json(bed, &s, &dir);
    let missing = status["pip"]["prefix"]["missing_libraries"].to_string();
    assert!(missing.contains("libpgxmissing.so.1"), "{status}");
    let out = bed.run_in(&s, &dir, &["pyenv-guix", "doctor", "--json"], &[]);
    let doctor: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "libraries")
        .unwrap_or_else(|| panic!("{doctor}"));
    assert_eq!(finding["status"], "problem", "{doctor}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("libpgxmissing.so.1"),
        "{doctor}"
    );
    assert!(!out.status.success(), "doctor exits 1 on a problem");
}

#[test]
fn the_projects_own_packages_are_used_before_any_is_added() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    wheels(&s);
    let dir = project(
        &s,
        "prefix",
        "\"python\", \"gcc-toolchain\"",
        "\"cxxdemo\"",
        "",
    );
    bed.pyenv_guix(&s, &["allow"], &dir);
    let (stdout, _) = run_cxxdemo(bed, &s, &dir);
    assert_eq!(stdout.trim(), "ok c++:3");
    let status = status_json(bed, &s, &dir);
    let providers: Vec<String> = status["pip"]["prefix"]["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(providers, ["the project's profile"], "{status}");
}

#[test]
fn which_guix_is_part_of_the_key() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    wheels(&s);
    let dir = project(&s, "prefix", "\"python\"", "\"cxxdemo\"", "");
    s.write("proj/.pyguix.toml", &{
        let text = std::fs::read_to_string(dir.join(".pyguix.toml")).unwrap();
        text.replace("[guix]\n", "[guix]\nchannels = \"channels.scm\"\n")
    });
    let key = |commit: &str| {
        s.write(
            "proj/channels.scm",
            &format!(
                "(list (channel (name 'guix) (url \"https://git.savannah.gnu.org/git/guix.git\") (commit \"{commit}\")))\n"
            ),
        );
        bed.pyenv_guix(&s, &["allow"], &dir);
        bed.pyenv_guix(&s, &["exec", "--", "true"], &dir);
        let status = status_json(bed, &s, &dir);
        let inputs = status["pip"]["prefix"]["inputs"].clone();
        assert!(
            inputs
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l.as_str().unwrap().starts_with("libraries from channels ")),
            "{inputs}"
        );
        status["pip"]["prefix"]["key"].as_str().unwrap().to_string()
    };
    let a = key(&"a".repeat(40));
    let b = key(&"b".repeat(40));
    assert_ne!(a, b, "another Guix gives other libraries: another key");
}

#[test]
fn on_the_hosts_python_nothing_is_pulled() {
    // No bed: Debian's Python, which finds libstdc++ where Debian put it.
    let s = Sandbox::new();
    wheels(&s);
    s.write(
        "proj/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\ninstaller = \"pip\"\npackages = [{ALL}]\n\
             options = [\"--no-index\", \"--find-links\", \"{}\"]\n",
            s.path("wheels").display()
        ),
    );
    let dir = s.path("proj");
    s.allow("proj");
    let out = s
        .command(&["exec", "--", "python3", "-c", &import_all()], &dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for (name, line) in EXPECTED {
        assert!(stdout.contains(&format!("{name} {line}")), "{stdout}");
    }
    let out = s.pyenv_guix(&["status", "--json"], &dir);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["pip"]["prefix"]["libraries"], serde_json::json!([]));
    assert!(
        !status["pip"]["prefix"]["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("libraries from")),
        "{status}"
    );
}

#[test]
fn gc_keeps_the_profile_the_runpaths_point_into() {
    let Some(bed) = Bed::get() else { return };
    let s = Sandbox::new();
    wheels(&s);
    let dir = project(&s, "prefix", "\"python\"", "\"cxxdemo\"", "");
    bed.pyenv_guix(&s, &["allow"], &dir);
    bed.pyenv_guix(&s, &["exec", "--", "true"], &dir);
    let profiles = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(s.path("cache/profiles"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 64)
            .collect();
        names.sort();
        names
    };
    let before = profiles();
    assert_eq!(
        before.len(),
        2,
        "the project's and the libraries': {before:?}"
    );
    bed.pyenv_guix(&s, &["gc"], &dir);
    assert_eq!(profiles(), before, "gc removed a profile still in use");
    let (stdout, stderr) = run_cxxdemo(bed, &s, &dir);
    assert_eq!(stdout.trim(), "ok c++:3", "{stderr}");
}
