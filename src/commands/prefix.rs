use anyhow::bail;

use crate::activation;
use crate::materialise::{self, Mode};

/// Build the project's pip prefix if needed and print its path
///
/// The prefix is keyed by everything that decides its content: the
/// interpreter's identity, the Guix profile, the mode, the requirements and
/// the pip options. The same inputs in any project share one prefix.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, scan) = args.project.load_allowed(&ctx)?;
    let found = &project.manifest_path;
    if !materialise::has_pip(&project) {
        bail!(
            "{} lists no pip packages or requirements, so it has no prefix",
            found.display()
        );
    }
    let built = materialise::materialise(
        &ctx,
        &project,
        &scan,
        activation::user_path(&ctx).as_deref(),
        Mode::Build,
    )?;
    if let Some((generation, _)) = built.prefix.and_then(|p| p.built) {
        println!("{}", generation.display());
    }
    Ok(0)
}
