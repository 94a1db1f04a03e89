use std::path::Path;

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
    let channels = guix::describe_channels(&ctx, user_path.as_deref(), &project.root)?
        .context("there is no guix on your PATH to describe")?;
    let name = project
        .manifest
        .guix
        .channels
        .clone()
        .unwrap_or_else(|| "channels.scm".to_string());
    let target = project.root.join(&name);
    crate::fsutil::check_inside(&project.root, &target)?;
    if !owned_channels_file(&target)? {
        anyhow::bail!(
            "refusing to pin into {}: it is not a channels file (`guix describe -f channels` writes a (list (channel …)) there); name another in [guix].channels, or remove it",
            target.display()
        );
    }
    let mut edit = Edit::open(&project)?;
    edit.set_channels(&name)?;
    let changes = [
        Change::new(target, channels.into_bytes()),
        Change::new(project.manifest_path.clone(), edit.to_bytes()),
    ];
    if args.dry_run {
        for c in changes.iter().filter(|c| c.changes_anything()) {
            print!("{}", crate::log::escape(&c.diff()));
        }
        crate::log::info("--dry-run: nothing was changed");
        return Ok(0);
    }
    // A lock's digest holds the profile's key, which the channels make.
    let stales =
        !project.manifest.guix.packages.is_empty() && changes.iter().any(Change::changes_anything);
    rewrite::write(&ctx, &project, &changes)?;
    if let Some(lock) = project.manifest.pip.lock.as_ref().filter(|_| stales) {
        crate::log::warn(&format!(
            "{} is now stale: run 'pyenv-guix lock' to renew it (the Guix profile changed)",
            lock.get_ref()
        ));
    }
    crate::log::info(&format!(
        "pinned: the profile is built through `guix time-machine -C {name}`"
    ));
    Ok(0)
}

/// Whether `pin` may replace `path`: it does not exist yet, or it already
/// holds a list of channels. Any other file a manifest names (the
/// project's `.git/config`, its `setup.py`) is the user's, not ours.
fn owned_channels_file(path: &Path) -> anyhow::Result<bool> {
    let bytes = match crate::fsutil::read_limited(path, 1 << 20) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(false);
    };
    let Some(last) = crate::scheme::forms(text).last().copied() else {
        return Ok(false);
    };
    let head = crate::scheme::symbols(last).first().copied();
    Ok(matches!(head, Some("list" | "cons" | "cons*" | "append")) && last.contains("(channel"))
}
