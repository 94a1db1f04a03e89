use clap::Parser;

use pyenv_guix::cli::{self, Cli};
use pyenv_guix::log;

fn main() {
    let code = match cli::run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            log::error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
