//! A locked build's inputs: every file the lock names, checked against
//! the lock's sha256 before any installer runs, and the installer given
//! exactly those, pinned, with their hashes, and no resolution
//! (`--no-deps --require-hashes`). A file in a find-links directory or
//! local index of the project's was hashed by the scan, which found it by
//! that hash: the installer finds it there, where it is. Any other file
//! the lock names by path is hashed here and linked into the stage under
//! the name the lock gives it. A file only a URL names is fetched by the
//! installer, which checks the hash.
//!
//! For uv nothing is copied: uv checks the hash of the bytes it unpacks
//! (`--require-hashes`), so a file changed after our check fails the
//! build all the same, and a build writes no second copy of every wheel
//! (nor removes it after). Each link names its file by an absolute path,
//! a path the lock gives relative to the project by where it resolved to
//! inside it. A directory of the project's the installer searches may
//! hold other versions (it installs only the pinned one, by a locked
//! hash) but no other file of a locked version (see `crowded`).
//!
//! pip checks a file's hash, then opens it again to install it: a file
//! swapped in between was installed, and its prefix kept under the lock's
//! key for every project with that lock. For pip every local file is
//! copied into the stage, hashed as it is copied, and only the copy named.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Lock, Package, Source};
use crate::fsutil;
use crate::pip::hash::{DIST_LIMIT, hash_file};
use crate::pip::options::split_option;
use crate::pip::reqfile::normal_name;
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

/// A locked build's installer arguments: options, requirements, and the
/// second install's (see `stage_locked`).
type Installs = (Vec<OsString>, Vec<OsString>, Vec<OsString>);

/// How many of the project's directories the installer searches for
/// locked files before the rest are linked into the stage instead (a
/// local index has one per package).
const DIRS_LIMIT: usize = 16;

