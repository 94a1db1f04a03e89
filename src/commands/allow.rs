use std::path::PathBuf;

use crate::manifest::Project;
use crate::{log, settings, trust};

/// Trust a project's manifest as it is now
///
/// Trust covers the manifest's exact bytes and every file it names
/// (requirements files, the channels file). Any later change to any of them
/// blocks the project again until you allow it again. A manifest with
/// errors is not trusted: they are shown with file, line and column.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory (the nearest .pyguix.toml at or above it) or the manifest
    /// itself [default: the current directory]
    path: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let found = super::manifest_from(args.path.as_deref())?;
    let project = Project::load(&found)?;
    let record = trust::record_path(&settings::data_dir(), &found)?;
    trust::allow(&record, &project)?;
    log::info(&format!("allowed {}", found.display()));
    Ok(0)
}
