use crate::materialise::Mode;

/// Build the project's prefix and Guix profile again, replacing them atomically
///
/// For a prefix damaged or changed by hand (`status` says so), or to retry
/// a failed build now. The new prefix is built beside the old one and
/// replaces it in one step once it is complete; a failed rebuild leaves the
/// old one in place. Prints the prefix's path, if the project has one.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (_, built) = args
        .project
        .materialise(&super::context()?, Mode::Rebuild)?;
    if let Some((generation, _)) = built.prefix.and_then(|p| p.built) {
        println!("{}", generation.display());
    }
    Ok(0)
}
