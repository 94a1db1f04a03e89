//! What a pyenv shim runs, asked once (`pyenv which NAME`) and remembered
//! while nothing pyenv reads to choose it has changed: entering a project
//! behind a shim then starts no process.
//!
//! What pyenv reads (pyenv 2.x, libexec/pyenv-version-file,
//! pyenv-version-name, pyenv-which): `PYENV_VERSION`; else the first
//! `.python-version` from the directory up to `/`; else
//! `$PYENV_ROOT/version`. A version may be a prefix that
//! `$PYENV_ROOT/versions` resolves (pyenv-latest); `system`, and the last
//! resort for any command, is a search of PATH (HOME expands `~` in it).
//! Hooks and plugins come from `PYENV_HOOK_PATH`, `$PYENV_ROOT/pyenv.d`
//! and `$PYENV_ROOT/plugins`. The key holds each of these: variables by
//! value, files and directories by stamp; the answer is checked against
//! its own stamp.
//!
//! pyenv runs in `/`, told the project's directory by `PYENV_DIR`: nothing
//! in the project (a relative PATH entry meeting a project's `python`)
//! can be what it finds.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{Bucket, Cache};
use crate::fsutil::hex;
use crate::state::Stamp;

#[derive(Debug, thiserror::Error)]
pub enum PyenvError {
    #[error("cannot run {}: {source}", pyenv.display())]
    Run {
        pyenv: PathBuf,
        source: std::io::Error,
    },
    #[error("`pyenv which {name}` for {}: {message}", dir.display())]
    Which {
        name: String,
        dir: PathBuf,
        message: String,
    },
}

/// A pyenv shim: a script in `PYENV_ROOT/shims`.
#[derive(Debug, Clone)]
pub struct Shim {
    path: PathBuf,
    /// The program it stands for: its file name.
    name: OsString,
    /// `PYENV_ROOT`, which the shim sets to the directory above `shims`.
    root: PathBuf,
    /// The `pyenv` the shim runs.
    pyenv: PathBuf,
}

/// The most of a shim read to find its `pyenv` (pyenv's are ~300 bytes).
const SHIM_LIMIT: u64 = 64 * 1024;

