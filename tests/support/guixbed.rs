//! A Guix-shaped test bed: a sandbox (bubblewrap) whose only software is a
//! `/gnu/store` of items made here from the host's files, named as Guix
//! names them and linked, as Guix links them, against each other only:
//! every ELF file's interpreter and RUNPATH point into the store, and there
//! is no /usr, /lib, /lib64, /bin or /etc/ld.so.cache. A manylinux wheel
//! that expects libstdc++ "from the system" finds none, as on Guix.
//!
//! ```ignore
//! let Some(bed) = Bed::get() else { return };   // None: skipped (not in CI)
//! let s = Sandbox::new();
//! bed.item("gcc:lib");                            // /gnu/store/…-gcc-12.2.0-lib
//! let out = bed.run(&s, &["python3", "-c", "1"], &[]);   // inside, in HOME
//! let out = bed.run_in(&s, &dir, &["pyenv-guix", "export", "bash"], &[]);
//! let out = bed.pyenv_guix(&s, &["exec", "--", "python3", "-V"], &dir);
//! let out = bed.shell(&s, &dir, "eval \"$(pyenv-guix hook bash)\"; …");
//! ```
//!
//! Inside, `PATH` holds bash, coreutils, patchelf and pyenv-guix (the
//! binary under test, copied and linked to the store's glibc);
//! `PYENV_GUIX_GUIX` is the store's `guix`: the stand-in, run by the
//! store's Python, with `GUIX_STAND_IN_ITEMS` naming the bed's items, so a
//! manifest of "python" or "gcc:lib" gets the real items. The sandbox
//! directory is bound at its own path, so test paths mean the same inside.
//!
//! The bed is built once per content (target/tmp/guixbed, under a lock,
//! renamed into place) and shared by every test binary.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::{Sandbox, bin, stand_in};

/// Where the stand-in's settings file is bound inside the sandbox; the
/// store's `guix` sources it, as the sandbox's own wrapper does outside.
const SETTINGS_INSIDE: &str = "/var/guix/stand-in-settings";
const PYENV_PYTHON: &str = "/root/.pyenv/versions/3.11.7";
const PY: &str = "python3.11";

/// Host library (soname) -> the Guix package[:output] that provides it, and
/// the Debian package whose version names the item.
const LIBRARIES: &[(&str, &str, &str)] = &[
    ("ld-linux-x86-64.so.2", "glibc", "libc6"),
    ("libc.so.6", "glibc", "libc6"),
    ("libm.so.6", "glibc", "libc6"),
    ("libpthread.so.0", "glibc", "libc6"),
    ("libdl.so.2", "glibc", "libc6"),
    ("librt.so.1", "glibc", "libc6"),
    ("libutil.so.1", "glibc", "libc6"),
    ("libresolv.so.2", "glibc", "libc6"),
    ("libanl.so.1", "glibc", "libc6"),
    ("libstdc++.so.6", "gcc:lib", "libstdc++6"),
    ("libgcc_s.so.1", "gcc:lib", "libgcc-s1"),
    ("libgomp.so.1", "gcc:lib", "libgomp1"),
    ("libz.so.1", "zlib", "zlib1g"),
    ("libffi.so.8", "libffi", "libffi8"),
    ("libssl.so.3", "openssl", "libssl3"),
    ("libcrypto.so.3", "openssl", "libssl3"),
    ("libbz2.so.1.0", "bzip2", "libbz2-1.0"),
    ("liblzma.so.5", "xz", "liblzma5"),
    ("libexpat.so.1", "expat", "libexpat1"),
    ("libsqlite3.so.0", "sqlite", "libsqlite3-0"),
    ("libreadline.so.8", "readline", "libreadline8"),
    ("libncursesw.so.6", "ncurses", "libncursesw6"),
    ("libpanelw.so.6", "ncurses", "libncursesw6"),
    ("libtinfo.so.6", "ncurses", "libtinfo6"),
    ("libcrypt.so.1", "libxcrypt", "libcrypt1"),
    ("libuuid.so.1", "util-linux:lib", "libuuid1"),
    ("libacl.so.1", "acl", "libacl1"),
    ("libattr.so.1", "attr", "libattr1"),
    ("libselinux.so.1", "libselinux", "libselinux1"),
    ("libpcre2-8.so.0", "pcre2", "libpcre2-8-0"),
];

