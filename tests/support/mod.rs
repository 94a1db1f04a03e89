//! Shared by the end-to-end tests: a sandbox with its own HOME and data
//! directories, real shells driven as a user would, and `env -0` dumps.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pyenv_guix::shells::ShellName;

mod ext_wheel;
pub mod guixbed;
pub mod user;

pub fn stand_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guix-stand-in/guix")
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pyenv-guix"))
}

/// The system's PATH in a sandbox, `/usr/local/bin:/usr/bin:/bin`, with no
/// uv on it: a test chooses uv by putting it first (`Sandbox::uv_dir`),
/// and the others expect pip to install. `pip install uv` as root puts uv
/// in /usr/local/bin: there, a directory of links to everything else in
/// it stands in its place.
pub fn system_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let local = Path::new("/usr/local/bin");
        let uv = ["uv", "uvx"];
        if !uv.iter().any(|name| local.join(name).exists()) {
            return "/usr/local/bin:/usr/bin:/bin".to_string();
        }
        let mirror = tempfile::Builder::new()
            .prefix("pyenv-guix-tests-usr-local-bin-without-uv.")
            .tempdir()
            .unwrap()
            .keep();
        for entry in std::fs::read_dir(local).unwrap().flatten() {
            if !uv.iter().any(|name| entry.file_name() == *name) {
                std::os::unix::fs::symlink(entry.path(), mirror.join(entry.file_name())).unwrap();
            }
        }
        format!("{}:/usr/bin:/bin", mirror.display())
    })
}

/// What a user types in each shell (one file each in `user/`), for the
/// library's own shell enum.
pub trait UserShell: Copy {
    /// The shell's side of the tests.
    fn user(self) -> &'static dyn user::User;

    /// The program with no rc file read, to add `-c` or `-i` to.
    fn plain(self) -> String {
        self.user().plain().join(" ")
    }

    /// `None` (after saying so loudly) when the shell is missing and
    /// PYENV_GUIX_REQUIRE_SHELLS is not set; CI sets it, so CI cannot pass
    /// by skipping.
    fn available(self) -> bool;

    /// Put `dir` first on PATH, as a user would type it.
    fn prepend_path(self, dir: &str) -> String {
        self.user().prepend_path(dir)
    }

    /// Export a variable, as a user would type it.
    fn export(self, name: &str, value: &str) -> String {
        self.user().export(name, value)
    }

    /// A line of POSIX sh, run from the shell.
    fn posix(self, line: &str) -> String {
        self.user().posix(line)
    }

    /// The binary under test run with `args`, as a line at the prompt.
    fn pyenv_guix(self, args: &str) -> String {
        self.user().run(&quote(bin().as_os_str()), args)
    }

    fn hook_line(self) -> String {
        self.hook_line_for(&bin())
    }

    fn hook_line_for(self, bin: &Path) -> String;
}

impl UserShell for ShellName {
    fn user(self) -> &'static dyn user::User {
        user::of(self)
    }

    fn available(self) -> bool {
        let program = self.user().plain()[0];
        let found = Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return true;
        }
        if std::env::var_os("PYENV_GUIX_REQUIRE_SHELLS").is_some_and(|v| v == "1") {
            panic!("{program} is not installed and PYENV_GUIX_REQUIRE_SHELLS=1");
        }
        eprintln!(
            "\n!!! SKIPPED: {program} is not installed; its end-to-end tests did not run !!!\n"
        );
        false
    }

    fn hook_line_for(self, bin: &Path) -> String {
        self.user().hook_line(&quote(bin.as_os_str()), self.name())
    }
}

/// Single-quoted, as every shell here reads it (test paths hold no quote
/// or backslash).
pub fn quote(s: &OsStr) -> String {
    let s = s.to_str().expect("test paths are UTF-8");
    assert!(!s.contains('\'') && !s.contains('\\'));
    format!("'{s}'")
}

