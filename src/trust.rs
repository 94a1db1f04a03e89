//! Trust records: a manifest runs nothing until the user allowed its exact
//! content, in its place, and the content of everything that can act for
//! it (what pip reads, the channels file, an interpreter in the project).
//!
//! A record belongs to a place: the project's directory, resolved, so one
//! directory spelled two ways is one record, and a manifest reached from
//! another directory (a symlink, a hard link) is another project. It keeps
//! every version the user allowed, as direnv does, until `deny`.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::Records;
use crate::fsutil::hex;
use crate::manifest::{self, Project};
use crate::pip::Scan;

const HEADER: &str = "pyenv-guix trust 2";
/// How many allowed versions a record remembers.
const VERSIONS: usize = 64;
const RECORD_LIMIT: u64 = 1 << 20;

#[derive(Debug)]
pub enum Trust {
    /// Allowed: the content hash that was allowed, and what was read to
    /// check it (read once, used again by the build).
    Allowed(String, Box<Scan>),
    /// Not allowed as it is now, and why.
    Blocked(Why),
    Denied,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    NeverAllowed,
    /// The manifest has errors: it can't be allowed as it is.
    Errors,
    /// This file (relative to the root when inside it) changed since the
    /// last allowed version.
    Changed(String),
    /// This file is named or found now, and was not in the last allowed
    /// version (a wheel dropped into a find-links directory, a file a lock
    /// names since `uv add`).
    New(String),
    /// This file changed since the last allowed version, into one that
    /// cannot be used as it is (why): allowing it again would refuse it.
    Unusable {
        file: String,
        why: String,
    },
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::NeverAllowed => f.write_str("not allowed yet"),
            Why::Errors => f.write_str("it has errors"),
            Why::Changed(file) => write!(f, "{file} changed since it was allowed"),
            Why::New(file) => write!(f, "{file} is new since it was allowed"),
            Why::Unusable { file, why } => write!(
                f,
                "{file} changed since it was allowed, and cannot be used as it is: {why}"
            ),
        }
    }
}

