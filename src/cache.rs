//! The cache's places, named once, as uv's `CacheBucket` names its
//! folders: every folder under the cache directory is a `Bucket`, every
//! path in one is made here, and what belongs to a key is listed here. No
//! other file spells a folder's name or takes a key out of a file name.
//!
//! What is kept under a key follows one rule, which `keys` relies on: its
//! entries are named `KEY` or `KEY` followed by `.` or `-` and more
//! (`KEY.g2`, `KEY.lock`, `KEY-1-link`, `KEY.log`), or are a temporary
//! `.KEY….tmp`; a key is 64 hexadecimal digits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A folder of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// pip prefixes and venvs: the link `KEY` and its generations.
    Prefixes,
    /// Guix profiles: the link `KEY` (a Guix GC root) and its generations.
    Profiles,
    /// Private copies of what a build reads, while it runs.
    Staging,
    /// Build logs, the marks of background builds running, and what
    /// `uv lock --check` said of each uv project's venv's lock.
    Logs,
    /// One file per shell the hook marked, named by its process id.
    Marks,
    /// `python`, `python3` and `pip` for one interpreter, per directory.
    PythonBin,
    /// What each interpreter is (version, platform), by its path.
    Interpreters,
    /// What a pyenv shim runs, by what pyenv reads.
    Pyenv,
    /// The hash of a tool's binary (uv), by its path.
    Tools,
    /// One read-only copy of each file uv linked into a prefix, by its
    /// bytes (`pip::pool`).
    Pool,
    /// What uv put in a prefix for each locked package, by the package
    /// and everything else that decides it (`pip::replay`).
    Installs,
}

impl Bucket {
    pub const ALL: [Bucket; 11] = [
        Bucket::Prefixes,
        Bucket::Profiles,
        Bucket::Staging,
        Bucket::Logs,
        Bucket::Marks,
        Bucket::PythonBin,
        Bucket::Interpreters,
        Bucket::Pyenv,
        Bucket::Tools,
        Bucket::Pool,
        Bucket::Installs,
    ];

    /// The buckets of things built under a key, that `gc` collects.
    pub const BUILT: [Bucket; 2] = [Bucket::Prefixes, Bucket::Profiles];

    fn folder(self) -> &'static str {
        match self {
            Bucket::Prefixes => "prefixes",
            Bucket::Profiles => "profiles",
            Bucket::Staging => "staging",
            Bucket::Logs => "logs",
            Bucket::Marks => "marks",
            Bucket::PythonBin => "python-bin",
            Bucket::Interpreters => "interpreters",
            Bucket::Pyenv => "pyenv",
            Bucket::Tools => "tools",
            Bucket::Pool => "pool",
            Bucket::Installs => "installs",
        }
    }

    /// What one thing built in this bucket is called, for people.
    pub fn what(self) -> &'static str {
        match self {
            Bucket::Profiles => "profile",
            _ => "prefix",
        }
    }
}

/// A folder of the data directory: records, not rebuilt when lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// One trust record per manifest.
    Trust,
    /// One record per manifest of what it last used, for `gc` and `watch`.
    Used,
}

impl Records {
    pub const ALL: [Records; 2] = [Records::Trust, Records::Used];

    pub fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(match self {
            Records::Trust => "trust",
            Records::Used => "used",
        })
    }
}