/// The uv binary itself: on the runner's PATH, or the one pip installed
/// (behind a pyenv shim, say).
fn uv_binary() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import uv; print(uv.find_uv_bin())"])
        .output()
        .ok()?;
    let found = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    if out.status.success() && found.is_file() {
        return Some(found);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("uv"))
        .find(|p| {
            let mut head = [0u8; 4];
            std::fs::File::open(p)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok_and(|()| &head == b"\x7fELF")
        })
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("pyenv-guix-e2e")
            .tempdir()
            .unwrap();
        let s = Sandbox { dir };
        for d in ["home", "out", "data", "cache"] {
            std::fs::create_dir_all(s.path(d)).unwrap();
        }
        // guix runs with an allow-listed environment, as real Guix would
        // want: the stand-in gets its settings from a file its wrapper reads.
        s.write("guix-settings", "");
        s.stand_in_setting("GUIX_STAND_IN_STORE", &s.path("gnu/store"));
        s.stand_in_setting("GUIX_STAND_IN_LOG", &s.path("guix.log"));
        let wrapper = format!(
            "#!/bin/sh\n. {}\nexec {} \"$@\"\n",
            quote(s.path("guix-settings").as_os_str()),
            quote(stand_in().as_os_str())
        );
        s.write("guix", &wrapper);
        std::fs::set_permissions(
            s.guix(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        s
    }

    /// The guix that runs in this sandbox: the stand-in, with its settings.
    pub fn guix(&self) -> PathBuf {
        self.path("guix")
    }

    /// Tell the stand-in `name=value` (its `GUIX_STAND_IN_*` settings).
    pub fn stand_in_setting(&self, name: &str, value: &Path) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.path("guix-settings"))
            .unwrap();
        writeln!(f, "export {name}={}", quote(value.as_os_str())).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// [`Sandbox::env`] as a user has it: a build at a prompt goes to the
    /// background (the sandbox's own default builds in the foreground).
    pub fn user_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = self.env();
        env.retain(|(k, _)| k != "PYENV_GUIX_BUILD");
        env
    }

    /// Write `text` to `rel`, executable, and return its path.
    pub fn write_executable(&self, rel: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        self.write(rel, text);
        let path = self.path(rel);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A small, known environment: nothing of the test runner's leaks in.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let home = self.path("home");
        [
            ("PATH", OsString::from(system_path())),
            ("HOME", home.clone().into()),
            ("XDG_CONFIG_HOME", home.join(".config").into()),
            ("XDG_DATA_HOME", home.join(".local/share").into()),
            ("TERM", "xterm".into()),
            ("LANG", "C.UTF-8".into()),
            ("LC_ALL", "C.UTF-8".into()),
            ("PYENV_GUIX_DATA_DIR", self.path("data").into()),
            ("PYENV_GUIX_CACHE_DIR", self.path("cache").into()),
            ("OUT", self.path("out").into()),
            // Builds in the foreground, as scripts see them; the tests of
            // background builds remove this.
            ("PYENV_GUIX_BUILD", "foreground".into()),
            // No machine here has Guix: the stand-in answers for it.
            ("PYENV_GUIX_GUIX", self.guix().into()),
            ("GUIX_STAND_IN_STORE", self.path("gnu/store").into()),
            ("GUIX_STAND_IN_LOG", self.path("guix.log").into()),
        ]
        .into_iter()
        .map(|(k, v)| (OsString::from(k), v))
        .collect()
    }

    /// Run the binary in `cwd` with the sandbox's environment; it must succeed.
    pub fn pyenv_guix(&self, args: &[&str], cwd: &Path) -> Output {
        self.command(args, cwd).succeeds()
    }

    /// The binary run in `cwd` with `env` instead of the sandbox's: whether
    /// it succeeded, its stdout and its stderr.
    pub fn run_with(
        &self,
        env: &[(OsString, OsString)],
        cwd: &Path,
        args: &[&str],
    ) -> (bool, String, String) {
        let out = self.command_with(env, cwd, args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`Sandbox::run_with`]; it must succeed: its stdout and its stderr.
    #[track_caller]
    pub fn ok_with(
        &self,
        env: &[(OsString, OsString)],
        cwd: &Path,
        args: &[&str],
    ) -> (String, String) {
        let out = self.command_with(env, cwd, args).succeeds();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn command_with(&self, env: &[(OsString, OsString)], cwd: &Path, args: &[&str]) -> Command {
        let mut c = self.command(args, cwd);
        c.env_clear().envs(env.iter().cloned());
        c
    }

    /// The binary as a command, to run, spawn or add to.
    pub fn command(&self, args: &[&str], cwd: &Path) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(cwd).env_clear().envs(self.env());
        c
    }

    /// Build a wheel into `wheels/`, as a zip made here, with no network.
    pub fn wheel(&self, name: &str, version: &str, extra: &[&str]) -> PathBuf {
        self.wheel_into("wheels", name, version, extra)
    }

    /// Build a wheel into the directory `rel`, and return the directory.
    pub fn wheel_into(&self, rel: &str, name: &str, version: &str, extra: &[&str]) -> PathBuf {
        let maker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/make_wheel.py");
        Command::new("python3")
            .arg(maker)
            .arg(self.path(rel))
            .args([name, version])
            .args(extra)
            .env_clear()
            .envs(self.env())
            .succeeds();
        self.path(rel)
    }

    /// A Python that runs `line` (a `.pth` import line) at every start:
    /// a venv of Debian's Python, seeing its pip. Builds run a Python as
    /// what it resolves to, so a wrapper script would not be run; this is.
    pub fn python_running(&self, rel: &str, line: &str) -> PathBuf {
        let venv = self.path(rel);
        let made = Command::new("/usr/bin/python3")
            .args(["-m", "venv", "--without-pip", "--system-site-packages"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success());
        let lib = std::fs::read_dir(venv.join("lib"))
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        std::fs::write(lib.join("site-packages/startup.pth"), format!("{line}\n")).unwrap();
        venv.join("bin/python3")
    }

    /// A directory holding only `uv` (the real binary, linked), to put on
    /// PATH; `None` (after saying so loudly) when this machine has no uv and
    /// PYENV_GUIX_REQUIRE_TOOLS is not set. CI sets it and installs uv.
    pub fn uv_dir(&self) -> Option<PathBuf> {
        let Some(uv) = uv_binary() else {
            if std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
                panic!("uv is not installed and PYENV_GUIX_REQUIRE_TOOLS=1");
            }
            eprintln!("\n!!! SKIPPED: uv is not installed; the uv tests did not run !!!\n");
            return None;
        };
        let dir = self.path("uv-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join("uv"));
        std::os::unix::fs::symlink(uv, dir.join("uv")).unwrap();
        Some(dir)
    }

    /// A Python that writes the environment each of its runs got, as JSON,
    /// into a file of `seen` named by its pid.
    pub fn python_recording_env(&self, rel: &str, seen: &Path) -> PathBuf {
        std::fs::create_dir_all(seen).unwrap();
        self.python_running(
            rel,
            &format!(
                "import os, json; open(os.path.join({:?}, str(os.getpid())), 'w').write(json.dumps(dict(os.environ)))",
                seen.display().to_string()
            ),
        )
    }

    /// `script` run by `bash -c` with the sandbox's environment: a user's
    /// script, or a shell without its rc files.
    pub fn bash(&self, script: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c").arg(script).env_clear().envs(self.env());
        c
    }

    /// A Python whose `pip install` (not a dry run) waits while `stall`
    /// exists: a build that takes as long as the test wants.
    pub fn python_stalling_while(&self, rel: &str, stall: &Path) -> PathBuf {
        // exec'd by site inside a function: nested scopes see site's
        // globals (os), not this line's imports, hence __import__.
        self.python_running(
            rel,
            &format!(
                "import os, sys; ('install' in sys.argv and '--dry-run' not in sys.argv) and [__import__('time').sleep(0.05) for _ in iter(lambda: os.path.exists({:?}), False)]",
                stall.display().to_string()
            ),
        )
    }

    /// The binary behind a bash script that writes each run's arguments to
    /// `out/runs` (as Guix wraps programs in bash scripts): the script, and
    /// the file of runs, empty so far.
    pub fn counting_wrapper(&self) -> (PathBuf, PathBuf) {
        let log = self.path("out/runs");
        self.write("out/runs", "");
        let wrapper = self.write_executable(
            "wrapper",
            &format!(
                "#!/bin/bash\necho \"$*\" >> {}\nexec -a \"$0\" {} \"$@\"\n",
                quote(log.as_os_str()),
                quote(bin().as_os_str())
            ),
        );
        (wrapper, log)
    }

    pub fn read_out(&self, name: &str) -> String {
        std::fs::read_to_string(self.path("out").join(name))
            .unwrap_or_else(|e| panic!("no output {name}: {e}"))
    }

    pub fn allow(&self, rel: &str) {
        self.pyenv_guix(&["allow"], &self.path(rel));
    }

    /// Run `lines` in an interactive `shell` started in `cwd` with `env`,
    /// after defining `dump`. Returns everything the shell printed.
    pub fn interactive(
        &self,
        shell: ShellName,
        cwd: &Path,
        env: &[(OsString, OsString)],
        lines: &[String],
    ) -> String {
        let mut script = format!("{}\n", shell.user().dump_function());
        for l in lines {
            script.push_str(l);
            script.push('\n');
        }
        script.push_str("exit\n");
        let mut cmd = shell.user().interactive();
        cmd.current_dir(cwd)
            .env_clear()
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = run_with_timeout(cmd, script.as_bytes(), Duration::from_secs(60));
        succeeded_as(shell.name(), &out);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub fn dump(&self, name: &str) -> Dump {
        let raw = std::fs::read(self.path("out").join(name))
            .unwrap_or_else(|e| panic!("no dump {name}: {e}"));
        Dump(parse_env0(&raw))
    }
}

/// Every Python interpreter this machine has, once each: Debian's
/// `/usr/bin/python3`, whatever `python3` the test runs with, and pyenv's
/// 3.9 and later (one per minor version).
pub fn interpreters() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut seen = Vec::new();
    let asked = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    let mut minors = std::collections::BTreeMap::new();
    if let Some(Ok(entries)) = pyenv.map(|p| std::fs::read_dir(p.join("versions"))) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut parts = name.split('.').map(|p| p.parse::<u32>().ok());
            if let (Some(Some(3)), Some(Some(minor))) = (parts.next(), parts.next())
                && minor >= 9
            {
                minors.insert(minor, e.path().join("bin/python3"));
            }
        }
    }
    for candidate in [Some(PathBuf::from("/usr/bin/python3")), asked]
        .into_iter()
        .flatten()
        .chain(minors.into_values())
    {
        let Ok(real) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if !seen.contains(&real) {
            seen.push(real);
            found.push(candidate);
        }
    }
    assert!(!found.is_empty(), "no Python interpreter on this machine");
    found
}

