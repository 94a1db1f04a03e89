//! Hash-keyed prefixes for the pip-only fallbacks: the seed's
//! `$HOME/.python_guix/$PYTHONHASH`, keyed by everything that decides what
//! pip puts there, built complete or not at all, once.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::buildlock::Slot;
use crate::context::Context;
use crate::fsutil::hex;
use crate::inputs::Scan;
use crate::interpreter::Facts;
use crate::manifest::{Pip, PipMode};
use crate::{fsutil, log};

/// Written last into a finished prefix: its presence means "complete".
const MARKER: &str = ".pyenv-guix-prefix.json";
/// How much of pip's output a failure record keeps.
const KEEP_LINES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("pip failed to build prefix {key} ({status}); its output is above")]
    Pip { key: String, status: String },
    #[error(
        "the build of prefix {key} failed before; run 'pyenv-guix reload' to retry:\n{message}"
    )]
    FailedBefore { key: String, message: String },
    /// An input could not be read, or changed while it was copied: not
    /// the key's fault, so not recorded against it.
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}

/// Everything that decides a prefix's content.
pub struct Inputs<'a> {
    pub facts: &'a Facts,
    /// The Guix profile's store path, when there is one: what pip installs
    /// depends on what Guix provides.
    pub profile: Option<&'a Path>,
    pub pip: &'a Pip,
    /// What pip reads, by content.
    pub scan: &'a Scan,
    /// The project root: pip runs there, and it is part of the key when
    /// the prefix is the project's own (a source tree, an editable install).
    pub root: &'a Path,
}

impl Inputs<'_> {
    /// A versioned, canonical text of the inputs; the key is its hash.
    /// Requirement order and spacing do not matter; option order does.
    pub fn canonical(&self) -> String {
        let mut lines = vec!["pyenv-guix prefix 2".to_string(), self.facts.identity()];
        match self.profile {
            Some(p) => lines.push(format!("profile {}", p.display())),
            None => lines.push("profile none".to_string()),
        }
        lines.push(format!("mode {}", self.pip.mode));
        lines.push(format!(
            "system-site-packages {}",
            self.pip.system_site_packages
        ));
        lines.extend(self.scan.key_lines(self.root));
        lines.join("\n") + "\n"
    }

    pub fn key(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

/// Where pip put things, found after the build and kept in the marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// Directories holding the installed distributions.
    pub site_dirs: Vec<PathBuf>,
    /// Where console scripts went, if any were installed.
    pub scripts_dir: Option<PathBuf>,
    /// The canonical inputs, for whoever looks into the cache.
    pub inputs: String,
}

pub fn path_for(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join("prefixes").join(key)
}

/// The layout of a complete prefix; `None` if it is absent or unfinished.
pub fn built(path: &Path) -> Option<Layout> {
    let bytes = std::fs::read(path.join(MARKER)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Build the prefix unless it is built, holding a lock so that many shells
/// entering at once build it once. An unfinished prefix (Ctrl-C, SIGKILL,
/// full disk) is removed and rebuilt; a failure is recorded and not retried
/// until `reload` (or a change of inputs, which is another key).
/// pip runs in `workdir` (the project root), so relative paths in options
/// and requirements mean what they say.
pub fn ensure(
    ctx: &Context,
    inputs: &Inputs,
    workdir: &Path,
    env: &[(OsString, OsString)],
) -> Result<(PathBuf, Layout), BuildError> {
    let key = inputs.key();
    let path = path_for(&ctx.cache_dir, &key);
    if let Some(layout) = built(&path) {
        return Ok((path, layout));
    }
    let slot = Slot::new(&ctx.cache_dir.join("prefixes"), &key, &ctx.reload_stamp());
    let _lock = slot
        .lock(&format!("prefix {key}"))
        .map_err(io(format!("cannot lock prefix {key}")))?;
    if let Some(layout) = built(&path) {
        return Ok((path, layout));
    }
    if let Some(message) = slot.failed_before() {
        return Err(BuildError::FailedBefore { key, message });
    }
    if path.exists() {
        log::info(&format!(
            "removing the unfinished prefix {}",
            path.display()
        ));
        std::fs::remove_dir_all(&path).map_err(io(format!("cannot remove {}", path.display())))?;
    }
    log::info(&format!(
        "building prefix {} ({} mode)",
        path.display(),
        inputs.pip.mode
    ));
    // pip reads private copies of exactly the bytes the key was made from.
    let stage = ctx.cache_dir.join("staging").join(&key);
    let _ = std::fs::remove_dir_all(&stage);
    let staged = inputs.scan.stage(&stage);
    let result = match staged {
        Ok(args) => build(inputs, &path, workdir, env, args),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(BuildError::Input(e));
        }
    };
    let _ = std::fs::remove_dir_all(&stage);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&path);
        let (record, err) = match e {
            Failure::Pip { status, tail } => (tail, BuildError::Pip { key, status }),
            Failure::Io(err) => (err.to_string(), err),
        };
        slot.record_failure(&record);
        return Err(err);
    }
    let layout = discover(&path, inputs);
    let bytes = serde_json::to_vec_pretty(&layout).unwrap_or_default();
    fsutil::write_atomic(&path.join(MARKER), &bytes)
        .map_err(io(format!("cannot finish {}", path.display())))?;
    slot.clear_failure();
    Ok((path, layout))
}