impl Scan {
    /// Stage `lock`'s files and return the installer's `(options,
    /// requirements, editable)`: `editable`, when the lock names a local
    /// project, is the arguments of a second install, after the hashed
    /// one (pip installs no editable under `--require-hashes`). `Err`
    /// names the file that is missing or does not match its hash, or the
    /// directory that leads out of the project; nothing is installed then.
    ///
    /// `copied`: every local file is given to the installer as a copy in
    /// the stage, checked as it is copied (for an installer that does not
    /// hash the bytes it installs).
    pub fn stage_locked(
        &self,
        lock: &Lock,
        lock_file: &Path,
        stage: &Path,
        copied: bool,
    ) -> Result<Installs, StageError> {
        std::fs::create_dir_all(stage).map_err(|source| StageError::Io {
            path: stage.to_path_buf(),
            source,
        })?;
        let mut files = Links {
            dir: stage.join("locked"),
            made: false,
        };
        let mut dirs = BTreeSet::new();
        let here = self.local_files();
        let by_url = self.by_url(lock);
        let crowded = crowded(self, lock);
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
                    (Some(found), _) if copied => found.clone(),
                    // The scan hashed it just now, and found it by that hash.
                    (Some(found), _) => {
                        let named = found.file_name() == Some(a.file_name.as_ref());
                        // The installer runs in the stage: by an absolute path.
                        let dir = found.parent().and_then(|d| std::path::absolute(d).ok());
                        match dir {
                            Some(dir)
                                if named
                                    && !crowded.contains(&dir)
                                    && (dirs.contains(&dir) || dirs.len() < DIRS_LIMIT) =>
                            {
                                dirs.insert(dir);
                            }
                            _ => files.link(found, &a.file_name).map_err(|why| {
                                StageError::Locked {
                                    at: at(),
                                    why: Box::new(why),
                                }
                            })?,
                        }
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
                let got = match copied {
                    true => files.copy(&from, &a.file_name),
                    false => hash_file(&from, DIST_LIMIT).map_err(|why| StageError::Unreadable {
                        path: from.clone(),
                        why,
                    }),
                }
                .map_err(|why| StageError::Locked {
                    at: at(),
                    why: Box::new(why),
                })?;
                if got != a.sha256 {
                    return Err(StageError::NotLocked {
                        at: at(),
                        from,
                        want: a.sha256.clone(),
                    });
                }
                if !copied {
                    files
                        .link(&from, &a.file_name)
                        .map_err(|why| StageError::Locked {
                            at: at(),
                            why: Box::new(why),
                        })?;
                }
            }
            lines.push_str(&match remote.as_slice() {
                // One file, only at a URL: named by it (`by_url`).
                [(url, sha)] if by_url.contains(&(p, url.as_str())) => {
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
        let mut options: Vec<OsString> = vec!["--no-deps".into(), "--require-hashes".into()];
        let staged = files.made.then_some(files.dir);
        for dir in dirs.into_iter().chain(staged) {
            options.extend(["--find-links".into(), dir.into_os_string()]);
        }
        if needs_index {
            options.extend(self.source_options());
        } else {
            options.push("--no-index".into());
        }
        let editable = self.locked_editable(lock, lock_file)?;
        Ok((options, vec!["-r".into(), list.into_os_string()], editable))
    }

    /// The install of `lock`'s local projects, editable: each by the
    /// directory it resolves to inside the project, `--no-deps` (the
    /// lock installed their dependencies), with the options that say
    /// where a build backend comes from.
    fn locked_editable(&self, lock: &Lock, lock_file: &Path) -> Result<Vec<OsString>, StageError> {
        if lock.editable.is_empty() {
            return Ok(Vec::new());
        }
        let mut out: Vec<OsString> = vec!["--no-deps".into()];
        out.extend(self.source_options());
        if (self.options.iter()).any(|w| matches!(w, Word::Lit(f) if f == "--no-build-isolation")) {
            out.push("--no-build-isolation".into());
        }
        for e in &lock.editable {
            let dir = fsutil::resolve_inside(&lock.root, &e.path).map_err(|source| {
                StageError::Locked {
                    at: Box::new(LockedFile {
                        lock: lock_file.to_path_buf(),
                        package: e.name.clone(),
                        version: "(editable)".into(),
                    }),
                    why: Box::new(StageError::Io {
                        path: e.path.clone(),
                        source,
                    }),
                }
            })?;
            out.extend(["-e".into(), dir.into_os_string()]);
        }
        Ok(out)
    }

    /// The packages of `lock` installed from a URL, `NAME @ URL` (one
    /// file, only at that URL, none of the project's directories holding
    /// its bytes): the installer then says where it came from in the
    /// prefix (`direct_url.json`), so the prefix key names it.
    pub fn by_url<'a>(&self, lock: &'a Lock) -> Vec<(&'a Package, &'a str)> {
        let here = self.local_files();
        (lock.packages.iter())
            .filter_map(|p| match p.artefacts.as_slice() {
                [a] if !here.contains_key(a.sha256.as_str()) => match &a.source {
                    Source::Url(url) => Some((p, url.as_str())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
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

/// The project's find-links directories and local indexes the installer
/// may not search for locked files: those holding a file of a locked
/// package's version that the lock does not name, which the installer
/// might take first (with a more specific tag, say) and then refuse by
/// its hash. (A file of a longer version beginning the same, 1.0.1 beside
/// 1.0, counts too: the locked files there are linked then, which is only
/// slower.)
fn crowded(scan: &Scan, lock: &Lock) -> BTreeSet<PathBuf> {
    let locked: BTreeSet<&str> = (lock.packages.iter())
        .flat_map(|p| p.artefacts.iter().map(|a| a.sha256.as_str()))
        .collect();
    let versions: Vec<String> = (lock.packages.iter())
        .map(|p| format!("{}-", normal_name(&format!("{}-{}", p.name, p.version))))
        .collect();
    let mut out = BTreeSet::new();
    for i in (scan.inputs.iter()).filter(|i| matches!(i.kind, Kind::FindLinks | Kind::Index)) {
        for (rel, _) in (i.files.iter()).filter(|(_, h)| !locked.contains(h.as_str())) {
            let path = i.path.join(rel);
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            let name = normal_name(&name.to_string_lossy());
            if versions.iter().any(|v| name.starts_with(v.as_str())) {
                out.insert(std::path::absolute(dir).unwrap_or(dir.to_path_buf()));
            }
        }
    }
    out
}

/// The stage's directory of links to checked files, or of copies, made
/// at the first.
struct Links {
    dir: PathBuf,
    made: bool,
}

impl Links {
    /// Where `name` goes in the stage, the directory made.
    fn place(&mut self, name: &str) -> Result<PathBuf, StageError> {
        let at = self.dir.join(name);
        if !self.made {
            std::fs::create_dir_all(&self.dir).map_err(|source| StageError::Io {
                path: self.dir.clone(),
                source,
            })?;
            self.made = true;
        }
        Ok(at)
    }

    /// A link `name` to the checked file `to`, by its absolute path.
    fn link(&mut self, to: &Path, name: &str) -> Result<(), StageError> {
        let at = self.place(name)?;
        std::path::absolute(to)
            .and_then(|target| std::os::unix::fs::symlink(target, &at))
            .map_err(|source| StageError::Io { path: at, source })
    }

    /// A copy `name` of the file `from`, and the SHA-256 (in hex) of the
    /// bytes copied: what the installer reads is what was hashed.
    fn copy(&mut self, from: &Path, name: &str) -> Result<String, StageError> {
        let at = self.place(name)?;
        crate::pip::stage::copy_file(from, &at)
    }
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
