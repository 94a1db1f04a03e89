//! How a prefix's build fails: what activation and the commands are told.

use std::path::PathBuf;
use std::sync::Arc;

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
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(
        "prefix {key} lost files while it was built ({why}): not used; the next use builds it again"
    )]
    LostFiles { key: String, why: String },
    /// What the installer left cannot be checked: the build's own doing,
    /// recorded against the key.
    #[error(
        "prefix {key}: the build left {}, which cannot be read (larger than 64 MiB, or not UTF-8): not used",
        record.display()
    )]
    UnreadableRecord { key: String, record: PathBuf },
    /// Ctrl-C during the build: the user asked to stop.
    #[error("{}", crate::buildlock::INTERRUPTED)]
    Interrupted,
    /// uv was chosen for a mode it does not install in.
    #[error("uv does not install in user mode (pip's --user)")]
    UvUserMode,
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

/// Why an input pip reads has no content id: it could not be read as pip
/// would read it, so no key or trust can be made of it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unreadable {
    #[error("{0}")]
    Io(Arc<std::io::Error>),
    #[error("{}", crate::buildlock::INTERRUPTED)]
    Interrupted,
    /// A file of a directory input, by its path relative to the directory.
    #[error("{}: {why}", file.display())]
    InDir { file: PathBuf, why: Box<Unreadable> },
    #[error("{}: more than {limit} directories deep", .dir.display())]
    TooDeep { dir: PathBuf, limit: usize },
    #[error("{}: more than {limit} entries", .dir.display())]
    TooWide { dir: PathBuf, limit: usize },
    #[error("nested more than {0} deep")]
    NestedTooDeep(usize),
    #[error("one of more than {files} files, or {bytes} bytes, that pip would read")]
    TooMuch { files: usize, bytes: u64 },
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("uses ${{{0}}}, which pip expands from the environment: write its value out")]
    Variable(String),
    /// A requirements file whose own input (a file it names) is unreadable.
    #[error("names {}, which cannot be read", .0.display())]
    Names(PathBuf),
    /// A `[pip] lock` file that is not a lock pyenv-guix can install
    /// (where, and why, as the lock's reader says).
    #[error("{0}")]
    NotALock(String),
    /// Added to the scan, not read (yet): never left so by a finished scan.
    #[error("not read")]
    NotRead,
}

impl From<std::io::Error> for Unreadable {
    fn from(e: std::io::Error) -> Unreadable {
        Unreadable::Io(Arc::new(e))
    }
}

/// Why the build's private copies of its inputs could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{}: {why}", path.display())]
    Unreadable { path: PathBuf, why: Unreadable },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} changed while it was being read; nothing was built from it", .0.display())]
    Changed(PathBuf),
    #[error("{}", crate::buildlock::INTERRUPTED)]
    Interrupted,
    /// A file a lock names could not be copied into the stage.
    #[error("{} {} in {}: {why}; nothing was built", .at.package, .at.version, .at.lock.display())]
    Locked {
        at: Box<LockedFile>,
        why: Box<StageError>,
    },
    /// A file a lock names is not the file it locked. What it hashes to
    /// is not said: the lock may name a file that is not the project's.
    #[error(
        "{}: its sha256 is not {want}, as {} locks it for {} {}: the file was changed or replaced; nothing was built",
        .from.display(),
        .at.lock.display(),
        .at.package,
        .at.version
    )]
    NotLocked {
        at: Box<LockedFile>,
        from: PathBuf,
        want: String,
    },
}

/// A file as a lock names it: which lock, for which package.
#[derive(Debug)]
pub struct LockedFile {
    pub lock: PathBuf,
    pub package: String,
    pub version: String,
}
