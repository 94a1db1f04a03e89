use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::shells::{self, Shell, ShellName};

/// Print the hook for your shell's rc file
#[derive(Debug, clap::Args)]
#[command(long_about = long_help())]
pub struct Args {
    #[arg(value_parser = shells::arg(has_hook), help = shells::list(shells::hooked().map(|s| s.name()), "or"))]
    shell: ShellName,
    /// Print instead the file for the shell's non-interactive start
    /// (bash's BASH_ENV, zsh's .zshenv, fish's conf.d): every `bash -c`
    /// started in a project gets its environment, with no prompt
    #[arg(long)]
    non_interactive: bool,
}

fn has_hook(shell: &dyn Shell) -> bool {
    shell.hook_template().is_some()
}

/// Each shell's rc file and line, then when the hook runs.
fn long_help() -> String {
    let mut out = String::from("Print the hook for your shell's rc file\n\n");
    for shell in shells::hooked() {
        if let Some(install) = shell.shell().install() {
            let place = format!("{} ({}):", shell.name(), install.rc_file);
            out.push_str(&format!("{place:<33} {}\n", install.line));
        }
    }
    let on_cd = shells::list(
        shells::hooked()
            .filter(|s| s.shell().hook_on_cd())
            .map(|s| s.name()),
        "and",
    );
    out.push_str(&format!(
        "\nThe hook calls this binary by the path it was run as (not a resolved\none), on every prompt and, in {on_cd}, on every change of directory."
    ));
    let scripted = shells::list(
        shells::hooked()
            .filter(|s| s.shell().non_interactive_template().is_some())
            .map(|s| s.name()),
        "and",
    );
    out.push_str(&format!(
        "\n\nWith --non-interactive ({scripted}), the file to read where no prompt runs\n(scripts, CI steps, coding agents): it loads the project the command\nstarts in, once, waiting for its build as long as PYENV_GUIX_WAIT\n(seconds; unset: until it is built) allows. Its head says where it goes."
    ));
    out
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let shell = args.shell;
    let script = shell
        .shell()
        .hook(invoked_path().as_os_str(), args.non_interactive)
        .with_context(|| {
            if args.non_interactive {
                format!(
                    "hook {} --non-interactive: {} has no file for non-interactive starts",
                    shell.name(),
                    shell.name()
                )
            } else {
                format!("hook {}: no hook for this shell", shell.name())
            }
        })?;
    std::io::stdout().write_all(&script)?;
    Ok(0)
}

/// The binary as the user ran it: looked up on PATH if it has no slash, made
/// absolute, but never canonicalised (a Guix profile path outlives the store
/// path it points at).
pub(crate) fn invoked_path() -> PathBuf {
    let arg0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| OsString::from("pyenv-guix"));
    let cwd = std::env::current_dir().unwrap_or_default();
    // Found through no absolute PATH entry (`.` or `bin` on PATH): a bare
    // name in the hook would be looked up in each project the shell
    // visits, which could ship its own `pyenv-guix`. The running binary's
    // own path instead.
    crate::fsutil::find_program(&arg0, std::env::var_os("PATH").as_deref(), &cwd)
        .and_then(|p| std::path::absolute(&p).ok())
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from(arg0))
}
