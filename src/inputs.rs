//! What pip reads for a project, read once and named by content: the
//! requirement strings, every requirements and constraints file (followed
//! through `-r` and `-c` as pip follows them), local distributions and
//! local find-links or index directories. Trust, the prefix key and the
//! build all use this one reading, and the build hands pip private copies
//! of exactly the bytes that were hashed.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fsutil::{self, hex};
use crate::manifest::{Pip, Project};

/// Largest requirements or constraints file read.
pub const TEXT_LIMIT: u64 = 1 << 20;
/// Largest local distribution read.
pub const DIST_LIMIT: u64 = 4 << 30;
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
    pub id: Result<String, String>,
    /// A requirements or constraints file's lines.
    lines: Vec<Vec<Word>>,
    /// A directory's files, relative to it, with their hashes.
    pub files: Vec<(PathBuf, String)>,
}

/// A word of a pip argument list or of a requirements file line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
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
    options: Vec<Word>,
    /// `[pip].packages`.
    packages: Vec<Word>,
    /// `[pip].editable`, resolved against the root.
    editable: Vec<PathBuf>,
    /// `[pip].requirements`.
    requirements: Vec<usize>,
    /// Why the prefix belongs to this project alone (a source tree, an
    /// editable install), if it does.
    pub per_project: Vec<String>,
    /// What makes the inputs unusable as a whole (a file that includes itself).
    problems: Vec<String>,
    /// Bytes of requirements files read so far.
    text_read: u64,
    /// The requirements file being read, for messages.
    reading: Option<PathBuf>,
    /// Each option flag given, and whether a requirements file gave it.
    flags: std::collections::BTreeSet<(bool, String)>,
}

