//! A locked build's inputs: every file the lock names that is here (in a
//! find-links directory or local index of the project's, found by the
//! hash the scan took of it; else at the lock's path, hashed here)
//! checked against the lock's sha256 and linked into the stage before
//! any installer runs; the installer is then
//! given exactly those, pinned, with their hashes, and no resolution
//! (`--no-deps --require-hashes`). A file only a URL names is fetched by
//! the installer, which checks the hash.
//!
//! Linked, not copied: the installer checks every file's hash itself
//! (`--require-hashes`), so a file changed after our check fails the build
//! all the same, and a build writes no second copy of every wheel (nor
//! removes it after). Each link names the file by its absolute path, a
//! path the lock gives relative to the project by where it resolved to
//! inside it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Lock, Package, Source};
use crate::fsutil;
use crate::pip::hash::{DIST_LIMIT, hash_file};
use crate::pip::options::split_option;
use crate::pip::scan::{Kind, Scan, Word};
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
                    // The scan hashed it just now, and found it by that hash.
                    (Some(found), _) => {
                        link(found, &files.join(&a.file_name)).map_err(|why| {
                            StageError::Locked {
                                at: at(),
                                why: Box::new(why),
                            }
                        })?;
                        continue;
                    }
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
                let got = hash_file(&from, DIST_LIMIT).map_err(|why| StageError::Locked {
                    at: at(),
                    why: Box::new(StageError::Unreadable {
                        path: from.clone(),
                        why,
                    }),
                })?;
                if got != a.sha256 {
                    return Err(StageError::NotLocked {
                        at: at(),
                        from,
                        want: a.sha256.clone(),
                    });
                }
                link(&from, &files.join(&a.file_name)).map_err(|why| StageError::Locked {
                    at: at(),
                    why: Box::new(why),
                })?;
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
        // The stage is this build's alone and goes with it: the list needs
        // no atomic rename, nor to reach the disk (no fsync).
        fsutil::create_private(&list)
            .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()))
            .map_err(|source| StageError::Io {
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

/// A link at `at` to the checked file `to`, by its absolute path.
fn link(to: &Path, at: &Path) -> Result<(), StageError> {
    std::path::absolute(to)
        .and_then(|target| std::os::unix::fs::symlink(target, at))
        .map_err(|source| StageError::Io {
            path: at.to_path_buf(),
            source,
        })
}

/// ` ; MARKER`, or nothing.
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
