//! A locked build laid out again from the pool. What uv put in a prefix
//! for each locked package is kept (`Bucket::Installs`), named by the
//! package and everything else that decides it: the key's other lines
//! (the interpreter, uv's binary, the mode). A later build of any key
//! whose every package has such a record makes the same files without
//! running uv: each file uv linked from its cache is linked to the same
//! pool copy, as uv links its cache's unpacked wheels, and each file uv
//! wrote itself (a RECORD, a script: a few small text files a package) is
//! written again from the record, with its mode. The prefix is the one uv
//! makes.
//!
//! Only where nothing else decides what uv writes: prefix mode (a venv's
//! files name it), no editable project, no uv project, no marker that
//! reads the running kernel or the request. Beside a Guix profile the
//! profile is in the key's lines: a locked package the profile lacks is
//! lacking from it in every build, and one it holds leaves no record (no
//! dist of it is installed).
//! A record is kept only when every file of the new prefix is named by one
//! RECORD (or is an empty file at its root, as uv's `.lock`) and no file
//! uv wrote holds the prefix's or the stage's path. `rebuild` runs uv.
//!
//! A record is only where to look: a copy edited since (mode, date or
//! size changed) is not linked, and the build runs uv instead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PipMode;
use super::key::{Key, PrefixInputs};
use super::layout::{read_record, record_entries};
use super::lock::{BY_URL_LINE, KEY_LINE};
use super::pool;
use super::reqfile::normal_name;
use crate::cache::Bucket;
use crate::context::Context;
use crate::fsutil::{self, hex};

/// The record's format: a record of another is not read.
const FORMAT: u32 = 2;

/// A record is a few lines per file: more than this is not one of ours.
const RECORD_LIMIT: u64 = 8 << 20;

/// A file uv wrote itself is a script or a few lines: a larger one is
/// not kept in a record (nor is the build's).
const WRITTEN_LIMIT: u64 = 1 << 20;

/// Markers whose value the interpreter's identity does not decide.
const READS_MORE: [&str; 4] = [
    "platform_release",
    "platform_version",
    "extra",
    "dependency_groups",
];

/// What uv put in a prefix for one package.
#[derive(Serialize, Deserialize)]
struct Record {
    format: u32,
    /// The files uv linked from its cache, by their path in the prefix;
    /// none when its marker left the package out.
    files: Vec<Placed>,
    /// The files uv wrote itself.
    written: Vec<Written>,
    /// The empty files uv makes at a prefix's root (its `.lock`), and
    /// their modes.
    empty: Vec<(String, u32)>,
}

#[derive(Serialize, Deserialize)]
struct Written {
    path: String,
    mode: u32,
    text: String,
}

#[derive(Serialize, Deserialize)]
struct Placed {
    path: String,
    /// The pool's copy of its bytes.
    copy: String,
    len: u64,
}

impl Record {
    /// Whether it names only paths inside a prefix and only pool copies.
    fn sound(&self) -> bool {
        self.format == FORMAT
            && (self.files.iter()).all(|f| inside(&f.path) && pool::is_copy_name(&f.copy))
            && (self.written.iter()).all(|w| inside(&w.path) && w.mode <= 0o777)
            && (self.empty.iter())
                .all(|(name, mode)| inside(name) && !name.contains('/') && *mode <= 0o777)
    }
}

impl Record {
    /// Whether it writes a distribution's `RECORD`: a package no marker
    /// leaves out is installed.
    fn installs_a_dist(&self) -> bool {
        (self.written.iter().map(|w| &w.path))
            .chain(self.files.iter().map(|f| &f.path))
            .any(|p| p.ends_with(".dist-info/RECORD"))
    }
}

