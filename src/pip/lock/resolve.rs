//! Resolving a project's pip layer into a lock: by uv (`uv pip compile
//! --format pylock.toml`), or by the interpreter's own pip (`pip install
//! --dry-run --report`, written as PEP 751 here). Either reads the
//! project's own files where they are (the lock records each artefact's
//! hash, so what is read is pinned by what is written).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::write::from_report;
use crate::interpreter::Facts;
use crate::pip::install::isolating;
use crate::pip::install::uv::uv_env;
use crate::pip::reqfile::normal_name;
use crate::pip::run::{Failure, run_shown};
use crate::pip::scan::{Kind, Scan, Word};

/// Who resolves.
pub enum Resolver<'a> {
    /// The interpreter's pip.
    Pip,
    /// This uv binary.
    Uv(&'a Path),
}

/// What to resolve for.
pub struct Wanted<'a> {
    pub facts: &'a Facts,
    /// All the environment the resolver sees.
    pub env: &'a [(OsString, OsString)],
    pub root: &'a Path,
    /// Where the lock goes: the files under it are named relative to it.
    pub lock_dir: &'a Path,
    /// Whether what the interpreter already has (a Guix profile's
    /// packages) is left out of the lock.
    pub see_installed: bool,
    /// Versions to keep where they still fit: `name==version` each.
    pub prefer: &'a [String],
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{tool} could not resolve the project's packages ({status}){detail}")]
    Resolver {
        tool: &'static str,
        status: String,
        /// Its last lines, or where they are when they were shown live.
        detail: String,
    },
    /// Not the resolver's doing: staging, a process that could not start.
    #[error(transparent)]
    Build(#[from] crate::pip::BuildError),
    /// pip's report could not be read, or not turned into a lock.
    #[error("{0}")]
    Report(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl From<Failure> for LockError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Pip { status, tail } => LockError::Resolver {
                tool: "the resolver",
                status,
                detail: detail(&tail),
            },
            Failure::Before(e) | Failure::Io(e) => LockError::Build(e),
        }
    }
}

/// A requirement line's options without its `--hash` ones, and the
/// sha256 hashes they gave.
fn without_hashes(options: &str) -> (String, Vec<String>) {
    let mut kept = Vec::new();
    let mut hashes = Vec::new();
    let mut words = options.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let Some(value) = crate::pip::reqfile::hash_value(w, words.peek().copied()) else {
            kept.push(w);
            continue;
        };
        if w == "--hash" {
            words.next();
        }
        if let Some(h) = value.and_then(|v| v.strip_prefix("sha256:")) {
            hashes.push(h.to_ascii_lowercase());
        }
    }
    (kept.join(" "), hashes)
}

/// The name a requirement starts with (`beta[x]>=2 ; …` is `beta`).
fn requirement_name(req: &str) -> &str {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(req.len());
    &req[..end]
}

/// The resolver's last lines, unless they went to stderr as it ran.
fn detail(tail: &str) -> String {
    if crate::log::level() >= crate::log::Level::Info {
        return "; its output is above".into();
    }
    let lines: Vec<&str> = tail.lines().collect();
    format!(":\n{}", lines[lines.len().saturating_sub(12)..].join("\n"))
}

/// Where the resolver's copy of requirements file `i` (of a scan's inputs) is.
fn unhashed_copy(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{i}.txt"))
}

