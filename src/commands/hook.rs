use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::shells::{self, ShellName};

/// Print the hook for your shell's rc file
///
/// bash (~/.bashrc):                 eval "$(pyenv-guix hook bash)"
/// zsh (~/.zshrc):                   eval "$(pyenv-guix hook zsh)"
/// fish (~/.config/fish/config.fish): pyenv-guix hook fish | source
///
/// The hook calls this binary by the path it was run as (not a resolved
/// one), on every prompt and, in zsh and fish, on every change of directory.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// bash, zsh or fish
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let name = match args.shell.as_str() {
        "bash" => ShellName::Bash,
        "zsh" => ShellName::Zsh,
        _ => ShellName::Fish,
    };
    let script = shells::get(name)
        .hook(invoked_path().as_os_str())
        .context("no hook for this shell")?;
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
    crate::fsutil::find_program(&arg0, std::env::var_os("PATH").as_deref(), &cwd)
        .and_then(|p| std::path::absolute(&p).ok())
        .unwrap_or_else(|| PathBuf::from(arg0))
}