/// A relative path going down only.
fn inside(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// A locked build that could be laid out again, or kept for that.
pub struct Plan {
    pool: PathBuf,
    packages: Vec<Planned>,
}

struct Planned {
    /// As `normal_name` spells it.
    name: String,
    /// Whether a marker may leave it out.
    marker: bool,
    /// Where its record is.
    record: PathBuf,
}

/// The plan of a build whose packages uv's records may lay out, if it is
/// one (see the module's text).
pub fn plan(ctx: &Context, inputs: &PrefixInputs, key: &Key) -> Option<Plan> {
    let lock = inputs.scan.lock.as_ref()?;
    let decided = |p: &super::lock::Package| {
        (p.marker.as_deref()).is_none_or(|m| !READS_MORE.iter().any(|w| m.contains(w)))
    };
    let eligible = inputs.installer.name() == "uv"
        && inputs.pip.mode == PipMode::Prefix
        && lock.editable.is_empty()
        && !inputs.pip.is_uv_project()
        && !lock.packages.is_empty()
        && lock.packages.iter().all(decided);
    if !eligible {
        return None;
    }
    // The lines of the other packages are not this one's.
    let context: Vec<&str> = (key.text.lines())
        .filter(|l| !matches!(l.split(' ').next(), Some(KEY_LINE | BY_URL_LINE)))
        .collect();
    let by_url = inputs.scan.by_url(lock);
    // uv makes the files it writes with the umask's modes.
    let umask = current_umask();
    let packages = (lock.packages.iter())
        .map(|p| {
            let mut text = format!("pyenv-guix install {FORMAT}\numask {umask:o}\n");
            for line in &context {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str(&p.key_line());
            text.push('\n');
            // uv says where a package installed by its URL came from.
            if let Some((_, url)) = by_url.iter().find(|(q, _)| *q == p) {
                text.push_str(&format!("url {url}\n"));
            }
            Planned {
                name: normal_name(&p.name),
                marker: p.marker.is_some(),
                record: (ctx.cache).entry(Bucket::Installs, hex(&Sha256::digest(text.as_bytes()))),
            }
        })
        .collect();
    Some(Plan {
        pool: ctx.cache.bucket(Bucket::Pool),
        packages,
    })
}

impl Plan {
    /// Lay out every package into the new `generation` from its record:
    /// `Ok(false)`, with nothing done, when one has none. `Err` leaves a
    /// part laid out, for the caller to remove.
    pub fn lay_out(&self, generation: &Path) -> std::io::Result<bool> {
        let mut records = Vec::with_capacity(self.packages.len());
        for p in &self.packages {
            let Ok(bytes) = fsutil::read_limited(&p.record, RECORD_LIMIT) else {
                return Ok(false);
            };
            match serde_json::from_slice::<Record>(&bytes) {
                Ok(r) if r.sound() && (p.marker || r.installs_a_dist()) => records.push(r),
                _ => return Ok(false),
            }
        }
        std::fs::create_dir(generation)?;
        let mut made: HashSet<PathBuf> = HashSet::new();
        // Each record's paths were checked to go down only (`sound`).
        let mut dir_of = |path: &str| -> std::io::Result<()> {
            match Path::new(path).parent() {
                Some(dir) if !made.contains(dir) => {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .create(generation.join(dir))?;
                    made.insert(dir.to_path_buf());
                    Ok(())
                }
                _ => Ok(()),
            }
        };
        let mut empty: BTreeMap<&str, u32> = BTreeMap::new();
        for r in &records {
            empty.extend(r.empty.iter().map(|(name, mode)| (name.as_str(), *mode)));
            for f in &r.files {
                dir_of(&f.path)?;
                pool::link_copy(&self.pool, &f.copy, f.len, &generation.join(&f.path))?;
            }
            for w in &r.written {
                dir_of(&w.path)?;
                write_new(&generation.join(&w.path), w.text.as_bytes(), w.mode)?;
            }
        }
        for (name, mode) in empty {
            write_new(&generation.join(name), b"", mode)?;
        }
        Ok(true)
    }

    /// Keep what uv put in `generation` for each package, for the next
    /// build to lay out: each file given the pool's copy of its bytes.
    /// Says at debug level why it keeps nothing.
    pub fn keep(&self, generation: &Path, stage: &Path) {
        if let Err(why) = self.try_keep(generation, stage) {
            crate::log::debug(&format!(
                "no record kept of what uv installed in {}: {why}",
                generation.display()
            ));
        }
    }

    fn try_keep(&self, generation: &Path, stage: &Path) -> Result<(), String> {
        let mut tree = Tree::default();
        walk(generation, &mut tree).map_err(|e| e.to_string())?;
        // A wheel's empty directory is in no RECORD: a layout would not
        // make it (and it may be a namespace package).
        if let Some(dir) = tree.empty.first() {
            return Err(format!("{} is an empty directory", dir.display()));
        }
        // Each file's package, and the hash its RECORD gives it.
        let mut owner: HashMap<PathBuf, (usize, Option<String>)> = HashMap::new();
        let mut dists: Vec<usize> = Vec::new();
        // The distributions of the site directories, as status finds them:
        // not one a package vendors (setuptools/_vendor/*.dist-info).
        let found = super::layout::discover(generation, PipMode::Prefix, "").dists;
        for dist in &found {
            let (Some(site), Some(text)) = (dist.parent(), read_record(dist)) else {
                return Err(format!("{} has no readable RECORD", dist.display()));
            };
            let package = self.package_of(dist)?;
            if dists.contains(&package) {
                return Err(format!(
                    "two distributions of {}",
                    self.packages[package].name
                ));
            }
            dists.push(package);
            for (path, sha256) in record_entries(generation, site, &text) {
                if !tree.files.contains_key(&path) {
                    return Err(format!("{} is not there", path.display()));
                }
                if owner
                    .insert(path.clone(), (package, recorded(sha256)))
                    .is_some()
                {
                    return Err(format!("two RECORDs name {}", path.display()));
                }
            }
        }
        let mut empty = Vec::new();
        for (path, meta) in &tree.files {
            if owner.contains_key(path) {
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str());
            match name {
                Some(name) if path.parent() == Some(generation) && meta.len() == 0 => {
                    empty.push((name.to_string(), meta.mode() & 0o777));
                }
                _ => return Err(format!("no RECORD names {}", path.display())),
            }
        }
        let mut files: Vec<Vec<Placed>> = self.packages.iter().map(|_| Vec::new()).collect();
        let mut written: Vec<Vec<Written>> = self.packages.iter().map(|_| Vec::new()).collect();
        let here = [
            generation.as_os_str().as_bytes(),
            stage.as_os_str().as_bytes(),
        ];
        for (path, (package, sha256)) in owner {
            let meta = &tree.files[&path];
            let rel = path.strip_prefix(generation).ok().and_then(Path::to_str);
            let rel = rel.ok_or_else(|| format!("{} cannot be named", path.display()))?;
            let executable = meta.mode() & 0o111 != 0;
            // uv linked it from its cache, and its build gave it the
            // pool's copy (`pool::adopt`), named by the RECORD's hash
            // unless the RECORD lies.
            if meta.nlink() > 1 {
                let copy = match sha256.map(|d| pool::copy_name(&d, executable)) {
                    Some(copy) if pool::is_copy(&path, &self.pool, &copy) => copy,
                    _ => pool::adopt_one(&path, &self.pool)
                        .map_err(|e| format!("{}: {e}", path.display()))?
                        .ok_or_else(|| format!("{} has no copy in the pool", path.display()))?,
                };
                files[package].push(Placed {
                    path: rel.to_string(),
                    copy,
                    len: meta.len(),
                });
                continue;
            }
            // A file of its own: uv wrote it for this prefix (a path in it
            // would be wrong in another), or uv copied or cloned it from
            // its cache (on another filesystem, or btrfs and XFS), or the
            // pool could not link it. A small text is kept as it is; any
            // other goes to the pool.
            let text = (meta.len() <= WRITTEN_LIMIT)
                .then(|| fsutil::read_limited(&path, WRITTEN_LIMIT).ok())
                .flatten()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            let Some(text) = text else {
                let copy = pool::adopt_one(&path, &self.pool)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .ok_or_else(|| format!("{} has no copy in the pool", path.display()))?;
                files[package].push(Placed {
                    path: rel.to_string(),
                    copy,
                    len: meta.len(),
                });
                continue;
            };
            if here.iter().any(|w| holds(text.as_bytes(), w)) {
                return Err(format!("{} names where it was built", path.display()));
            }
            written[package].push(Written {
                path: rel.to_string(),
                mode: meta.mode() & 0o777,
                text,
            });
        }
        let mut records = Vec::new();
        let each = self.packages.iter().zip(files).zip(written).enumerate();
        for (i, ((p, mut files), mut written)) in each {
            if !dists.contains(&i) && !p.marker {
                return Err(format!("{} was not installed", p.name));
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
            written.sort_by(|a, b| a.path.cmp(&b.path));
            let record = Record {
                format: FORMAT,
                files,
                written,
                empty: empty.clone(),
            };
            let bytes = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
            records.push((&p.record, bytes));
        }
        for (path, bytes) in records {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            fsutil::write_atomic_unsynced(path, &bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// The package a `NAME-VERSION.dist-info` directory is of.
    fn package_of(&self, dist: &Path) -> Result<usize, String> {
        let stem = dist.file_stem().and_then(|s| s.to_str());
        let name = stem
            .and_then(|s| s.rsplit_once('-'))
            .map(|(n, _)| normal_name(n));
        (self.packages.iter())
            .position(|p| Some(&p.name) == name.as_ref())
            .ok_or_else(|| format!("{} is of no locked package", dist.display()))
    }
}

/// The process's umask (read by setting it, then set back: this runs
/// before any thread of a build starts).
fn current_umask() -> u32 {
    // SAFETY: umask only swaps the process's mask.
    let mask = unsafe { libc::umask(0o022) };
    // SAFETY: as above, setting back the mask read.
    unsafe { libc::umask(mask) };
    mask as u32
}

/// A new file at `path` holding `bytes`, of mode `mode` (not the umask's):
/// never one that is there, nor through a link.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create_new(path)?;
    f.write_all(bytes)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// A RECORD's `sha256=` value, in hex.
fn recorded(sha256: Option<&str>) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let digest = b64.decode(sha256?).ok()?;
    (digest.len() == 32).then(|| hex(&digest))
}

fn holds(bytes: &[u8], part: &[u8]) -> bool {
    !part.is_empty() && bytes.windows(part.len()).any(|w| w == part)
}

/// What a new prefix holds.
#[derive(Default)]
struct Tree {
    files: BTreeMap<PathBuf, std::fs::Metadata>,
    /// Its empty directories.
    empty: Vec<PathBuf>,
}

/// Every regular file and distribution under `dir`; anything but
/// directories and regular files (a link) is not uv's plain work.
fn walk(dir: &Path, tree: &mut Tree) -> std::io::Result<()> {
    let mut any = false;
    for entry in std::fs::read_dir(dir)? {
        any = true;
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        if meta.is_dir() {
            walk(&path, tree)?;
        } else if meta.is_file() {
            tree.files.insert(path, meta);
        } else {
            return Err(std::io::Error::other(format!(
                "{} is not a directory or a file",
                path.display()
            )));
        }
    }
    if !any {
        tree.empty.push(dir.to_path_buf());
    }
    Ok(())
}

/// The records naming a pool copy that is not there, or that `gone`
/// says is going; and any that is not a sound record.
pub fn unusable(
    cache: &crate::cache::Cache,
    gone: impl Fn(&std::ffi::OsStr) -> bool,
) -> Vec<PathBuf> {
    let pool = cache.bucket(Bucket::Pool);
    crate::cache::sorted_entries(&cache.bucket(Bucket::Installs))
        .into_iter()
        .filter(|path| path.extension().is_none_or(|x| x != "tmp"))
        .filter(|path| {
            let record = fsutil::read_limited(path, RECORD_LIMIT)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok());
            record.is_none_or(|r| {
                !r.sound()
                    || (r.files.iter()).any(|f| {
                        gone(std::ffi::OsStr::new(&f.copy))
                            || std::fs::symlink_metadata(pool.join(&f.copy)).is_err()
                    })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, copy: &str, empty: &str) -> Record {
        Record {
            format: FORMAT,
            files: vec![Placed {
                path: path.into(),
                copy: copy.into(),
                len: 1,
            }],
            written: vec![Written {
                path: path.into(),
                mode: 0o644,
                text: String::new(),
            }],
            empty: vec![(empty.into(), 0o644)],
        }
    }

    #[test]
    fn a_record_places_files_only_below_the_prefix_and_links_only_pool_copies() {
        let copy = "ab".repeat(32);
        assert!(record("lib/site-packages/a/__init__.py", &copy, ".lock").sound());
        assert!(record("bin/a", &format!("{copy}x"), ".lock").sound());
        for path in ["../a", "lib/../../a", "/etc/passwd", "", "./a", "a\0b"] {
            assert!(!record(path, &copy, ".lock").sound(), "{path:?}");
        }
        for bad in ["../pool/x", &format!("{copy}y"), &copy[1..], "/etc/passwd"] {
            assert!(!record("a", bad, ".lock").sound(), "{bad:?}");
        }
        for empty in ["a/b", "..", "/tmp/x", ""] {
            assert!(!record("a", &copy, empty).sound(), "{empty:?}");
        }
        let mut other = record("a", &copy, ".lock");
        other.format = FORMAT + 1;
        assert!(!other.sound());
    }

    #[test]
    fn a_file_naming_where_it_was_built_is_seen() {
        let built = b"/cache/prefixes/k.g1";
        assert!(holds(b"#!/cache/prefixes/k.g1/bin/python\n", built));
        assert!(!holds(b"#!/usr/bin/python3\n", built));
        assert!(!holds(b"anything", b""));
    }
}