/// The lock's text (without our table) for what `scan` asks pip for.
pub fn resolve(scan: &Scan, by: Resolver, wanted: &Wanted) -> Result<String, LockError> {
    let dir = tempfile::Builder::new()
        .prefix("pyenv-guix-lock.")
        .tempdir()
        .map_err(|source| LockError::Io {
            what: "cannot make a temporary directory".into(),
            source,
        })?;
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text)
            .map(|()| path)
            .map_err(|source| LockError::Io {
                what: format!("cannot write {name}"),
                source,
            })
    };
    // pip checks no hash of an editable project, so it refuses one beside
    // `--hash` lines: with one, it gets the files without their hashes
    // (uv ignores them when it resolves; the hashes are checked here
    // against the files chosen). Either gets the copies, whose `-e` lines
    // name the project as both read it (uv takes no quotes there). uv
    // always does: it does not join a requirement continued over lines
    // (`\` before its marker or its hashes), which pip does, and the
    // copies hold each requirement on one line, at the line it starts.
    let unhashing = scan.has_editable() || matches!(by, Resolver::Uv(_));
    let (unhashed, pinned) =
        scan.unhashed(dir.path(), wanted.root)
            .map_err(|source| LockError::Io {
                what: "cannot write the requirements for the resolver".into(),
                source,
            })?;
    let text = match unhashing {
        true => unhashed,
        false => scan.requirements_text(),
    };
    let asked = write("requirements.in", &text)?;
    let mut args: Vec<OsString> = (scan.options.iter())
        .filter(|w| !(unhashing && matches!(w, Word::Lit(f) if f == "--require-hashes")))
        .map(|w| scan.real(w))
        .collect();
    if !wanted.prefer.is_empty() {
        let prefer = write("locked.txt", &(wanted.prefer.join("\n") + "\n"))?;
        args.extend(["-c".into(), prefer.into_os_string()]);
    }
    let tool = match by {
        Resolver::Pip => "pip",
        Resolver::Uv(_) => "uv",
    };
    let tagged = |e: LockError| match e {
        LockError::Resolver { status, detail, .. } => LockError::Resolver {
            tool,
            status,
            detail,
        },
        e => e,
    };
    // uv takes only an output named as a lock (`pylock.toml`).
    let out = dir.path().join("pylock.toml");
    let mut env = wanted.env.to_vec();
    env.push(("PYTHONNOUSERSITE".into(), "1".into()));
    // A try with the locked versions preferred is said only through its
    // result: when they no longer fit, `lock` resolves afresh, and the
    // resolver's "no solution" would read as the command's failure.
    let shown = wanted.prefer.is_empty() && crate::log::level() >= crate::log::Level::Info;
    // The resolver reads the copies, or the user's files themselves (whose
    // lines it names by byte offset).
    let copies = (scan.inputs.iter().enumerate())
        .filter(|(_, i)| matches!(i.kind, Kind::Requirements | Kind::Constraints))
        .flat_map(|(i, input)| {
            [
                (unhashed_copy(dir.path(), i), input.path.clone()),
                (input.path.clone(), input.path.clone()),
            ]
        });
    let _naming =
        crate::pip::run::naming(crate::pip::run::Copies::new(copies.collect(), wanted.root));
    let run = |cmd: &mut Command, env: &[(OsString, OsString)]| run_shown(cmd, env, shown);
    match by {
        Resolver::Pip => {
            let mut cmd = Command::new(wanted.facts.command());
            cmd.args(isolating(wanted.facts, &env))
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(["--no-input", "--dry-run", "--quiet", "--report"])
                .arg(&out);
            if !wanted.see_installed {
                cmd.arg("--ignore-installed");
            }
            cmd.args(&args)
                .arg("-r")
                .arg(&asked)
                .current_dir(wanted.root);
            run(&mut cmd, &env).map_err(|f| tagged(f.into()))?;
            let report = crate::pip::report::read(&out)
                .map_err(|e| LockError::Report(format!("pip's report cannot be read: {e}")))?;
            let text = from_report(&report, wanted.lock_dir).map_err(LockError::Report)?;
            check_pinned(&text, wanted, &pinned)?;
            Ok(text)
        }
        Resolver::Uv(uv) => {
            let mut cmd = Command::new(uv);
            cmd.args(["pip", "compile", "--no-config", "--quiet"])
                .args(["--format", "pylock.toml", "--no-header", "--no-annotate"])
                .arg("--python")
                .arg(wanted.facts.command())
                .args(&args)
                .arg(&asked)
                .arg("-o")
                .arg(&out)
                .current_dir(wanted.root);
            run(&mut cmd, &uv_env(&env)).map_err(|f| tagged(f.into()))?;
            let text = std::fs::read_to_string(&out).map_err(|source| LockError::Io {
                what: "cannot read what uv wrote".into(),
                source,
            })?;
            let text =
                directories_from(&text, dir.path(), wanted.lock_dir).map_err(LockError::Report)?;
            check_pinned(&text, wanted, &pinned)?;
            Ok(text)
        }
    }
}

/// The hashes the requirements files pin packages to.
#[derive(Default)]
struct Pinned {
    /// By the package's normal name: the file and line that pin it, and
    /// its sha256 hashes.
    by_name: BTreeMap<String, (String, Vec<String>)>,
    /// What turned pip's hash-checking mode on, if anything did
    /// (`--require-hashes`, or a requirement's `--hash`): every package
    /// then needs a hash.
    every: Option<String>,
}

/// Every locked file of a package a requirements file pinned by `--hash`
/// is one of the files it allows (what pip's hash-checking mode checked
/// when nothing was editable).
fn check_pinned(text: &str, wanted: &Wanted, pinned: &Pinned) -> Result<(), LockError> {
    if pinned.by_name.is_empty() && pinned.every.is_none() {
        return Ok(());
    }
    let lock = super::parse(text, wanted.root, wanted.lock_dir).map_err(LockError::Report)?;
    for p in &lock.packages {
        let Some((place, allowed)) = pinned.by_name.get(&normal_name(&p.name)) else {
            if let Some(every) = &pinned.every {
                return Err(LockError::Report(format!(
                    "{} {}: no requirements file pins it by --hash, which hash-checking mode ({every}) asks of every package",
                    p.name, p.version,
                )));
            }
            continue;
        };
        if let Some(a) = p.artefacts.iter().find(|a| !allowed.contains(&a.sha256)) {
            return Err(LockError::Report(format!(
                "{} {}: the resolver chose {}, whose sha256 {} is not one {place} allows (--hash)",
                p.name, p.version, a.file_name, a.sha256,
            )));
        }
    }
    Ok(())
}

