//! Writing a RUNPATH, with Guix's patchelf, on a copy that replaces the
//! file in one rename: the installer may have hard-linked the file from
//! its own cache (uv does), and that copy must stay as it was.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::LibraryError;
use super::elf;

/// Set `file`'s RUNPATH to `search` and return the new content's SHA-256
/// in RECORD's encoding.
pub fn set_runpath(
    patchelf: &Path,
    file: &Path,
    search: &[String],
) -> Result<String, LibraryError> {
    let fail = |message: String| LibraryError::Patch {
        file: file.to_path_buf(),
        message,
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let copy = tempfile::Builder::new()
        .prefix(".pyenv-guix-patch.")
        .tempfile_in(dir)
        .map_err(|e| fail(format!("cannot make a copy beside it: {e}")))?;
    std::fs::copy(file, copy.path()).map_err(|e| fail(format!("cannot copy it: {e}")))?;
    // The copy keeps the file's mode, and a file from the pool is read-only.
    std::fs::set_permissions(copy.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| fail(e.to_string()))?;
    let joined = search.join(":");
    let out = Command::new(patchelf)
        .arg("--set-rpath")
        .arg(&joined)
        .arg(copy.path())
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", patchelf.display())))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{} {}: {}",
            patchelf.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let bytes = std::fs::read(copy.path()).map_err(|e| fail(e.to_string()))?;
    // Believe the file, not the tool's exit status.
    let now = elf::read(&bytes)
        .ok()
        .flatten()
        .map(|d| d.search)
        .unwrap_or_default();
    if now != search {
        return Err(fail(format!(
            "patchelf left RUNPATH {:?}, not {joined:?}",
            now.join(":")
        )));
    }
    let mode = std::fs::metadata(file)
        .map_err(|e| fail(e.to_string()))?
        .permissions();
    std::fs::set_permissions(copy.path(), mode).map_err(|e| fail(e.to_string()))?;
    copy.persist(file)
        .map_err(|e| fail(format!("cannot replace it: {}", e.error)))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Ok(b64.encode(Sha256::digest(&bytes)))
}
