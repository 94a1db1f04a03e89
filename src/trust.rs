//! Trust records: a manifest runs nothing until the user allowed its exact
//! content and the content of every file it pulls in.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fsutil::hex;
use crate::inputs::Scan;
use crate::manifest::Project;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Allowed, with the content hash that was allowed.
    Allowed(String),
    /// Never allowed, or changed since.
    Blocked,
    Denied,
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
}

/// The record for a manifest, named by a hash of its canonical path.
pub fn record_path(data_dir: &Path, manifest: &Path) -> Result<PathBuf, TrustError> {
    let canonical = std::fs::canonicalize(manifest).map_err(|source| TrustError::Resolve {
        path: manifest.to_path_buf(),
        source,
    })?;
    let key = hex(&Sha256::digest(canonical.as_os_str().as_bytes()));
    Ok(data_dir.join("trust").join(key))
}

/// A hash of the manifest's bytes and of everything pip will read for it
/// (each requirements and constraints file, followed recursively, local
/// distributions and directories, by content), and of the channels file.
pub fn content_hash(project: &Project, scan: &Scan) -> String {
    let mut h = Sha256::new();
    h.update(b"pyenv-guix trust 2\0");
    h.update((project.bytes.len() as u64).to_le_bytes());
    h.update(&project.bytes);
    let mut entry = |kind: &str, path: &Path, id: Result<&str, &str>| {
        h.update(kind.as_bytes());
        h.update(b"\0");
        h.update(path.as_os_str().as_bytes());
        h.update(b"\0");
        match id {
            Ok(id) => h.update(id.as_bytes()),
            Err(why) => h.update(format!("unreadable: {why}").as_bytes()),
        }
        h.update(b"\n");
    };
    for input in &scan.inputs {
        let id = input.id.as_deref().map_err(String::as_str);
        entry(input.kind.name(), &input.path, id);
    }
    if let Some(channels) = project.channels_file() {
        let bytes = crate::fsutil::read_limited(&channels, crate::inputs::TEXT_LIMIT);
        let id = bytes
            .map(|b| hex(&Sha256::digest(b)))
            .map_err(|e| e.to_string());
        entry("channels", &channels, id.as_deref().map_err(String::as_str));
    }
    hex(&h.finalize())
}

pub fn check(record: &Path, project: &Project, scan: &Scan) -> Trust {
    let Ok(text) = std::fs::read_to_string(record) else {
        return Trust::Blocked;
    };
    let first = text.lines().next().unwrap_or("");
    if first == "deny" {
        return Trust::Denied;
    }
    match first.strip_prefix("allow ") {
        Some(hash) if hash == content_hash(project, scan) => Trust::Allowed(hash.to_string()),
        _ => Trust::Blocked,
    }
}

pub fn allow(record: &Path, project: &Project, scan: &Scan) -> Result<(), TrustError> {
    let line = format!("allow {}\n", content_hash(project, scan));
    write(record, &line, &project.manifest_path)
}

pub fn deny(record: &Path, manifest: &Path) -> Result<(), TrustError> {
    write(record, "deny\n", manifest)
}

fn write(record: &Path, first_line: &str, manifest: &Path) -> Result<(), TrustError> {
    let mut content = first_line.as_bytes().to_vec();
    content.extend_from_slice(manifest.as_os_str().as_bytes());
    content.push(b'\n');
    // Whole or not at all: a half-written record must never read as trust.
    crate::fsutil::write_atomic(record, &content).map_err(|source| TrustError::Write {
        path: record.to_path_buf(),
        source,
    })
}

/// The manifests that trust records allow, as they were named when allowed.
pub fn allowed_manifests(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("trust")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|text| text.starts_with("allow "))
        .filter_map(|text| text.lines().nth(1).map(PathBuf::from))
        .collect()
}