/// Items whose library files are stand-ins, not the real libraries: a
/// program that only needs to find them by name (mapping, RUNPATH) is
/// served, one that calls into them is not.
const FAKE_LIBRARIES: &[(&str, &str, &[&str])] = &[
    // Versions as `guix package -A` of Guix 3652bbe lists them.
    (
        "mesa",
        "24.0.4",
        &["libGL.so.1", "libEGL.so.1", "libgbm.so.1"],
    ),
    ("libx11", "1.8.7", &["libX11.so.6", "libX11-xcb.so.1"]),
    ("libxext", "1.3.4", &["libXext.so.6"]),
    ("libxrender", "0.9.10", &["libXrender.so.1"]),
    ("libice", "1.0.10", &["libICE.so.6"]),
    ("libsm", "1.2.3", &["libSM.so.6"]),
    ("libxcb", "1.15", &["libxcb.so.1"]),
    (
        "glib",
        "2.78.0",
        &["libglib-2.0.so.0", "libgobject-2.0.so.0", "libgio-2.0.so.0"],
    ),
];

const COREUTILS: &[&str] = &[
    "ls", "cat", "env", "mkdir", "rm", "cp", "ln", "mv", "readlink", "realpath", "dirname",
    "basename", "true", "false", "test", "printf", "echo", "head", "tail", "sort", "uname",
    "touch", "chmod", "sleep", "id", "wc", "tr", "cut", "stat",
];

/// What Guix's Python does at start with GUIX_PYTHONPATH (its
/// sitecustomize.py): each entry for this X.Y is a site directory, in
/// order, so its .pth files run, ahead of the interpreter's own.
const SITECUSTOMIZE: &str = r#"import os, site, sys

_mine = os.path.join("lib", "python%d.%d" % sys.version_info[:2], "site-packages")
_wanted = [os.path.normpath(p) for p in os.environ.get("GUIX_PYTHONPATH", "").split(os.pathsep)]
_wanted = [p for p in _wanted if p.endswith(_mine)]
_before = len(sys.path)
for _dir in _wanted:
    site.addsitedir(_dir)
_own = os.path.join(sys.prefix, _mine)
if _wanted and _own in sys.path:
    _added = sys.path[_before:]
    del sys.path[_before:]
    _at = sys.path.index(_own)
    sys.path[_at:_at] = _added
"#;

/// The bed: store items by Guix spec ("python", "gcc:lib", "zlib", ...).
pub struct Bed {
    /// spec -> the item's directory on the host (bound into the sandbox).
    host: BTreeMap<String, PathBuf>,
}

static BED: OnceLock<Option<Bed>> = OnceLock::new();

