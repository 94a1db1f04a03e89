//! The installers' process runner: a build step's output goes to our
//! stderr as progress, its end is kept for the failure record, and it
//! dies with us.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
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
        let line = COPIES.with_borrow(|c| c.said_of_originals(line));
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

/// The copies a build gives its installer (a staged requirements file,
/// wheel or directory) and the user's files they copy.
#[derive(Default)]
pub struct Copies(Vec<Copy>);

/// A copy as an installer may name it, where it is, and what it copies.
struct Copy {
    said: PathBuf,
    copy: PathBuf,
    original: PathBuf,
}

thread_local! {
    /// The copies of the build running on this thread: set by `naming`
    /// once for every step of it, rather than passed to each.
    static COPIES: RefCell<Copies> = RefCell::default();
}

/// While the guard lives, what an installer says of a copy is said of the
/// file it copies: `requirements.txt at line 13`, not a staged `0.txt`.
pub fn naming(copies: Copies) -> Naming {
    Naming(Some(COPIES.replace(copies)))
}

/// Puts back the copies named before.
pub struct Naming(Option<Copies>);

impl Drop for Naming {
    fn drop(&mut self) {
        if let Some(before) = self.0.take() {
            COPIES.set(before);
        }
    }
}

impl Copies {
    /// The `copies` of files given to an installer run in `workdir`,
    /// which names those under it by their relative paths (uv does). A
    /// directory's relative name (`3`) is too like other words to be
    /// taken for it: only file names are (`3.txt`, `4/x-1.0.whl`).
    pub fn new(copies: Vec<(PathBuf, PathBuf)>, workdir: &std::path::Path) -> Copies {
        let whole = copies.iter().map(|(copy, original)| Copy {
            said: copy.clone(),
            copy: copy.clone(),
            original: original.clone(),
        });
        let relative = copies.iter().filter_map(|(copy, original)| {
            let said = copy.strip_prefix(workdir).ok()?;
            said.extension()?;
            Some(Copy {
                said: said.to_path_buf(),
                copy: copy.clone(),
                original: original.clone(),
            })
        });
        Copies(whole.chain(relative).collect())
    }

    /// `line` with each copy's path as the user's file's. uv names a
    /// requirements file's line by its byte offset (`at position N`):
    /// told as a line of the copy, which is the user's line (the copy
    /// keeps each line in its place).
    fn said_of_originals(&self, mut line: Vec<u8>) -> Vec<u8> {
        // An installer echoes a requirement's text, which the project
        // writes: a line naming a copy thousands of times is left as it is
        // past the first few, rather than grown by a path each time.
        let mut left = REPLACED_PER_LINE;
        for Copy {
            said,
            copy,
            original,
        } in &self.0
        {
            let copy_bytes = said.as_os_str().as_bytes();
            let mut at = 0;
            while let Some(found) = find(&line[at..], copy_bytes).map(|i| i + at) {
                let end = found + copy_bytes.len();
                // `stage/1` is not the start of `stage/12.txt`, nor `1.txt`
                // the end of `11.txt` or of a path.
                let path_byte = |b: &u8| b.is_ascii_alphanumeric() || b"._-/".contains(b);
                let whole = !line.get(end).is_some_and(path_byte)
                    && !found
                        .checked_sub(1)
                        .and_then(|i| line.get(i))
                        .is_some_and(path_byte);
                if !whole {
                    at = end;
                    continue;
                }
                if left == 0 {
                    return line;
                }
                left -= 1;
                let mut told = original.as_os_str().as_bytes().to_vec();
                let mut rest_from = end;
                if let Some((number, len)) = position_after(&line[end..])
                    && let Some(n) = line_of(copy, number)
                {
                    told.extend_from_slice(format!("` at line {n}").as_bytes());
                    rest_from = end + len;
                }
                let replaced_len = told.len();
                line.splice(found..rest_from, told);
                at = found + replaced_len;
            }
        }
        line
    }
}

/// How many names of copies one line of output has said as the user's.
const REPLACED_PER_LINE: usize = 8;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// uv's "` at position N" right after a file's name: N, and how long the
/// words are.
fn position_after(rest: &[u8]) -> Option<(usize, usize)> {
    let words = b"` at position ";
    let digits = rest.strip_prefix(words.as_slice())?;
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = std::str::from_utf8(&digits[..len]).ok()?.parse().ok()?;
    Some((n, words.len() + len))
}

/// The line of the file `copy` that byte `offset` is on.
fn line_of(copy: &std::path::Path, offset: usize) -> Option<usize> {
    let text = crate::fsutil::read_limited(copy, super::hash::TEXT_LIMIT).ok()?;
    let before = text.get(..offset)?;
    Some(before.iter().filter(|&&b| b == b'\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(copies: &Copies, line: &str) -> String {
        String::from_utf8(copies.said_of_originals(line.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn a_copy_is_said_as_the_file_it_copies_and_nothing_else_is() {
        let stage = tempfile::tempdir().unwrap();
        let copy = stage.path().join("1.txt");
        std::fs::write(&copy, "\n\nalpha\ntrio=>1\n").unwrap();
        let copies = Copies::new(
            vec![
                (copy.clone(), PathBuf::from("/p/requirements.txt")),
                (stage.path().join("3"), PathBuf::from("/p/wheels")),
            ],
            stage.path(),
        );
        // uv, run in the stage: a relative name, a byte offset.
        assert_eq!(
            said(
                &copies,
                "error: Couldn't parse requirement in `1.txt` at position 8"
            ),
            "error: Couldn't parse requirement in `/p/requirements.txt` at line 4"
        );
        // pip: the whole path, a line.
        let pip = format!(
            "Invalid requirement: 'trio=>1' (from line 4 of {})",
            copy.display()
        );
        assert_eq!(
            said(&copies, &pip),
            "Invalid requirement: 'trio=>1' (from line 4 of /p/requirements.txt)"
        );
        let wheel = format!("Looking in links: {}/3", stage.path().display());
        assert_eq!(said(&copies, &wheel), "Looking in links: /p/wheels");
        // Other words stay as they are.
        for line in ["Resolved 3 packages in 1ms", "11.txt", "x/1.txt", "1.txts"] {
            assert_eq!(said(&copies, line), line);
        }
    }
}
