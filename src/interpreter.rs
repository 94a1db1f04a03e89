//! The Python interpreter a project uses, and what makes it itself.
//!
//! Its identity is what the interpreter reports (never the PATH entry, which
//! may be a shim or a profile symlink); on Guix it is the interpreter's store
//! item, `/gnu/store/<hash>-python-X.Y.Z` (so a Guix Python and the same Python elsewhere are two interpreters). Facts are
//! asked once and cached, so entering a built project starts no Python.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{Bucket, Cache};
use crate::context::Context;
use crate::fsutil::hex;
use crate::state::Stamp;

#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error("Python interpreter `{0}` not found on PATH (set [python].interpreter)")]
    NotFound(String),
    #[error("cannot run the Python interpreter {}: {source}", path.display())]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Python interpreter {} failed to report itself: {message}", path.display())]
    Report { path: PathBuf, message: String },
    #[error("the Python interpreter {} is a pyenv shim: {source}", path.display())]
    Pyenv {
        path: PathBuf,
        source: crate::pyenv::PyenvError,
    },
}

/// What the interpreter says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The interpreter as located: the command to run.
    pub path: PathBuf,
    /// `sys.executable`, resolved.
    pub executable: PathBuf,
    /// `sys.version`, in full.
    pub version: String,
    /// `X.Y`
    pub version_short: String,
    /// `sys.implementation.cache_tag`, e.g. `cpython-311`.
    pub implementation: String,
    /// `sysconfig.get_platform()`
    pub platform: String,
    /// The Guix store item holding the interpreter, when it is in one.
    pub store_item: Option<PathBuf>,
    /// The located command is a script (a pyenv shim): what it ran is
    /// `executable`, and that is what builds and the project's `python` run,
    /// so they cannot resolve to another Python than the key names.
    #[serde(default)]
    pub script: bool,
}

impl Facts {
    /// The interpreter to run for this project.
    pub fn command(&self) -> &Path {
        if self.script {
            &self.executable
        } else {
            &self.path
        }
    }
}

impl Facts {
    /// The files whose change may make this interpreter (a pyenv shim) run
    /// another Python for the project at `root`: a shell that watches them
    /// notices `pyenv local` at its next prompt.
    pub fn chosen_by(&self, root: &Path) -> Vec<PathBuf> {
        crate::pyenv::Shim::at(&self.path)
            .map(|shim| shim.chosen_by(root))
            .unwrap_or_default()
    }

    /// The part of the prefix key that names the interpreter.
    pub fn identity(&self) -> String {
        match &self.store_item {
            Some(item) => format!("store {}", crate::fsutil::exact(item)),
            None => format!(
                "executable {}\nversion {}\nimplementation {}\nplatform {}",
                crate::fsutil::exact(&self.executable),
                self.version.replace('\n', " "),
                self.implementation,
                self.platform
            ),
        }
    }
}

const REPORT: &str = "import json, os, sys, sysconfig\n\
print(json.dumps({'executable': os.path.realpath(sys.executable), 'version': sys.version, \
'version_short': '%d.%d' % sys.version_info[:2], 'implementation': sys.implementation.cache_tag, \
'platform': sysconfig.get_platform()}))";

#[derive(Deserialize)]
struct SelfReport {
    executable: PathBuf,
    version: String,
    version_short: String,
    implementation: String,
    platform: String,
}

/// `command` as the shell would find it on `path` (the PATH the user had
/// before the project changed it); with a slash, relative to `root`.
pub fn locate(
    command: &str,
    path: Option<&OsStr>,
    root: &Path,
) -> Result<PathBuf, InterpreterError> {
    crate::fsutil::find_program(OsStr::new(command), path, root)
        .ok_or_else(|| InterpreterError::NotFound(command.to_string()))
}

#[derive(Serialize, Deserialize)]
struct CachedFacts {
    link: Stamp,
    target: Stamp,
    facts: Facts,
}