impl Bed {
    /// The bed, built on first use. `None` (after saying so loudly) when
    /// bwrap or patchelf is missing or cannot run; with CI=true or
    /// PYENV_GUIX_REQUIRE_TOOLS=1 that panics instead, so CI cannot pass by
    /// skipping.
    pub fn get() -> Option<&'static Bed> {
        BED.get_or_init(|| {
            if let Some(missing) = missing_tools() {
                if required() {
                    panic!("the Guix-shaped test bed cannot run: {missing}");
                }
                eprintln!(
                    "\n!!! SKIPPED: {missing}; the Guix-shaped sandbox tests did not run !!!\n"
                );
                return None;
            }
            Some(Bed::build())
        })
        .as_ref()
    }

    /// The item of `spec` ("python", "gcc:lib", "glibc", "guix", ...) as
    /// the sandbox sees it: `/gnu/store/<hash>-<name>-<version>[-<output>]`.
    pub fn item(&self, spec: &str) -> PathBuf {
        Path::new("/gnu/store").join(self.name(spec))
    }

    /// The item's directory on the host (read it; never write it).
    pub fn host_item(&self, spec: &str) -> &Path {
        self.host
            .get(spec)
            .unwrap_or_else(|| panic!("the bed has no item {spec}"))
    }

    /// `<hash>-<name>-<version>[-<output>]`.
    pub fn name(&self, spec: &str) -> String {
        self.host_item(spec)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// Every spec the bed has.
    pub fn specs(&self) -> Vec<&str> {
        self.host.keys().map(String::as_str).collect()
    }

    /// The store's `uv` (the host's uv binary linked to the store's glibc,
    /// as Guix packages it): its `bin` directory, to put on a user's PATH.
    /// `None` (after saying so loudly) when the host had no uv to make it
    /// from; with CI=true or PYENV_GUIX_REQUIRE_TOOLS=1 that panics.
    pub fn uv_bin(&self) -> Option<PathBuf> {
        if self.host.contains_key("uv") {
            return Some(self.item("uv").join("bin"));
        }
        if required() {
            panic!("the Guix-shaped test bed has no uv: the host has none to make it from");
        }
        eprintln!("\n!!! SKIPPED: no uv on this host; the bed's uv tests did not run !!!\n");
        None
    }

    /// The bed's PATH with `dirs` first (a store item's `bin`, as a user's
    /// Guix profile puts it there).
    pub fn path_with(&self, dirs: &[&Path]) -> String {
        let mut entries: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        entries.extend(
            ["bash", "coreutils", "patchelf", "pyenv-guix"]
                .map(|spec| format!("{}/bin", self.item(spec).display())),
        );
        entries.join(":")
    }

    /// Run `argv` inside the sandbox, in its HOME.
    pub fn run(&self, s: &Sandbox, argv: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_in(s, &s.path("home"), argv, env)
    }

    /// Run `argv` inside the sandbox in `cwd` (a path under the sandbox
    /// directory). `env` adds to or replaces [`Bed::env`].
    pub fn run_in(&self, s: &Sandbox, cwd: &Path, argv: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(s, cwd, argv, env)
            .stdin(Stdio::null())
            .output()
            .expect("bwrap runs")
    }

    /// `pyenv-guix ARGS` inside, in `cwd`; it must succeed.
    pub fn pyenv_guix(&self, s: &Sandbox, args: &[&str], cwd: &Path) -> Output {
        let argv: Vec<&str> = std::iter::once("pyenv-guix")
            .chain(args.iter().copied())
            .collect();
        let out = self.run_in(s, cwd, &argv, &[]);
        assert!(
            out.status.success(),
            "pyenv-guix {args:?} failed inside the bed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `bash -c SCRIPT` inside (the store's bash), in `cwd`.
    pub fn shell(&self, s: &Sandbox, cwd: &Path, script: &str) -> Output {
        self.run_in(
            s,
            cwd,
            &["bash", "--norc", "--noprofile", "-c", script],
            &[],
        )
    }

    /// The environment a run starts with: the sandbox's (HOME, data and
    /// cache directories, ...) with PATH, the guix and the stand-in's store
    /// pointed into the bed. Nothing of the test runner's leaks in.
    pub fn env(&self, s: &Sandbox) -> Vec<(OsString, OsString)> {
        let path = ["bash", "coreutils", "patchelf", "pyenv-guix"]
            .map(|spec| format!("{}/bin", self.item(spec).display()))
            .join(":");
        let mut env: Vec<(OsString, OsString)> = s
            .env()
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.to_str(),
                    Some("PATH" | "PYENV_GUIX_GUIX" | "GUIX_STAND_IN_STORE")
                )
            })
            .collect();
        env.push(("PATH".into(), path.into()));
        env.push((
            "PYENV_GUIX_GUIX".into(),
            self.item("guix").join("bin/guix").into(),
        ));
        env.push(("GUIX_STAND_IN_STORE".into(), "/gnu/store".into()));
        env.push((
            "LOCPATH".into(),
            self.item("glibc").join("lib/locale").into(),
        ));
        env.push(("GUIX_STAND_IN_ITEMS".into(), s.path("guixbed-items").into()));
        env
    }

    /// The bwrap command for `argv`, to add to or spawn.
    pub fn command(&self, s: &Sandbox, cwd: &Path, argv: &[&str], env: &[(&str, &str)]) -> Command {
        self.enter(s);
        let mut c = Command::new("bwrap");
        c.args([
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
        ]);
        c.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        // The store is the sandbox's own (profiles are written there); the
        // bed's items are bound into it read-only.
        c.arg("--bind").arg(s.path("gnu/store")).arg("/gnu/store");
        for item in self.host.values() {
            c.arg("--ro-bind")
                .arg(item)
                .arg(Path::new("/gnu/store").join(item.file_name().unwrap()));
        }
        c.arg("--bind").arg(s.dir.path()).arg(s.dir.path());
        c.arg("--ro-bind")
            .arg(s.path("guix-settings"))
            .arg(SETTINGS_INSIDE);
        c.arg("--chdir").arg(cwd).arg("--clearenv");
        let mut vars: BTreeMap<OsString, OsString> = self.env(s).into_iter().collect();
        for (k, v) in env {
            vars.insert(k.into(), v.into());
        }
        for (k, v) in vars {
            c.arg("--setenv").arg(k).arg(v);
        }
        c.arg("--").args(argv);
        c.env_clear();
        c
    }

    /// Make `s` ready for the bed: its store directory, the list of items
    /// the stand-in resolves packages to, and the stand-in's settings.
    fn enter(&self, s: &Sandbox) {
        let list = s.path("guixbed-items");
        if list.exists() {
            return;
        }
        std::fs::create_dir_all(s.path("gnu/store")).unwrap();
        let mut text = String::new();
        for spec in self.host.keys() {
            text.push_str(&format!("{spec} {}\n", self.item(spec).display()));
        }
        std::fs::write(&list, text).unwrap();
        // Later lines of the settings win: inside, the store is /gnu/store.
        s.stand_in_setting("GUIX_STAND_IN_STORE", Path::new("/gnu/store"));
        s.stand_in_setting("GUIX_STAND_IN_ITEMS", &list);
    }

    fn build() -> Bed {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guixbed");
        std::fs::create_dir_all(&root).unwrap();
        let lock = std::fs::File::create(root.join("lock")).unwrap();
        lock.lock().expect("lock the bed");
        let base_key = base_key();
        let base = cached(&root, &format!("base-{base_key}"), |store| {
            let mut b = Builder::new(store);
            b.base();
            b.built
        });
        let top_key = hex(&sha256(
            format!(
                "{base_key}\0{}\0{}",
                stat_key(&bin()),
                hex(&sha256(&std::fs::read(stand_in()).unwrap()))
            )
            .as_bytes(),
        ))[..16]
            .to_string();
        let top = cached(&root, &format!("top-{top_key}"), |store| {
            let mut b = Builder::new(store);
            b.built = base.clone();
            b.top();
            b.built.retain(|k, _| !base.contains_key(k));
            b.built
        });
        prune(&root, &format!("top-{top_key}"));
        drop(lock);
        let mut host = base;
        host.extend(top);
        Bed { host }
    }
}