impl Shim {
    /// The shim at `path`, if it is one.
    pub fn at(path: &Path) -> Option<Shim> {
        let shims = path.parent()?;
        if shims.file_name()? != "shims" || !crate::fsutil::is_script(path) {
            return None;
        }
        let root = shims.parent()?.to_path_buf();
        let text = crate::fsutil::read_limited(path, SHIM_LIMIT).ok()?;
        // pyenv-rehash writes `exec "/path/to/pyenv" exec "$program" "$@"`;
        // a package's pyenv lives outside the root.
        let pyenv = text
            .split(|&b| b == b'\n')
            .filter_map(|line| line.trim_ascii().strip_prefix(b"exec \""))
            .find_map(|rest| {
                let end = rest.iter().position(|&b| b == b'"')?;
                rest[end + 1..]
                    .trim_ascii_start()
                    .starts_with(b"exec ")
                    .then(|| PathBuf::from(OsStr::from_bytes(&rest[..end])))
            })
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| root.join("libexec/pyenv"));
        Some(Shim {
            name: path.file_name()?.to_os_string(),
            path: path.to_path_buf(),
            root,
            pyenv,
        })
    }

    /// The files whose change may make this shim run another program in
    /// `dir`: what `pyenv local` and `pyenv global` write, and the versions
    /// directory (`pyenv install`, `uninstall`). pyenv reads the nearest
    /// `.python-version` only, so none above it counts (removing it
    /// changes its own stamp), nor then the global file.
    pub fn chosen_by(&self, dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for a in dir.ancestors() {
            let local = a.join(".python-version");
            let found = local.is_file();
            files.push(local);
            if found {
                files.push(self.root.join("versions"));
                return files;
            }
        }
        files.push(self.root.join("version"));
        files.push(self.root.join("versions"));
        files
    }

    /// pyenv, to be given its arguments, answering for `dir` (run in `/`:
    /// nothing of the project's is found there) with exactly `env`.
    fn command(&self, dir: &Path, env: &[(OsString, OsString)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.pyenv);
        cmd.current_dir("/")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PYENV_ROOT", &self.root)
            .env("PYENV_DIR", dir)
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// What pyenv says is wrong with the version it chooses in `dir` (one
    /// `.python-version` names is not installed, say), if anything: pyenv
    /// then runs a command of the system's instead, when there is one.
    /// Asked for `status`, never at a prompt.
    pub fn version_problem(&self, dir: &Path, env: &[(OsString, OsString)]) -> Option<String> {
        let out = self.command(dir, env).arg("version-name").output().ok()?;
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().find(|l| !l.trim().is_empty())?.trim();
        (!out.status.success()).then(|| said.to_string())
    }

    /// What the shim runs in `dir` with the environment `env`: from the
    /// cache when nothing pyenv reads has changed, else `pyenv which`.
    pub fn which(
        &self,
        cache: &Cache,
        dir: &Path,
        env: &[(OsString, OsString)],
    ) -> Result<PathBuf, PyenvError> {
        let key = self.key(dir, env);
        let cache_file = cache.entry(Bucket::Pyenv, hex(&Sha256::digest(key.as_bytes())));
        if let Ok(bytes) = crate::fsutil::read_limited(&cache_file, SHIM_LIMIT)
            && let Ok(c) = serde_json::from_slice::<CachedWhich>(&bytes)
        {
            match c.found {
                Some(found) if Stamp::of(&found) == c.stamp => return Ok(found),
                None => return Err(self.failed(dir, c.message)),
                Some(_) => {}
            }
        }
        crate::log::debug(&format!(
            "asking pyenv which {} it runs in {}",
            self.name.to_string_lossy(),
            dir.display()
        ));
        let out = self
            .command(dir, env)
            .arg("which")
            .arg(&self.name)
            .output()
            .map_err(|source| PyenvError::Run {
                pyenv: self.pyenv.clone(),
                source,
            })?;
        let line = out.stdout.split(|&b| b == b'\n').next().unwrap_or_default();
        let found = PathBuf::from(OsStr::from_bytes(line));
        let answer = if out.status.success() && found.is_absolute() && found.is_file() {
            Ok(found)
        } else {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(if said.is_empty() {
                format!("it named no program ({})", out.status)
            } else {
                said
            })
        };
        let cached = match &answer {
            Ok(found) => CachedWhich {
                stamp: Stamp::of(found),
                found: Some(found.clone()),
                message: String::new(),
            },
            Err(message) => CachedWhich {
                stamp: Stamp::default(),
                found: None,
                message: message.clone(),
            },
        };
        // Under the key from before the run: a change made meanwhile is a
        // new key, asked again next time.
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            // A cache that cannot be written only costs a pyenv run next time.
            let _ = crate::fsutil::write_atomic(&cache_file, &bytes);
        }
        answer.map_err(|message| self.failed(dir, message))
    }

    fn failed(&self, dir: &Path, message: String) -> PyenvError {
        PyenvError::Which {
            name: self.name.to_string_lossy().into_owned(),
            dir: dir.to_path_buf(),
            message,
        }
    }

    /// Everything pyenv reads to answer for `dir` with `env`, as text.
    fn key(&self, dir: &Path, env: &[(OsString, OsString)]) -> String {
        let mut key = String::from("pyenv which 1\n");
        let mut line = |what: &str, path: &Path, stamp: Stamp| {
            key.push_str(&format!(
                "{what} {} {stamp:?}\n",
                hex(path.as_os_str().as_bytes())
            ));
        };
        line("shim", &self.path, Stamp::of_link(&self.path));
        line("shim-file", &self.path, Stamp::of(&self.path));
        line("pyenv", &self.pyenv, Stamp::of(&self.pyenv));
        line("dir", dir, Stamp::default());
        let mut watched = self.chosen_by(dir);
        watched.push(self.root.join("plugins"));
        watched.push(self.root.join("pyenv.d"));
        let mut read: Vec<&(OsString, OsString)> = env
            .iter()
            .filter(|(k, _)| k.as_bytes().starts_with(b"PYENV_") || k == "PATH" || k == "HOME")
            .collect();
        read.sort();
        for (name, value) in read {
            if name == "PYENV_HOOK_PATH" {
                watched.extend(std::env::split_paths(value));
            }
            key.push_str(&format!(
                "env {} {}\n",
                hex(name.as_bytes()),
                hex(value.as_bytes())
            ));
        }
        for path in watched {
            let stamp = Stamp::of(&path);
            key.push_str(&format!(
                "file {} {stamp:?}\n",
                hex(path.as_os_str().as_bytes())
            ));
        }
        key
    }
}

