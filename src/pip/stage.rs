//! The build's private copies of what pip reads: each input copied into
//! a staging directory and checked against the hash taken when it was
//! read, so that pip installs exactly what the key and trust saw.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::StageError;
use super::hash::dir_entry;
use super::hash::{CopyFailed, DIST_LIMIT, copy_hashing};
use super::reqfile::LinedCopy;
use super::scan::{Input, Kind, Scan, Word};
use crate::fsutil::{self, hex};

impl Scan {
    /// Copy every input into `stage`, checking each copy against the hash
    /// taken when it was read, and return pip's arguments naming the
    /// copies: `(options, requirements)`.
    pub fn stage(&self, stage: &Path) -> Result<(Vec<OsString>, Vec<OsString>), StageError> {
        std::fs::create_dir_all(stage).map_err(io_at(stage))?;
        let mut lifted: Vec<OsString> = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if matches!(
                input.kind,
                Kind::Channels | Kind::Interpreter | Kind::LoadPath | Kind::Lock | Kind::UvProject
            ) {
                continue;
            }
            let id = read_id(input)?;
            let copy = self.staged_path(stage, i);
            let got = match input.kind {
                Kind::Channels
                | Kind::Interpreter
                | Kind::LoadPath
                | Kind::Lock
                | Kind::UvProject => continue,
                Kind::Requirements | Kind::Constraints => {
                    let (text, editable) = self.staged_text(input, stage);
                    lifted.extend(editable);
                    // The file's id covers its own text with ids in place of
                    // paths; the copy holds the same text with the copies' paths.
                    let keyed = self
                        .keyed_text(input)
                        .map_err(|why| StageError::Unreadable {
                            path: input.path.clone(),
                            why,
                        })?;
                    // The stage lasts one build: nothing to keep past a crash.
                    fsutil::write_atomic_unsynced(&copy, text.as_bytes()).map_err(io_at(&copy))?;
                    hex(&Sha256::digest(keyed.as_bytes()))
                }
                Kind::Distribution => copy_file(&input.path, &copy)?,
                Kind::FindLinks | Kind::Index => copy_dir(input, &copy)?,
            };
            unchanged(input, id, &got)?;
        }
        let argv = |w: &Word| self.render_argv(w, stage);
        let options = self.options.iter().map(argv).collect();
        let mut reqs: Vec<OsString> = self.packages.iter().map(argv).collect();
        for e in &self.editable {
            reqs.extend([OsString::from("-e"), e.clone().into_os_string()]);
        }
        for &i in &self.requirements {
            reqs.extend([
                OsString::from("-r"),
                self.staged_path(stage, i).into_os_string(),
            ]);
        }
        reqs.extend(lifted);
        Ok((options, reqs))
    }

    /// The copies `stage` holds for an installer run in `workdir`, and the
    /// files they copy.
    pub(super) fn copies(&self, stage: &Path, workdir: &Path) -> super::run::Copies {
        let staged = (self.inputs.iter().enumerate()).filter(|(_, input)| {
            matches!(
                input.kind,
                Kind::Requirements
                    | Kind::Constraints
                    | Kind::Distribution
                    | Kind::FindLinks
                    | Kind::Index
            )
        });
        let copies = staged.map(|(i, input)| (self.staged_path(stage, i), input.path.clone()));
        super::run::Copies::new(copies.collect(), workdir)
    }

    pub(super) fn staged_path(&self, stage: &Path, i: usize) -> PathBuf {
        let input = &self.inputs[i];
        // The stage is the key's own, so the index alone names a copy.
        let dir = stage.join(i.to_string());
        match input.kind {
            Kind::Requirements | Kind::Constraints | Kind::Interpreter => dir.with_extension("txt"),
            Kind::UvProject => dir.with_extension("uv"),
            Kind::Channels => dir.with_extension("scm"),
            Kind::Lock => dir.with_extension("toml"),
            // pip reads a distribution's name and version from its file name.
            Kind::Distribution => dir.join(input.path.file_name().unwrap_or_default()),
            Kind::FindLinks | Kind::Index | Kind::LoadPath => dir,
        }
    }

    /// Copy each `[guix].load-path` directory into `stage`, every file
    /// checked against the hash trust and the key were made from, and
    /// return the copies, for `guix -L`.
    pub fn stage_load_path(&self, stage: &Path) -> Result<Vec<PathBuf>, StageError> {
        let mut out = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if input.kind != Kind::LoadPath {
                continue;
            }
            let id = read_id(input)?;
            let copy = self.staged_path(stage, i);
            unchanged(input, id, &copy_dir(input, &copy)?)?;
            out.push(copy);
        }
        Ok(out)
    }

    /// Copy the channels file into `stage`, checked against the hash trust
    /// and the key were made from, for `guix time-machine -C`.
    pub fn stage_channels(&self, stage: &Path) -> Result<Option<PathBuf>, StageError> {
        let Some((i, input)) =
            (self.inputs.iter().enumerate()).find(|(_, i)| i.kind == Kind::Channels)
        else {
            return Ok(None);
        };
        let id = read_id(input)?;
        let copy = self.staged_path(stage, i);
        unchanged(input, id, &copy_file(&input.path, &copy)?)?;
        Ok(Some(copy))
    }

    /// A word as a staged requirements file has it: an input by its
    /// copy's path, quoted for pip's splitting.
    fn staged_word(&self, w: &Word, stage: &Path) -> String {
        match w {
            Word::Lit(s) => s.clone(),
            Word::Ref(i, rest) => {
                let p = self.staged_path(stage, *i);
                format!("{}{rest}", shell_words::quote(&p.to_string_lossy()))
            }
        }
    }

    /// An argument as pip gets it: bytes, so that a cache under a path
    /// that is not UTF-8 names the staged copies exactly.
    fn render_argv(&self, w: &Word, stage: &Path) -> OsString {
        match w {
            Word::Lit(s) => s.into(),
            Word::Ref(i, rest) => {
                let mut arg = self.staged_path(stage, *i).into_os_string();
                arg.push(rest);
                arg
            }
        }
    }

    /// A requirements file as pip is given it: the staged copies' paths in
    /// place of ids, and its editable lines (`-e X`) taken out, to be given
    /// on the command line: only there does pip 23.0 apply
    /// `--config-settings` to them (see `install::editable_on_pythonpath`).
    /// pip reads an editable path from the current directory either way.
    fn staged_text(&self, input: &Input, stage: &Path) -> (String, Vec<OsString>) {
        let mut out = LinedCopy::default();
        let mut editable = Vec::new();
        for (number, line) in &input.lines {
            let words: Vec<String> = line.iter().map(|w| self.staged_word(w, stage)).collect();
            let text = words.join(" ");
            let first = words.first().map(String::as_str).unwrap_or("");
            let is_editable =
                first == "-e" || first == "--editable" || first.starts_with("--editable=");
            if is_editable
                && input.kind == Kind::Requirements
                && let Ok(argv) = shell_words::split(&text)
            {
                editable.extend(argv.into_iter().map(OsString::from));
                continue;
            }
            out.line(*number, &text);
        }
        (out.text, editable)
    }
}

