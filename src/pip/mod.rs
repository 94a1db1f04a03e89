//! Everything pyenv-guix does with pip: reading what pip reads (`scan`),
//! its options and requirements files, the prefix key, the build under
//! lock by an installer (`install`), the prefix's layout, and the one
//! setting of the user's pip configuration that builds keep (`conf`).
//! The rest of the crate uses what is re-exported here.

pub mod conf;
mod hash;
pub mod install;
mod key;
mod layout;
pub mod options;
mod prefix;
pub mod reqfile;
mod run;
mod scan;
mod stage;

pub use hash::hash_file;
pub use install::{Choice, InstallerError, choose};
pub use key::{Key, PrefixInputs};
pub use layout::Layout;
pub use options::check_option;
pub use prefix::{BuildError, built, ensure, generations, path_for};
pub use scan::{DIST_LIMIT, Input, Kind, Scan, TEXT_LIMIT};
