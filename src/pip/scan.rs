//! What pip reads for a project, read once and named by content: the
//! requirement strings, every requirements and constraints file (followed
//! through `-r` and `-c` as pip follows them), local distributions and
//! local find-links or index directories. Trust, the prefix key and the
//! build all use this one reading, and the build hands pip private copies
//! of exactly the bytes that were hashed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Pip;
use super::error::Unreadable;
use super::hash::{DIST_LIMIT, TEXT_LIMIT, hash_file, list_dir};
use super::options::{check_option, flag_name, split_option, uv_refuses};
use super::reqfile::{canonical_spacing, local_dir, local_path, logical_lines, pip_variable};
use crate::fsutil::{self, exact, hex};

/// How deep `-r` inside `-r` may go (pip itself has no limit, but loops).
const DEPTH_LIMIT: usize = 16;
/// How many files, and how many bytes of requirements files, one project's
/// pip inputs may count: a scan at a prompt stays short.
const FILES_LIMIT: usize = 1000;
const TOTAL_TEXT_LIMIT: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Requirements,
    Constraints,
    /// A wheel or sdist named as a requirement.
    Distribution,
    /// A `--find-links` directory: the files in it.
    FindLinks,
    /// A local `--index-url`: every file under it.
    Index,
    /// The Guix channels file (not pip's, but trust covers it).
    Channels,
    /// A `[python].interpreter` inside the project (trust covers it).
    Interpreter,
    /// A `[guix].load-path` directory: every file under it (trust and the
    /// profile's key cover them).
    LoadPath,
    /// The `[pip] lock` file: trust covers it, and a locked prefix is built
    /// from what it says.
    Lock,
    /// A uv project's `pyproject.toml` or `uv.lock`: `uv sync` reads them
    /// from the project, so trust and the key cover them by content.
    UvProject,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Requirements => "requirements",
            Kind::Constraints => "constraints",
            Kind::Distribution => "distribution",
            Kind::FindLinks => "find-links",
            Kind::Index => "index",
            Kind::Channels => "channels",
            Kind::Interpreter => "interpreter",
            Kind::LoadPath => "guix-load-path",
            Kind::Lock => "lock",
            Kind::UvProject => "uv-project",
        }
    }
}

/// One file or directory pip reads.
#[derive(Debug, Clone)]
pub struct Input {
    pub kind: Kind,
    /// Where pip would read it, resolved as pip resolves it.
    pub path: PathBuf,
    /// SHA-256 of what pip reads: a requirements file's text with each of
    /// its own inputs replaced by that input's id; a distribution's bytes;
    /// a directory's file names and their hashes. `Err` says why it could
    /// not be read.
    pub id: Result<String, Unreadable>,
    /// A requirements or constraints file's logical lines, each with the
    /// number of the line it starts on.
    pub(super) lines: Vec<(usize, Vec<Word>)>,
    /// A directory's files, relative to it, with their hashes.
    pub files: Vec<(PathBuf, String)>,
}

/// A word of a pip argument list or of a requirements file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Word {
    /// As written (in a file, already quoted for pip's own splitting).
    Lit(String),
    /// An input, then what followed its path (extras such as `[cli]`).
    Ref(usize, String),
}

/// Everything pip reads for one project.
#[derive(Debug, Default)]
pub struct Scan {
    pub inputs: Vec<Input>,
    /// `[pip].options`, word by word.
    pub(super) options: Vec<Word>,
    /// `[pip].packages`.
    pub(super) packages: Vec<Word>,
    /// `[pip].editable`, resolved against the root.
    pub(super) editable: Vec<PathBuf>,
    /// `[pip].requirements`.
    pub(super) requirements: Vec<usize>,
    /// Why the prefix belongs to this project alone (a source tree, an
    /// editable install), if it does.
    pub per_project: Vec<String>,
    /// What makes the inputs unusable as a whole (a file that includes itself).
    problems: Vec<String>,
    /// Bytes of requirements files read so far.
    text_read: u64,
    /// The requirements files being read, the innermost last: for
    /// messages, and to find a file that includes itself.
    reading: Vec<usize>,
    /// Each option flag given, and whether a requirements file gave it.
    flags: std::collections::BTreeSet<(bool, String)>,
    /// What `[pip] lock` says, when it names a lock that could be read.
    pub lock: Option<super::lock::Lock>,
}