/// The facts of the interpreter at `path` for the project at `root`, in a
/// build's clean environment with the user's `PATH` from before any
/// project.
///
/// A pyenv shim answers for the project's `.python-version`, as it does in
/// the user's shell there: the Python it runs is asked of pyenv (cached
/// while nothing pyenv reads changes, see `pyenv`), then asked who it is.
pub fn facts(
    ctx: &Context,
    path: &Path,
    root: &Path,
    user_path: Option<&OsStr>,
) -> Result<Facts, InterpreterError> {
    let env = ctx.build_env(user_path, &[]);
    let Some(shim) = crate::pyenv::Shim::at(path) else {
        return facts_of(ctx, path, &env);
    };
    let runs = shim
        .which(&ctx.cache, root, &env)
        .map_err(|source| InterpreterError::Pyenv {
            path: path.to_path_buf(),
            source,
        })?;
    let mut facts = facts_of(ctx, &runs, &env)?;
    facts.path = path.to_path_buf();
    facts.script = true;
    Ok(facts)
}

/// The facts of the interpreter at `path`, from the cache when the file is
/// unchanged. Another script may run a different Python each time, so its
/// answer is never cached.
fn facts_of(
    ctx: &Context,
    path: &Path,
    env: &[(OsString, OsString)],
) -> Result<Facts, InterpreterError> {
    let cache_file = ctx.cache.entry(
        Bucket::Interpreters,
        hex(&Sha256::digest(path.as_os_str().as_bytes())),
    );
    let (link, target) = (Stamp::of_link(path), Stamp::of(path));
    if let Ok(bytes) = std::fs::read(&cache_file)
        && let Ok(c) = serde_json::from_slice::<CachedFacts>(&bytes)
        && c.link == link
        && c.target == target
    {
        return Ok(c.facts);
    }
    let facts = ask(path, env)?;
    if !facts.script {
        let cached = CachedFacts {
            link,
            target,
            facts: facts.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            // A cache that cannot be written only costs a Python start next time.
            let _ = crate::fsutil::write_atomic(&cache_file, &bytes);
        }
    }
    Ok(facts)
}

