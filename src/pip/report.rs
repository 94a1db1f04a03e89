//! pip's installation report (`pip install --dry-run --report`, pip ≥
//! 22.2), as far as pyenv-guix reads it: what pip would install, and from
//! where. A profile's lacking packages and a lock are both made from it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Report {
    pub install: Vec<Item>,
}

#[derive(Deserialize)]
pub struct Item {
    pub metadata: Metadata,
    pub download_info: DownloadInfo,
    /// Asked for by URL or path, not found by name.
    #[serde(default)]
    pub is_direct: bool,
}

#[derive(Deserialize)]
pub struct Metadata {
    pub name: String,
    pub version: String,
}

/// Where pip would get a distribution from (PEP 610's direct URL data).
#[derive(Deserialize)]
pub struct DownloadInfo {
    pub url: String,
    #[serde(default)]
    dir_info: Option<DirInfo>,
    #[serde(default)]
    archive_info: Option<ArchiveInfo>,
}

#[derive(Deserialize)]
struct DirInfo {
    #[serde(default)]
    editable: bool,
}

#[derive(Deserialize)]
struct ArchiveInfo {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

impl Item {
    /// A local project installed editable (it has no hash).
    pub fn is_editable(&self) -> bool {
        (self.download_info.dir_info.as_ref()).is_some_and(|d| d.editable)
    }

    /// A file, not a directory or a VCS checkout.
    pub fn is_archive(&self) -> bool {
        self.download_info.archive_info.is_some()
    }

    /// The file's sha256, where pip gives one.
    pub fn sha256(&self) -> Option<&str> {
        let a = self.download_info.archive_info.as_ref()?;
        (a.hashes.get("sha256").map(String::as_str))
            .or_else(|| a.hash.as_deref().and_then(|h| h.strip_prefix("sha256=")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

pub fn read(path: &Path) -> Result<Report, ReportError> {
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}
