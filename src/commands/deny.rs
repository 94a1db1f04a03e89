use std::path::PathBuf;

use crate::{log, settings, trust};

/// Stop trusting a project's manifest
///
/// The next prompt inside the project unloads it; it stays blocked until
/// `pyenv-guix allow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory (the nearest .pyguix.toml at or above it) or the manifest
    /// itself [default: the current directory]
    path: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let found = super::manifest_from(args.path.as_deref())?;
    let record = trust::record_path(&settings::data_dir(), &found)?;
    trust::deny(&record, &found)?;
    log::info(&format!("denied {}", found.display()));
    Ok(0)
}
