//! What a build runs is pyenv-guix's choice alone: modules in the project
//! never stand in for pip, venv or ensurepip, and a build never sees the
//! variables of a project the user was in when it started. Real pip, real
//! venv, real bash; wheels built here.

mod support;

use std::path::Path;

use support::{Run, Sandbox, quote};

/// Modules a hostile project ships under the names of what builds run.
/// Each leaves a mark in `marks` when it is imported, and exits 0 as if it
/// had done its job.
fn plant_shadows(s: &Sandbox, project: &str, marks: &Path) {
    for module in ["pip", "venv", "ensurepip", "sitecustomize"] {
        s.write(
            &format!("{project}/{module}.py"),
            &format!(
                "open({:?}, 'a').write('{module}\\n')\nimport sys\nsys.exit(0)\n",
                marks.display().to_string()
            ),
        );
    }
}

fn shadowed_project(s: &Sandbox, name: &str, mode: &str, installer: &str) {
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        &format!("{name}/.pyguix.toml"),
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"alpha\"]\nmode = {mode:?}\ninstaller = {installer:?}\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
            wheels.display().to_string()
        ),
    );
    plant_shadows(s, name, &s.path("marks"));
    s.allow(name);
}

fn imports_alpha(s: &Sandbox, project: &str) {
    s.command(
        &["exec", "--", "python3", "-c", "import alpha; print('ok')"],
        &s.path(project),
    )
    .succeeds();
}

fn no_marks(s: &Sandbox) {
    let marks = std::fs::read_to_string(s.path("marks")).unwrap_or_default();
    assert!(
        marks.is_empty(),
        "the project's own modules ran in a build: {marks}"
    );
}

#[test]
fn modules_in_the_project_never_stand_in_for_pip_or_venv() {
    for mode in ["prefix", "venv"] {
        let s = Sandbox::new();
        let name = format!("p-{mode}");
        shadowed_project(&s, &name, mode, "pip");
        imports_alpha(&s, &name);
        no_marks(&s);
    }
}

#[test]
fn modules_in_the_project_never_stand_in_for_uvs_helpers() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    for mode in ["prefix", "venv"] {
        let name = format!("p-{mode}");
        shadowed_project(&s, &name, mode, "uv");
        s.command(
            &["exec", "--", "python3", "-c", "import alpha"],
            &s.path(&name),
        )
        .env(
            "PATH",
            format!("{}:{}", uv.display(), support::system_path()),
        )
        .succeeds();
    }
    no_marks(&s);
}

/// Entering B from inside A, in a real bash: B's build (its interpreter
/// probe, pip, venv, guix) sees the user's variables, never A's `[env]`
/// or `[path]`. Likewise `exec -C B` run inside A.
#[test]
fn a_build_never_sees_the_project_the_user_is_leaving() {
    let s = Sandbox::new();
    let seen = s.path("seen");
    // Every start of B's Python writes down the environment it got.
    let python = s.python_recording_env("spy", &seen);
    // And so does every run of guix.
    let guix = s.path("guix-spy");
    std::fs::write(
        &guix,
        format!(
            "#!/bin/sh\nenv > {}/guix-$$\nexec {} \"$@\"\n",
            quote(seen.as_os_str()),
            quote(s.guix().as_os_str())
        ),
    )
    .unwrap();
    std::fs::set_permissions(&guix, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let wheels = s.wheel("alpha", "1.0", &[]);
    s.write(
        "a/.pyguix.toml",
        "[env]\nTMPDIR = \"/a-tmp\"\nhttps_proxy = \"http://a-proxy:3128\"\nSSL_CERT_FILE = \"/a-ca.pem\"\nGUIX_PACKAGE_PATH = \"/a-packages\"\nGUILE_LOAD_PATH = \"/a-guile\"\nGUIX_BUILD_OPTIONS = \"--with-source=/a-src\"\n\n[path]\nPATH = [\"/a-bin\"]\n",
    );
    for (b, package) in [("b", "python-six"), ("c", "python-idna")] {
        s.write(
            &format!("{b}/.pyguix.toml"),
            &format!(
                "[guix]\npackages = [{package:?}]\n\n[python]\ninterpreter = {:?}\n\n[pip]\npackages = [\"alpha\"]\nmode = \"venv\"\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
                python.display().to_string(),
                wheels.display().to_string()
            ),
        );
    }
    for p in ["a", "b", "c"] {
        s.allow(p);
    }
    let bin = quote(support::bin().as_os_str());
    let script = format!(
        "set -e\ncd {a}\neval \"$({bin} export bash)\"\ntest \"$TMPDIR\" = /a-tmp\ncd {b}\neval \"$({bin} export bash)\"\ncd {a}\neval \"$({bin} export bash)\"\n{bin} exec -C {c} -- true\n",
        a = quote(s.path("a").as_os_str()),
        b = quote(s.path("b").as_os_str()),
        c = quote(s.path("c").as_os_str()),
    );
    s.bash(&script).env("PYENV_GUIX_GUIX", &guix).succeeds();
    let mut looked = 0;
    for e in std::fs::read_dir(&seen).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        looked += 1;
        for leaked in [
            "/a-tmp",
            "a-proxy",
            "/a-ca.pem",
            "/a-packages",
            "/a-guile",
            "/a-src",
            "/a-bin",
        ] {
            assert!(
                !text.contains(leaked),
                "{} saw the left project's {leaked}:\n{text}",
                e.file_name().to_string_lossy()
            );
        }
    }
    let guix_runs = std::fs::read_dir(&seen)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("guix-"))
        .count();
    assert!(guix_runs >= 2, "guix ran {guix_runs} times");
    assert!(
        looked > guix_runs,
        "B's Python never ran: {:?}",
        std::fs::read_dir(&seen)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect::<Vec<_>>()
    );
}
