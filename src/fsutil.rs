//! Small file-system helpers shared by the modules.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Write whole or not at all: readers see the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` as a shell would find it: a path (relative to `dir`) if it has a
/// slash, else the first executable of that name on `path` (an empty entry
/// is `dir`). Only an executable file is found.
pub fn find_program(name: &OsStr, path: Option<&OsStr>, dir: &Path) -> Option<PathBuf> {
    if name.as_bytes().contains(&b'/') {
        let p = dir.join(name);
        return is_executable(&p).then_some(p);
    }
    path?
        .as_bytes()
        .split(|&b| b == b':')
        .map(|entry| dir.join(OsStr::from_bytes(entry)).join(name))
        .find(|p| is_executable(p))
}
