//! What a command works with, gathered once at the edge (`commands/`) and
//! passed down: the shell's directory, its environment, and where
//! pyenv-guix keeps things. Nothing below the commands reads the process
//! environment itself, so every part of one run sees the same values.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::cache::Cache;

mod pip_cert;

pub struct Context {
    /// The directory the command is about (the shell's, or `-C`/PATH).
    pub dir: PathBuf,
    env: BTreeMap<OsString, OsString>,
    /// Trust records (`PYENV_GUIX_DATA_DIR`, else `$XDG_DATA_HOME/pyenv-guix`).
    pub data_dir: PathBuf,
    /// Built things and stamps (`PYENV_GUIX_CACHE_DIR`, else `$XDG_CACHE_HOME/pyenv-guix`).
    pub cache: Cache,
    /// The state key, once read.
    state_key: std::cell::OnceCell<Vec<u8>>,
    /// The environment the user had before any project changed it, once
    /// worked out: what builds start from.
    user_env: std::cell::OnceCell<BTreeMap<OsString, OsString>>,
    /// How that environment is worked out: by undoing what the carried
    /// state records, which is activation's job. The edge hands it in, so
    /// that this module, which every other uses, uses none of them.
    user_env_from: UserEnvFrom,
    /// Run by the hook at a prompt (`export`): builds never wait for
    /// another shell's.
    pub at_prompt: bool,
    /// The shell came into `dir` since its last prompt.
    pub entered: bool,
    /// Builds happen in a process of their own, in the background: a
    /// prompt's `export` for a shell, unless `PYENV_GUIX_BUILD=foreground`.
    pub background: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read the current directory: {0}")]
    Cwd(std::io::Error),
    #[error("{var} is a relative path ({}): it must be absolute, or it would move with every cd", path.display())]
    Relative { var: String, path: PathBuf },
    #[error("no home directory (HOME is unset): set HOME, or {0}, to a directory of your own")]
    NoHome(String),
    #[error("refusing {}: {why}; it must be a directory of yours that no one else can write to", path.display())]
    NotOwn { path: PathBuf, why: String },
    #[error(
        "refusing the cache directory {}: its name holds `:`, which would split the PATH and PYTHONPATH entries made under it; set PYENV_GUIX_CACHE_DIR to a directory without one",
        .0.display()
    )]
    SplitsPaths(PathBuf),
}

