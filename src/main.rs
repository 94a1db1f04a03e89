use clap::Parser;

use pyenv_guix::cli::{self, Cli, Command};
use pyenv_guix::{commands, log};

fn main() {
    // A closed pipe (`pyenv-guix status | head`) ends the command quietly,
    // as it does any Unix tool, instead of a panic or an error.
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::complete_if_asked();
    // The hook's own call, the one made at prompts, is read directly.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = match commands::export::Args::from_hook(&argv) {
        Some(args) => Cli {
            command: Command::Export(args),
        },
        None => Cli::parse(),
    };
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            log::error(&message(&e));
            1
        }
    };
    std::process::exit(code);
}

/// The error and its causes, each said once: our errors often name their
/// cause already.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
