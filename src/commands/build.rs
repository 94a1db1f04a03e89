use crate::materialise::Mode;

/// Build what the project needs (the hook starts this in the background)
///
/// What a prompt does not wait for: the Guix profile and the pip prefix of
/// an allowed project, built here under their locks, their output to this
/// process's stdout and stderr (the hook sends them to a log).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    args.project.materialise(&super::context()?, Mode::Build)?;
    crate::log::info("built");
    Ok(0)
}
