//! Content ids: a file's SHA-256, and a directory's, over its files'
//! names and hashes. A walk over a project's directories is bounded and
//! never follows a link to a directory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::Unreadable;
use crate::fsutil::{self, hex};

/// Largest requirements or constraints file read.
pub const TEXT_LIMIT: u64 = 1 << 20;
/// Largest local distribution read.
pub const DIST_LIMIT: u64 = 4 << 30;

/// SHA-256 of a regular file of at most `limit` bytes, in hex.
pub fn hash_file(path: &Path, limit: u64) -> Result<String, Unreadable> {
    let mut f = fsutil::open_regular(path, limit)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut reader = (&mut f).take(limit + 1);
    loop {
        // Ctrl-C at a prompt ends a long hash at once (the hook's export
        // catches it to print nothing, and would otherwise hash on).
        if crate::buildlock::interrupted() {
            return Err(Unreadable::Interrupted);
        }
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Why a copy stopped: the side it failed on, or Ctrl-C.
#[derive(Debug)]
pub enum CopyFailed {
    Read(std::io::Error),
    Write(std::io::Error),
    Interrupted,
}

/// Copy all that `from` gives into `to`, and the SHA-256 (in hex) of the
/// bytes copied: what is later read from the copy is what was hashed, not
/// the file read again, which may have changed since.
pub fn copy_hashing(mut from: impl Read, to: &mut impl Write) -> Result<String, CopyFailed> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if crate::buildlock::interrupted() {
            return Err(CopyFailed::Interrupted);
        }
        let n = from.read(&mut buf).map_err(CopyFailed::Read)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        to.write_all(&buf[..n]).map_err(CopyFailed::Write)?;
    }
    Ok(hex(&h.finalize()))
}

/// One file of a directory's id.
pub(super) fn dir_entry(h: &mut Sha256, rel: &Path, hash: &str) {
    use std::os::unix::ffi::OsStrExt;
    h.update(rel.as_os_str().as_bytes());
    h.update(b"\0");
    h.update(hash.as_bytes());
    h.update(b"\n");
}

/// A directory's regular files (only its own, or all below it), sorted,
/// with their hashes, and the id over names and hashes.
pub(super) fn list_dir(
    dir: &Path,
    recursive: bool,
) -> Result<(String, Vec<(PathBuf, String)>), Unreadable> {
    let mut files = Vec::new();
    walk(dir, Path::new(""), recursive, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let mut out = Vec::new();
    for rel in files {
        let hash = hash_file(&dir.join(&rel), DIST_LIMIT).map_err(|why| Unreadable::InDir {
            file: rel.clone(),
            why: Box::new(why),
        })?;
        dir_entry(&mut h, &rel, &hash);
        out.push((rel, hash));
    }
    Ok((hex(&h.finalize()), out))
}

/// How deep and how wide a walk goes: a project's directories are
/// hostile until trusted, and a walk over them must end.
const WALK_DEPTH: usize = 32;
const WALK_ENTRIES: usize = 100_000;

/// The files under `dir` (relative to it). A link to a file is read as the
/// file; a link to a directory is not entered, so no loop of links is
/// ever followed; past `WALK_DEPTH` levels or `WALK_ENTRIES` entries the
/// walk is refused, not cut short (a file left out would be unkeyed).
fn walk(dir: &Path, rel: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), Unreadable> {
    let mut seen = 0;
    walk_from(dir, rel, recursive, out, &mut seen)
}

fn walk_from(
    dir: &Path,
    rel: &Path,
    recursive: bool,
    out: &mut Vec<PathBuf>,
    seen: &mut usize,
) -> Result<(), Unreadable> {
    if rel.components().count() > WALK_DEPTH {
        return Err(Unreadable::TooDeep {
            dir: dir.join(rel),
            limit: WALK_DEPTH,
        });
    }
    let entries = std::fs::read_dir(dir.join(rel))?;
    for e in entries {
        let e = e?;
        *seen += 1;
        if *seen > WALK_ENTRIES {
            return Err(Unreadable::TooWide {
                dir: dir.to_path_buf(),
                limit: WALK_ENTRIES,
            });
        }
        if crate::buildlock::interrupted() {
            return Err(Unreadable::Interrupted);
        }
        let name = rel.join(e.file_name());
        let Ok(kind) = e.file_type() else {
            continue;
        };
        let is_dir = kind.is_dir();
        let is_file = kind.is_file()
            || (kind.is_symlink() && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()));
        if is_file {
            out.push(name);
        } else if is_dir && recursive {
            walk_from(dir, &name, recursive, out, seen)?;
        }
    }
    Ok(())
}
