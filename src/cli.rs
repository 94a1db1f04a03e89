//! The command line. Each subcommand's doc comment is its `--help`.

use clap::{Parser, Subcommand};

use crate::commands;

/// Per-project Python environments, loaded when you cd in and undone exactly
/// when you cd out, on GNU Guix or on the host's Python.
///
/// Put a .pyguix.toml in a project, add the hook to your shell's rc file
/// (see `pyenv-guix hook --help`), and run `pyenv-guix allow` in the project.
#[derive(Debug, Parser)]
#[command(name = "pyenv-guix", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Hook(commands::hook::Args),
    Export(commands::export::Args),
    Allow(commands::allow::Args),
    Deny(commands::deny::Args),
    Status(commands::status::Args),
    Exec(commands::exec::Args),
    Reload(commands::reload::Args),
    Prefix(commands::prefix::Args),
    Rebuild(commands::rebuild::Args),
    #[command(hide = true)]
    Build(commands::build::Args),
    Gc(commands::gc::Args),
    Watch(commands::watch::Args),
    Init(commands::init::Args),
    Promote(commands::promote::Args),
    Pin(commands::pin::Args),
    Lock(commands::lock::Args),
    Edit(commands::edit::Args),
    Doctor(commands::doctor::Args),
    Completions(commands::completions::Args),
}

/// With `PYENV_GUIX_COMPLETE` set (by a completion script), print the
/// completions of the words given and exit; otherwise return at once.
pub fn complete_if_asked() {
    use clap::CommandFactory;
    // A quick look first: this runs before every command, the hook's too.
    if std::env::var_os(commands::completions::VAR).is_some() {
        clap_complete::CompleteEnv::with_factory(Cli::command)
            .var(commands::completions::VAR)
            .complete();
    }
}

/// Run the parsed command; the result is the process's exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    // Read now, so that a wrong PYENV_GUIX_LOG is said even by a run that
    // has nothing else to say.
    crate::log::level();
    match cli.command {
        Command::Hook(a) => commands::hook::run(a),
        Command::Export(a) => commands::export::run(a),
        Command::Allow(a) => commands::allow::run(a),
        Command::Deny(a) => commands::deny::run(a),
        Command::Status(a) => commands::status::run(a),
        Command::Exec(a) => commands::exec::run(a),
        Command::Reload(a) => commands::reload::run(a),
        Command::Prefix(a) => commands::prefix::run(a),
        Command::Rebuild(a) => commands::rebuild::run(a),
        Command::Build(a) => commands::build::run(a),
        Command::Gc(a) => commands::gc::run(a),
        Command::Watch(a) => commands::watch::run(a),
        Command::Init(a) => commands::init::run(a),
        Command::Promote(a) => commands::promote::run(a),
        Command::Pin(a) => commands::pin::run(a),
        Command::Lock(a) => commands::lock::run(a),
        Command::Edit(a) => commands::edit::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Completions(a) => commands::completions::run(a),
    }
}
