use std::io::Write;

use crate::activation;
use crate::shells::{self, ShellName};

/// Print what to change for the current directory's project (the hook runs this)
///
/// The changes take this shell's environment to the one its directory
/// wants: bash, zsh or fish code to eval, or JSON for editors (variable to
/// new value, null to unset). Prints nothing when nothing changes. The hook runs this at every prompt;
/// it prints either a whole snippet or nothing at all.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// bash, zsh, fish or json
    shell: ShellName,
    /// Re-check everything even if no file changed (the hook passes this on
    /// a new shell's first prompt, whose inherited variables may be stale).
    #[arg(long)]
    first_prompt: bool,
    /// The shell's directory changed since its last prompt (the hook knows):
    /// a build interrupted with Ctrl-C is tried again.
    #[arg(long)]
    entered: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut ctx = super::context()?;
    ctx.at_prompt = true;
    ctx.entered = args.entered;
    // Ctrl-C stops a build without killing us: we record that it was
    // interrupted (the next prompt does not start it again) and print nothing.
    crate::buildlock::catch_interrupts();
    let plan = if args.first_prompt {
        activation::plan(&ctx)?
    } else {
        match activation::plan_if_changed(&ctx)? {
            Some(plan) => plan,
            None => return Ok(0),
        }
    };
    if crate::buildlock::interrupted() {
        return Ok(130);
    }
    if plan.changes.is_empty() {
        return Ok(0);
    }
    let snippet = shells::get(args.shell).render(&plan.changes);
    // One write, at the end: an interrupted run prints nothing rather than half.
    let mut out = std::io::stdout().lock();
    out.write_all(&snippet)?;
    out.flush()?;
    Ok(0)
}