impl Trust {
    pub fn word(&self) -> &'static str {
        match self {
            Trust::Allowed(..) => "allowed",
            Trust::Blocked(_) => "blocked",
            Trust::Denied => "denied",
        }
    }

    /// What to tell the user about a manifest that is not allowed.
    pub fn blocked_message(&self, manifest: &Path) -> String {
        let why = match self {
            Trust::Allowed(..) => return String::new(),
            Trust::Blocked(why) => why.to_string(),
            Trust::Denied => "denied".to_string(),
        };
        format!(
            "{} is blocked ({why}). Run 'pyenv-guix allow' to trust it.",
            manifest.display()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{}: cannot resolve: {source}", path.display())]
    Resolve {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write trust record {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Something the manifest names cannot be used (missing, not
    /// followed, a refused option): nothing is trusted.
    #[error("{0}")]
    Unusable(String),
}

/// A project as every command opens it, like direnv's `RC`: where its
/// manifest and trust record are, the manifest loaded (or why it could not
/// be), and whether it is allowed as it is now. A project whose manifest
/// was never allowed as it is has had nothing else read.
pub struct Opened {
    pub manifest: PathBuf,
    pub record: PathBuf,
    pub project: Result<Project, manifest::ManifestError>,
    pub trust: Trust,
    /// The files to watch, the manifest aside, for a change that may change
    /// the verdict (one put back as it was allowed, say).
    pub read: Vec<PathBuf>,
}

/// Open the project whose manifest is `manifest`, trust records being kept
/// in `data_dir`.
pub fn open(data_dir: &Path, manifest: &Path) -> Result<Opened, TrustError> {
    let record = record_path(data_dir, manifest)?;
    let project = Project::load(manifest);
    let (trust, read) = match &project {
        Ok(p) => check(&record, p),
        Err(_) => (Trust::Blocked(Why::Errors), Vec::new()),
    };
    Ok(Opened {
        manifest: manifest.to_path_buf(),
        record,
        project,
        trust,
        read,
    })
}

impl Opened {
    /// The project, if it is allowed as it is now, with what was read to
    /// tell (read once, used again by the build).
    pub fn allowed(self) -> Option<(Project, Box<Scan>)> {
        match (self.project, self.trust) {
            (Ok(project), Trust::Allowed(_, scan)) => Some((project, scan)),
            _ => None,
        }
    }
}

/// Allow `project` as it is now, everything it names read now: the one
/// way `allow`, `edit` and the commands that edit a manifest trust it.
pub fn allow_now(record: &Path, project: &Project) -> Result<(), TrustError> {
    allow_scanned(record, project, &project.scan())
}

/// `allow_now` with what was read already (for a check of it first).
pub fn allow_scanned(record: &Path, project: &Project, scan: &Scan) -> Result<(), TrustError> {
    if let Some(problem) = scan.problem() {
        return Err(TrustError::Unusable(problem));
    }
    allow(record, project, scan)
}

/// The manifest's place: its directory resolved, then its own name. A
/// symlinked manifest is named by where it was found, not by its target.
fn place(manifest: &Path) -> Result<PathBuf, TrustError> {
    let dir = manifest.parent().unwrap_or(Path::new("/"));
    let dir = std::fs::canonicalize(dir).map_err(|source| TrustError::Resolve {
        path: manifest.to_path_buf(),
        source,
    })?;
    Ok(dir.join(manifest::FILE_NAME))
}

/// The record for a manifest, named by a hash of its place.
pub fn record_path(data_dir: &Path, manifest: &Path) -> Result<PathBuf, TrustError> {
    let key = hex(&Sha256::digest(place(manifest)?.as_os_str().as_bytes()));
    Ok(Records::Trust.dir(data_dir).join(key))
}

/// A hash of the manifest's bytes and of everything `scan` read for it.
pub fn content_hash(project: &Project, scan: &Scan) -> String {
    let mut h = Sha256::new();
    h.update(b"pyenv-guix trust 2\0");
    h.update((project.bytes.len() as u64).to_le_bytes());
    h.update(&project.bytes);
    for input in &scan.inputs {
        h.update(input.kind.name().as_bytes());
        h.update(b"\0");
        h.update(input.path.as_os_str().as_bytes());
        h.update(b"\0");
        match &input.id {
            Ok(id) => h.update(id.as_bytes()),
            Err(why) => h.update(format!("unreadable: {why}").as_bytes()),
        }
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// What a record says.
#[derive(Default)]
struct Record {
    denied: bool,
    /// Every allowed version: (hash of the manifest alone, content hash).
    allowed: Vec<(String, String)>,
    /// The files of the last allowed version: (path, id).
    files: Vec<(PathBuf, String)>,
    /// Files as earlier allowed versions had them, the latest first (at
    /// most `SEEN`): a file put back as one of those had it is not the
    /// one a blocked project names.
    seen: Vec<(PathBuf, String)>,
}

/// How many files of earlier versions a record remembers.
const SEEN: usize = 1024;

fn read(record: &Path) -> Option<Record> {
    let bytes = crate::fsutil::read_limited(record, RECORD_LIMIT).ok()?;
    let mut lines = bytes.split(|&b| b == b'\n');
    if lines.next() != Some(HEADER.as_bytes()) {
        return None;
    }
    let mut r = Record::default();
    for line in lines {
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let word = |i: usize| {
            words
                .get(i)
                .map(|w| String::from_utf8_lossy(w).into_owned())
        };
        match words.first().copied() {
            Some(b"deny") => r.denied = true,
            Some(b"allow") => {
                if let (Some(m), Some(c)) = (word(1), word(2)) {
                    r.allowed.push((m, c));
                }
            }
            Some(kind @ (b"file" | b"seen")) => {
                if let (Some(path), Some(id)) = (words.get(1).and_then(|p| unhex(p)), word(2)) {
                    let file = (PathBuf::from(std::ffi::OsString::from_vec(path)), id);
                    match kind {
                        b"file" => r.files.push(file),
                        _ => r.seen.push(file),
                    }
                }
            }
            _ => {}
        }
    }
    Some(r)
}

/// Whether `project`, as it is now, is allowed in its place. A manifest
/// whose own bytes were never allowed is blocked without reading anything
/// else; only then are the files it names read (once: the scan comes back
/// with the verdict). With the verdict, the files read to tell it.
pub fn check(record: &Path, project: &Project) -> (Trust, Vec<PathBuf>) {
    let Some(r) = read(record) else {
        return (Trust::Blocked(Why::NeverAllowed), Vec::new());
    };
    if r.denied {
        return (Trust::Denied, Vec::new());
    }
    let own = hex(&Sha256::digest(&project.bytes));
    if !r.allowed.iter().any(|(m, _)| *m == own) {
        let why = Why::Changed(manifest::FILE_NAME.to_string());
        return (Trust::Blocked(why), Vec::new());
    }
    let scan = project.scan();
    let hash = content_hash(project, &scan);
    if r.allowed.iter().any(|(m, c)| *m == own && *c == hash) {
        let read = scan.watched();
        return (Trust::Allowed(hash, Box::new(scan)), read);
    }
    (blocked(&r, project, &scan), watched_while_blocked(&scan))
}

/// How many files a blocked project watches, at most.
const WATCHED_WHILE_BLOCKED: usize = 256;

/// What a blocked project watches to load again when its files are put
/// back: the inputs themselves (a directory by its own stamp, not each of
/// its files: what is not reviewed may be large), those read, and only
/// regular files and directories (a device or a pipe, `/dev/stdout`, is
/// new at every look). Past `WATCHED_WHILE_BLOCKED`, none: the manifest
/// alone, as before.
fn watched_while_blocked(scan: &Scan) -> Vec<PathBuf> {
    let watched: Vec<PathBuf> = (scan.inputs.iter())
        .filter(|i| i.id.is_ok())
        .map(|i| i.path.clone())
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() || m.is_dir()))
        .collect();
    match watched.len() > WATCHED_WHILE_BLOCKED {
        true => Vec::new(),
        false => watched,
    }
}

/// Why a project whose manifest was allowed, but not with what `scan`
/// read, is blocked: the file that changed, as the record last knew it.
fn blocked(r: &Record, project: &Project, scan: &Scan) -> Trust {
    // A file no allowed version has as it is; else, each being as some
    // version has it, one that differs from the version last allowed.
    let in_any =
        |path: &Path, id: &str| (r.files.iter().chain(&r.seen)).any(|(p, h)| p == path && h == id);
    let in_last = |path: &Path, id: &str| r.files.iter().any(|(p, h)| p == path && h == id);
    let changed = changed_input(r, scan, in_any).or_else(|| changed_input(r, scan, in_last));
    let known = in_any;
    let unusable = changed.as_ref().and_then(|p| {
        let input = scan.inputs.iter().find(|i| i.path == *p)?;
        input.id.as_ref().err().map(|why| why.to_string())
    });
    let new = changed
        .as_ref()
        .is_some_and(|p| !(r.files.iter().chain(&r.seen)).any(|(known, _)| known == p));
    let here = |p: &Path| {
        p.strip_prefix(&project.root)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let shown = match &changed {
        Some(p) => {
            // A uv project's files change together (`uv add` writes both
            // pyproject.toml and uv.lock): each is said.
            let together: Vec<String> = (scan.inputs.iter())
                .filter(|i| i.kind == crate::pip::Kind::UvProject && i.path != *p)
                .filter(|i| !i.id.as_deref().is_ok_and(|id| known(&i.path, id)))
                .map(|i| here(&i.path))
                .collect();
            let and = crate::log::and_list::<String>;
            match (together.is_empty(), new) {
                (true, _) => here(p),
                (false, false) => and(&[together, vec![here(p)]].concat()),
                (false, true) => format!("{} changed, and {}", and(&together), here(p)),
            }
        }
        None => "a file it names".to_string(),
    };
    match unusable {
        Some(why) => Trust::Blocked(Why::Unusable { file: shown, why }),
        None if new => Trust::Blocked(Why::New(shown)),
        None => Trust::Blocked(Why::Changed(shown)),
    }
}

/// The file that changed, by `known` (path, id): the last changed input (a
/// nested file comes after the file naming it, whose id changes with it),
/// a file of a directory input, or one gone.
fn changed_input(r: &Record, scan: &Scan, known: impl Fn(&Path, &str) -> bool) -> Option<PathBuf> {
    scan.inputs
        .iter()
        .rev()
        .find(|i| !i.id.as_deref().is_ok_and(|id| known(&i.path, id)))
        .map(|i| {
            // In a directory: the file that changed, or one that is gone.
            let inside = i
                .files
                .iter()
                .map(|(rel, h)| (i.path.join(rel), h))
                .find(|(p, h)| !known(p, h))
                .map(|(p, _)| p)
                .or_else(|| {
                    r.files
                        .iter()
                        .find(|(p, _)| {
                            p.starts_with(&i.path)
                                && *p != i.path
                                && !i.files.iter().any(|(rel, _)| i.path.join(rel) == *p)
                        })
                        .map(|(p, _)| p.clone())
                });
            inside.unwrap_or_else(|| i.path.clone())
        })
        .or_else(|| {
            r.files
                .iter()
                .find(|(p, _)| !scan.inputs.iter().any(|i| i.path == *p))
                .map(|(p, _)| p.clone())
        })
}

/// Allow the project as `scan` read it, remembering the versions allowed
/// before.
fn allow(record: &Path, project: &Project, scan: &Scan) -> Result<(), TrustError> {
    let own = hex(&Sha256::digest(&project.bytes));
    let hash = content_hash(project, scan);
    let before = read(record).filter(|r| !r.denied).unwrap_or_default();
    let mut allowed = before.allowed;
    allowed.retain(|v| *v != (own.clone(), hash.clone()));
    allowed.push((own, hash));
    let skip = allowed.len().saturating_sub(VERSIONS);
    let mut lines: Vec<Vec<u8>> = allowed[skip..]
        .iter()
        .map(|(m, c)| format!("allow {m} {c}").into_bytes())
        .collect();
    // Each input, and each file of a directory input: only for saying
    // which file changed (the content hash above is what decides).
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    for input in &scan.inputs {
        // An input that cannot be read is never allowed (see
        // `allow_scanned`), so it has no line.
        if let Ok(id) = input.id.as_deref() {
            files.push((input.path.clone(), id));
        }
        files.extend(
            input
                .files
                .iter()
                .map(|(rel, h)| (input.path.join(rel), h.as_str())),
        );
    }
    // The files of the versions before, as they had them, the latest first.
    let mut seen: Vec<(PathBuf, String)> = Vec::new();
    for (path, id) in before.files.into_iter().chain(before.seen) {
        let now = files.iter().any(|(p, i)| *p == path && *i == id);
        if !now && !seen.iter().any(|(p, i)| *p == path && *i == id) && seen.len() < SEEN {
            seen.push((path, id));
        }
    }
    let line = |word: &str, path: &Path, id: &str| {
        let mut line = format!("{word} ").into_bytes();
        line.extend_from_slice(hex(path.as_os_str().as_bytes()).as_bytes());
        line.extend_from_slice(format!(" {id}").as_bytes());
        line
    };
    lines.extend(files.iter().map(|(path, id)| line("file", path, id)));
    // Never at the cost of the record: one too large to read is no trust.
    let mut size: usize = lines.iter().map(|l| l.len() + 1).sum();
    for (path, id) in &seen {
        let seen_line = line("seen", path, id);
        size += seen_line.len() + 1;
        if size > RECORD_LIMIT as usize / 2 {
            break;
        }
        lines.push(seen_line);
    }
    write(record, lines, &project.manifest_path)
}

/// Deny the manifest in its place, forgetting every version allowed there.
pub fn deny(record: &Path, manifest: &Path) -> Result<(), TrustError> {
    write(record, vec![b"deny".to_vec()], manifest)
}

fn write(record: &Path, lines: Vec<Vec<u8>>, manifest: &Path) -> Result<(), TrustError> {
    let mut content = format!("{HEADER}\nmanifest ").into_bytes();
    content.extend_from_slice(hex(place(manifest)?.as_os_str().as_bytes()).as_bytes());
    content.push(b'\n');
    for line in lines {
        content.extend_from_slice(&line);
        content.push(b'\n');
    }
    // Whole or not at all: a half-written record must never read as trust.
    crate::fsutil::write_atomic(record, &content).map_err(|source| TrustError::Write {
        path: record.to_path_buf(),
        source,
    })
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// The manifests that trust records allow, in their places.
pub fn allowed_manifests(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(Records::Trust.dir(data_dir)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(bytes) = crate::fsutil::read_limited(&e.path(), RECORD_LIMIT) else {
            continue;
        };
        let mut manifest = None;
        let mut allowed = false;
        for line in bytes.split(|&b| b == b'\n') {
            if let Some(p) = line.strip_prefix(b"manifest ") {
                manifest = unhex(p).map(|p| PathBuf::from(std::ffi::OsString::from_vec(p)));
            }
            allowed |= line.starts_with(b"allow ");
        }
        if let (Some(m), true) = (manifest, allowed) {
            out.push(m);
        }
    }
    out
}
