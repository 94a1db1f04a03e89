use std::path::PathBuf;

use anyhow::bail;

use crate::activation::{self, blocked_message};
use crate::manifest::Project;
use crate::materialise::{self, Mode};
use crate::{settings, trust};

/// Build the project's pip prefix if needed and print its path
///
/// The prefix is keyed by everything that decides its content: the
/// interpreter's identity, the Guix profile, the mode, the requirements and
/// the pip options. The same inputs in any project share one prefix.
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
    if !matches!(trust::check(&record, &project), trust::Trust::Allowed(_)) {
        bail!("{}", blocked_message(&found));
    }
    if !materialise::has_pip(&project) {
        bail!(
            "{} lists no pip packages or requirements, so it has no prefix",
            found.display()
        );
    }
    let built =
        materialise::materialise(&project, activation::user_path().as_deref(), Mode::Build)?;
    if let Some(p) = built.prefix {
        println!("{}", p.path.display());
    }
    Ok(0)
}
