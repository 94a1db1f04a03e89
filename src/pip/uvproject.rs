//! A uv project (`[pip] uv-project = true`): `pyproject.toml` and `uv.lock`
//! at the root are what the venv is built from. `uv sync --frozen` reads
//! them in place (relative paths in the lock, such as a find-links
//! directory, are the project's), so they are read here by content for
//! trust and the key, and read again after the build: a venv is kept only
//! if uv read the bytes that were keyed.

use std::path::Path;

use super::error::StageError;
use super::hash::{TEXT_LIMIT, hash_file};
use super::scan::{Kind, Scan};
use super::stage::{read_id, unchanged};

/// The files uv reads for a project, beside the root.
pub const FILES: [&str; 2] = ["pyproject.toml", "uv.lock"];

impl Scan {
    /// Read the project's `pyproject.toml` and `uv.lock`. The venv is the
    /// project's own: uv installs the project itself (editable) unless it
    /// is virtual, and `uv add` changes it.
    pub(super) fn uv_project(&mut self, root: &Path) {
        for name in FILES {
            let path = root.join(name);
            let (i, new) = self.add(Kind::UvProject, path.clone());
            if new {
                self.inputs[i].id = hash_file(&path, TEXT_LIMIT);
            }
        }
        self.per_project
            .push(format!("uv project {}", root.display()));
    }

    /// The key's lines for the uv project's files, by content, in order.
    pub(super) fn uv_key_lines(&self) -> Result<Vec<String>, super::Unreadable> {
        let mut lines = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if input.kind == Kind::UvProject {
                let name = input.path.file_name().unwrap_or_default().to_string_lossy();
                lines.push(format!("uv-project {name} {}", self.id(i)?));
            }
        }
        Ok(lines)
    }

    /// After `uv sync`: each file it read still holds the bytes the key
    /// and trust were made from.
    pub(super) fn uv_project_unchanged(&self) -> Result<(), StageError> {
        for input in self.inputs.iter().filter(|i| i.kind == Kind::UvProject) {
            let id = read_id(input)?;
            let now = hash_file(&input.path, TEXT_LIMIT).map_err(|why| StageError::Unreadable {
                path: input.path.clone(),
                why,
            })?;
            unchanged(input, id, &now)?;
        }
        Ok(())
    }
}
