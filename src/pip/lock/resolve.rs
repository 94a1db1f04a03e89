//! Resolving a project's pip layer into a lock: by uv (`uv pip compile
//! --format pylock.toml`), or by the interpreter's own pip (`pip install
//! --dry-run --report`, written as PEP 751 here). Either reads the
//! project's own files where they are (the lock records each artefact's
//! hash, so what is read is pinned by what is written).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use super::write::from_report;
use crate::interpreter::Facts;
use crate::pip::install::isolating;
use crate::pip::run::{Failure, run};
use crate::pip::scan::{Scan, Word};

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
    #[error("{tool} could not resolve the project's packages ({status}):\n{tail}")]
    Resolver {
        tool: &'static str,
        status: String,
        tail: String,
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
                tail: last_lines(&tail),
            },
            Failure::Before(e) | Failure::Io(e) => LockError::Build(e),
        }
    }
}

fn last_lines(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
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
    let asked = write("requirements.in", &scan.requirements_text())?;
    let mut args: Vec<OsString> = scan.options.iter().map(|w| scan.real(w)).collect();
    if !wanted.prefer.is_empty() {
        let prefer = write("locked.txt", &(wanted.prefer.join("\n") + "\n"))?;
        args.extend(["-c".into(), prefer.into_os_string()]);
    }
    let tool = match by {
        Resolver::Pip => "pip",
        Resolver::Uv(_) => "uv",
    };
    let tagged = |e: LockError| match e {
        LockError::Resolver { status, tail, .. } => LockError::Resolver { tool, status, tail },
        e => e,
    };
    // uv takes only an output named as a lock (`pylock.toml`).
    let out = dir.path().join("pylock.toml");
    let mut env = wanted.env.to_vec();
    env.push(("PYTHONNOUSERSITE".into(), "1".into()));
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
            from_report(&report, wanted.lock_dir).map_err(LockError::Report)
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
            run(&mut cmd, &env).map_err(|f| tagged(f.into()))?;
            std::fs::read_to_string(&out).map_err(|source| LockError::Io {
                what: "cannot read what uv wrote".into(),
                source,
            })
        }
    }
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
            out.push_str(&format!("-e {}\n", quote(e)));
        }
        for &i in &self.requirements {
            out.push_str(&format!("-r {}\n", quote(&self.inputs[i].path)));
        }
        out
    }
}
