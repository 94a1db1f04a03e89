//! Where pyenv-guix keeps things, from the `PYENV_GUIX_*` variables or XDG.

use std::path::PathBuf;

fn from_env_or(var: &str, xdg: Option<PathBuf>, fallback: &str) -> PathBuf {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        // A relative setting must mean the same place after the shell cds.
        return std::path::absolute(&p).unwrap_or(p);
    }
    xdg.map(|d| d.join("pyenv-guix"))
        .unwrap_or_else(|| std::env::temp_dir().join(fallback))
}

/// Trust records live here (`PYENV_GUIX_DATA_DIR`, else `$XDG_DATA_HOME/pyenv-guix`).
pub fn data_dir() -> PathBuf {
    from_env_or("PYENV_GUIX_DATA_DIR", dirs::data_dir(), "pyenv-guix-data")
}

/// Built things and stamps live here (`PYENV_GUIX_CACHE_DIR`, else `$XDG_CACHE_HOME/pyenv-guix`).
pub fn cache_dir() -> PathBuf {
    from_env_or(
        "PYENV_GUIX_CACHE_DIR",
        dirs::cache_dir(),
        "pyenv-guix-cache",
    )
}

/// Touched by `reload`; every loaded state watches it.
pub fn reload_stamp() -> PathBuf {
    cache_dir().join("reload")
}