/// Copy `from` to `to`, hashing the bytes written.
pub(super) fn copy_file(from: &Path, to: &Path) -> Result<String, StageError> {
    let f = fsutil::open_regular(from, DIST_LIMIT).map_err(io_at(from))?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let mut out = fsutil::create_private(to).map_err(io_at(to))?;
    copy_hashing(f.take(DIST_LIMIT + 1), &mut out).map_err(|why| match why {
        CopyFailed::Read(e) => io_at(from)(e),
        CopyFailed::Write(e) => io_at(to)(e),
        CopyFailed::Interrupted => StageError::Interrupted,
    })
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> StageError {
    let path = path.to_path_buf();
    move |source| StageError::Io { path, source }
}

/// Copy a directory input's files into `copy`, hashing them as its id was made.
fn copy_dir(input: &Input, copy: &Path) -> Result<String, StageError> {
    let mut h = Sha256::new();
    for (rel, _) in &input.files {
        let hash = copy_file(&input.path.join(rel), &copy.join(rel))?;
        dir_entry(&mut h, rel, &hash);
    }
    Ok(hex(&h.finalize()))
}

/// The id `input` was read with, or why it could not be read.
pub(super) fn read_id(input: &Input) -> Result<&str, StageError> {
    input.id.as_deref().map_err(|why| StageError::Unreadable {
        path: input.path.clone(),
        why: why.clone(),
    })
}

/// `Err` unless a copy hashed `got`, the `id` its input was read with.
pub(super) fn unchanged(input: &Input, id: &str, got: &str) -> Result<(), StageError> {
    if got == id {
        return Ok(());
    }
    Err(StageError::Changed(input.path.clone()))
}
