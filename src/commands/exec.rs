use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::activation::{self, Target};
use crate::{fsutil, log};

/// Run one command in a project's environment and exit with its status
///
/// The project is the one found from DIR (default: the current directory);
/// the command runs in DIR and is looked up on the project's PATH. An active
/// project of this shell is undone first, as on a cd. A blocked project runs
/// nothing. Quiet on stderr unless something needs saying: a build, a
/// warning, an error. For CI, scripts and editors:
///
///   pyenv-guix exec -C examples/hello -- python3 -m hello
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Run in DIR, with the project found from DIR.
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    // A script's stderr is its own: only a build, a warning or an error
    // is worth a line there.
    log::mute_transitions();
    let ctx = super::context()?;
    let dir = match &args.dir {
        Some(d) => {
            let d = super::absolute(d)?;
            let meta = std::fs::metadata(&d).with_context(|| format!("-C {}", d.display()))?;
            if !meta.is_dir() {
                bail!("-C {}: not a directory", d.display());
            }
            d
        }
        None => ctx.dir.clone(),
    };
    let ctx = ctx.at(dir.clone());
    let plan = activation::plan(&ctx)?;
    if let Target::Blocked | Target::Failed = plan.target {
        // Why has been said; the exit status says the rest.
        return Ok(1);
    }
    let new_path = match plan.changes.get("PATH") {
        Some(p) => p.clone(),
        None => ctx.var("PATH"),
    };
    let name = &args.command[0];
    let Some(program) = fsutil::find_program(name, new_path.as_deref(), &dir) else {
        log::error(&format!("{}: command not found", name.to_string_lossy()));
        return Ok(127);
    };
    let mut cmd = std::process::Command::new(&program);
    cmd.arg0(name).args(&args.command[1..]).current_dir(&dir);
    for (var, value) in &plan.changes {
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
    }
    if args.dir.is_some() {
        cmd.env("PWD", &dir);
    }
    let err = cmd.exec();
    log::error(&format!("cannot run {}: {err}", program.display()));
    Ok(126)
}