/// A command a test needs to succeed.
pub trait Run {
    /// Run it to the end; it must succeed, or the test fails naming the
    /// command, its status and what it printed.
    fn succeeds(&mut self) -> Output;

    /// [`Run::succeeds`], and its stdout (which must be UTF-8).
    #[track_caller]
    fn stdout_ok(&mut self) -> String {
        String::from_utf8(self.succeeds().stdout).expect("stdout is not UTF-8")
    }

    /// Run it to the end; it must fail. What it said on stderr, lossily.
    fn fails(&mut self) -> String;
}

impl Run for Command {
    #[track_caller]
    fn succeeds(&mut self) -> Output {
        let what = describe(self);
        let out = self
            .output()
            .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
        succeeded_as(&what, &out);
        out
    }

    #[track_caller]
    fn fails(&mut self) -> String {
        let what = describe(self);
        let out = self
            .output()
            .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "{what} succeeded:\n{err}\n-- its stdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        err
    }
}

/// A command as a failure message names it: program, arguments, directory.
fn describe(c: &Command) -> String {
    format!(
        "{} {:?} in {:?}",
        c.get_program().display(),
        c.get_args().collect::<Vec<_>>(),
        c.get_current_dir().unwrap_or(Path::new(".")),
    )
}

/// `out` (of `what`) must be a success; its stdout, lossily. For an output
/// got otherwise than by [`Run`]: a spawned child's, one with a timeout.
#[track_caller]
pub fn succeeded_as(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n-- its stdout:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run_with_timeout(mut cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    // Read both pipes as the shell writes them: a shell that prints more
    // than a pipe holds (a line editor redrawing at every key) would
    // otherwise wait on us while we wait on it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "timed out after {limit:?}:\n{}{}",
                String::from_utf8_lossy(&stdout.join().unwrap()),
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

pub fn parse_env0(raw: &[u8]) -> BTreeMap<OsString, OsString> {
    raw.split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let i = e.iter().position(|&b| b == b'=').unwrap_or(e.len());
            let value = e.get(i + 1..).unwrap_or_default();
            (
                OsString::from_vec(e[..i].to_vec()),
                OsString::from_vec(value.to_vec()),
            )
        })
        .collect()
}

