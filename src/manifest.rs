//! `.pyguix.toml`: finding it and reading it strictly.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub const FILE_NAME: &str = ".pyguix.toml";
/// The largest manifest read.
pub const LIMIT: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub project: ProjectTable,
    #[serde(default)]
    pub python: Python,
    #[serde(default)]
    pub guix: Guix,
    #[serde(default)]
    pub pip: crate::pip::Pip,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, String>,
    #[serde(default)]
    pub path: BTreeMap<Spanned<String>, Vec<String>>,
}

/// `[project]`: about the project itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectTable {
    /// Its name for prompts (`PYENV_GUIX_PROMPT`); default: the root
    /// directory's name.
    pub name: Option<Spanned<String>>,
}

/// The longest project name: a prompt has little room.
pub const NAME_LIMIT: usize = 64;

/// What a prompt name must not hold: control characters would reach the
/// terminal as escape sequences, invisible ones would hide or reorder what
/// the prompt shows, and `%`, `$`, `` ` `` and `\` mean
/// something to zsh's or bash's prompt expansion.
fn prompt_unsafe(c: char) -> bool {
    c.is_control() || crate::log::invisible(c) || matches!(c, '%' | '$' | '`' | '\\')
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Python {
    #[serde(default = "default_interpreter")]
    pub interpreter: String,
}

impl Default for Python {
    fn default() -> Self {
        Python {
            interpreter: default_interpreter(),
        }
    }
}

fn default_interpreter() -> String {
    "python3".to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guix {
    #[serde(default)]
    pub packages: Vec<String>,
    pub channels: Option<String>,
    /// Directories of Guile modules defining packages (`guix package -L`),
    /// relative to the root: trust and the profile's key cover every file.
    #[serde(default, rename = "load-path")]
    pub load_path: Vec<Spanned<String>>,
}

/// A manifest as found on disk: where it is and what it says.
#[derive(Debug)]
pub struct Project {
    /// The manifest file, as found from the directory (not canonicalised).
    pub manifest_path: PathBuf,
    /// The directory holding the manifest.
    pub root: PathBuf,
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

impl Project {
    pub fn load(manifest_path: &Path) -> Result<Project, ManifestError> {
        let bytes = crate::fsutil::read_limited(manifest_path, LIMIT).map_err(|source| {
            ManifestError::Read {
                path: manifest_path.to_path_buf(),
                source,
            }
        })?;
        let manifest = parse(manifest_path, &bytes)?;
        let root = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        // Every [path] entry is under the root: a `:` there would split it.
        if let Some(name) = manifest.path.keys().next()
            && root.as_os_str().as_bytes().contains(&b':')
        {
            let (line, column) = line_column(&bytes, name.span().start);
            return Err(ManifestError::Invalid {
                path: manifest_path.to_path_buf(),
                line,
                column,
                message: format!(
                    "the project's directory {} contains `:`, which would split its [path] entries; move the project",
                    root.display()
                ),
            });
        }
        Ok(Project {
            manifest_path: manifest_path.to_path_buf(),
            root,
            bytes,
            manifest,
        })
    }

    /// A manifest that could not be read or has errors, as an empty one:
    /// for `status` to say what it can.
    pub fn unreadable(manifest_path: &Path) -> Project {
        Project {
            manifest_path: manifest_path.to_path_buf(),
            root: manifest_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            bytes: Vec::new(),
            manifest: Manifest::default(),
        }
    }

    /// Every file that can act for this project, read now (see `Scan`).
    pub fn scan(&self) -> crate::pip::Scan {
        crate::pip::Scan::new(
            &self.root,
            &self.manifest.pip,
            self.channels_file(),
            self.load_path(),
            self.local_interpreter(),
        )
    }

    /// `[python].interpreter` when it is a file inside the project: project
    /// content that runs, so trust covers it.
    /// A relative path, or an absolute one under the root, is the project's
    /// to choose: covered whatever it leads to (a symlink out of the project
    /// is covered by what it points at). A command looked up on PATH, or an
    /// absolute path elsewhere, is the system's.
    pub fn local_interpreter(&self) -> Option<PathBuf> {
        let named = Path::new(&self.manifest.python.interpreter);
        if !self.manifest.python.interpreter.contains('/') {
            return None;
        }
        (named.is_relative() || named.starts_with(&self.root)).then(|| self.root.join(named))
    }

    /// `[guix].load-path`, resolved against the root.
    pub fn load_path(&self) -> Vec<PathBuf> {
        self.manifest
            .guix
            .load_path
            .iter()
            .map(|d| self.root.join(d.get_ref()))
            .collect()
    }

    /// The Guix channels file, when the manifest pins channels.
    pub fn channels_file(&self) -> Option<PathBuf> {
        self.manifest
            .guix
            .channels
            .as_ref()
            .map(|c| self.root.join(c))
    }

    /// The name prompts show (`PYENV_GUIX_PROMPT`): `[project].name`, else
    /// the root directory's name with what a prompt would interpret
    /// replaced by `_` (a name in the manifest is refused at `allow`
    /// instead, where it can be said).
    pub fn prompt_name(&self) -> String {
        if let Some(name) = &self.manifest.project.name {
            return name.get_ref().clone();
        }
        let dir = match self.root.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => self.root.to_string_lossy().into_owned(),
        };
        dir.chars()
            .map(|c| if prompt_unsafe(c) { '_' } else { c })
            .take(NAME_LIMIT)
            .collect()
    }

    /// `[path]` entries resolved against the project root, in manifest order.
    pub fn path_entries(&self) -> Vec<(String, Vec<OsString>)> {
        self.manifest
            .path
            .iter()
            .map(|(name, entries)| {
                let resolved = entries
                    .iter()
                    .map(|e| self.root.join(e).into_os_string())
                    .collect();
                (name.get_ref().clone(), resolved)
            })
            .collect()
    }
}

/// The nearest manifest at or above `dir`. Only `stat`s: this runs at every prompt.
pub fn find(dir: &Path) -> Option<PathBuf> {
    let mut here = Some(dir);
    while let Some(d) = here {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        here = d.parent();
    }
    None
}

pub fn parse(path: &Path, bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let invalid = |offset: usize, message: String| {
        let (line, column) = line_column(bytes, offset);
        ManifestError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| invalid(e.valid_up_to(), "the file is not valid UTF-8".to_string()))?;
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        invalid(offset, e.message().trim_end().to_string())
    })?;
    if let Some(name) = &manifest.project.name
        && let Some(why) = bad_project_name(name.get_ref())
    {
        return Err(invalid(name.span().start, format!("[project].name {why}")));
    }
    for name in manifest.env.keys().chain(manifest.path.keys()) {
        if let Some(why) = bad_variable_name(name.get_ref()) {
            return Err(invalid(name.span().start, why));
        }
    }
    for (name, value) in &manifest.env {
        if let Some(why) = bad_value(value) {
            return Err(invalid(
                name.span().start,
                format!("the value of `{}` {why}", name.get_ref()),
            ));
        }
    }
    for (name, entries) in &manifest.path {
        for entry in entries {
            let why = bad_value(entry).or_else(|| {
                entry
                    .contains(':')
                    .then(|| "contains `:`, which separates the entries of a path list".into())
            });
            if let Some(why) = why {
                return Err(invalid(
                    name.span().start,
                    format!(
                        "an entry of `{}` ({}) {why}",
                        name.get_ref(),
                        entry.escape_debug()
                    ),
                ));
            }
        }
    }
    check_sizes(path, &manifest).map_err(|(offset, why)| invalid(offset, why))?;
    manifest
        .pip
        .check()
        .map_err(|(offset, why)| invalid(offset, why))?;
    for dir in &manifest.guix.load_path {
        let rel = Path::new(dir.get_ref());
        let why = if dir.get_ref().is_empty() {
            Some("is empty")
        } else if rel.is_absolute() {
            Some("is absolute: name a directory inside the project, relative to its root")
        } else if rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            Some("leads out of the project (`..`): name a directory inside it")
        } else if dir.get_ref().contains(':') || dir.get_ref().contains('\0') {
            Some("contains `:` or NUL")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(invalid(
                dir.span().start,
                format!("[guix].load-path {:?} {why}", dir.get_ref()),
            ));
        }
    }
    for name in manifest.path.keys() {
        if manifest.env.contains_key(name.get_ref().as_str()) {
            return Err(invalid(
                name.span().start,
                format!("`{}` is in both [env] and [path]", name.get_ref()),
            ));
        }
    }
    Ok(manifest)
}

