//! The installers' process runner: a build step's output goes to our
//! stderr as progress, its end is kept for the failure record, and it
//! dies with us.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::error::{BuildError, io};
use crate::log;

/// How much of pip's output a failure record keeps.
const KEEP_LINES: usize = 40;

/// Why a build step failed.
pub enum Failure {
    /// The installer ended badly: its exit status and its last lines.
    Pip {
        status: String,
        tail: String,
    },
    /// Not the installer's doing (an input that could not be staged, an
    /// interruption): not recorded against the key.
    Before(BuildError),
    Io(BuildError),
}

/// Run a build step, its output going to our stderr as progress; keep the
/// end of it for the failure record.
/// The command sees `env` and nothing else of ours.
pub fn run(cmd: &mut Command, env: &[(OsString, OsString)]) -> Result<(), Failure> {
    // pip's lines are the progress (PYENV_GUIX_LOG=quiet hides them; a
    // failure still shows their end).
    run_shown(cmd, env, log::level() >= log::Level::Info)
}

/// `run`, its output shown as it comes only if `shown`: kept otherwise,
/// for the failure.
pub fn run_shown(
    cmd: &mut Command,
    env: &[(OsString, OsString)],
    shown: bool,
) -> Result<(), Failure> {
    let describe = words(cmd);
    let (reader, writer) = std::io::pipe().map_err(|e| Failure::Io(io("cannot make a pipe")(e)))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Failure::Io(io("cannot make a pipe")(e)))?;
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    // A build killed (a signal, the out-of-memory killer) takes its
    // installer with it: none goes on writing a prefix no one will use.
    // SAFETY: prctl is async-signal-safe and the child only execs after it.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Failure::Io(io(format!("cannot run {describe}"))(e)))?;
    // Our copies of the writing end must go before reading to the end.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut tail: Vec<String> = Vec::new();
    let mut err = std::io::stderr();
    for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
        if shown {
            log::relay(&line);
            let _ = err.write_all(b"\n");
        }
        tail.push(String::from_utf8_lossy(&line).into_owned());
        if tail.len() > KEEP_LINES {
            tail.remove(0);
        }
    }
    let status = child
        .wait()
        .map_err(|e| Failure::Io(io(format!("cannot wait for {describe}"))(e)))?;
    if status.success() {
        return Ok(());
    }
    Err(Failure::Pip {
        status: status.to_string(),
        tail: tail.join("\n"),
    })
}

/// A command as the user would type it: its program and arguments, never
/// the variables it is given (Rust's own description of a `Command` lists
/// them all, the user's tokens with them).
pub fn words(cmd: &Command) -> String {
    let words = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|w| w.to_string_lossy());
    shell_words::join(words)
}
