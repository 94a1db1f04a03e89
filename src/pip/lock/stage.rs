//! A locked build's inputs: every file the lock names that is here (in a
//! find-links directory or local index of the project's, found by its
//! hash; else at the lock's path) copied into the stage and checked
//! against the lock's sha256 before any installer runs; the installer is
//! then given exactly those, pinned, with their hashes, and no resolution
//! (`--no-deps --require-hashes`). A file only a URL names is fetched by
//! the installer, which checks the hash.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Lock, Package, Source};
use crate::fsutil;
use crate::pip::options::split_option;
use crate::pip::scan::{Kind, Scan, Word};
use crate::pip::stage::copy_file;
use crate::pip::{LockedFile, StageError};

/// The options of `[pip].options` a locked build keeps: where files come
/// from, never what to install or how.
const SOURCES: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--trusted-host",
    "--cert",
    "--client-cert",
    "--proxy",
    "--retries",
    "--timeout",
];

impl Scan {
    /// Stage `lock`'s files and return the installer's `(options,
    /// requirements)`. `Err` names the file that is missing or does not
    /// match its hash; nothing is installed then.
    pub fn stage_locked(
        &self,
        lock: &Lock,
        lock_file: &Path,
        stage: &Path,
    ) -> Result<(Vec<OsString>, Vec<OsString>), StageError> {
        let files = stage.join("locked");
        std::fs::create_dir_all(&files).map_err(|source| StageError::Io {
            path: files.clone(),
            source,
        })?;
        let here = self.local_files();
        let mut lines = String::new();
        let mut needs_index = false;
        for p in &lock.packages {
            let mut remote = Vec::new();
            for a in &p.artefacts {
                let at = || {
                    Box::new(LockedFile {
                        lock: lock_file.to_path_buf(),
                        package: p.name.clone(),
                        version: p.version.clone(),
                    })
                };
                let from = match (here.get(a.sha256.as_str()), &a.source) {
                    (Some(found), _) => found.clone(),
                    (None, Source::Path(path)) => path.clone(),
                    // Resolved now, as it is read: a link planted after
                    // the lock was allowed leads out no more than one before.
                    (None, Source::InProject(path)) => fsutil::resolve_inside(&lock.root, path)
                        .map_err(|source| StageError::Locked {
                            at: at(),
                            why: Box::new(StageError::Io {
                                path: path.clone(),
                                source,
                            }),
                        })?,
                    (None, Source::Url(url)) => {
                        remote.push((url, &a.sha256));
                        continue;
                    }
                };
                let copy = files.join(&a.file_name);
                let got = copy_file(&from, &copy).map_err(|why| StageError::Locked {
                    at: at(),
                    why: Box::new(why),
                })?;
                if got != a.sha256 {
                    let _ = std::fs::remove_file(&copy);
                    return Err(StageError::NotLocked {
                        at: at(),
                        from,
                        want: a.sha256.clone(),
                    });
                }
                keep_time(&from, &copy);
            }
            lines.push_str(&match remote.as_slice() {
                // One file, only at a URL: named by it.
                [(url, sha)] if p.artefacts.len() == 1 => {
                    format!("{} @ {url}{} --hash=sha256:{sha}\n", p.name, marker(p))
                }
                _ => {
                    needs_index |= !remote.is_empty();
                    pinned(p)
                }
            });
        }
        let list = stage.join("locked.txt");
        fsutil::write_atomic(&list, lines.as_bytes()).map_err(|source| StageError::Io {
            path: list.clone(),
            source,
        })?;
        let mut options: Vec<OsString> = vec![
            "--no-deps".into(),
            "--require-hashes".into(),
            "--find-links".into(),
            files.into_os_string(),
        ];
        if needs_index {
            options.extend(self.source_options());
        } else {
            options.push("--no-index".into());
        }
        Ok((options, vec!["-r".into(), list.into_os_string()]))
    }

    /// Each file of the project's find-links directories and local
    /// indexes, by its hash, as the scan read them.
    fn local_files(&self) -> HashMap<&str, PathBuf> {
        self.inputs
            .iter()
            .filter(|i| matches!(i.kind, Kind::FindLinks | Kind::Index))
            .flat_map(|i| {
                i.files
                    .iter()
                    .map(|(rel, hash)| (hash.as_str(), i.path.join(rel)))
            })
            .collect()
    }

    /// `[pip].options` that say where files come from, a local directory
    /// by its own path (the files taken from it are checked by hash).
    fn source_options(&self) -> Vec<OsString> {
        let mut out = Vec::new();
        let mut words = self.options.iter();
        while let Some(w) = words.next() {
            let Word::Lit(flag) = w else { continue };
            let valued = split_option(flag, &mut std::iter::empty::<String>()).is_some();
            let value = if valued { words.next() } else { None };
            if !SOURCES.contains(&flag.as_str()) {
                continue;
            }
            out.push(flag.into());
            match value {
                Some(Word::Lit(v)) => out.push(v.into()),
                Some(Word::Ref(i, _)) => out.push(self.inputs[*i].path.clone().into_os_string()),
                None => {}
            }
        }
        out
    }
}

/// ` ; MARKER`, or nothing.
/// The copy gets the time of the file it was copied from: uv knows a local
/// wheel by its path and time, so its cache (unpacked already) serves the
/// next build of the same key, staged at the same path, instead of
/// unpacking it again. The copy's bytes were just checked against the
/// lock's hash, which the key (and so the path) holds; uv checks it too.
fn keep_time(from: &Path, copy: &Path) {
    let time = std::fs::metadata(from).and_then(|m| m.modified());
    let file = std::fs::OpenOptions::new().write(true).open(copy);
    // Without it the next build unpacks again: slower, no less right.
    if let (Ok(time), Ok(file)) = (time, file) {
        let _ = file.set_modified(time);
    }
}

fn marker(p: &Package) -> String {
    p.marker
        .as_deref()
        .map(|m| format!(" ; {m}"))
        .unwrap_or_default()
}

/// `name==version` with every hash the lock allows: the installer picks
/// the file that fits and checks it.
fn pinned(p: &Package) -> String {
    let mut line = format!("{}=={}{}", p.name, p.version, marker(p));
    for a in &p.artefacts {
        line.push_str(&format!(" --hash=sha256:{}", a.sha256));
    }
    line.push('\n');
    line
}