impl Scan {
    /// Read everything that can act for a project at `root`: what pip
    /// reads (pip runs at the root), its channels file, the directories of
    /// its Guix load path, an interpreter inside the project.
    pub fn new(
        root: &Path,
        pip: &Pip,
        channels: Option<PathBuf>,
        load_path: Vec<PathBuf>,
        interpreter: Option<PathBuf>,
    ) -> Scan {
        let mut s = Scan::pip(root, pip);
        super::lock::read_into(&mut s, root, pip);
        if pip.is_uv_project() {
            s.uv_project(root);
        }
        if let Some(path) = channels {
            let (i, _) = s.add(Kind::Channels, path.clone());
            s.inputs[i].id = hash_file(&path, TEXT_LIMIT);
        }
        for dir in load_path {
            let (i, new) = s.add(Kind::LoadPath, dir.clone());
            if new {
                match list_dir(&dir, true) {
                    Ok((id, files)) => {
                        s.inputs[i].id = Ok(id);
                        s.inputs[i].files = files;
                    }
                    Err(e) => s.inputs[i].id = Err(e),
                }
            }
        }
        if let Some(path) = interpreter {
            let (i, _) = s.add(Kind::Interpreter, path.clone());
            s.inputs[i].id = hash_file(&path, DIST_LIMIT);
        }
        s
    }

    /// Every file read, by path, with what was read of it: a directory's
    /// files one by one. Two scans compare file by file.
    pub fn files(&self) -> std::collections::BTreeMap<PathBuf, String> {
        let mut out = std::collections::BTreeMap::new();
        for input in &self.inputs {
            if input.files.is_empty() {
                let id = match &input.id {
                    Ok(id) => id.clone(),
                    Err(e) => format!("unreadable: {e}"),
                };
                out.insert(input.path.clone(), id);
            } else {
                for (rel, hash) in &input.files {
                    out.insert(input.path.join(rel), hash.clone());
                }
            }
        }
        out
    }

    fn pip(root: &Path, pip: &Pip) -> Scan {
        let mut s = Scan::default();
        let mut words = pip.options.iter().map(|o| o.get_ref().clone());
        while let Some(word) = words.next() {
            let w = s.option_word(&word, &mut words, root, root, 0, false);
            s.options.extend(w);
        }
        for p in &pip.packages {
            let w = s.requirement(p.get_ref(), root);
            s.packages.push(w);
        }
        for e in &pip.editable {
            let path = root.join(e);
            s.per_project
                .push(format!("editable install of {}", path.display()));
            s.editable.push(path);
        }
        for r in &pip.requirements {
            let i = s.file(Kind::Requirements, root.join(r), root, 0);
            s.requirements.push(i);
        }
        s
    }

    fn note_flag(&mut self, word: &str) {
        let in_file = !self.reading.is_empty();
        self.flags.insert((in_file, flag_name(word).to_string()));
    }

    /// Whether anything is installed editable (`[pip].editable`, or `-e`
    /// in options or a requirements file).
    pub fn has_editable(&self) -> bool {
        !self.editable.is_empty()
            || self
                .flags
                .iter()
                .any(|(_, f)| f == "-e" || f == "--editable")
    }

