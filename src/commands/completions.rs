use std::io::Write;

use anyhow::Context;

use crate::shells::{self, Shell, ShellName};

/// The variable that asks the binary for completions instead of running a
/// command. Our own name: a `COMPLETE` set for another tool must never
/// turn the hook's `export` into a list of completions.
pub const VAR: &str = "PYENV_GUIX_COMPLETE";

/// Print a completion script for your shell
#[derive(Debug, clap::Args)]
#[command(long_about = long_help())]
pub struct Args {
    #[arg(
        value_parser = shells::arg(|s| s.completions().is_some()),
        help = shells::list(completed().map(|s| s.name()), "or")
    )]
    shell: ShellName,
}

fn completed() -> impl Iterator<Item = &'static dyn Shell> {
    ShellName::ALL
        .iter()
        .map(|s| s.shell())
        .filter(|s| s.completions().is_some())
}

/// What the script does, and each shell's line for it.
fn long_help() -> String {
    let mut out = String::from(
        "Print a completion script for your shell\n\n\
         It completes the commands, their options and the shells of `hook` and\n\
         `export`, by asking this binary at each Tab (so it always matches the\n\
         binary). Where it goes:\n\n",
    );
    for (_, line) in completed().filter_map(|s| s.completions()) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(
        "\nAfter upgrading pyenv-guix, start a new shell (or write the fish file\n\
         again): the script and the binary must come from the same version.",
    );
    out
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    // clap's generated static scripts lose every option after a subcommand
    // for a binary whose name has a hyphen (clap#6421); the scripts that
    // ask the binary do not.
    let (shell, _) = args
        .shell
        .shell()
        .completions()
        .context("no completions for this shell")?;
    let mut script = Vec::new();
    shell.write_registration(VAR, "pyenv-guix", "pyenv-guix", &completer(), &mut script)?;
    // Under `set -u`, a script calling the function without COMP_TYPE
    // (a Tab always sets it) would stop at clap's plain `${COMP_TYPE}`.
    let script = String::from_utf8_lossy(&script).replace("${COMP_TYPE}", "${COMP_TYPE:-}");
    std::io::stdout().write_all(script.as_bytes())?;
    Ok(0)
}

/// The binary the script runs at each Tab: this one, by the path it was
/// run as, when that path needs no quoting. clap's bash and zsh scripts put
/// it inside double quotes, where a space, `$` or backquote would break or
/// run; such a path gives the name alone, looked up on PATH at each Tab.
fn completer() -> String {
    let bin = super::hook::invoked_path();
    match bin.to_str() {
        Some(path)
            if path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._+-@%,".contains(&b)) =>
        {
            path.to_string()
        }
        _ => "pyenv-guix".to_string(),
    }
}
