//! Which program installs a prefix's packages: pip, or uv when the user has
//! it and it can do what pip would. The choice is part of the prefix's key,
//! uv by the bytes of its binary.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::fsutil::hex;
use crate::inputs::Scan;
use crate::manifest::{Installer, Pip, PipMode};
use crate::state::Stamp;

#[derive(Debug, thiserror::Error)]
pub enum InstallerError {
    #[error("[pip] installer = \"uv\", but there is no uv on your PATH")]
    NotFound,
    #[error(
        "[pip] installer = \"uv\", but {} is a script and pyenv-guix cannot tell which uv it runs: put uv itself on your PATH",
        .0.display()
    )]
    Script(PathBuf),
    #[error("[pip] installer = \"uv\", but the pyenv shim {} runs no uv here: {source}", .shim.display())]
    Pyenv {
        shim: PathBuf,
        source: crate::pyenv::PyenvError,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    Pip,
    /// The uv binary, and the hash of its bytes.
    Uv {
        path: PathBuf,
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub tool: Tool,
    /// Why pip installs although uv was asked for or is there.
    pub instead: Option<String>,
}

impl Choice {
    fn pip(instead: Option<String>) -> Choice {
        Choice {
            tool: Tool::Pip,
            instead,
        }
    }

    /// The prefix key's line for the installer.
    pub fn key_line(&self) -> String {
        match &self.tool {
            Tool::Pip => "installer pip".to_string(),
            Tool::Uv { id, .. } => format!("installer uv {id}"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.tool {
            Tool::Pip => "pip",
            Tool::Uv { .. } => "uv",
        }
    }
}

/// Decide who installs `pip`'s packages for a project at `root`, with the
/// PATH the user had before any project (`user_path`).
pub fn choose(
    ctx: &Context,
    pip: &Pip,
    scan: &Scan,
    user_path: Option<&OsStr>,
    root: &Path,
) -> Result<Choice, InstallerError> {
    if pip.installer == Installer::Pip {
        return Ok(Choice::pip(None));
    }
    let uv = match find_uv(ctx, user_path, root) {
        Ok(uv) => uv,
        Err(e) if pip.installer == Installer::Uv => return Err(e),
        Err(e) => {
            crate::log::debug(&format!("pip installs: {e}"));
            return Ok(Choice::pip(None));
        }
    };
    let cannot = if pip.mode == PipMode::User {
        Some("uv does not install in user mode (pip's --user)".to_string())
    } else {
        scan.uv_cannot()
    };
    Ok(match cannot {
        Some(why) => Choice::pip(Some(why)),
        None => Choice {
            tool: uv,
            instead: None,
        },
    })
}

/// uv on the user's PATH, as the binary it is: a pyenv shim is resolved
/// for the project's directory, as the shell would run it there (cached
/// while nothing pyenv reads changes, see `pyenv`).
fn find_uv(ctx: &Context, user_path: Option<&OsStr>, root: &Path) -> Result<Tool, InstallerError> {
    let located = crate::fsutil::find_program(OsStr::new("uv"), user_path, root)
        .ok_or(InstallerError::NotFound)?;
    let path = match crate::pyenv::Shim::at(&located) {
        Some(shim) => shim
            .which(&ctx.cache_dir, root, &ctx.build_env(user_path, &[]))
            .map_err(|source| InstallerError::Pyenv {
                shim: located.clone(),
                source,
            })?,
        None => located.clone(),
    };
    if crate::fsutil::is_script(&path) {
        return Err(InstallerError::Script(located));
    }
    let id = binary_id(ctx, &path)?;
    Ok(Tool::Uv { path, id })
}

#[derive(Serialize, Deserialize)]
struct Cached {
    stamp: Stamp,
    id: String,
}

/// The hash of the file at `path`, from the cache while the file's stamp
/// is unchanged: uv is tens of megabytes, read once per version.
fn binary_id(ctx: &Context, path: &Path) -> Result<String, InstallerError> {
    let cache_file = ctx
        .cache_dir
        .join("tools")
        .join(hex(&Sha256::digest(path.as_os_str().as_bytes())));
    let stamp = Stamp::of(path);
    if let Ok(bytes) = std::fs::read(&cache_file)
        && let Ok(c) = serde_json::from_slice::<Cached>(&bytes)
        && c.stamp == stamp
    {
        return Ok(c.id);
    }
    let id = crate::inputs::hash_file(path, crate::inputs::DIST_LIMIT).map_err(|e| {
        InstallerError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        }
    })?;
    // The file may have changed while it was read: cache only a stable answer.
    if Stamp::of(path) == stamp
        && let Ok(bytes) = serde_json::to_vec(&Cached {
            stamp,
            id: id.clone(),
        })
    {
        let _ = crate::fsutil::write_atomic(&cache_file, &bytes);
    }
    Ok(id)
}