/// Whether a missing tool fails the test instead of skipping it (CI).
fn required() -> bool {
    std::env::var_os("PYENV_GUIX_REQUIRE_TOOLS").is_some_and(|v| v == "1")
        || std::env::var_os("CI").is_some_and(|v| v == "true")
}

/// Why the bed cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    for tool in ["bwrap", "patchelf"] {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!(
                "{tool} is not installed (Debian: bubblewrap, patchelf)"
            ));
        }
    }
    if !Path::new(PYENV_PYTHON).join("bin").join(PY).is_file() {
        return Some(format!("{PYENV_PYTHON} (pyenv's Python 3.11.7) is missing"));
    }
    let ns = Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "--unshare-pid", "true"])
        .output();
    match ns {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "bwrap cannot make a sandbox here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("bwrap cannot run: {e}")),
    }
}

/// A directory `root/NAME/store` made by `make` (given the store to fill,
/// returning spec -> item), or the one made before. Items are recorded in
/// `NAME/items` as "SPEC ITEM-NAME" lines; the directory appears whole.
fn cached(
    root: &Path,
    name: &str,
    make: impl FnOnce(&Path) -> BTreeMap<String, PathBuf>,
) -> BTreeMap<String, PathBuf> {
    let dir = root.join(name);
    if !dir.join("items").is_file() {
        let tmp = root.join(format!("{name}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("store")).unwrap();
        let items = make(&tmp.join("store"));
        let mut text = String::new();
        for (spec, path) in &items {
            let item = path.file_name().unwrap().to_string_lossy();
            text.push_str(&format!("{spec} {item}\n"));
        }
        std::fs::write(tmp.join("items"), text).unwrap();
        std::fs::rename(&tmp, &dir).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("items")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(spec, item)| (spec.to_string(), dir.join("store").join(item)))
        .collect()
}

/// Old `top-*` beds (each holds a copy of the binary under test): removed
/// once nobody can still be using them.
fn prune(root: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|d| d.as_secs() > 3600));
        if name.starts_with("top-") && name != keep && old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// What the base items are made from: this file, the pyenv Python's tree
/// and the host's installed packages (by size and time, not read).
fn base_key() -> String {
    let mut h = Sha256::new();
    h.update(include_str!("guixbed.rs"));
    h.update(stat_key(Path::new("/var/lib/dpkg/status")));
    if let Some(uv) = super::uv_binary() {
        h.update(stat_key(&uv));
    }
    let mut stack = vec![PathBuf::from(PYENV_PYTHON)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            h.update(stat_key(&p));
            if p.is_dir() && !p.is_symlink() && !skipped_stdlib(&p) {
                stack.push(p);
            }
        }
    }
    hex(&h.finalize())[..16].to_string()
}

