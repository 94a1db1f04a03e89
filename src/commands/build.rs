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
    let ctx = super::context()?;
    let result = args.project.materialise(&ctx, Mode::Build);
    // Ended, well or not: the mark that says a build runs goes. Only ours,
    // whatever the variable names.
    if let Some(mark) = ctx
        .var(crate::activation::RUNNING_MARK)
        .map(std::path::PathBuf::from)
        && mark.parent() == Some(ctx.cache_dir.join("logs").as_path())
        && mark.extension().is_some_and(|e| e == "running")
    {
        let _ = std::fs::remove_file(mark);
    }
    result?;
    crate::log::info("built");
    Ok(0)
}
