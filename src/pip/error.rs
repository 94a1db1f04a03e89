//! How a prefix's build fails: what activation and the commands are told.

use crate::buildlock::Pending;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{installer} failed to build prefix {key} ({status}){detail}")]
    Pip {
        installer: &'static str,
        key: String,
        status: String,
        /// Where pip's words are: above, or (quiet) their last lines.
        detail: String,
    },
    #[error("the build of prefix {key} failed (run 'pyenv-guix reload' to retry):\n{message}")]
    FailedBefore { key: String, message: String },
    /// Not an error to the user: activation loads it later.
    #[error(transparent)]
    Pending(#[from] Pending),
    /// The wheels need libraries Guix was not asked for, or could not give.
    #[error("prefix {0}")]
    Libraries(#[from] crate::libraries::LibraryError),
    /// An input could not be read, or changed while it was copied: not
    /// the key's fault, so not recorded against it.
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// Wraps an I/O error with what was being done.
pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}