/// uv's lock, each local project's directory made relative to the lock's
/// directory (uv names it relative to where it wrote, a directory of ours).
fn directories_from(text: &str, wrote_in: &Path, lock_dir: &Path) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("uv's lock: {e}"))?;
    let Some(packages) = doc
        .get_mut("packages")
        .and_then(|p| p.as_array_of_tables_mut())
    else {
        return Ok(text.to_string());
    };
    for p in packages.iter_mut() {
        let Some(path) = p
            .get_mut("directory")
            .and_then(|d| d.as_inline_table_mut())
            .and_then(|d| d.get_mut("path"))
        else {
            continue;
        };
        let Some(rel) = path.as_str() else { continue };
        let at = lexical(&wrote_in.join(rel));
        let rel = match at.strip_prefix(lexical(lock_dir)) {
            Ok(r) if r.as_os_str().is_empty() => ".".to_string(),
            Ok(r) => r.to_string_lossy().into_owned(),
            Err(_) => at.to_string_lossy().into_owned(),
        };
        *path = rel.into();
    }
    Ok(doc.to_string())
}

/// `path` with its `.` and `..` taken away by their words.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// An editable project, its path with its extras after it (`/p/app[test]`),
/// as the word after `-e` in a requirements file that both resolvers read:
/// as it is where pip's splitting leaves it whole (and uv sees no URL
/// fragment in it), else as a `file:` URL, since uv takes no quotes after
/// `-e` and both take a URL with extras (written without spaces).
fn editable_word(e: &Path) -> String {
    let bytes = e.as_os_str().as_bytes();
    if let Ok(plain) = std::str::from_utf8(bytes)
        && !plain
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '\\' | '#'))
    {
        return plain.to_string();
    }
    let (path, extras) = match bytes.iter().rposition(|&b| b == b'[') {
        Some(i) if bytes.ends_with(b"]") && !bytes[i..].contains(&b'/') => bytes.split_at(i),
        _ => (bytes, &[][..]),
    };
    let path = path.strip_suffix(b"/.").unwrap_or(path);
    let mut url = String::from("file://");
    for &b in path {
        match b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            true => url.push(char::from(b)),
            false => url.push_str(&format!("%{b:02X}")),
        }
    }
    let extras: String = String::from_utf8_lossy(extras)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    url + &extras
}

impl Scan {
    /// A word as the resolver gets it: an input by its own path.
    fn real(&self, w: &Word) -> OsString {
        match w {
            Word::Lit(s) => s.into(),
            Word::Ref(i, rest) => {
                let mut arg = self.inputs[*i].path.clone().into_os_string();
                arg.push(rest);
                arg
            }
        }
    }

