//! Build once, complete or absent: one lock file and one failure record per
//! key, shared by pip prefixes and Guix profiles.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{fsutil, log};

pub struct Slot {
    lock: PathBuf,
    failed: PathBuf,
    reload: PathBuf,
}

impl Slot {
    /// The slot for `key` under `dir`; a failure counts until the `reload` stamp is newer.
    pub fn new(dir: &Path, key: &str, reload: &Path) -> Slot {
        Slot {
            lock: dir.join(format!("{key}.lock")),
            failed: dir.join(format!("{key}.failed")),
            reload: reload.to_path_buf(),
        }
    }

    /// Wait for the lock: many shells entering at once build once, and the
    /// others reuse what it built. The lock goes with the returned file, even
    /// when the process is killed.
    pub fn lock(&self, what: &str) -> std::io::Result<File> {
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

    /// The record of an earlier failure, unless `pyenv-guix reload` came after it.
    pub fn failed_before(&self) -> Option<String> {
        let message = std::fs::read_to_string(&self.failed).ok()?;
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        match (mtime(&self.reload), mtime(&self.failed)) {
            (Some(r), Some(f)) if r > f => None,
            _ => Some(message),
        }
    }

    pub fn record_failure(&self, message: &str) {
        // Not recording only means the next prompt tries again.
        let _ = fsutil::write_atomic(&self.failed, message.as_bytes());
    }

    pub fn clear_failure(&self) {
        let _ = std::fs::remove_file(&self.failed);
    }
}