enum Failure {
    Pip { status: String, tail: String },
    Io(BuildError),
}

fn build(
    inputs: &Inputs,
    path: &Path,
    workdir: &Path,
    env: &[(OsString, OsString)],
    (options, requirements): (Vec<OsString>, Vec<OsString>),
) -> Result<(), Failure> {
    let python = &inputs.facts.path;
    let pip = inputs.pip;
    let mut install: Vec<OsString> = vec![
        "install".into(),
        "--disable-pip-version-check".into(),
        "--no-input".into(),
    ];
    let mut env: Vec<(OsString, OsString)> = env.to_vec();
    // The prefix is ours, not the system's: pip's warning about root is noise here.
    env.push(("PIP_ROOT_USER_ACTION".into(), "ignore".into()));
    let pip_python = match pip.mode {
        PipMode::Prefix => {
            // --ignore-installed: pip never tries to remove a copy it did not
            // put here (a read-only store item, the system's own; pip issue 10136).
            install.extend([
                "--prefix".into(),
                path.into(),
                "--ignore-installed".into(),
                "--no-warn-script-location".into(),
            ]);
            env.push(("PYTHONNOUSERSITE".into(), "1".into()));
            python.clone()
        }
        PipMode::User => {
            install.extend([
                "--user".into(),
                "--ignore-installed".into(),
                "--no-warn-script-location".into(),
            ]);
            env.push(("PYTHONUSERBASE".into(), path.into()));
            // The user base is ours alone: Debian's "externally managed" guard
            // protects the system's, which this does not touch.
            env.push(("PIP_BREAK_SYSTEM_PACKAGES".into(), "1".into()));
            python.clone()
        }
        PipMode::Venv => {
            let mut venv = Command::new(python);
            venv.args(["-m", "venv"]);
            if pip.system_site_packages {
                venv.arg("--system-site-packages");
            }
            venv.arg(path);
            run(venv.current_dir(workdir), &env)?;
            env.push(("PYTHONNOUSERSITE".into(), "1".into()));
            path.join("bin").join("python")
        }
    };
    install.extend(options);
    let mut wanted = requirements;
    if pip.mode == PipMode::Prefix && inputs.profile.is_some() {
        // Resolve against what the Guix profile provides, so pip installs only
        // what is missing or must be newer, then install exactly that.
        let Some(missing) = resolve_missing(&pip_python, &install, &wanted, path, workdir, &env)?
        else {
            return std::fs::create_dir_all(path)
                .map_err(|e| Failure::Io(io(format!("cannot create {}", path.display()))(e)));
        };
        install.push("--no-deps".into());
        wanted = missing;
    }
    let mut cmd = Command::new(pip_python);
    cmd.args(["-m", "pip"])
        .args(&install)
        .args(&wanted)
        .current_dir(workdir);
    run(&mut cmd, &env)
}

/// `pip install --dry-run --report` with the profile's packages visible: the
/// distributions pip would install (as `name==version`), or `None` when Guix
/// already provides everything.
fn resolve_missing(
    python: &Path,
    install: &[OsString],
    wanted: &[OsString],
    path: &Path,
    workdir: &Path,
    env: &[(OsString, OsString)],
) -> Result<Option<Vec<OsString>>, Failure> {
    let report = path.with_extension("report.json");
    // The dry run must see Guix's copies as installed, not ignore them.
    let args: Vec<&OsString> = install
        .iter()
        .filter(|a| *a != "--ignore-installed")
        .collect();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip"])
        .args(args)
        .args(["--dry-run", "--quiet", "--report"])
        .arg(&report)
        .args(wanted)
        .current_dir(workdir);
    run(&mut cmd, env)?;
    let parsed: Result<DryRun, String> = std::fs::read(&report)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    let _ = std::fs::remove_file(&report);
    let dry = parsed.map_err(|e| Failure::Pip {
        status: format!("unreadable pip report: {e}"),
        tail: e,
    })?;
    let missing: Vec<OsString> = dry
        .install
        .iter()
        .map(|i| format!("{}=={}", i.metadata.name, i.metadata.version).into())
        .collect();
    Ok((!missing.is_empty()).then_some(missing))
}