impl Scan {
    /// Read everything that can act for `project`: what pip reads (pip runs
    /// at the root), the channels file, an interpreter inside the project.
    pub fn new(project: &Project) -> Scan {
        let mut s = Scan::pip(&project.root, &project.manifest.pip);
        if let Some(path) = project.channels_file() {
            let (i, _) = s.add(Kind::Channels, path.clone());
            s.inputs[i].id = hash_file(&path, TEXT_LIMIT);
        }
        for dir in project.load_path() {
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
        if let Some(path) = project.local_interpreter() {
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
        let flag = match word.strip_prefix("--") {
            Some(long) => &word[..2 + long.find('=').unwrap_or(long.len())],
            None => word.get(..2).unwrap_or(word),
        };
        let in_file = self.reading.is_some();
        self.flags.insert((in_file, flag.to_string()));
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

    /// Why uv cannot install these inputs as pip would, if it cannot: an
    /// option it does not take, or one it would ignore in a requirements
    /// file (it warns and goes on without it).
    pub fn uv_cannot(&self) -> Option<String> {
        self.flags.iter().find_map(|(in_file, flag)| {
            let (known, place) = if *in_file {
                (UV_FILE_OPTIONS, "in a requirements file")
            } else {
                (UV_OPTIONS, "in [pip].options")
            };
            (!known.contains(&flag.as_str())).then(|| format!("uv does not take `{flag}` {place}"))
        })
    }

    /// The first input that could not be read, and why.
    pub fn problem(&self) -> Option<String> {
        if let Some(p) = self.problems.first() {
            return Some(p.clone());
        }
        self.inputs.iter().find_map(|i| {
            i.id.as_ref()
                .err()
                .map(|e| format!("{}: {e}", i.path.display()))
        })
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
    pub fn key_lines(&self, root: &Path) -> Vec<String> {
        let mut reqs: Vec<String> = self
            .packages
            .iter()
            .map(|w| match w {
                Word::Lit(s) => normalise(s),
                w => self.render(w, None),
            })
            .collect();
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
        lines.extend(
            self.requirements
                .iter()
                .map(|&i| format!("requirements {}", self.id(i))),
        );
        lines.extend(
            self.options
                .iter()
                .map(|w| format!("option {:?}", self.render(w, None))),
        );
        if !self.per_project.is_empty() {
            lines.push(format!("project {}", exact(root)));
        }
        lines
    }

    /// Copy every input into `stage`, checking each copy against the hash
    /// taken when it was read, and return pip's arguments naming the
    /// copies: `(options, requirements)`.
    pub fn stage(&self, stage: &Path) -> Result<(Vec<OsString>, Vec<OsString>), String> {
        std::fs::create_dir_all(stage).map_err(|e| format!("{}: {e}", stage.display()))?;
        let mut lifted: Vec<OsString> = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if matches!(
                input.kind,
                Kind::Channels | Kind::Interpreter | Kind::LoadPath
            ) {
                continue;
            }
            let id = input
                .id
                .as_ref()
                .map_err(|e| format!("{}: {e}", input.path.display()))?;
            let copy = self.staged_path(stage, i);
            let got = match input.kind {
                Kind::Channels | Kind::Interpreter | Kind::LoadPath => continue,
                Kind::Requirements | Kind::Constraints => {
                    let (text, editable) = self.staged_text(input, stage);
                    lifted.extend(editable);
                    // The file's id covers its own text with ids in place of
                    // paths; the copy holds the same text with the copies' paths.
                    let keyed = hex(&Sha256::digest(self.text(input, None).as_bytes()));
                    fsutil::write_atomic(&copy, text.as_bytes())
                        .map_err(|e| format!("{}: {e}", copy.display()))?;
                    keyed
                }
                Kind::Distribution => copy_file(&input.path, &copy)?,
                Kind::FindLinks | Kind::Index => {
                    let mut h = Sha256::new();
                    for (rel, _) in &input.files {
                        let hash = copy_file(&input.path.join(rel), &copy.join(rel))?;
                        dir_entry(&mut h, rel, &hash);
                    }
                    hex(&h.finalize())
                }
            };
            if &got != id {
                return Err(format!(
                    "{} changed while it was being read; nothing was built from it",
                    input.path.display()
                ));
            }
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

    fn id(&self, i: usize) -> &str {
        match &self.inputs[i].id {
            Ok(id) => id,
            Err(_) => "unreadable",
        }
    }

    fn staged_path(&self, stage: &Path, i: usize) -> PathBuf {
        let input = &self.inputs[i];
        let dir = stage.join(format!("{i}-{}", self.id(i)));
        match input.kind {
            Kind::Requirements | Kind::Constraints | Kind::Channels | Kind::Interpreter => {
                dir.with_extension("txt")
            }
            // pip reads a distribution's name and version from its file name.
            Kind::Distribution => dir.join(input.path.file_name().unwrap_or_default()),
            Kind::FindLinks | Kind::Index | Kind::LoadPath => dir,
        }
    }

    /// The `[guix].load-path` directories: (path, id) each.
    pub fn load_path(&self) -> Vec<(&Path, Result<&str, &str>)> {
        self.inputs
            .iter()
            .filter(|i| i.kind == Kind::LoadPath)
            .map(|i| (i.path.as_path(), i.id.as_deref().map_err(String::as_str)))
            .collect()
    }

    /// Copy each `[guix].load-path` directory into `stage`, every file
    /// checked against the hash trust and the key were made from, and
    /// return the copies, for `guix -L`.
    pub fn stage_load_path(&self, stage: &Path) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if input.kind != Kind::LoadPath {
                continue;
            }
            let id = input
                .id
                .as_ref()
                .map_err(|e| format!("{}: {e}", input.path.display()))?;
            let copy = self.staged_path(stage, i);
            let mut h = Sha256::new();
            for (rel, _) in &input.files {
                let hash = copy_file(&input.path.join(rel), &copy.join(rel))?;
                dir_entry(&mut h, rel, &hash);
            }
            if &hex(&h.finalize()) != id {
                return Err(format!(
                    "{} changed while it was being read; nothing was built from it",
                    input.path.display()
                ));
            }
            out.push(copy);
        }
        Ok(out)
    }

    /// A word as the key shows it (`stage` None: inputs by id) or as a
    /// staged requirements file has it (quoted for pip's splitting).
    fn render(&self, w: &Word, stage: Option<&Path>) -> String {
        match (w, stage) {
            (Word::Lit(s), _) => s.clone(),
            (Word::Ref(i, rest), None) => {
                format!("<{} {}>{rest}", self.inputs[*i].kind.name(), self.id(*i))
            }
            (Word::Ref(i, rest), Some(stage)) => {
                let p = self.staged_path(stage, *i);
                format!("{}{rest}", shell_words::quote(&p.to_string_lossy()))
            }
        }
    }

    /// A word as one argument on pip's command line.
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
    /// `--config-settings` to them (see `prefix::editable_on_pythonpath`).
    /// pip reads an editable path from the current directory either way.
    fn staged_text(&self, input: &Input, stage: &Path) -> (String, Vec<OsString>) {
        let mut out = String::new();
        let mut editable = Vec::new();
        for line in &input.lines {
            let words: Vec<String> = line.iter().map(|w| self.render(w, Some(stage))).collect();
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
            out.push_str(&text);
            out.push('\n');
        }
        (out, editable)
    }

    fn text(&self, input: &Input, stage: Option<&Path>) -> String {
        let mut out = String::new();
        for line in &input.lines {
            let words: Vec<String> = line.iter().map(|w| self.render(w, stage)).collect();
            out.push_str(&words.join(" "));
            out.push('\n');
        }
        out
    }

    /// Add the input at `path` once (an input named twice is one input).
    fn add(&mut self, kind: Kind, path: PathBuf) -> (usize, bool) {
        if let Some(i) = self.inputs.iter().position(|x| x.path == path) {
            return (i, false);
        }
        self.inputs.push(Input {
            kind,
            path,
            id: Err("not read yet".into()),
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
            if self.inputs[i]
                .id
                .as_ref()
                .is_err_and(|e| e == "not read yet")
            {
                self.problems
                    .push(format!("{}: includes itself", path.display()));
            }
            return i;
        }
        if depth > DEPTH_LIMIT {
            self.inputs[i].id = Err(format!("nested more than {DEPTH_LIMIT} deep"));
            return i;
        }
        if self.inputs.len() > FILES_LIMIT || self.text_read > TOTAL_TEXT_LIMIT {
            self.inputs[i].id = Err(format!(
                "one of more than {FILES_LIMIT} files, or {TOTAL_TEXT_LIMIT} bytes, that pip would read"
            ));
            return i;
        }
        let text = match fsutil::read_limited(&path, TEXT_LIMIT) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    self.inputs[i].id = Err("not valid UTF-8".into());
                    return i;
                }
            },
            Err(e) => {
                self.inputs[i].id = Err(e.to_string());
                return i;
            }
        };
        self.text_read += text.len() as u64;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        // pip joins continued lines and drops comments, then expands.
        if let Some(var) = logical_lines(&text).iter().find_map(|l| pip_variable(l)) {
            // pip would read a file or URL the key never saw.
            self.inputs[i].id = Err(format!(
                "uses ${{{var}}}, which pip expands from the environment: write its value out"
            ));
            return i;
        }
        let mut lines = Vec::new();
        let outer = self.reading.replace(path.clone());
        for line in logical_lines(&text) {
            let words = if line.starts_with('-') {
                match shell_words::split(&line) {
                    Ok(tokens) => {
                        let mut tokens = tokens.into_iter();
                        let mut out = Vec::new();
                        while let Some(t) = tokens.next() {
                            let w = self.option_word(&t, &mut tokens, &dir, root, depth, true);
                            out.extend(w);
                        }
                        out
                    }
                    Err(_) => vec![Word::Lit(line.clone())],
                }
            } else {
                // `REQ --hash=…`: the requirement, then its own options.
                let (req, opts) = match line.find(" -") {
                    Some(at) => (&line[..at], Some(&line[at + 1..])),
                    None => (line.as_str(), None),
                };
                let mut out = vec![self.requirement(req.trim(), root)];
                for word in opts.iter().flat_map(|o| o.split_whitespace()) {
                    if word.starts_with('-') {
                        self.note_flag(word);
                    }
                }
                out.extend(opts.map(|o| Word::Lit(o.to_string())));
                out
            };
            lines.push(words);
        }
        self.reading = outer;
        let mut h = Sha256::new();
        let input = Input {
            lines,
            ..self.inputs[i].clone()
        };
        h.update(self.text(&input, None).as_bytes());
        self.inputs[i] = Input {
            id: Ok(hex(&h.finalize())),
            ..input
        };
        i
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
            let source = self
                .reading
                .clone()
                .unwrap_or_else(|| dir.join(".pyguix.toml"));
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

/// Options that take a value, as pip's `install` and requirements files spell them.
const VALUED: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade-strategy",
    "-C",
    "--config-settings",
    "--global-option",
    "--hash",
    "--progress-bar",
    "--proxy",
    "--retries",
    "--timeout",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--use-feature",
    "--use-deprecated",
    "--keyring-provider",
    "--exists-action",
    "--log",
    "--group",
];

/// `--flag=value`, `--flag value`, `-rvalue` or `-r value`, for the options
/// in `VALUED`; `None` for anything else.
fn split_option<'a>(
    word: &'a str,
    rest: &mut dyn Iterator<Item = String>,
) -> Option<(&'a str, String)> {
    if let Some((flag, value)) = word.split_once('=')
        && flag.starts_with("--")
        && VALUED.contains(&flag)
    {
        return Some((flag, value.to_string()));
    }
    if VALUED.contains(&word) {
        return Some((word, rest.next().unwrap_or_default()));
    }
    let short = word.get(..2)?;
    if !word.starts_with("--") && word.len() > 2 && VALUED.contains(&short) {
        return Some((short, word[2..].to_string()));
    }
    None
}

/// A path as key text, every byte kept: not UTF-8 bytes are escaped, never
/// replaced (two roots must never read alike).
pub fn exact(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().escape_ascii().to_string()
}

/// Options that would install somewhere else than the prefix, or not at
/// all, run another Python, or read and write places of pip's own choosing:
/// refused, in `[pip].options` and in requirements files.
const FORBIDDEN_OPTIONS: &[&str] = &[
    "--prefix",
    "--target",
    "--root",
    "--user",
    "--src",
    "--dry-run",
    "--report",
    "--require-virtualenv",
    "--python",
    "--cache-dir",
    "--log",
];

/// Every other long option of `pip install` (and pip's general options),
/// spelt in full. pip would take a unique prefix of any (`--find-l`): we
/// take only these, so that no option reads a file we did not see.
const KNOWN_OPTIONS: &[&str] = &[
    "--requirement",
    "--constraint",
    "--editable",
    "--find-links",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-deps",
    "--pre",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade",
    "--upgrade-strategy",
    "--force-reinstall",
    "--ignore-installed",
    "--ignore-requires-python",
    "--no-build-isolation",
    "--use-pep517",
    "--no-use-pep517",
    "--check-build-dependencies",
    "--break-system-packages",
    "--config-settings",
    "--global-option",
    "--compile",
    "--no-compile",
    "--no-warn-script-location",
    "--no-warn-conflicts",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--require-hashes",
    "--progress-bar",
    "--root-user-action",
    "--hash",
    "--trusted-host",
    "--quiet",
    "--verbose",
    "--no-input",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-color",
    "--no-python-version-warning",
    "--use-feature",
    "--use-deprecated",
    "--keyring-provider",
    "--isolated",
    "--debug",
    "--resume-retries",
    // pip 25.1: a PEP 735 dependency group, `[PATH:]NAME`.
    "--group",
];

/// The options of pip's that `uv pip install` takes on its command line
/// with the same meaning (checked against uv 0.13).
const UV_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-deps",
    "--pre",
    "-U",
    "--upgrade",
    "--force-reinstall",
    "--no-build-isolation",
    "-C",
    "--config-settings",
    "--no-binary",
    "--only-binary",
    "--require-hashes",
    "--python-version",
    "--group",
    "--compile",
    "--no-compile",
    "--break-system-packages",
    "--keyring-provider",
    "--cert",
    "--trusted-host",
    "-q",
    "--quiet",
    "-v",
    "--verbose",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-color",
];

