use anyhow::Context as _;

use crate::guix;
use crate::rewrite::{self, Change, Edit};

/// Pin the project's Guix to the channels you run now
///
/// Writes `guix describe -f channels` into the project's channels file
/// ([guix].channels, `channels.scm` if there is none) and names it in the
/// manifest, so the profile is built through `guix time-machine -C`: the
/// same packages, bit for bit, on every machine and after every `guix
/// pull`, until you pin again. A manifest allowed before is allowed after.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
    /// Show what would change, as a diff, and change nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, _) = args.project.load(&ctx)?;
    let user_path = crate::activation::user_path(&ctx);
    let channels = guix::describe_channels(&ctx, user_path.as_deref(), &project.root)
        .context("there is no guix on your PATH to describe")??;
    let name = project
        .manifest
        .guix
        .channels
        .clone()
        .unwrap_or_else(|| "channels.scm".to_string());
    let mut edit = Edit::open(&project)?;
    edit.set_channels(&name)?;
    let changes = [
        Change::new(project.root.join(&name), channels.into_bytes()),
        Change::new(project.manifest_path.clone(), edit.to_bytes()),
    ];
    if args.dry_run {
        for c in changes.iter().filter(|c| c.changes_anything()) {
            print!("{}", c.diff());
        }
        crate::log::info("--dry-run: nothing was changed");
        return Ok(0);
    }
    rewrite::write(&ctx, &project, &changes)?;
    crate::log::info(&format!(
        "pinned: the profile is built through `guix time-machine -C {name}`"
    ));
    Ok(0)
}
