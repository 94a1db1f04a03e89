//! Everything pyenv-guix does with pip: reading what pip reads (`scan`),
//! its options and requirements files, the prefix key, the build under
//! lock by an installer (`install`), and the prefix's layout. (The one
//! setting of the user's pip configuration that builds keep is read with
//! the user's environment, in `context::pip_cert`.)
//! The rest of the crate uses what is re-exported here.

mod error;
mod hash;
pub mod install;
mod key;
mod layout;
pub mod lock;
pub mod options;
pub mod pool;
mod prefix;
pub mod replay;
mod report;
pub mod reqfile;
pub(crate) mod run;
mod scan;
mod stage;
mod table;
mod uvproject;

pub use error::{BuildError, LockedFile, StageError, Unreadable};
pub use hash::{DIST_LIMIT, TEXT_LIMIT, hash_file};
pub use install::{Choice, InstallerError, choose};
pub use key::{Key, PrefixInputs};
pub use layout::Layout;
pub(crate) use layout::record_entries;
pub use prefix::{built, ensure, generations, path_for};
pub use scan::{Input, Kind, Scan};
pub use table::{Installer, Pip, PipMode};
pub use uvproject::{
    check_command as uv_check_command, lock_command as uv_lock_command, lock_for as uv_lock_for,
    locked_names as uv_locked_names,
};