/// `dir`, if it exists, belongs to this user and no one else can write
/// to it; if it does not, it is made so.
fn own_place(dir: &Path) -> Result<(), ContextError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let refuse = |why: String| ContextError::NotOwn {
        path: dir.to_path_buf(),
        why,
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| refuse(format!("cannot create it: {e}")));
        }
        Err(e) => return Err(refuse(e.to_string())),
    };
    // A symlink is judged by what it points at.
    let meta = if meta.file_type().is_symlink() {
        std::fs::metadata(dir).map_err(|e| refuse(e.to_string()))?
    } else {
        meta
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() {
        return Err(refuse("not a directory".into()));
    }
    if meta.uid() != me {
        return Err(refuse(format!("it belongs to user {}", meta.uid())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "others can write to it (mode {:o})",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// Variables a build may see: what pip, venv, uv and guix need to run,
/// reach an index and print, and nothing that changes what they resolve or
/// where they install (no `PYTHON*`, `PIP_*`, `VIRTUAL_ENV`,
/// `PYENV_VERSION`, `GUIX_PACKAGE_PATH`, `GUILE_LOAD_PATH`,
/// `GUIX_BUILD_OPTIONS`). Their values are the user's, from before any
/// project: a project's `[env]` reaches no build.
const BUILD_VARS: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TMPDIR",
    "TZ",
    "PYENV_ROOT",
    // The installers' own caches where the user keeps them: builds share
    // what `uv` and `pip` by hand have fetched and unpacked (by hash).
    "XDG_CACHE_HOME",
    "UV_CACHE_DIR",
    "PIP_CACHE_DIR",
    "GUIX_LOCPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    // A TLS-inspecting proxy's CA, for pip (and its build environments,
    // which inherit these) and for requests.
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

/// What guix sees besides `BUILD_VARS`: where it keeps its own things,
/// and which daemon to ask. Nothing that decides what it builds.
const GUIX_VARS: &[&str] = &[
    "XDG_CONFIG_HOME",
    "GUIX_DAEMON_SOCKET",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
];

/// Works out, from a context, the environment the user had before any
/// project changed it.
pub type UserEnvFrom = fn(&Context) -> BTreeMap<OsString, OsString>;

impl Context {
    /// This process's environment, about the shell's directory.
    pub fn from_process(user_env_from: UserEnvFrom) -> Result<Context, ContextError> {
        let env: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
        let dir =
            shell_dir(env.get(OsStr::new("PWD")).map(PathBuf::from)).map_err(ContextError::Cwd)?;
        Context::new(dir, env, user_env_from)
    }

    /// The data and cache directories come from `PYENV_GUIX_*_DIR`, else
    /// XDG, else the home directory; never a shared place. Each must be the
    /// user's own and writable by no one else, as ssh demands of a key: a
    /// trust record or a state key there decides what runs.
    pub fn new(
        dir: PathBuf,
        env: BTreeMap<OsString, OsString>,
        user_env_from: UserEnvFrom,
    ) -> Result<Context, ContextError> {
        let get = |var: &str| env.get(OsStr::new(var)).filter(|v| !v.is_empty());
        let home = get("HOME").map(PathBuf::from).filter(|h| h.is_absolute());
        let place = |var: &str, xdg: &str, under_home: &str| -> Result<PathBuf, ContextError> {
            if let Some(v) = get(var) {
                let p = PathBuf::from(v);
                if !p.is_absolute() {
                    return Err(ContextError::Relative {
                        var: var.to_string(),
                        path: p,
                    });
                }
                return Ok(p);
            }
            let base = get(xdg)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| home.as_ref().map(|h| h.join(under_home)))
                .ok_or_else(|| ContextError::NoHome(var.to_string()))?;
            Ok(base.join("pyenv-guix"))
        };
        let data_dir = place("PYENV_GUIX_DATA_DIR", "XDG_DATA_HOME", ".local/share")?;
        let cache_dir = place("PYENV_GUIX_CACHE_DIR", "XDG_CACHE_HOME", ".cache")?;
        if cache_dir.as_os_str().as_bytes().contains(&b':') {
            return Err(ContextError::SplitsPaths(cache_dir));
        }
        for d in [&data_dir, &cache_dir] {
            own_place(d)?;
        }
        Ok(Context {
            dir,
            env,
            data_dir,
            cache: Cache::new(cache_dir),
            state_key: std::cell::OnceCell::new(),
            user_env: std::cell::OnceCell::new(),
            user_env_from,
            at_prompt: false,
            entered: false,
            background: false,
        })
    }

    /// How a build may go in this run; `force` for `rebuild`.
    pub fn how(&self, force: bool) -> crate::buildlock::How {
        crate::buildlock::How {
            force,
            at_prompt: self.at_prompt,
            // A command run on purpose retries what Ctrl-C stopped.
            entered: self.entered || !self.at_prompt,
            background: self.background,
        }
    }

    /// The same environment, about another directory.
    pub fn at(&self, dir: PathBuf) -> Context {
        Context {
            dir,
            env: self.env.clone(),
            data_dir: self.data_dir.clone(),
            cache: self.cache.clone(),
            state_key: self.state_key.clone(),
            user_env: self.user_env.clone(),
            user_env_from: self.user_env_from,
            at_prompt: self.at_prompt,
            entered: self.entered,
            background: self.background,
        }
    }

    /// The same places about `dir`, as a shell outside any project would
    /// see it with `path` as its PATH: what `watch` builds with.
    pub fn outside_projects(&self, dir: PathBuf, path: Option<&OsStr>) -> Context {
        let mut env = self.env.clone();
        env.remove(OsStr::new(crate::state::VAR));
        match path {
            Some(p) => env.insert("PATH".into(), p.to_os_string()),
            None => env.remove(OsStr::new("PATH")),
        };
        Context {
            env,
            user_env: std::cell::OnceCell::new(),
            ..self.at(dir)
        }
    }

    /// The per-user key that authenticates `PYENV_GUIX_STATE`: 32 random
    /// bytes in the data directory, made on first use, the user's alone. A
    /// state made without it (by a project, a script, another user) is
    /// never believed.
    pub fn state_key(&self) -> std::io::Result<&[u8]> {
        if let Some(key) = self.state_key.get() {
            return Ok(key);
        }
        let key = read_or_make_key(&self.data_dir.join("state-key"))?;
        Ok(self.state_key.get_or_init(|| key))
    }

    /// The state this context's shell carries, if any: `Err` when it is
    /// not one this user's pyenv-guix wrote (or the key cannot be read).
    pub fn carried_state(&self) -> Option<Result<crate::state::State, crate::state::Corrupt>> {
        // An empty one (`PYENV_GUIX_STATE=` in a script) is none.
        let raw = self.var(crate::state::VAR).filter(|r| !r.is_empty())?;
        Some(match self.state_key() {
            Ok(key) => crate::state::State::decode(&raw, key),
            Err(_) => Err(crate::state::Corrupt),
        })
    }

    /// Every variable, for our own build process, which works out the
    /// rest itself.
    pub fn vars(&self) -> impl Iterator<Item = (&OsString, &OsString)> {
        self.env.iter()
    }

    /// A variable as the user had it before any project changed it.
    pub fn user_var(&self, name: &str) -> Option<OsString> {
        self.user_env
            .get_or_init(|| (self.user_env_from)(self))
            .get(OsStr::new(name))
            .cloned()
    }

    /// The whole environment as the user had it before any project changed
    /// it: what a tool the user would run by hand (`uv lock`) runs with.
    pub fn user_env(&self) -> Vec<(OsString, OsString)> {
        let env = self.user_env.get_or_init(|| (self.user_env_from)(self));
        env.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The environment guix runs with: the user's own, allow-listed.
    pub fn guix_env(&self, path: Option<&OsStr>) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = BUILD_VARS
            .iter()
            .chain(GUIX_VARS)
            .filter_map(|name| self.user_var(name).map(|v| (OsString::from(name), v)))
            .collect();
        if let Some(path) = path {
            env.push(("PATH".into(), path.to_os_string()));
        }
        env
    }

    pub fn var(&self, name: &str) -> Option<OsString> {
        self.env.get(OsStr::new(name)).cloned()
    }

    /// The guix command: `PYENV_GUIX_GUIX` (split as a shell would), else `guix`.
    pub fn guix_command(&self) -> Vec<String> {
        self.var("PYENV_GUIX_GUIX")
            .and_then(|v| v.into_string().ok())
            .and_then(|v| shell_words::split(&v).ok())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec!["guix".to_string()])
    }

    /// `$XDG_CONFIG_HOME`, else `~/.config`: where `guix pull` keeps its link.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| self.var("HOME").map(|h| PathBuf::from(h).join(".config")))
    }

    /// The environment pip, venv and the interpreter probe run with: the
    /// allowed variables from this one, `PATH` as given (the user's, before
    /// any project), pip's configuration files turned off, and `extra`.
    pub fn build_env(
        &self,
        path: Option<&OsStr>,
        extra: &[(String, OsString)],
    ) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = BUILD_VARS
            .iter()
            .filter_map(|name| self.user_var(name).map(|v| (OsString::from(name), v)))
            .collect();
        if let Some(path) = path {
            env.push(("PATH".into(), path.to_os_string()));
        }
        // pip's configuration would change what it resolves without being
        // in the key: builds read none (options go in [pip].options). Its
        // CA is the exception: it decides only whom pip trusts on the way.
        if self.user_var("PIP_CERT").is_none()
            && let Some(cert) = pip_cert::cert(&|name| self.user_var(name), self.config_dir())
        {
            env.push(("PIP_CERT".into(), cert));
        }
        env.push(("PIP_CONFIG_FILE".into(), "/dev/null".into()));
        env.extend(extra.iter().map(|(k, v)| (OsString::from(k), v.clone())));
        env
    }
}

