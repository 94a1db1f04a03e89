use std::path::{Path, PathBuf};

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
    // The mark that says a build runs: only ours, whatever the variable
    // names.
    let mark = ctx
        .var(crate::activation::RUNNING_MARK)
        .map(PathBuf::from)
        .filter(|m| ctx.cache.is_running_mark(m));
    if let Some(mark) = &mark {
        keep_to_ourselves(mark);
    }
    let result = args.project.materialise(&ctx, Mode::Build);
    // Ended, well or not: the mark goes.
    if let Some(mark) = mark {
        let _ = std::fs::remove_file(mark);
    }
    result?;
    crate::log::info("built");
    Ok(0)
}

/// The mark's lock came to this process open across exec: it is closed in
/// what this process starts (pip, a package's build backend), so that none
/// of them can keep it, and with it every prompt's "being built", after
/// this build ended. The installers die with this process anyway.
fn keep_to_ourselves(mark: &Path) {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in fds.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if std::fs::read_link(entry.path()).is_ok_and(|target| target == mark) {
            // SAFETY: setting a descriptor's close-on-exec flag has no
            // memory effects; a stale number only fails.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}