#[derive(Deserialize)]
struct DryRun {
    install: Vec<DryRunItem>,
}

#[derive(Deserialize)]
struct DryRunItem {
    metadata: DryRunMetadata,
}

#[derive(Deserialize)]
struct DryRunMetadata {
    name: String,
    version: String,
}

/// Run a build step, its output going to our stderr as progress; keep the
/// end of it for the failure record.
/// The command sees `env` and nothing else of ours.
fn run(cmd: &mut Command, env: &[(OsString, OsString)]) -> Result<(), Failure> {
    let describe = format!("{cmd:?}");
    let (reader, writer) = std::io::pipe().map_err(|e| Failure::Io(io("cannot make a pipe")(e)))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Failure::Io(io("cannot make a pipe")(e)))?;
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    let mut child = cmd
        .spawn()
        .map_err(|e| Failure::Io(io(format!("cannot run {describe}"))(e)))?;
    // Our copies of the writing end must go before reading to the end.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut tail: Vec<String> = Vec::new();
    let mut err = std::io::stderr();
    for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
        let _ = err.write_all(&line);
        let _ = err.write_all(b"\n");
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

/// Find where pip put things: site directories are those holding
/// `*.dist-info`; the scripts directory is where their RECORDs put
/// executables. Nothing is assumed about `lib/pythonX.Y/site-packages`.
fn discover(path: &Path, inputs: &Inputs) -> Layout {
    let mut site_dirs = Vec::new();
    find_site_dirs(path, 0, &mut site_dirs);
    site_dirs.sort();
    let scripts_dir = match inputs.pip.mode {
        PipMode::Venv => Some(path.join("bin")),
        _ => site_dirs.iter().find_map(|site| scripts_from_records(site)),
    };
    Layout {
        site_dirs,
        scripts_dir,
        inputs: inputs.canonical(),
    }
}

fn find_site_dirs(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    let mut is_site = false;
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if e.file_name().to_string_lossy().ends_with(".dist-info") {
            is_site = true;
        } else {
            subdirs.push(e.path());
        }
    }
    if is_site {
        found.push(dir.to_path_buf());
    } else if depth < 6 {
        for d in subdirs {
            find_site_dirs(&d, depth + 1, found);
        }
    }
}

fn scripts_from_records(site: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(site).ok()?;
    for e in entries.flatten() {
        let record = e.path().join("RECORD");
        let Ok(text) = std::fs::read_to_string(&record) else {
            continue;
        };
        for line in text.lines() {
            let file = line.split(',').next().unwrap_or("").trim_matches('"');
            if !file.starts_with("../") {
                continue;
            }
            let full = normalize(&site.join(file));
            if fsutil::is_executable(&full) && !full.starts_with(site) {
                return full.parent().map(Path::to_path_buf);
            }
        }
    }
    None
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            path: "/usr/bin/python3".into(),
            executable: "/usr/bin/python3.11".into(),
            version: "3.11.2 (main)".into(),
            version_short: "3.11".into(),
            implementation: "cpython-311".into(),
            platform: "linux-x86_64".into(),
            store_item: None,
        }
    }

    #[test]
    fn key_ignores_requirement_order_and_spacing_but_not_the_rest() {
        let f = facts();
        let root = Path::new("/nowhere");
        let key = |packages: &str, mode: &str, profile: Option<&Path>| {
            let text = format!("[pip]\nmode = {mode:?}\npackages = [{packages}]\n");
            let m = crate::manifest::parse(Path::new("m"), text.as_bytes()).unwrap();
            let scan = Scan::new(root, &m.pip);
            Inputs {
                facts: &f,
                profile,
                pip: &m.pip,
                scan: &scan,
                root,
            }
            .key()
        };
        let a = key("\"prov == 1.5.3\", \"six\"", "prefix", None);
        assert_eq!(a, key("\"six\", \"prov==1.5.3\"", "prefix", None));
        assert_ne!(a, key("\"six\", \"prov==1.5.3\"", "venv", None));
        assert_ne!(
            a,
            key(
                "\"six\", \"prov==1.5.3\"",
                "prefix",
                Some(Path::new("/gnu/store/x-profile"))
            )
        );
        assert_eq!(a.len(), 64);
    }
}