/// The options uv reads in a requirements file; it ignores others there.
const UV_FILE_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-binary",
    "--only-binary",
    "--require-hashes",
    "--hash",
];

/// Whether pip may be given `word`, an option as written in `[pip].options`
/// or a requirements file; `Err` says why not.
pub fn check_option(word: &str) -> Result<(), String> {
    if let Some(long) = word.strip_prefix("--") {
        let flag = &word[..2 + long.find('=').unwrap_or(long.len())];
        if FORBIDDEN_OPTIONS.contains(&flag) {
            return Err(format!(
                "`{flag}` would make pip install elsewhere than the project's prefix, or not at all, or use places of its own; pyenv-guix decides those"
            ));
        }
        if !KNOWN_OPTIONS.contains(&flag) {
            return Err(format!(
                "`{flag}` is not a pip install option spelt in full: write pip's options in full"
            ));
        }
        return Ok(());
    }
    let mut letters = word.chars().skip(1);
    match letters.next() {
        Some('t') => {
            Err("`-t` (--target) would make pip install elsewhere than the project's prefix".into())
        }
        // The value follows, joined or as the next word.
        Some('r' | 'c' | 'e' | 'f' | 'i' | 'C') => Ok(()),
        Some(first @ ('q' | 'v' | 'U' | 'I')) => {
            let rest: String = letters.collect();
            let repeat = matches!(first, 'q' | 'v') && rest.chars().all(|c| c == first);
            if rest.is_empty() || repeat {
                Ok(())
            } else {
                Err(format!(
                    "`{word}` joins several short options: write each apart"
                ))
            }
        }
        _ => Err(format!("`{word}` is not a pip install option")),
    }
}