    /// The local projects installed editable: `[pip].editable`, and each
    /// `-e` of a requirements file that names a directory (pip reads it
    /// from its working directory, the root). A VCS URL is left out.
    pub fn editable_dirs(&self, root: &Path) -> Vec<PathBuf> {
        let mut out = self.editable.clone();
        let lines = (self.inputs.iter())
            .filter(|i| i.kind == Kind::Requirements)
            .flat_map(|i| i.lines.iter().map(|(_, words)| words));
        for line in lines {
            let (Some(Word::Lit(flag)), Some(Word::Lit(value))) = (line.first(), line.get(1))
            else {
                continue;
            };
            if !matches!(flag.as_str(), "-e" | "--editable") {
                continue;
            }
            let Some(value) = shell_words::split(value)
                .ok()
                .and_then(|v| v.into_iter().next())
            else {
                continue;
            };
            // `.[extra]` is the directory `.`.
            let dir = value.split('[').next().unwrap_or_default();
            if !dir.is_empty() && !dir.contains("://") && !dir.contains('+') {
                out.push(root.join(dir));
            }
        }
        out
    }

    /// Why uv cannot install these inputs as pip would, if it cannot: an
    /// option it does not take, or one it would ignore in a requirements
    /// file (it warns and goes on without it).
    pub fn uv_cannot(&self) -> Option<String> {
        self.flags
            .iter()
            .find_map(|(in_file, flag)| uv_refuses(flag, *in_file))
    }

    /// The first input that could not be read, and why: one that failed
    /// itself before one that names it.
    pub fn problem(&self) -> Option<String> {
        if let Some(p) = self.problems.first() {
            return Some(p.clone());
        }
        let unreadable = |naming: bool| {
            self.inputs.iter().find_map(|i| match &i.id {
                Err(e) if matches!(e, Unreadable::Names(_)) == naming => {
                    Some(format!("{}: {e}", i.path.display()))
                }
                _ => None,
            })
        };
        unreadable(false).or_else(|| unreadable(true))
    }

