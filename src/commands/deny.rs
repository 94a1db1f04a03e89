use crate::{log, trust};

/// Stop trusting a project's manifest
///
/// The next prompt inside the project unloads it; it stays blocked until
/// `pyenv-guix allow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    // Deny even a manifest with errors: it must never load.
    let ctx = super::context()?;
    let found = args.project.manifest(&ctx)?;
    let opened = trust::open(&ctx.data_dir, &found)?;
    trust::deny(&opened.record, &found)?;
    log::info(&format!("denied {}", found.display()));
    Ok(0)
}