#[derive(Serialize, Deserialize)]
struct CachedWhich {
    found: Option<PathBuf>,
    stamp: Stamp,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shim_in(dir: &Path, text: &str) -> PathBuf {
        let shims = dir.join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        let path = shims.join("python3");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_shim_names_its_pyenv() {
        let dir = tempfile::tempdir().unwrap();
        let text = "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\nexport PYENV_ROOT=\"/r\"\nexec \"/opt/pyenv/libexec/pyenv\" exec \"$program\" \"$@\"\n";
        let shim = Shim::at(&shim_in(dir.path(), text)).unwrap();
        assert_eq!(shim.pyenv, Path::new("/opt/pyenv/libexec/pyenv"));
        assert_eq!(shim.root, dir.path());
        assert_eq!(shim.name, "python3");
        // No exec line: pyenv in its root.
        let shim = Shim::at(&shim_in(dir.path(), "#!/bin/sh\n")).unwrap();
        assert_eq!(shim.pyenv, dir.path().join("libexec/pyenv"));
        // A binary, or a script elsewhere, is no shim.
        assert!(Shim::at(&shim_in(dir.path(), "\x7fELF")).is_none());
        std::fs::write(dir.path().join("python3"), "#!/bin/sh\n").unwrap();
        assert!(Shim::at(&dir.path().join("python3")).is_none());
    }

    #[test]
    fn the_key_changes_with_what_pyenv_reads() {
        let dir = tempfile::tempdir().unwrap();
        let shim = Shim::at(&shim_in(dir.path(), "#!/bin/sh\n")).unwrap();
        let project = dir.path().join("p/sub");
        std::fs::create_dir_all(&project).unwrap();
        let env = vec![(OsString::from("PATH"), OsString::from("/usr/bin"))];
        let before = shim.key(&project, &env);
        assert_eq!(before, shim.key(&project, &env));
        let mut other = env.clone();
        other.push(("PYENV_VERSION".into(), "3.12".into()));
        assert_ne!(before, shim.key(&project, &other));
        other.push(("TERM".into(), "xterm".into()));
        assert_eq!(shim.key(&project, &other[..2]), shim.key(&project, &other));
        std::fs::write(dir.path().join("p/.python-version"), "3.12\n").unwrap();
        let local = shim.key(&project, &env);
        assert_ne!(before, local);
        // A local file hides the global one and any file above it.
        std::fs::write(dir.path().join("version"), "3.11\n").unwrap();
        std::fs::write(dir.path().join(".python-version"), "3.10\n").unwrap();
        assert_eq!(local, shim.key(&project, &env));
        std::fs::remove_file(dir.path().join("p/.python-version")).unwrap();
        assert_ne!(local, shim.key(&project, &env));
        let chosen = shim.chosen_by(&project);
        assert!(chosen.contains(&dir.path().join(".python-version")));
        assert!(!chosen.contains(&dir.path().join("version")));
    }
}