fn read_or_make_key(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Write};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    match crate::fsutil::read_limited(path, 64) {
        Ok(key) if key.len() == 32 => {
            key_is_private(path)?;
            return Ok(key);
        }
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "{}: not a key of 32 bytes; remove it to make a new one",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key))?;
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&key)?;
    f.sync_all()?;
    // Another shell may have made one meanwhile: the first one stays.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => crate::fsutil::read_limited(path, 64),
        Err(e) => Err(e),
    }
}

/// The key is the user's alone, as ssh demands of a private key: one
/// others can read lets them forge a state the hook believes.
fn key_is_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let why = if !meta.is_file() {
        Some("it is not a regular file".to_string())
    } else if meta.uid() != me {
        Some(format!("it belongs to user {}", meta.uid()))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!(
            "others can read or write it (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "refusing the state key {}: {why}; `chmod 600` it, or remove it to make a new one",
                path.display()
            ),
        )),
    }
}

/// The shell's directory: `$PWD` when it really is the current directory (it
/// keeps the user's symlinked path), else the kernel's. A directory
/// deleted under the shell has no path: `$PWD` names where the shell was,
/// and a project that was there is gone, so it is unloaded, as direnv does.
fn shell_dir(pwd: Option<PathBuf>) -> std::io::Result<PathBuf> {
    if let Some(pwd) = &pwd
        && pwd.is_absolute()
        && same_file(pwd, Path::new("."))
    {
        return Ok(pwd.clone());
    }
    match std::env::current_dir() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(pwd
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| "/".into())),
        other => other,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