/// An `env -0` dump of a shell's exported environment.
#[derive(Debug, Clone)]
pub struct Dump(pub BTreeMap<OsString, OsString>);

impl Dump {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(OsStr::new(name)).map(|v| v.to_str().unwrap())
    }

    pub fn path_entries(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| v.split(':').map(String::from).collect())
            .unwrap_or_default()
    }

    /// Everything but what the shell itself changes as it runs.
    pub fn user_visible(&self) -> BTreeMap<OsString, OsString> {
        let shell_own = ["PWD", "OLDPWD", "SHLVL", "_"];
        self.0
            .iter()
            .filter(|(k, _)| !shell_own.iter().any(|s| k.as_bytes() == s.as_bytes()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// One module per named `fn(ShellName)`, holding one test per shell
/// listed, named as the shell: `journey::bash`.
#[macro_export]
macro_rules! tests_in {
    ($f:ident; $($shell:ident => $name:ident),*) => {
        mod $f {
            $(
                #[test]
                fn $name() {
                    super::$f(::pyenv_guix::shells::ShellName::$shell);
                }
            )*
        }
    };
}

/// One test per shell for each named `fn(ShellName)`, for every shell a
/// user types in. A test here types only what `user::User` says each
/// shell's way.
#[macro_export]
macro_rules! per_shell {
    ($($f:ident),* $(,)?) => {
        $(
            $crate::tests_in!($f; Bash => bash, Zsh => zsh, Fish => fish, Xonsh => xonsh,
                Tcsh => tcsh, Elvish => elvish, Nu => nu);
        )*
    };
}

/// As [`per_shell!`], for tests that type bash, zsh and fish only (a
/// trap, a job control signal, `source` of a file mid-script).
#[macro_export]
macro_rules! bash_zsh_fish {
    ($($f:ident),* $(,)?) => {
        $(
            $crate::tests_in!($f; Bash => bash, Zsh => zsh, Fish => fish);
        )*
    };
}

/// xorshift64*: small, seedable, good enough to spread values.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from PYENV_GUIX_SEED when set (to replay a failure), else
    /// from the clock; the seed is printed.
    pub fn seeded() -> Rng {
        let seed = std::env::var("PYENV_GUIX_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
                    | 1
            });
        eprintln!("PYENV_GUIX_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The strings of `[table].key` in a parsed manifest (none when absent).
pub fn toml_strings(t: &toml::Table, table: &str, key: &str) -> Vec<String> {
    t.get(table)
        .and_then(|t| t.get(key))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Sandbox {
    /// A project at `dir` installing alpha (beta is beside it, never asked
    /// for) in `mode` with `installer`, on a Python of the test's own (a
    /// venv seeing Debian's pip), so that what a `pip install` would
    /// wrongly do stays in the sandbox. Allowed; returns the wheels' folder.
    pub fn pip_project_on_own_python(&self, dir: &str, mode: &str, installer: &str) -> PathBuf {
        let wheels = self.wheel("alpha", "1.0", &[]);
        self.wheel("beta", "1.0", &[]);
        let python = self.python_running("base", "import os");
        self.write(
            &format!("{dir}/.pyguix.toml"),
            &format!(
                "[python]\ninterpreter = {python:?}\n\n[pip]\nmode = {mode:?}\ninstaller = {installer:?}\npackages = [\"alpha\"]\noptions = [\"--no-index\", \"--find-links\", {:?}]\n",
                wheels.display().to_string(),
                python = python.display().to_string(),
            ),
        );
        self.allow(dir);
        wheels
    }

    /// Recorded PyPI metadata for pre-commit and identify, as the
    /// stand-in's `import pypi` reads them (pre-commit's pyyaml only in an
    /// extra; identify with a null home page).
    pub fn pypi_pre_commit(&self) {
        self.write(
            "pypi/pre-commit.json",
            r#"{"name": "pre-commit", "version": "4.0.1", "requires_dist": ["identify>=1.0.0", "pyyaml>=5.1 ; extra == 'testing'"], "summary": "A framework for managing and maintaining multi-language pre-commit hooks.", "home_page": "https://github.com/pre-commit/pre-commit", "license": "MIT"}"#,
        );
        self.write(
            "pypi/identify.json",
            r#"{"name": "identify", "version": "2.6.1", "summary": "File identification library for Python", "home_page": null, "license": "MIT"}"#,
        );
        self.stand_in_setting("GUIX_STAND_IN_PYPI", &self.path("pypi"));
    }
}