/// The first `${NAME}` pip would expand in a requirements file (NAME of
/// capitals, digits and `_`), if any.
fn pip_variable(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        if let Some(end) = after.find('}') {
            let name = &after[..end];
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Some(name);
            }
        }
        rest = after;
    }
    None
}

/// A requirements file's logical lines, exactly as pip makes them: split
/// where Python's `str.splitlines` splits (not only at `\n`: a `\r`, `\x0c`
/// or U+2028 would otherwise hide a line from the key that pip reads),
/// continuations joined unless the line holds a comment, then comments and
/// blank lines dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut joined = Vec::new();
    let mut pending: Option<String> = None;
    for raw in split_lines(text) {
        let comment = strip_comment(raw).len() != raw.len();
        if !raw.ends_with('\\') || comment {
            // pip puts a space before a comment line, so that it stays one.
            let line = if comment {
                format!(" {raw}")
            } else {
                raw.to_string()
            };
            match pending.take() {
                Some(mut p) => {
                    p.push_str(&line);
                    joined.push(p);
                }
                None => joined.push(line),
            }
        } else {
            pending
                .get_or_insert_with(String::new)
                .push_str(raw.trim_matches('\\'));
        }
    }
    joined.extend(pending);
    joined
        .iter()
        .map(|l| strip_comment(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The lines of `text` as Python's `str.splitlines` gives them.
fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {
                chars.next();
                i + 2
            }
            '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => i + c.len_utf8(),
            _ => continue,
        };
        out.push(&text[start..i]);
        start = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A `#` at the start or after whitespace starts a comment.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// The local file or directory a requirement names, as pip decides that a
/// requirement is a path (it has a `/`, starts with `.`, is an archive
/// name, or is a `file:` URL, alone or after `name @`), and what followed
/// the path (extras).
fn local_path(req: &str, root: &Path) -> Option<(PathBuf, String)> {
    let req = req.trim();
    let target = match req.split_once('@') {
        Some((name, url)) if is_name(name.trim()) => url.trim(),
        _ => req,
    };
    let target = target.split(" ;").next().unwrap_or(target).trim();
    let (target, extras) = match target.rfind('[') {
        Some(at) if target.ends_with(']') => (&target[..at], &target[at..]),
        _ => (target, ""),
    };
    let path = if let Some(rest) = target.strip_prefix("file:") {
        PathBuf::from(file_url_path(rest))
    } else if target.contains("://") {
        return None;
    } else if target.contains('/') || target.starts_with('.') || is_archive(target) {
        PathBuf::from(target)
    } else {
        return None;
    };
    Some((root.join(path), extras.to_string()))
}

/// A local find-links or index location: a `file:` URL, or a path that
/// exists (relative to the file naming it first, then to the root).
fn local_dir(value: &str, dir: &Path, root: &Path) -> Option<PathBuf> {
    if let Some(rest) = value.strip_prefix("file:") {
        return Some(root.join(file_url_path(rest)));
    }
    if value.contains("://") {
        return None;
    }
    let near = dir.join(value);
    Some(if near.exists() {
        near
    } else {
        root.join(value)
    })
}

/// `///abs`, `//localhost/abs` or `rel` after `file:`, with `%XX` decoded.
fn file_url_path(rest: &str) -> String {
    let path = match rest.strip_prefix("//") {
        Some(r) => &r[r.find('/').unwrap_or(r.len())..],
        None => rest,
    };
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.[], ".contains(c))
}

fn is_archive(s: &str) -> bool {
    [
        ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar",
    ]
    .iter()
    .any(|ext| s.ends_with(ext))
}

/// A requirement string with the spaces PEP 508 leaves insignificant
/// removed: around version operators, commas, brackets and parentheses,
/// outside quoted marker values. Other runs of spaces become one.
pub fn normalise(req: &str) -> String {
    let tight = |c: char| "=<>!~,;()[]".contains(c);
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in req.trim().chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !tight(c) && !out.ends_with(tight) {
            out.push(' ');
        }
        space = false;
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

/// SHA-256 of a regular file of at most `limit` bytes, in hex.
pub fn hash_file(path: &Path, limit: u64) -> Result<String, String> {
    let mut f = fsutil::open_regular(path, limit).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut reader = (&mut f).take(limit + 1);
    loop {
        // Ctrl-C at a prompt ends a long hash at once (the hook's export
        // catches it to print nothing, and would otherwise hash on).
        if crate::buildlock::interrupted() {
            return Err(crate::buildlock::INTERRUPTED.to_string());
        }
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Copy `from` to `to`, hashing the bytes written.
fn copy_file(from: &Path, to: &Path) -> Result<String, String> {
    let say = |e: std::io::Error| format!("{}: {e}", from.display());
    let f = fsutil::open_regular(from, DIST_LIMIT).map_err(say)?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut out = fsutil::create_private(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut h = Sha256::new();
    let mut reader = f.take(DIST_LIMIT + 1);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if crate::buildlock::interrupted() {
            return Err(crate::buildlock::INTERRUPTED.to_string());
        }
        let n = reader.read(&mut buf).map_err(say)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        std::io::Write::write_all(&mut out, &buf[..n])
            .map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(hex(&h.finalize()))
}

fn dir_entry(h: &mut Sha256, rel: &Path, hash: &str) {
    use std::os::unix::ffi::OsStrExt;
    h.update(rel.as_os_str().as_bytes());
    h.update(b"\0");
    h.update(hash.as_bytes());
    h.update(b"\n");
}

/// A directory's regular files (only its own, or all below it), sorted,
/// with their hashes, and the id over names and hashes.
fn list_dir(dir: &Path, recursive: bool) -> Result<(String, Vec<(PathBuf, String)>), String> {
    let mut files = Vec::new();
    walk(dir, Path::new(""), recursive, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let mut out = Vec::new();
    for rel in files {
        let hash = hash_file(&dir.join(&rel), DIST_LIMIT)
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        dir_entry(&mut h, &rel, &hash);
        out.push((rel, hash));
    }
    Ok((hex(&h.finalize()), out))
}

/// How deep and how wide a walk goes: a project's directories are
/// hostile until trusted, and a walk over them must end.
const WALK_DEPTH: usize = 32;
const WALK_ENTRIES: usize = 100_000;

/// The files under `dir` (relative to it). A link to a file is read as the
/// file; a link to a directory is not entered, so no loop of links is
/// ever followed; past `WALK_DEPTH` levels or `WALK_ENTRIES` entries the
/// walk is refused, not cut short (a file left out would be unkeyed).
fn walk(dir: &Path, rel: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut seen = 0;
    walk_from(dir, rel, recursive, out, &mut seen)
}

fn walk_from(
    dir: &Path,
    rel: &Path,
    recursive: bool,
    out: &mut Vec<PathBuf>,
    seen: &mut usize,
) -> Result<(), String> {
    if rel.components().count() > WALK_DEPTH {
        return Err(format!(
            "{}: more than {WALK_DEPTH} directories deep",
            dir.join(rel).display()
        ));
    }
    let entries = std::fs::read_dir(dir.join(rel)).map_err(|e| e.to_string())?;
    for e in entries {
        let e = e.map_err(|e| e.to_string())?;
        *seen += 1;
        if *seen > WALK_ENTRIES {
            return Err(format!(
                "{}: more than {WALK_ENTRIES} entries",
                dir.display()
            ));
        }
        if crate::buildlock::interrupted() {
            return Err(crate::buildlock::INTERRUPTED.to_string());
        }
        let name = rel.join(e.file_name());
        let Ok(kind) = e.file_type() else {
            continue;
        };
        let is_dir = kind.is_dir();
        let is_file = kind.is_file()
            || (kind.is_symlink() && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()));
        if is_file {
            out.push(name);
        } else if is_dir && recursive {
            walk_from(dir, &name, recursive, out, seen)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_removes_only_insignificant_spaces() {
        assert_eq!(normalise(" prov == 1.5.3 "), "prov==1.5.3");
        assert_eq!(normalise("a [x , y] >= 1 , < 2"), "a[x,y]>=1,<2");
        assert_eq!(normalise("a ; extra == \"b  c\""), "a;extra==\"b  c\"");
        // A URL's end is where the space is: keep one.
        assert_eq!(normalise("a @ https://x/y ; m"), "a @ https://x/y;m");
        assert_ne!(
            normalise("a @ https://x/y;m"),
            normalise("a @ https://x/y z")
        );
    }

    #[test]
    fn lines_are_split_and_joined_as_pip_does() {
        assert_eq!(
            logical_lines("alpha\r-f wheels2\ngamma\r\nbeta\x0cdelta\u{2028}eps"),
            ["alpha", "-f wheels2", "gamma", "beta", "delta", "eps"]
        );
        // A comment line ending in `\` is not continued into the next.
        assert_eq!(logical_lines("# pinned below \\\nbeta\n"), ["beta"]);
        assert_eq!(logical_lines("alpha \\\n  >= 1\n"), ["alpha   >= 1"]);
        assert_eq!(logical_lines("a # x\\\nb"), ["a", "b"]);
    }

    #[test]
    fn variables_pip_would_expand_are_found() {
        assert_eq!(pip_variable("-r ${HOME}/x.txt\n"), Some("HOME"));
        assert_eq!(pip_variable("a==1\n# ${lower} is not pip's\n"), None);
        assert_eq!(pip_variable("$HOME ${} ${A-B}"), None);
    }

    #[test]
    fn lines_as_pip_reads_them() {
        let text =
            "\u{feff}a==1 # pinned\n# comment\n\nb \\\n  >=2\n-r other.txt#x\nc#notacomment\n";
        assert_eq!(
            logical_lines(text),
            vec!["a==1", "b   >=2", "-r other.txt#x", "c#notacomment"]
        );
    }

    #[test]
    fn local_paths_as_pip_sees_them() {
        let root = Path::new("/p");
        let got = |r: &str| local_path(r, root).map(|(p, e)| (p.display().to_string(), e));
        assert_eq!(got("."), Some(("/p/.".into(), "".into())));
        assert_eq!(got("./pkg[cli]"), Some(("/p/./pkg".into(), "[cli]".into())));
        assert_eq!(
            got("dist/x-1.0-py3-none-any.whl").unwrap().0,
            "/p/dist/x-1.0-py3-none-any.whl"
        );
        assert_eq!(got("x @ file:///w/x%201.whl").unwrap().0, "/w/x 1.whl");
        assert_eq!(got("x @ https://h/x.whl"), None);
        assert_eq!(got("prov==1.5.3"), None);
        assert_eq!(got("x>=1; python_version >= \"3.8\""), None);
    }

    #[test]
    fn options_split_as_pip_splits_them() {
        let mut none = std::iter::empty();
        assert_eq!(
            split_option("-rbase.txt", &mut none),
            Some(("-r", "base.txt".into()))
        );
        assert_eq!(
            split_option("--constraint=c.txt", &mut none),
            Some(("--constraint", "c.txt".into()))
        );
        let mut next = vec!["w".to_string()].into_iter();
        assert_eq!(
            split_option("--find-links", &mut next),
            Some(("--find-links", "w".into()))
        );
        assert_eq!(split_option("--no-index", &mut none), None);
        assert_eq!(split_option("--pre", &mut none), None);
    }
}