/// Run the interpreter isolated (`-I`: no script directory, no user site,
/// no `PYTHON*` variable) in `/`: nothing in a project, or in a
/// `PYTHONPATH` one set, is imported while it reports.
fn ask(path: &Path, env: &[(OsString, OsString)]) -> Result<Facts, InterpreterError> {
    crate::log::debug(&format!("asking {} who it is", path.display()));
    let out = Command::new(path)
        .args(["-I", "-c", REPORT])
        .current_dir("/")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| InterpreterError::Run {
            path: path.to_path_buf(),
            source,
        })?;
    let report = |message: String| InterpreterError::Report {
        path: path.to_path_buf(),
        message,
    };
    if !out.status.success() {
        return Err(report(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let r: SelfReport = serde_json::from_slice(&out.stdout).map_err(|e| report(e.to_string()))?;
    Ok(Facts {
        path: path.to_path_buf(),
        store_item: store_item(path).or_else(|| store_item(&r.executable)),
        script: crate::fsutil::is_script(path),
        executable: r.executable,
        version: r.version,
        version_short: r.version_short,
        implementation: r.implementation,
        platform: r.platform,
    })
}

/// How `pip` in a project's PATH runs the interpreter's pip: as `-m pip`
/// would, but without the directory the user is in on `sys.path` (`-m`
/// puts it first, so a `pip.py` in a project would run instead). `-P` does
/// that from 3.11 only; a `PYTHONSAFEPATH` already left it out.
///
/// In prefix and user modes, the interpreter's own packages are every
/// project's on that Python: `pip install` or `uninstall` there would
/// change them for all, outside any manifest, so it is refused, and says
/// what to do instead.
const PIP_MAIN: &str = r#"import sys
sys.path[:1] == [''] and sys.path.pop(0)
try:
    # The subcommand as pip itself reads it, past its general options
    # and their values (`--cache-dir DIR install`).
    from pip._internal.cli.main_parser import parse_command
    command = parse_command(sys.argv[1:])[0]
except BaseException:
    command = next((a for a in sys.argv[1:] if a in ('install', 'uninstall')), None)
if command in ('install', 'uninstall'):
    sys.stderr.write(
        'pyenv-guix: `pip %s` would change %s, whose packages every project on'
        ' this Python shares: add the requirement with `pyenv-guix edit`'
        ' ([pip].packages), or set [pip].mode = "venv" for a pip of the'
        " project's own\n" % (command, sys.prefix))
    sys.exit(2)
import runpy
runpy.run_module('pip', run_name='__main__', alter_sys=True)
"#;

/// What the directories `bin_dir` makes hold: another content, another name.
const BIN_DIR_FORMAT: &[u8] = b"4\0";

/// A directory holding `python`, `python3`, `pythonX.Y` (links to the
/// interpreter) and `pip`, `pip3` (running its pip), made once per
/// interpreter: on PATH, it makes the declared Python the project's.
/// A shim is linked through what it resolved to, so the directory means
/// one Python wherever it is used.
pub fn bin_dir(cache: &Cache, facts: &Facts) -> Result<PathBuf, InterpreterError> {
    let target = facts.command().to_path_buf();
    let mut id = BIN_DIR_FORMAT.to_vec();
    id.extend_from_slice(target.as_os_str().as_bytes());
    let dir = cache.entry(Bucket::PythonBin, hex(&Sha256::digest(&id)));
    let target = &target;
    if dir.is_dir() {
        return Ok(dir);
    }
    let fail = |source: std::io::Error| InterpreterError::Run {
        path: target.clone(),
        source,
    };
    let tmp = dir.with_extension(format!("{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(fail)?;
    let short = format!("python{}", facts.version_short);
    for name in ["python", "python3", short.as_str()] {
        std::os::unix::fs::symlink(target, tmp.join(name)).map_err(fail)?;
    }
    let mut quoted = Vec::new();
    crate::shells::posix_quote(&mut quoted, target.as_os_str().as_bytes());
    let mut script = b"#!/bin/sh\nexec ".to_vec();
    script.extend_from_slice(&quoted);
    script.extend_from_slice(b" -c ");
    crate::shells::posix_quote(&mut script, PIP_MAIN.as_bytes());
    script.extend_from_slice(b" \"$@\"\n");
    for name in ["pip", "pip3"] {
        std::fs::write(tmp.join(name), &script).map_err(fail)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.join(name), std::fs::Permissions::from_mode(0o755))
            .map_err(fail)?;
    }
    // Whole or not at all; another process may have made it meanwhile.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(dir)
}

/// The `<hash>-python-X.Y.Z` store item that `path` leads to, following its
/// chain of symlinks one link at a time (a profile's `bin/python3` points
/// into the profile's store item, which points into Python's).
pub fn store_item(path: &Path) -> Option<PathBuf> {
    let mut here = path.to_path_buf();
    for _ in 0..40 {
        if let Some(item) = here.ancestors().find(|a| is_python_item(a)) {
            return Some(item.to_path_buf());
        }
        let target = std::fs::read_link(&here).ok()?;
        here = here.parent().unwrap_or(Path::new("/")).join(target);
    }
    None
}

/// A store item name: 32 characters of Guix's base32, `-python-`, a digit.
fn is_python_item(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let Some((hash, rest)) = name.split_once('-') else {
        return false;
    };
    hash.len() == 32
        && hash
            .bytes()
            .all(|b| b"0123456789abcdfghijklmnpqrsvwxyz".contains(&b))
        && rest
            .strip_prefix("python-")
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_item_names() {
        let item = "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-python-3.11.7";
        assert!(is_python_item(Path::new(item)));
        assert_eq!(
            store_item(&Path::new(item).join("bin/python3")),
            Some(PathBuf::from(item))
        );
        assert!(!is_python_item(Path::new(
            "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-python-rapidjson-1.0"
        )));
        assert!(!is_python_item(Path::new("/usr/lib/python3.11")));
    }
}