/// The longest value a manifest may set: its state must be carried in the
/// environment too, far below the kernel's 128 KiB for one variable.
pub const VALUE_LIMIT: usize = 32 * 1024;

/// The most all of a project's variables may take together (names,
/// values, `=` and the NUL execve adds): a quarter of the smallest
/// `ARG_MAX`s in use, so that the user's own environment and a command's
/// arguments still fit.
pub const TOTAL_LIMIT: usize = 64 * 1024;

/// The joined `[path]` lists, as the shell will hold them, fit one
/// variable's limit, and all the variables together fit `TOTAL_LIMIT`.
/// Each entry is resolved against the project, as when it is set.
fn check_sizes(path: &Path, manifest: &Manifest) -> Result<(), (usize, String)> {
    let root = path.parent().unwrap_or(Path::new("/"));
    let root_len = root.as_os_str().len() + 1;
    let mut total = 0;
    for (name, value) in &manifest.env {
        total += name.get_ref().len() + value.len() + 2;
    }
    for (name, entries) in &manifest.path {
        let joined: usize = entries
            .iter()
            .map(|e| if e.starts_with('/') { e.len() } else { root_len + e.len() } + 1)
            .sum();
        if joined > VALUE_LIMIT {
            return Err((
                name.span().start,
                format!(
                    "the entries of `{}` come to {joined} bytes joined ({} entries), over the {VALUE_LIMIT} one variable can safely carry",
                    name.get_ref(),
                    entries.len()
                ),
            ));
        }
        total += name.get_ref().len() + joined + 2;
    }
    let first = manifest
        .env
        .keys()
        .chain(manifest.path.keys())
        .map(|n| n.span().start)
        .min()
        .unwrap_or(0);
    if total > TOTAL_LIMIT {
        return Err((
            first,
            format!(
                "the variables this project sets come to {total} bytes in all, over the {TOTAL_LIMIT} a shell's environment can safely carry beside the user's own"
            ),
        ));
    }
    // The state remembers every value set and entry added, compressed:
    // half of what it may hold is for them, half for what they replace.
    let records: crate::envdiff::Records = manifest
        .env
        .iter()
        .map(|(name, value)| {
            let record = crate::envdiff::Record::Scalar {
                before: None,
                set: value.into(),
            };
            (name.get_ref().clone(), record)
        })
        .chain(manifest.path.iter().map(|(name, entries)| {
            let record = crate::envdiff::Record::List {
                before_unset: false,
                prepended: entries
                    .iter()
                    .map(|e| root.join(e).into_os_string())
                    .collect(),
                appended: Vec::new(),
            };
            (name.get_ref().clone(), record)
        }))
        .collect();
    let carried = crate::state::State::carried(path, records);
    let share = crate::state::MAX_LEN / 2;
    if carried > share {
        return Err((
            first,
            format!(
                "the variables this project sets would take {carried} bytes of PYENV_GUIX_STATE, which must remember them; over the {share} left for them (the state also holds what they replace)"
            ),
        ));
    }
    Ok(())
}

