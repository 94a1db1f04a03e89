//! What a project needs built and is not, and how long a script waits for
//! it (`PYENV_GUIX_WAIT`): the build-facing half of `export`.

use crate::context::Context;
use crate::log;
use crate::materialise::{self, Mode};
use crate::{activation, manifest, trust};

/// `PYENV_GUIX_WAIT`: how long a script may wait for a build, in
/// seconds; unset, until it is built. A value that is no number of
/// seconds is said, and waited as unset.
pub(super) fn wait_limit(ctx: &Context) -> Option<std::time::Duration> {
    let value = ctx.var("PYENV_GUIX_WAIT")?;
    let seconds = value
        .to_str()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    if seconds.is_none() {
        log::warn(&format!(
            "PYENV_GUIX_WAIT={} is not a number of seconds; waiting until the build is done",
            value.to_string_lossy()
        ));
    }
    // Longer than a Duration holds is as good as no limit.
    seconds.and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
}

/// A script that may wait only `limit` (`PYENV_GUIX_WAIT`): what needs
/// building is built by a process of its own, which this waits for that
/// long. Then the plan loads what is built by then; a build still going
/// is left to finish in the background, as at a prompt.
pub(super) fn wait_at_most(ctx: &mut Context, limit: std::time::Duration) -> anyhow::Result<()> {
    use std::time::Instant;
    // A limit past any clock is none: the script waits as by default.
    let Some(deadline) = Instant::now().checked_add(limit) else {
        return Ok(());
    };
    ctx.at_prompt = true;
    ctx.background = true;
    // Asked for on purpose: a build Ctrl-C stopped is tried again.
    ctx.entered = true;
    let Some(missing) = unbuilt(ctx)? else {
        return Ok(());
    };
    let mut child = match activation::build_in_background(ctx, &missing.project, &missing.first)? {
        activation::Background::Started(child, _) => Some(child),
        activation::Background::Running(_) => None,
        // The plan says so, and how to retry.
        activation::Background::Died(_) => return Ok(()),
    };
    loop {
        if let Some(c) = child.as_mut()
            && c.try_wait()?.is_some()
        {
            return Ok(());
        }
        if unbuilt(ctx)?.is_none() || crate::buildlock::interrupted() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            log::notice(&format!(
                "{} not built after PYENV_GUIX_WAIT={}s; going on without it",
                missing.what.join(" and "),
                limit.as_secs_f64()
            ));
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What an allowed project needs built and is not.
pub(super) struct Unbuilt {
    project: crate::manifest::Project,
    /// Each missing thing, as the user reads it.
    pub(super) what: Vec<String>,
    /// The link of the first: a build in the background is named by it.
    first: std::path::PathBuf,
}

/// What the project here needs built and is not: looked at, never built.
/// Only an allowed project is looked at (its interpreter may be asked who
/// it is); a blocked one needs nothing, and the plan says why it is
/// blocked. Once all is built the plan that follows only reuses it (a
/// prefix removed in between would be built by it).
pub(super) fn unbuilt(ctx: &Context) -> anyhow::Result<Option<Unbuilt>> {
    let Some(found) = manifest::find(&ctx.dir) else {
        return Ok(None);
    };
    let Some((project, scan)) = trust::open(&ctx.data_dir, &found)?.allowed() else {
        return Ok(None);
    };
    let user_path = activation::user_path(ctx);
    let looked = materialise::materialise(ctx, &project, &scan, user_path.as_deref(), Mode::Look)?;
    let mut missing = Vec::new();
    let mut first = None;
    if let Some(p) = looked.profile.as_ref().filter(|p| p.store_path.is_none()) {
        missing.push(format!("the Guix profile {}", p.path.display()));
        first.get_or_insert_with(|| p.path.clone());
    }
    if let Some(p) = looked.prefix.as_ref().filter(|p| p.built.is_none()) {
        missing.push(format!("the pip prefix {}", p.path.display()));
        first.get_or_insert_with(|| p.path.clone());
    }
    // With the profile missing, the prefix (whose key depends on it)
    // cannot be named yet, but it is missing all the same.
    if looked
        .profile
        .as_ref()
        .is_some_and(|p| p.store_path.is_none())
        && looked.prefix.is_none()
        && materialise::has_pip(&project)
    {
        missing.push("the pip prefix".to_string());
    }
    Ok(first.map(|first| Unbuilt {
        project,
        what: missing,
        first,
    }))
}