fn stat_key(p: &Path) -> String {
    match std::fs::symlink_metadata(p) {
        Ok(m) => format!(
            "{}:{}:{}:{}\n",
            p.display(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => format!("{}:-\n", p.display()),
    }
}

/// Parts of pyenv's tree the Python item leaves out: tests, Tk, the
/// static library, and the host's own site-packages (pip is taken alone).
fn skipped_stdlib(p: &Path) -> bool {
    let lib = Path::new(PYENV_PYTHON).join("lib").join(PY);
    [
        "test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "config-3.11-x86_64-linux-gnu",
        "site-packages",
    ]
    .iter()
    .any(|d| p == lib.join(d))
        || p.file_name()
            .is_some_and(|n| n == "__pycache__" && p.starts_with(lib.join("lib2to3/tests")))
}

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A store name's hash part as Guix (and Nix) print it: the SHA-256 folded
/// to 160 bits, in base32 with Guix's alphabet, last bits first.
fn store_hash(digest: &[u8]) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let mut folded = [0u8; 20];
    for (i, b) in digest.iter().enumerate() {
        folded[i % 20] ^= b;
    }
    (0..32)
        .rev()
        .map(|n| {
            let bit = n * 5;
            let (i, j) = (bit / 8, bit % 8);
            let low = folded[i] >> j;
            let high = if i + 1 < 20 {
                (folded[i + 1] as u16) << (8 - j)
            } else {
                0
            };
            ALPHABET[((low as u16 | high) & 0x1f) as usize] as char
        })
        .collect()
}

/// What goes into an item: files copied from the host, text written here
/// (`@SELF@` stands for the item's own store path), links.
enum Entry {
    Copy(PathBuf),
    Text(String, u32),
    Link(String),
}

struct Builder {
    store: PathBuf,
    /// spec -> item directory on the host.
    built: BTreeMap<String, PathBuf>,
    versions: BTreeMap<String, String>,
}

impl Builder {
    fn new(store: &Path) -> Builder {
        Builder {
            store: store.to_path_buf(),
            built: BTreeMap::new(),
            versions: BTreeMap::new(),
        }
    }

    fn store_name(&self, spec: &str) -> String {
        self.built[spec]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    fn base(&mut self) {
        let debian: BTreeSet<&str> = LIBRARIES.iter().map(|(_, _, deb)| *deb).collect();
        self.versions =
            debian_versions(debian.into_iter().chain(["bash", "coreutils", "patchelf"]));
        for (_, spec, _) in LIBRARIES {
            self.library_item(spec);
        }
        for (name, version, files) in FAKE_LIBRARIES {
            self.fake_library_item(name, version, files);
        }
        self.gcc_toolchain_item();
        let v = self.versions["bash"].clone();
        self.programs_item("bash", &v, &[PathBuf::from("/bin/bash")]);
        let v = self.versions["coreutils"].clone();
        let progs: Vec<PathBuf> = COREUTILS
            .iter()
            .map(|p| Path::new("/bin").join(p))
            .collect();
        self.programs_item("coreutils", &v, &progs);
        let v = self.versions["patchelf"].clone();
        self.programs_item("patchelf", &v, &[PathBuf::from("/usr/bin/patchelf")]);
        self.python_item();
        self.uv_item();
    }

    /// Guix's uv: the host's binary (PyPI's, as pip installs it) linked to
    /// the store, when the host has one.
    fn uv_item(&mut self) {
        let Some(uv) = super::uv_binary() else { return };
        let out = Command::new(&uv)
            .arg("--version")
            .output()
            .expect("uv runs");
        let said = String::from_utf8_lossy(&out.stdout);
        let version = said.split_whitespace().nth(1).unwrap_or("0").to_string();
        self.programs_item("uv", &version, &[uv]);
    }

    /// The binary under test and the stand-in `guix`: they change often,
    /// so they are kept apart from the base.
    fn top(&mut self) {
        let v = env!("CARGO_PKG_VERSION");
        self.programs_item("pyenv-guix", v, &[bin()]);
        let script = format!(
            "#!{bash}/bin/bash\n\
             # The stand-in for guix, run by the store's Python.\n\
             . {SETTINGS_INSIDE}\n\
             exec {python}/bin/{PY} @SELF@/share/guix/stand-in \"$@\"\n",
            bash = self.inside("bash"),
            python = self.inside("python"),
        );
        let entries = vec![
            ("bin/guix".to_string(), Entry::Text(script, 0o555)),
            ("share/guix/stand-in".to_string(), Entry::Copy(stand_in())),
        ];
        self.make("guix", "guix-1.4.0-stand-in", entries, &BTreeSet::new());
    }

    fn inside(&self, spec: &str) -> String {
        format!("/gnu/store/{}", self.store_name(spec))
    }

    /// The item of `spec` from LIBRARIES: every library the table gives it.
    fn library_item(&mut self, spec: &str) {
        if self.built.contains_key(spec) {
            return;
        }
        let (name, output) = spec.split_once(':').unwrap_or((spec, ""));
        let rows: Vec<_> = LIBRARIES.iter().filter(|(_, s, _)| *s == spec).collect();
        let version = clean_version(&self.versions[rows[0].2]);
        let mut entries = Vec::new();
        for (soname, _, _) in rows {
            let found = [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
            ]
            .iter()
            .map(|d| Path::new(d).join(soname))
            .find(|p| p.exists());
            if let Some(p) = found {
                entries.push((format!("lib/{soname}"), Entry::Copy(p)));
            }
        }
        // Guix's glibc finds locales through GUIX_LOCPATH; Debian's reads
        // LOCPATH: C.UTF-8 from the item, so no shell warns.
        let locale = Path::new("/usr/lib/locale/C.utf8");
        if name == "glibc" && locale.is_dir() {
            let mut files = Vec::new();
            walk(locale, &mut files, &|_| false);
            for f in files {
                let rel = f.strip_prefix(locale).unwrap().display().to_string();
                entries.push((format!("lib/locale/C.utf8/{rel}"), Entry::Copy(f)));
            }
        }
        let base = if output.is_empty() {
            format!("{name}-{version}")
        } else {
            format!("{name}-{version}-{output}")
        };
        // glibc is the loader's own: its files are left as they are.
        let deps = if name == "glibc" {
            BTreeSet::new()
        } else {
            self.elf_deps(&entries).expect("libraries map to items")
        };
        self.make(spec, &base, entries, &deps);
    }

    fn fake_library_item(&mut self, name: &str, version: &str, files: &[&str]) {
        // Empty shared objects with the right names: enough for a program
        // that looks libraries up by name, and no more.
        let dir = self.store.join(format!(".fake-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("empty.c");
        std::fs::write(&src, "int guixbed_fake_library;\n").unwrap();
        let mut entries = Vec::new();
        for f in files {
            let out = dir.join(f);
            let made = Command::new("gcc")
                .args(["-shared", "-fPIC", "-nostdlib"])
                .arg(format!("-Wl,-soname,{f}"))
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .status()
                .expect("gcc runs");
            assert!(made.success(), "gcc made {f}");
            entries.push((format!("lib/{f}"), Entry::Copy(out)));
        }
        self.make(
            name,
            &format!("{name}-{version}"),
            entries,
            &BTreeSet::new(),
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Guix's gcc-toolchain: a union whose lib/ links into gcc's `lib`
    /// output and glibc (commencement.scm make-gcc-toolchain), so a
    /// library found through it resolves to the gcc-...-lib item.
    fn gcc_toolchain_item(&mut self) {
        let version = clean_version(&self.versions["libstdc++6"]);
        let mut entries = Vec::new();
        for spec in ["gcc:lib", "glibc"] {
            let item = self.inside(spec);
            for (soname, _, _) in LIBRARIES.iter().filter(|(_, s, _)| *s == spec) {
                if self.built[spec].join("lib").join(soname).exists() {
                    let target = format!("{item}/lib/{soname}");
                    entries.push((format!("lib/{soname}"), Entry::Link(target)));
                }
            }
        }
        let base = format!("gcc-toolchain-{version}");
        self.make("gcc-toolchain", &base, entries, &BTreeSet::new());
    }

    /// Host programs in bin/, linked to the store's libraries.
    fn programs_item(&mut self, name: &str, version: &str, programs: &[PathBuf]) {
        let version = clean_version(version);
        let entries: Vec<(String, Entry)> = programs
            .iter()
            .map(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                (format!("bin/{n}"), Entry::Copy(p.clone()))
            })
            .collect();
        let deps = self
            .elf_deps(&entries)
            .unwrap_or_else(|soname| panic!("{name}: {soname} has no item in the bed's table"));
        self.make(name, &format!("{name}-{version}"), entries, &deps);
    }

    /// pyenv's Python 3.11.7 as Guix's python: interpreter, libpython, the
    /// standard library with the lib-dynload modules whose libraries the
    /// store has (others, such as Tk's, are left out), pip, and Guix's
    /// sitecustomize.py.
    fn python_item(&mut self) {
        let src = Path::new(PYENV_PYTHON);
        let lib = format!("lib/{PY}");
        let mut entries = vec![
            (format!("bin/{PY}"), Entry::Copy(src.join("bin").join(PY))),
            ("bin/python3".into(), Entry::Link(PY.into())),
            ("bin/python".into(), Entry::Link(PY.into())),
            (
                "lib/libpython3.11.so.1.0".into(),
                Entry::Copy(src.join("lib/libpython3.11.so.1.0")),
            ),
            (
                "lib/libpython3.11.so".into(),
                Entry::Link("libpython3.11.so.1.0".into()),
            ),
            (
                "bin/pip3".into(),
                Entry::Text(
                    format!(
                        "#!@SELF@/bin/{PY}\nimport sys\nfrom pip._internal.cli.main import main\n\
                         if __name__ == '__main__':\n    sys.exit(main())\n"
                    ),
                    0o555,
                ),
            ),
            ("bin/pip".into(), Entry::Link("pip3".into())),
            (
                format!("{lib}/site-packages/sitecustomize.py"),
                Entry::Text(SITECUSTOMIZE.into(), 0o444),
            ),
        ];
        let stdlib = src.join(&lib);
        let mut files = Vec::new();
        walk(&stdlib, &mut files, &skipped_stdlib);
        let site = stdlib.join("site-packages");
        for entry in std::fs::read_dir(&site).unwrap().flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            if n == "pip" || (n.starts_with("pip-") && n.ends_with(".dist-info")) {
                walk(&entry.path(), &mut files, &|_| false);
            }
        }
        for f in files {
            let rel = format!("{lib}/{}", f.strip_prefix(&stdlib).unwrap().display());
            let entry = match std::fs::read_link(&f) {
                Ok(target) => Entry::Link(target.to_string_lossy().into_owned()),
                Err(_) => Entry::Copy(f.clone()),
            };
            // A module whose libraries the store lacks stays out, as a
            // Python built without them would lack it.
            if f.starts_with(stdlib.join("lib-dynload"))
                && self
                    .elf_deps(&[(rel.clone(), Entry::Copy(f.clone()))])
                    .is_err()
            {
                continue;
            }
            entries.push((rel, entry));
        }
        let deps = self.elf_deps(&entries).expect("checked above");
        self.make("python", "python-3.11.7", entries, &deps);
    }

    /// The items the ELF files among `entries` need (built first), or the
    /// first soname that no item provides.
    fn elf_deps(&mut self, entries: &[(String, Entry)]) -> Result<BTreeSet<String>, String> {
        let own: BTreeSet<String> = entries
            .iter()
            .map(|(rel, _)| rel.rsplit('/').next().unwrap().to_string())
            .collect();
        let mut specs = BTreeSet::new();
        for (_, e) in entries {
            let Entry::Copy(src) = e else { continue };
            if !is_elf(src) {
                continue;
            }
            for soname in ldd(src)? {
                if own.contains(&soname) || soname == "linux-vdso.so.1" {
                    continue;
                }
                let Some((_, spec, _)) = LIBRARIES.iter().find(|(s, _, _)| *s == soname) else {
                    return Err(soname);
                };
                specs.insert(spec.to_string());
            }
        }
        for spec in &specs {
            self.library_item(spec);
        }
        Ok(specs)
    }

    /// Put an item together: name it from its content and its dependencies,
    /// copy, point every ELF file at the store, rename into place.
    fn make(
        &mut self,
        spec: &str,
        base: &str,
        entries: Vec<(String, Entry)>,
        deps: &BTreeSet<String>,
    ) {
        let mut h = Sha256::new();
        h.update(base);
        for (rel, e) in &entries {
            h.update(format!("\0{rel}\0"));
            match e {
                Entry::Copy(p) => h.update(std::fs::read(p).unwrap()),
                Entry::Text(t, mode) => h.update(format!("{mode}:{t}")),
                Entry::Link(t) => h.update(format!("-> {t}")),
            }
        }
        for d in deps.iter().map(|d| self.store_name(d)) {
            h.update(format!("\0dep {d}"));
        }
        let name = format!("{}-{base}", store_hash(&h.finalize()));
        let inside = format!("/gnu/store/{name}");
        let final_dir = self.store.join(&name);
        let tmp = self.store.join(format!(".tmp-{name}"));
        let _ = std::fs::remove_dir_all(&tmp);
        let mut rpath: Vec<String> = deps
            .iter()
            .map(|d| format!("/gnu/store/{}/lib", self.store_name(d)))
            .collect();
        if entries
            .iter()
            .any(|(rel, _)| rel.starts_with("lib/") && rel.contains(".so"))
        {
            rpath.insert(0, format!("{inside}/lib"));
        }
        let loader = self.built.get("glibc").map(|_| {
            format!(
                "/gnu/store/{}/lib/ld-linux-x86-64.so.2",
                self.store_name("glibc")
            )
        });
        for (rel, e) in &entries {
            let dest = tmp.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            match e {
                Entry::Link(t) => std::os::unix::fs::symlink(t, &dest).unwrap(),
                Entry::Text(t, mode) => {
                    std::fs::write(&dest, t.replace("@SELF@", &inside)).unwrap();
                    std::fs::set_permissions(&dest, PermissionsExt::from_mode(*mode)).unwrap();
                }
                Entry::Copy(src) => {
                    // A new file, never a link to the host's: patchelf
                    // writes it in place.
                    std::fs::copy(src, &dest).unwrap();
                    let mut perms = std::fs::metadata(&dest).unwrap().permissions();
                    perms.set_mode(perms.mode() | 0o200);
                    std::fs::set_permissions(&dest, perms).unwrap();
                    if spec != "glibc" && is_elf(&dest) {
                        patch(&dest, &rpath, loader.as_deref());
                    }
                }
            }
        }
        std::fs::create_dir_all(&tmp).unwrap();
        if !final_dir.exists() {
            std::fs::rename(&tmp, &final_dir).unwrap();
        }
        self.built.insert(spec.to_string(), final_dir);
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, skip: &dyn Fn(&Path) -> bool) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if skip(&p) {
            continue;
        }
        if p.is_dir() && !p.is_symlink() {
            walk(&p, out, skip);
        } else {
            out.push(p);
        }
    }
}

fn is_elf(p: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| &head == b"\x7fELF")
}

/// The sonames `p` loads (its whole closure), as the host's loader finds
/// them; a library the host lacks is an error naming it.
fn ldd(p: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("ldd").arg(p).output().expect("ldd runs");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("statically linked") || text.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if line.contains("not found") {
            return Err(first.to_string());
        }
        let soname = first.rsplit('/').next().unwrap_or(first);
        if !soname.is_empty() {
            found.push(soname.to_string());
        }
    }
    Ok(found)
}

fn patch(file: &Path, rpath: &[String], loader: Option<&str>) {
    let mut c = Command::new("patchelf");
    // Programs get the store's loader; libraries have none to change.
    let has_interp = Command::new("patchelf")
        .arg("--print-interpreter")
        .arg(file)
        .output()
        .is_ok_and(|o| o.status.success());
    if let (true, Some(loader)) = (has_interp, loader) {
        c.args(["--set-interpreter", loader]);
    }
    c.args(["--set-rpath", &rpath.join(":")]).arg(file);
    let out = c.output().expect("patchelf runs");
    assert!(
        out.status.success(),
        "patchelf {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian package -> version, in one query.
fn debian_versions<'a>(packages: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${Version}\n"])
        .args(packages)
        .output()
        .expect("dpkg-query runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .collect()
}

/// A Debian version as upstream's: "1:1.2.13.dfsg-1" -> "1.2.13".
fn clean_version(v: &str) -> String {
    let v = v.split_once(':').map_or(v, |(_, rest)| rest);
    let v = v.split(['-', '+', '~']).next().unwrap_or(v);
    v.trim_end_matches(".dfsg").to_string()
}