fn bad_value(value: &str) -> Option<String> {
    if value.contains('\0') {
        return Some("contains a NUL byte, which no environment variable can hold".into());
    }
    if value.len() > VALUE_LIMIT {
        return Some(format!(
            "is {} bytes long, over the {VALUE_LIMIT} a shell's environment can safely carry",
            value.len()
        ));
    }
    None
}

fn bad_project_name(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("is empty".into());
    }
    if name.chars().count() > NAME_LIMIT {
        return Some(format!("is over {NAME_LIMIT} characters long"));
    }
    if let Some(c) = name.chars().find(|&c| prompt_unsafe(c)) {
        return Some(format!(
            "contains {}, which a prompt would interpret",
            c.escape_debug()
        ));
    }
    None
}

/// Whether a project could set `name` through `[env]` or `[path]`.
pub fn project_may_set(name: &str) -> bool {
    bad_variable_name(name).is_none()
}

fn bad_variable_name(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !valid {
        return Some(format!(
            "`{}` is not a valid environment variable name",
            name.escape_debug()
        ));
    }
    if !crate::shells::snippet_name(name) || name.starts_with("PYENV_GUIX_") {
        return Some(format!(
            "`{name}` is managed by the shell or by pyenv-guix and cannot be set"
        ));
    }
    if PLACES.contains(&name) {
        return Some(format!(
            "`{name}` decides where pyenv-guix keeps its trust records, state key and builds, or where it finds Guix: a project cannot move them"
        ));
    }
    None
}