    /// Every path whose change may change what pip reads: the inputs, and
    /// each file in an input directory.
    pub fn watched(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for i in &self.inputs {
            out.push(i.path.clone());
            for (f, _) in &i.files {
                // A file added in a subdirectory changes that directory.
                let mut dir = f.parent();
                while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                    let full = i.path.join(d);
                    if !out.contains(&full) {
                        out.push(full);
                    }
                    dir = d.parent();
                }
                out.push(i.path.join(f));
            }
        }
        out
    }

    /// The lines of the prefix key that come from pip's inputs. Requirement
    /// strings are sorted and spaced canonically; everything else keeps its
    /// order; inputs appear by content, never by path.
    pub fn key_lines(&self, root: &Path) -> Result<Vec<String>, Unreadable> {
        let mut reqs: Vec<String> = self
            .packages
            .iter()
            .map(|w| match w {
                Word::Lit(s) => Ok(canonical_spacing(s)),
                w => self.keyed(w),
            })
            .collect::<Result<_, _>>()?;
        reqs.sort();
        let mut lines: Vec<String> = reqs
            .into_iter()
            .map(|r| format!("requirement {r}"))
            .collect();
        lines.extend(
            self.editable
                .iter()
                .map(|e| format!("editable {}", exact(e))),
        );
        for &i in &self.requirements {
            lines.push(format!("requirements {}", self.id(i)?));
        }
        for w in &self.options {
            lines.push(format!("option {:?}", self.keyed(w)?));
        }
        if !self.per_project.is_empty() {
            lines.push(format!("project {}", exact(root)));
        }
        Ok(lines)
    }

    /// Input `i`'s id, or why it has none.
    pub(super) fn id(&self, i: usize) -> Result<&str, Unreadable> {
        self.inputs[i].id.as_deref().map_err(Clone::clone)
    }

    /// The `[guix].load-path` directories: (path, id) each.
    /// The channels file's id, as trust read it, if the project pins one.
    pub fn channels(&self) -> Option<Result<&str, &Unreadable>> {
        self.inputs
            .iter()
            .find(|i| i.kind == Kind::Channels)
            .map(|i| i.id.as_deref())
    }

    pub fn load_path(&self) -> Vec<(&Path, Result<&str, &Unreadable>)> {
        self.inputs
            .iter()
            .filter(|i| i.kind == Kind::LoadPath)
            .map(|i| (i.path.as_path(), i.id.as_deref()))
            .collect()
    }

    /// A word as the key and ids show it: an input by its id.
    pub(super) fn keyed(&self, w: &Word) -> Result<String, Unreadable> {
        Ok(match w {
            Word::Lit(s) => s.clone(),
            Word::Ref(i, rest) => {
                let input = &self.inputs[*i];
                let id = self
                    .id(*i)
                    .map_err(|_| Unreadable::Names(input.path.clone()))?;
                format!("<{} {id}>{rest}", input.kind.name())
            }
        })
    }

    /// A requirements file's text with its inputs' ids in place of their
    /// paths: what its own id is made of.
    pub(super) fn keyed_text(&self, input: &Input) -> Result<String, Unreadable> {
        let mut out = String::new();
        for (_, line) in &input.lines {
            let words = line
                .iter()
                .map(|w| self.keyed(w))
                .collect::<Result<Vec<_>, _>>()?;
            out.push_str(&words.join(" "));
            out.push('\n');
        }
        Ok(out)
    }

    /// Add the input at `path` once (an input named twice is one input).
    pub(super) fn add(&mut self, kind: Kind, path: PathBuf) -> (usize, bool) {
        if let Some(i) = self.inputs.iter().position(|x| x.path == path) {
            return (i, false);
        }
        self.inputs.push(Input {
            kind,
            path,
            id: Err(Unreadable::NotRead),
            lines: Vec::new(),
            files: Vec::new(),
        });
        (self.inputs.len() - 1, true)
    }

    /// A requirement string: a local wheel or sdist becomes an input; a
    /// local source tree makes the prefix the project's own.
    fn requirement(&mut self, req: &str, root: &Path) -> Word {
        let Some((path, rest)) = local_path(req, root) else {
            return Word::Lit(req.to_string());
        };
        if path.is_dir() {
            self.per_project
                .push(format!("local source tree {}", path.display()));
            return Word::Lit(req.to_string());
        }
        let (i, new) = self.add(Kind::Distribution, path.clone());
        if new {
            self.inputs[i].id = hash_file(&path, DIST_LIMIT);
        }
        Word::Ref(i, rest)
    }

    fn file(&mut self, kind: Kind, path: PathBuf, root: &Path, depth: usize) -> usize {
        // One file named two ways (`a/../r.txt`) is one input: an include
        // tree can't grow wide by spelling one file many ways.
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let (i, new) = self.add(kind, path.clone());
        if !new {
            if self.reading.contains(&i) {
                self.problems
                    .push(format!("{}: includes itself", path.display()));
            }
            return i;
        }
        if depth > DEPTH_LIMIT {
            self.inputs[i].id = Err(Unreadable::NestedTooDeep(DEPTH_LIMIT));
            return i;
        }
        if self.inputs.len() > FILES_LIMIT || self.text_read > TOTAL_TEXT_LIMIT {
            self.inputs[i].id = Err(Unreadable::TooMuch {
                files: FILES_LIMIT,
                bytes: TOTAL_TEXT_LIMIT,
            });
            return i;
        }
        let text = match fsutil::read_limited(&path, TEXT_LIMIT) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    self.inputs[i].id = Err(Unreadable::NotUtf8);
                    return i;
                }
            },
            Err(e) => {
                self.inputs[i].id = Err(e.into());
                return i;
            }
        };
        self.text_read += text.len() as u64;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        // pip joins continued lines and drops comments, then expands.
        let logical = logical_lines(&text);
        if let Some(var) = logical.iter().find_map(|(_, l)| pip_variable(l)) {
            // pip would read a file or URL the key never saw.
            self.inputs[i].id = Err(Unreadable::Variable(var.to_string()));
            return i;
        }
        self.reading.push(i);
        let lines = logical
            .iter()
            .map(|(n, line)| (*n, self.line_words((&text, *n), line, &dir, root, depth)))
            .collect();
        self.reading.pop();
        let mut h = Sha256::new();
        let input = Input {
            lines,
            ..self.inputs[i].clone()
        };
        let id = self.keyed_text(&input).map(|text| {
            h.update(text.as_bytes());
            hex(&h.finalize())
        });
        self.inputs[i] = Input { id, ..input };
        i
    }

    /// One logical line of a requirements file in `dir`, word by word;
    /// `at`: the file's text and the number of the line it starts on.
    fn line_words(
        &mut self,
        (text, number): (&str, usize),
        line: &str,
        dir: &Path,
        root: &Path,
        depth: usize,
    ) -> Vec<Word> {
        if line.starts_with('-') {
            let tokens = match shell_words::split(line) {
                Ok(tokens) => tokens,
                Err(_) => {
                    // pip fails on it too (shlex), or reads it otherwise.
                    if let Some(&file) = self.reading.last() {
                        self.problems.push(format!(
                            "{}:{number}:{}: pip cannot split `{}`: a quote opened here is not closed",
                            self.inputs[file].path.display(),
                            unclosed_quote(line).unwrap_or(1),
                            crate::log::escape(line)
                        ));
                    }
                    return vec![Word::Lit(line.to_string())];
                }
            };
            let mut tokens = tokens.into_iter();
            let mut out = Vec::new();
            while let Some(t) = tokens.next() {
                let w = self.option_word(&t, &mut tokens, dir, root, depth, true);
                out.extend(w);
            }
            return out;
        }
        // `REQ --hash=…`: the requirement, then its own options.
        let (req, opts) = match line.find(" -") {
            Some(at) => (&line[..at], Some(&line[at + 1..])),
            None => (line, None),
        };
        let mut out = vec![self.requirement(req.trim(), root)];
        let mut words = opts.iter().flat_map(|o| o.split_whitespace()).peekable();
        while let Some(word) = words.next() {
            if word.starts_with('-') {
                self.note_flag(word);
            }
            let hash = super::reqfile::hash_value(word, words.peek().copied()).flatten();
            if let Some(hash) = hash
                && !hash_pip_takes(hash)
                && let Some(&file) = self.reading.last()
            {
                let (number, column) = place(text, number, hash);
                self.problems.push(format!(
                    "{}:{number}:{column}: `{}` is not a hash pip and uv take: sha256:, sha384: or sha512:, then the digest in hex",
                    self.inputs[file].path.display(),
                    crate::log::escape(hash)
                ));
            }
        }
        out.extend(opts.map(|o| Word::Lit(o.to_string())));
        out
    }

    /// One option (and its value, taken from `rest`) of `[pip].options` or
    /// of a requirements file line in `dir`. `quoted`: a file's words are
    /// split again by pip, so they are written back quoted.
    fn option_word(
        &mut self,
        word: &str,
        rest: &mut dyn Iterator<Item = String>,
        dir: &Path,
        root: &Path,
        depth: usize,
        quoted: bool,
    ) -> Vec<Word> {
        let lit = |s: &str| {
            Word::Lit(if quoted {
                shell_words::quote(s).into_owned()
            } else {
                s.to_string()
            })
        };
        if word.starts_with('-') {
            self.note_flag(word);
        }
        if word.starts_with('-')
            && let Err(why) = check_option(word)
        {
            let source = match self.reading.last() {
                Some(&file) => self.inputs[file].path.clone(),
                None => dir.join(".pyguix.toml"),
            };
            self.problems.push(format!("{}: {why}", source.display()));
        }
        let Some((flag, value)) = split_option(word, rest) else {
            if word.starts_with('-') {
                return vec![lit(word)];
            }
            // A bare word in [pip].options is a requirement.
            return vec![self.requirement(word, root)];
        };
        let value_word = match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let kind = if matches!(flag, "-r" | "--requirement") {
                    Kind::Requirements
                } else {
                    Kind::Constraints
                };
                // pip reads a nested file relative to the file naming it.
                let i = self.file(kind, dir.join(&value), root, depth + 1);
                Word::Ref(i, String::new())
            }
            "-f" | "--find-links" | "-i" | "--index-url" | "--extra-index-url" => {
                match local_dir(&value, dir, root) {
                    Some(path) => {
                        let kind = if matches!(flag, "-f" | "--find-links") {
                            Kind::FindLinks
                        } else {
                            Kind::Index
                        };
                        let (i, new) = self.add(kind, path.clone());
                        if new {
                            let listed = list_dir(&path, kind == Kind::Index);
                            let input = &mut self.inputs[i];
                            match listed {
                                Ok((id, files)) => {
                                    input.id = Ok(id);
                                    input.files = files;
                                }
                                Err(e) => input.id = Err(e),
                            }
                        }
                        Word::Ref(i, String::new())
                    }
                    None => lit(&value),
                }
            }
            "-e" | "--editable" => {
                self.per_project
                    .push(format!("editable install of {value}"));
                lit(&value)
            }
            // pip reads the group from a pyproject.toml (in its working
            // directory by default): this project's, so its prefix is its own.
            "--group" => {
                self.per_project
                    .push(format!("dependency group {value} of a pyproject.toml"));
                lit(&value)
            }
            _ => lit(&value),
        };
        vec![lit(flag), value_word]
    }
}

