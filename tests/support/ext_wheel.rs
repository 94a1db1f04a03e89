//! Binary wheels built in the test: extension modules compiled here with
//! the machine's gcc/g++, tagged manylinux as auditwheel leaves them.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Sandbox;

impl Sandbox {
    /// Build a binary wheel of `name` into `wheels/` (see
    /// tests/support/make_ext_wheel.py for `extra`: `--cxx`, `--openmp`,
    /// `--link z`, `--bundle`, `--script CMD`), and return the directory.
    pub fn ext_wheel(&self, name: &str, version: &str, extra: &[&str]) -> PathBuf {
        let maker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/make_ext_wheel.py");
        // The host's own tools: a compiler and a Python with its headers,
        // as a developer's machine has them (the test's PATH may be bare).
        let out = Command::new("python3")
            .arg(maker)
            .arg(self.path("wheels"))
            .args([name, version])
            .args(extra)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "make_ext_wheel {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.path("wheels")
    }

    /// A shared library `lib<name>.so.1` exporting `<name>_answer()`, made
    /// in `dir` for a wheel to link against (`--libdir`, `--link NAME`).
    pub fn shared_library(&self, dir: &str, name: &str) -> PathBuf {
        let dir = self.path(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join(format!("{name}.c"));
        std::fs::write(&src, format!("long {name}_answer(void) {{ return 7; }}\n")).unwrap();
        let soname = format!("lib{name}.so.1");
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC"])
            .arg(format!("-Wl,-soname,{soname}"))
            .arg("-o")
            .arg(dir.join(&soname))
            .arg(&src)
            .status()
            .expect("gcc runs");
        assert!(status.success(), "gcc made {soname}");
        let _ = std::fs::remove_file(dir.join(format!("lib{name}.so")));
        std::os::unix::fs::symlink(&soname, dir.join(format!("lib{name}.so"))).unwrap();
        dir
    }
}
