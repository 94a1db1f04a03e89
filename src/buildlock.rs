//! Build once, complete or absent: one lock file and one failure record per
//! key, shared by pip prefixes and Guix profiles.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{fsutil, log};

/// Why `Slot::once` has nothing to give.
pub enum Missed<E> {
    /// It failed before, with this record, and no `reload` came since.
    FailedBefore(String),
    /// It failed now.
    Failed(E),
    /// The lock could not be taken.
    Lock(std::io::Error),
}

pub struct Slot {
    lock: PathBuf,
    failed: PathBuf,
}

impl Slot {
    /// The slot for `key` under `dir`. A failure counts until `reload`
    /// removes its record (`clear_failures`), whatever its date.
    pub fn new(dir: &Path, key: &str) -> Slot {
        Slot {
            lock: dir.join(format!("{key}.lock")),
            failed: dir.join(format!("{key}.failed")),
        }
    }

    /// The one sequence every build follows: what is built is used; else
    /// take the lock, look again (another shell may have built it while we
    /// waited), refuse what failed before until `reload`, build, and record
    /// the outcome. `build` fails with the error and what to record against
    /// the key (`None` when the key is not to blame: an input that changed).
    /// `force` builds even what is built (`rebuild`).
    pub fn once<T, E>(
        &self,
        what: &str,
        force: bool,
        built: impl Fn() -> Option<T>,
        build: impl FnOnce() -> Result<T, (E, Option<String>)>,
    ) -> Result<T, Missed<E>> {
        if !force && let Some(done) = built() {
            return Ok(done);
        }
        let _lock = self.lock(what).map_err(Missed::Lock)?;
        if !force {
            if let Some(done) = built() {
                return Ok(done);
            }
            if let Some(record) = self.failed_before() {
                return Err(Missed::FailedBefore(record));
            }
        }
        match build() {
            Ok(done) => {
                self.clear_failure();
                Ok(done)
            }
            Err((e, record)) => {
                if let Some(record) = record {
                    self.record_failure(&record);
                }
                Err(Missed::Failed(e))
            }
        }
    }

    /// Wait for the lock: many shells entering at once build once, and the
    /// others reuse what it built. The lock goes with the returned file, even
    /// when the process is killed.
    fn lock(&self, what: &str) -> std::io::Result<File> {
        if let Some(dir) = self.lock.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::create(&self.lock)?;
        if file.try_lock().is_err() {
            log::info(&format!("waiting for another build of {what}"));
            file.lock()?;
        }
        Ok(file)
    }

    /// The record of an earlier failure, if there is one.
    pub fn failed_before(&self) -> Option<String> {
        let bytes = fsutil::read_limited(&self.failed, 1 << 20).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn record_failure(&self, message: &str) {
        // Not recording only means the next prompt tries again.
        let _ = fsutil::write_atomic(&self.failed, message.as_bytes());
    }

    fn clear_failure(&self) {
        let _ = std::fs::remove_file(&self.failed);
    }
}

/// Forget every recorded failure under `dirs` (`reload`): each is tried
/// again at its next use.
pub fn clear_failures(dirs: &[PathBuf]) {
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "failed") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