/// Where `needle` is in `text`, on the line `number` (from 1) or one it
/// continues to: line and column, each from 1.
fn place(text: &str, number: usize, needle: &str) -> (usize, usize) {
    let lines = super::reqfile::split_lines(text);
    (lines.iter().enumerate().skip(number.saturating_sub(1)))
        .find_map(|(i, l)| {
            l.find(needle)
                .map(|at| (i + 1, l[..at].chars().count() + 1))
        })
        .unwrap_or((number, 1))
}

/// Whether `--hash` may be given `value`: a strong algorithm, as pip
/// allows, and a digest of its length, as uv checks.
fn hash_pip_takes(value: &str) -> bool {
    let Some((algorithm, digest)) = value.split_once(':') else {
        return false;
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    digest.len() == length && digest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The column (from 1) of the quote in `line` that is never closed, as
/// a POSIX shell (and Python's shlex) reads quotes and backslashes.
fn unclosed_quote(line: &str) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (column, c) in line.chars().enumerate() {
        match open {
            Some((_, '\'')) if c == '\'' => open = None,
            Some((_, '\'')) => {}
            _ if escaped => escaped = false,
            _ if c == '\\' => escaped = true,
            Some((_, q)) if c == q => open = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => open = Some((column + 1, c)),
            None => {}
        }
    }
    open.map(|(column, _)| column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_those_pip_and_uv_take() {
        assert!(hash_pip_takes(&format!("sha256:{}", "aB".repeat(32))));
        assert!(hash_pip_takes(&format!("sha512:{}", "0".repeat(128))));
        for bad in ["sha256:0000", "md5:00", "sha256", "sha256:zz", ""] {
            assert!(!hash_pip_takes(bad), "{bad}");
        }
        assert!(!hash_pip_takes(&format!("sha1:{}", "0".repeat(40))));
    }

    #[test]
    fn the_quote_left_open_is_found_as_a_shell_reads_quotes() {
        assert_eq!(unclosed_quote("-e ./q\"x"), Some(7));
        assert_eq!(unclosed_quote("-e \"./a'b"), Some(4));
        assert_eq!(unclosed_quote("-e './a\"b'"), None);
        assert_eq!(unclosed_quote("-e \"a\\\"b\""), None);
        assert_eq!(unclosed_quote("-e a\\'b"), None);
        assert_eq!(unclosed_quote("-e 'a\\'b"), None);
        assert_eq!(unclosed_quote("-e 'a\\'b'"), Some(9));
    }
}