    /// `requirements_text` with each requirements and constraints file a
    /// copy in `dir` whose requirement lines lost their `--hash` options,
    /// and the hashes they gave.
    fn unhashed(&self, dir: &Path, root: &Path) -> std::io::Result<(String, Pinned)> {
        let copy = |i: usize| unhashed_copy(dir, i);
        let quote = |p: &Path| shell_words::quote(&p.to_string_lossy()).into_owned();
        let mut pinned = Pinned::default();
        if (self.options.iter()).any(|w| matches!(w, Word::Lit(f) if f == "--require-hashes")) {
            pinned.every = Some("--require-hashes in [pip].options".into());
        }
        for (i, input) in self.inputs.iter().enumerate() {
            if !matches!(input.kind, Kind::Requirements | Kind::Constraints) {
                continue;
            }
            let mut text = crate::pip::reqfile::LinedCopy::default();
            for (number, line) in &input.lines {
                let mut words = Vec::new();
                for w in line {
                    words.push(match w {
                        Word::Lit(s) => s.clone(),
                        Word::Ref(j, rest) => match self.inputs[*j].kind {
                            Kind::Requirements | Kind::Constraints => {
                                format!("{}{rest}", quote(&copy(*j)))
                            }
                            _ => format!("{}{rest}", quote(&self.inputs[*j].path)),
                        },
                    });
                }
                if let [Word::Lit(flag), Word::Lit(value)] = &line[..]
                    && matches!(flag.as_str(), "-e" | "--editable")
                    && let Ok([project]) = shell_words::split(value).as_deref()
                    && !project.contains("://")
                    && !project.starts_with("git+")
                {
                    // pip reads it from its working directory, the root.
                    words = vec!["-e".into(), editable_word(&root.join(project))];
                }
                // Said once for all, and checked here: pip would refuse
                // the editable project under it.
                if matches!(line.first(), Some(Word::Lit(f)) if f == "--require-hashes") {
                    (pinned.every).get_or_insert_with(|| {
                        format!("--require-hashes in {}", input.path.display())
                    });
                    continue;
                }
                let is_requirement =
                    !matches!(line.first(), Some(Word::Lit(r)) if r.starts_with('-'));
                if is_requirement && words.len() > 1 {
                    let (kept, hashes) = without_hashes(&words[1..].join(" "));
                    if !hashes.is_empty() {
                        let name = normal_name(requirement_name(&words[0]));
                        // As pip: one requirement's --hash asks it of all.
                        if input.kind == Kind::Requirements {
                            (pinned.every).get_or_insert_with(|| {
                                format!("--hash for {name} in {}", input.path.display())
                            });
                        }
                        let entry = pinned.by_name.entry(name).or_insert_with(|| {
                            (format!("{}:{number}", input.path.display()), Vec::new())
                        });
                        entry.1.extend(hashes);
                    }
                    words.truncate(1);
                    words.push(kept);
                }
                text.line(*number, words.join(" ").trim_end());
            }
            std::fs::write(copy(i), text.text)?;
        }
        let mut out = String::new();
        for w in &self.packages {
            out.push_str(&self.real(w).to_string_lossy());
            out.push('\n');
        }
        for e in &self.editable {
            out.push_str(&format!("-e {}\n", editable_word(e)));
        }
        for &i in &self.requirements {
            out.push_str(&format!("-r {}\n", quote(&copy(i))));
        }
        Ok((out, pinned))
    }

    /// What pip is asked to install, as one requirements file naming the
    /// project's own files where they are.
    fn requirements_text(&self) -> String {
        let quote = |p: &Path| shell_words::quote(&p.to_string_lossy()).into_owned();
        let mut out = String::new();
        for w in &self.packages {
            out.push_str(&self.real(w).to_string_lossy());
            out.push('\n');
        }
        for e in &self.editable {
            out.push_str(&format!("-e {}\n", editable_word(e)));
        }
        for &i in &self.requirements {
            out.push_str(&format!("-r {}\n", quote(&self.inputs[i].path)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_editable_path_that_pip_would_split_is_a_file_url_with_its_extras() {
        let w = |p: &str| editable_word(Path::new(p));
        assert_eq!(w("/p/app/.[test]"), "/p/app/.[test]");
        assert_eq!(w("/my app/.[test,cli]"), "file:///my%20app[test,cli]");
        assert_eq!(w("/app/.[test, cli]"), "file:///app[test,cli]");
        assert_eq!(w("/a#b/.[cli]"), "file:///a%23b[cli]");
        assert_eq!(w("/a'b/c"), "file:///a%27b/c");
        // A bracket in a directory's name is the path's, not extras.
        assert_eq!(w("/x y/[z]/app"), "file:///x%20y/%5Bz%5D/app");
    }

    #[test]
    fn a_lines_hashes_are_taken_out_and_kept() {
        let (kept, hashes) = without_hashes(
            "--hash=sha256:AA --hash sha256:bb --config-settings x=y --hash=md5:cc --hash=\"sha256:dd\"",
        );
        assert_eq!(kept, "--config-settings x=y");
        assert_eq!(hashes, ["aa", "bb", "dd"]);
        assert_eq!(
            requirement_name("Beta_Pkg[x]>=2 ; python_version>'3'"),
            "Beta_Pkg"
        );
        assert_eq!(requirement_name("beta"), "beta");
    }

    /// uv names the project relative to where it wrote; the lock names it
    /// relative to where the lock goes.
    #[test]
    fn uvs_directory_is_made_relative_to_the_lock() {
        let text = "lock-version = \"1.0\"\n\n[[packages]]\nname = \"me\"\ndirectory = { path = \"../../p/sub\", editable = true }\n";
        let out = directories_from(text, Path::new("/tmp/x"), Path::new("/p")).unwrap();
        assert!(out.contains("path = \"sub\""), "{out}");
        let out = directories_from(text, Path::new("/tmp/x"), Path::new("/p/sub")).unwrap();
        assert!(out.contains("path = \".\""), "{out}");
        // Outside the lock's directory: said as it is, for the lock's
        // reader to refuse.
        let out = directories_from(text, Path::new("/tmp/x"), Path::new("/q")).unwrap();
        assert!(out.contains("path = \"/p/sub\""), "{out}");
        assert_eq!(lexical(Path::new("/a/./b/../c")), Path::new("/a/c"));
    }
}
