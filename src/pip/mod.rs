//! Everything pyenv-guix does with pip: reading what pip reads (`scan`),
//! its options and requirements files, the prefix key, the build under
//! lock by an installer (`install`), the prefix's layout, and the one
//! setting of the user's pip configuration that builds keep (`conf`).
//! The rest of the crate uses what is re-exported here.

pub mod conf;
mod error;
mod hash;
pub mod install;
mod key;
mod layout;
pub mod lock;
pub mod options;
mod prefix;
pub mod reqfile;
mod run;
mod scan;
mod stage;

pub use error::BuildError;
pub use hash::{DIST_LIMIT, TEXT_LIMIT, hash_file};
pub use install::{Choice, InstallerError, choose};
pub use key::{Key, PrefixInputs};
pub use layout::Layout;
pub use prefix::{built, ensure, generations, path_for};
pub use scan::{Input, Kind, Scan};