/// What the data and cache directories and the Guix pyenv-guix follows are
/// found from: set by a project, they would let it choose its own trust
/// records (and so trust itself and others).
const PLACES: &[&str] = &["HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"];

/// 1-based line and column (in characters) of a byte offset.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("/p/.pyguix.toml"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn empty_file_is_a_valid_project() {
        let m = parse(Path::new("x"), b"").unwrap();
        assert!(m.env.is_empty() && m.path.is_empty());
        assert_eq!(m.python.interpreter, "python3");
        assert_eq!(m.pip.mode, crate::pip::PipMode::Prefix);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        assert_eq!(
            err("[pip]\nmode = \"venv\"\n  pakages = []\n"),
            "/p/.pyguix.toml:3:3: unknown field `pakages`, expected one of `packages`, `editable`, `requirements`, `mode`, `options`, `system-site-packages`, `installer`, `missing-libraries`, `lock`, `uv-project`"
        );
    }

    #[test]
    fn wrong_type_and_bad_names_are_rejected() {
        assert!(err("[env]\nA = 1\n").starts_with("/p/.pyguix.toml:2:5: "));
        assert!(err("[env]\n\"1A\" = \"x\"\n").contains(":2:1: `1A` is not a valid"));
        assert!(err("[path]\nPWD = [\"x\"]\n").contains(":2:1: `PWD` is managed"));
        assert!(err("[pip]\nmode = \"conda\"\n").contains(":2:8: "));
        assert!(
            err("[pip]\npackages = [\"six\", \"--prefix=/elsewhere\"]\n")
                .contains(":2:20: `--prefix=/elsewhere` is a pip option, not a requirement: put options in [pip].options")
        );
        assert!(
            err("[pip]\noptions = [\"--target\", \"/x\"]\n")
                .contains(":2:12: `--target` would make pip install elsewhere")
        );
        assert!(err("[pip]\noptions = [\"-t/x\"]\n").contains(":2:12: `-t` (--target) would"));
        // pip would take an abbreviation, or joined short options: we don't.
        assert!(
            err("[pip]\noptions = [\"--find-l=w\"]\n")
                .contains("`--find-l` is not a pip install option spelt in full")
        );
        assert!(
            err("[pip]\noptions = [\"-qfw\"]\n").contains("`-qfw` joins several short options")
        );
        assert!(err("[pip]\noptions = [\"--cache-dir\", \"c\"]\n").contains("`--cache-dir` would"));
        parse(
            Path::new("m"),
            b"[pip]\noptions = [\"-qq\", \"-U\", \"--no-index\", \"-fw\", \"--index-url=x\"]\n",
        )
        .unwrap();
    }

    #[test]
    fn project_names_a_prompt_cannot_take_are_refused() {
        for (name, why) in [
            ("", "is empty"),
            ("  ", "is empty"),
            ("a\\u001b[31m", "contains \\u{1b}"),
            ("50%", "contains %"),
            ("$(id)", "contains $"),
            ("a`b", "contains `"),
            ("a\\\\b", "contains \\\\"),
        ] {
            let e = err(&format!("[project]\nname = \"{name}\"\n"));
            assert!(e.contains(":2:8: [project].name "), "{name:?}: {e}");
            assert!(e.contains(why), "{name:?}: {e}");
        }
        assert!(err(&format!("[project]\nname = \"{}\"\n", "x".repeat(65))).contains("over 64"));
        assert!(err("[project]\nnam = \"x\"\n").contains("unknown field `nam`"));
        let m = parse(
            Path::new("m"),
            "[project]\nname = \"my app ✓ (v2)\"\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(m.project.name.unwrap().get_ref(), "my app ✓ (v2)");
    }

    #[test]
    fn the_default_prompt_name_is_the_root_directory_made_safe() {
        let mut p = Project::unreadable(Path::new("/home/me/my-project/.pyguix.toml"));
        assert_eq!(p.prompt_name(), "my-project");
        p.root = PathBuf::from("/tmp/50%$x\u{1b}");
        assert_eq!(p.prompt_name(), "50__x_");
        p.manifest.project.name = Some(Spanned::new(0..1, "named".to_string()));
        assert_eq!(p.prompt_name(), "named");
    }
}