/// The cache directory (`PYENV_GUIX_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/pyenv-guix`).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn bucket(&self, bucket: Bucket) -> PathBuf {
        self.root.join(bucket.folder())
    }

    /// The entry `name` of `bucket`.
    pub fn entry(&self, bucket: Bucket, name: impl AsRef<Path>) -> PathBuf {
        self.bucket(bucket).join(name)
    }

    /// Where a build of `key` in `bucket` stages what it reads.
    pub fn stage(&self, bucket: Bucket, key: &str) -> PathBuf {
        self.entry(Bucket::Staging, stage_name(bucket, key))
    }

    /// The log of the last build of `key` in the background.
    pub fn log(&self, key: &str) -> PathBuf {
        self.entry(Bucket::Logs, format!("{key}.log"))
    }

    /// What `uv lock --check` said of the lock of a uv project whose venv
    /// is `key`.
    pub fn uv_lock_check(&self, key: &str) -> PathBuf {
        self.entry(Bucket::Logs, format!("{key}.uv-lock"))
    }

    /// The mark a background build of `key` holds locked while it runs.
    pub fn running_mark(&self, key: &str) -> PathBuf {
        self.entry(Bucket::Logs, format!("{key}.running"))
    }

    /// Whether `path` is a background build's running mark.
    pub fn is_running_mark(&self, path: &Path) -> bool {
        path.parent() == Some(self.bucket(Bucket::Logs).as_path())
            && path.extension().is_some_and(|e| e == "running")
    }

    /// The mark of the shell with process id `pid`.
    pub fn shell_mark(&self, pid: u32) -> PathBuf {
        self.entry(Bucket::Marks, pid.to_string())
    }

    /// Touched by `reload`; every loaded state watches it.
    pub fn reload_stamp(&self) -> PathBuf {
        self.root.join("reload")
    }

    /// The entries of `bucket` that belong to a key, by key.
    pub fn keys(&self, bucket: Bucket) -> BTreeMap<String, Vec<PathBuf>> {
        let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for path in sorted_entries(&self.bucket(bucket)) {
            let name = file_name(&path);
            let key = name
                .trim_start_matches('.')
                .split(['.', '-'])
                .next()
                .unwrap_or("");
            if is_key(key) {
                out.entry(key.to_string()).or_default().push(path);
            }
        }
        out
    }

    /// What builds of `bucket` staged and left, by key.
    pub fn staged(&self, bucket: Bucket) -> Vec<(String, PathBuf)> {
        sorted_entries(&self.bucket(Bucket::Staging))
            .into_iter()
            .filter_map(|path| {
                let name = file_name(&path);
                let (of, key) = match name.strip_prefix(PROFILE_STAGE) {
                    Some(key) => (Bucket::Profiles, key),
                    None => (Bucket::Prefixes, name.as_str()),
                };
                (of == bucket && is_key(key)).then(|| (key.to_string(), path.clone()))
            })
            .collect()
    }

    /// The shells' marks, with their process ids.
    pub fn shell_marks(&self) -> Vec<(u32, PathBuf)> {
        sorted_entries(&self.bucket(Bucket::Marks))
            .into_iter()
            .filter_map(|path| Some((file_name(&path).parse().ok()?, path)))
            .collect()
    }
}

/// A build of a profile stages under `profile-KEY`, of a prefix under
/// `KEY`: one folder holds both.
const PROFILE_STAGE: &str = "profile-";

fn stage_name(bucket: Bucket, key: &str) -> String {
    match bucket {
        Bucket::Profiles => format!("{PROFILE_STAGE}{key}"),
        _ => key.to_string(),
    }
}

pub fn is_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_owns_its_entries_and_its_stage_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        for name in [
            a.clone(),
            format!("{a}.g2"),
            format!("{a}-1-link"),
            format!(".{a}.x.tmp"),
            format!("{b}.lock"),
            "README".to_string(),
            "abc.g1".to_string(),
        ] {
            std::fs::create_dir_all(cache.bucket(Bucket::Profiles)).unwrap();
            std::fs::write(cache.entry(Bucket::Profiles, name), "").unwrap();
        }
        let keys = cache.keys(Bucket::Profiles);
        assert_eq!(keys.keys().collect::<Vec<_>>(), [&a, &b]);
        assert_eq!(keys[&a].len(), 4);
        for (bucket, key) in [(Bucket::Profiles, &a), (Bucket::Prefixes, &b)] {
            std::fs::create_dir_all(cache.stage(bucket, key)).unwrap();
        }
        let staged =
            |bucket| -> Vec<String> { cache.staged(bucket).into_iter().map(|(k, _)| k).collect() };
        assert_eq!(staged(Bucket::Profiles), [a.as_str()]);
        assert_eq!(staged(Bucket::Prefixes), [b.as_str()]);
    }
}
