//! Hash-keyed prefixes for the pip-only fallbacks: the seed's
//! `$HOME/.python_guix/$PYTHONHASH`, keyed by everything that decides what
//! pip puts there, built complete or not at all, once.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::buildlock::{Missed, Slot};
use crate::context::Context;
use crate::fsutil::hex;
use crate::inputs::Scan;
use crate::installer::{Choice, Tool};
use crate::interpreter::Facts;
use crate::manifest::{Installer, Pip, PipMode};
use crate::{fsutil, log};

/// Written last into a finished prefix: its presence means "complete".
const MARKER: &str = ".pyenv-guix-prefix.json";
/// How much of pip's output a failure record keeps.
const KEEP_LINES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{installer} failed to build prefix {key} ({status}){detail}")]
    Pip {
        installer: &'static str,
        key: String,
        status: String,
        /// Where pip's words are: above, or (quiet) their last lines.
        detail: String,
    },
    #[error("the build of prefix {key} failed (run 'pyenv-guix reload' to retry):\n{message}")]
    FailedBefore { key: String, message: String },
    #[error("prefix {key} is being built")]
    Busy { key: String, watch: Vec<PathBuf> },
    #[error("prefix {key} needs building")]
    Deferred { key: String, watch: Vec<PathBuf> },
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
    /// pip or uv.
    pub installer: &'a Choice,
    /// The project's name: a venv's prompt, in its pyvenv.cfg.
    pub prompt: &'a str,
}

impl Inputs<'_> {
    /// A versioned, canonical text of the inputs; the key is its hash.
    /// Requirement order and spacing do not matter; option order does.
    pub fn canonical(&self) -> String {
        let mut lines = vec!["pyenv-guix prefix 4".to_string(), self.facts.identity()];
        match self.profile {
            Some(p) => lines.push(format!("profile {}", crate::inputs::exact(p))),
            None => lines.push("profile none".to_string()),
        }
        lines.push(format!("mode {}", self.pip.mode));
        lines.push(format!(
            "system-site-packages {}",
            self.pip.system_site_packages
        ));
        lines.push(self.installer.key_line());
        if self.pip.mode == PipMode::Venv {
            lines.push(format!("prompt {:?}", self.prompt));
        }
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
    #[serde(with = "crate::fsutil::paths")]
    pub site_dirs: Vec<PathBuf>,
    /// Where console scripts went, if any were installed.
    #[serde(with = "crate::fsutil::paths")]
    pub scripts_dir: Option<PathBuf>,
    /// Directories the site directories' `.pth` files add (an editable
    /// install's source tree).
    #[serde(default, with = "crate::fsutil::paths")]
    pub pth_dirs: Vec<PathBuf>,
    /// Every `*.dist-info` directory the build left: what the prefix holds.
    #[serde(default, with = "crate::fsutil::paths")]
    pub dists: Vec<PathBuf>,
    /// The canonical inputs, for whoever looks into the cache.
    pub inputs: String,
}

impl Layout {
    /// The cheap check, made on entering: the same distributions are
    /// installed as when the prefix was built. `Some` says what differs.
    pub fn changed(&self) -> Option<String> {
        if let Some(gone) = self.site_dirs.iter().find(|d| !d.is_dir()) {
            return Some(format!("{} is gone", gone.display()));
        }
        let now = dists_in(&self.site_dirs);
        let added: Vec<String> = now
            .iter()
            .filter(|d| !self.dists.contains(d))
            .map(|d| dist_name(d))
            .collect();
        let removed: Vec<String> = self
            .dists
            .iter()
            .filter(|d| !now.contains(d))
            .map(|d| dist_name(d))
            .collect();
        let mut said = Vec::new();
        if !added.is_empty() {
            said.push(format!("installed since: {}", added.join(" ")));
        }
        if !removed.is_empty() {
            said.push(format!("removed since: {}", removed.join(" ")));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// The full check, made by `status`: `changed`, then every file each
    /// distribution's RECORD lists is there with the recorded hash. Returns
    /// what is wrong, the first few things of it.
    pub fn verify(&self) -> Vec<String> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut problems: Vec<String> = self.changed().into_iter().collect();
        // A distribution gone altogether is said by `changed` above.
        for dist in self.dists.iter().filter(|d| d.is_dir()) {
            let Some(site) = dist.parent() else { continue };
            let Ok(record) = std::fs::read_to_string(dist.join("RECORD")) else {
                problems.push(format!("{}: no RECORD", dist.display()));
                continue;
            };
            for line in record.lines() {
                let mut fields = line.rsplitn(3, ',');
                let (_size, hash, file) = (fields.next(), fields.next(), fields.next());
                let (Some(file), Some(hash)) = (file, hash) else {
                    continue;
                };
                let Some(want) = hash.strip_prefix("sha256=") else {
                    continue;
                };
                let path = normalize(&site.join(file.trim_matches('"')));
                let got = std::fs::read(&path).map(|b| b64.encode(Sha256::digest(&b)));
                match got {
                    Ok(got) if got == want => {}
                    Ok(_) => problems.push(format!("{} was changed", path.display())),
                    Err(_) => problems.push(format!("{} is missing", path.display())),
                }
                if problems.len() >= 10 {
                    return problems;
                }
            }
        }
        problems
    }
}

fn dists_in(site_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = site_dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dist-info"))
        .collect();
    out.sort();
    out
}

fn dist_name(dist: &Path) -> String {
    dist.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Plain paths in the site directories' `.pth` files (not `import` lines,
/// which only the `site` module can run), that exist.
fn pth_dirs(site_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for site in site_dirs {
        let Ok(entries) = std::fs::read_dir(site) else {
            continue;
        };
        let mut pth: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pth"))
            .collect();
        pth.sort();
        for file in pth {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for line in text.lines().map(str::trim_end) {
                if line.is_empty() || line.starts_with('#') || line.starts_with("import") {
                    continue;
                }
                let dir = site.join(line);
                if dir.is_dir() && !out.contains(&dir) {
                    out.push(dir);
                }
            }
        }
    }
    out
}

pub fn path_for(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join("prefixes").join(key)
}

/// The current generation of a complete prefix and its layout, from the
/// prefix's link; `None` if it is absent or unfinished.
pub fn built(link: &Path) -> Option<(PathBuf, Layout)> {
    let generation = link.parent()?.join(std::fs::read_link(link).ok()?);
    let bytes = std::fs::read(generation.join(MARKER)).ok()?;
    Some((generation, serde_json::from_slice(&bytes).ok()?))
}

/// Build the prefix unless it is built (or always, with `force`), once
/// under the key's lock, and return its current generation and layout,
/// Each build goes into a new generation directory,
/// `KEY.gN`; the link `KEY` is switched to it only once pip succeeded and
/// the marker is written, in one rename: a prefix is complete or absent,
/// and a rebuild replaces it atomically. An unfinished generation (Ctrl-C,
/// SIGKILL, full disk) is removed before the next build.
pub fn ensure(
    ctx: &Context,
    inputs: &Inputs,
    env: &[(OsString, OsString)],
    force: bool,
) -> Result<(PathBuf, Layout), BuildError> {
    let key = inputs.key();
    let link = path_for(&ctx.cache_dir, &key);
    let slot = Slot::new(&ctx.cache_dir.join("prefixes"), &key);
    let build = || -> Result<(PathBuf, Layout), (BuildError, Option<String>)> {
        let io_err = |what: String| move |e| (io(what)(e), None);
        let generation = fresh_generation(&link).map_err(io_err(format!(
            "cannot clear old builds of {}",
            link.display()
        )))?;
        if let Some(why) = &inputs.installer.instead {
            let said = format!("{why}: pip installs prefix {key}");
            match inputs.pip.installer {
                Installer::Uv => log::warn(&said),
                _ => log::info(&said),
            }
        }
        log::info(&format!(
            "building prefix {} ({} mode, {})",
            link.display(),
            inputs.pip.mode,
            inputs.installer.name()
        ));
        // pip reads private copies of exactly the bytes the key was made from.
        let stage = ctx.cache_dir.join("staging").join(&key);
        // pip cannot name a file under a path that is not UTF-8 (it makes
        // URLs of them): the copies then go to a private temporary
        // directory, made for this build alone.
        let private = match std::str::from_utf8(stage.as_os_str().as_encoded_bytes()) {
            Ok(_) => None,
            Err(_) => Some(
                tempfile::Builder::new()
                    .prefix("pyenv-guix-stage.")
                    .tempdir()
                    .map_err(io_err("cannot make a staging directory".to_string()))?,
            ),
        };
        let stage = match &private {
            Some(dir) => dir.path().join(&key),
            None => stage,
        };
        let _ = std::fs::remove_dir_all(&stage);
        // The installer runs in the stage, a directory of ours holding only
        // the copies, where no module of the project's can stand in for
        // pip's or venv's. A prefix of the project's own (an editable
        // install, a source tree: the project's code runs in its build
        // anyway) is built in the project, where pip reads those paths from.
        let workdir = if inputs.scan.per_project.is_empty() {
            stage.as_path()
        } else {
            inputs.root
        };
        let result = match inputs.scan.stage(&stage) {
            Ok(args) => build(inputs, &generation, workdir, env, args),
            Err(e) => Err(Failure::Input(e)),
        };
        let _ = std::fs::remove_dir_all(&stage);
        let _ = std::fs::remove_file(generation.with_extension("lacking.txt"));
        // Ctrl-C during the build: the user asked to stop, even if the
        // installer ended well (it may have been past its last file).
        let result = match result {
            Ok(()) if crate::buildlock::interrupted() => {
                Err(Failure::Input(crate::buildlock::INTERRUPTED.to_string()))
            }
            other => other,
        };
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&generation);
            return Err(match e {
                Failure::Pip { status, tail } => (
                    BuildError::Pip {
                        installer: inputs.installer.name(),
                        key: key.clone(),
                        status,
                        detail: if log::level() >= log::Level::Info {
                            "; its output is above".to_string()
                        } else {
                            let lines: Vec<&str> = tail.lines().collect();
                            format!(":\n{}", lines[lines.len().saturating_sub(8)..].join("\n"))
                        },
                    },
                    Some(tail),
                ),
                Failure::Input(message) => (BuildError::Input(message), None),
                Failure::Io(err) => {
                    let record = err.to_string();
                    (err, Some(record))
                }
            });
        }
        let layout = discover(&generation, inputs);
        if let Some(why) = incomplete(&generation, &layout) {
            let _ = std::fs::remove_dir_all(&generation);
            return Err((
                BuildError::Input(format!(
                    "prefix {key} lost files while it was built ({why}): not used; the next use builds it again"
                )),
                None,
            ));
        }
        let bytes = serde_json::to_vec_pretty(&layout).unwrap_or_default();
        fsutil::write_atomic(&generation.join(MARKER), &bytes)
            .and_then(|()| switch(&link, &generation))
            .map_err(io_err(format!("cannot finish {}", generation.display())))?;
        Ok((generation, layout))
    };
    match slot.once(
        &format!("prefix {key}"),
        ctx.how(force),
        || built(&link),
        build,
    ) {
        Ok(done) => Ok(done),
        Err(Missed::Busy) => {
            let watch = vec![link.clone(), slot.failure_path().to_path_buf()];
            Err(BuildError::Busy { key, watch })
        }
        Err(Missed::Deferred) => {
            let watch = vec![link.clone(), slot.failure_path().to_path_buf()];
            Err(BuildError::Deferred { key, watch })
        }
        Err(Missed::FailedBefore(message)) => Err(BuildError::FailedBefore { key, message }),
        Err(Missed::Failed(e)) => Err(e),
        Err(Missed::Lock(e)) => Err(io(format!("cannot lock prefix {key}"))(e)),
    }
}

/// A new, empty generation path beside `link`, after removing the
/// generations the link does not point at (unfinished, or replaced).
fn fresh_generation(link: &Path) -> std::io::Result<PathBuf> {
    let current = std::fs::read_link(link).ok();
    // A prefix from before generations is a plain directory: replace it.
    if current.is_none() && link.is_dir() {
        std::fs::remove_dir_all(link)?;
    }
    let mut next = 1;
    for generation in generations(link) {
        let name = generation.file_name().map(PathBuf::from);
        if name == current {
            let n = generation_number(&generation).unwrap_or(0);
            next = next.max(n + 1);
            continue;
        }
        log::info(&format!(
            "removing the unfinished prefix {}",
            generation.display()
        ));
        std::fs::remove_dir_all(&generation)?;
    }
    Ok(link.with_extension(format!("g{next}")))
}

/// Every `KEY.gN` directory beside the link `KEY`.
pub fn generations(link: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(key)) = (link.parent(), link.file_name()) else {
        return Vec::new();
    };
    let key = key.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&key))
                .and_then(|rest| rest.strip_prefix(".g"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    out.sort();
    out
}

fn generation_number(path: &Path) -> Option<u64> {
    path.extension()?.to_str()?.strip_prefix('g')?.parse().ok()
}

/// Whether something removed part of `generation` while it was built (a
/// gc, a hand): the directory itself, or a file a RECORD lists. Existence
/// only: pip has just written them.
fn incomplete(generation: &Path, layout: &Layout) -> Option<String> {
    if !generation.is_dir() {
        return Some(format!("{} is gone", generation.display()));
    }
    if let Some(changed) = layout.changed() {
        return Some(changed);
    }
    for dist in &layout.dists {
        let site = dist.parent()?;
        let Ok(record) = std::fs::read_to_string(dist.join("RECORD")) else {
            return Some(format!("{}: no RECORD", dist.display()));
        };
        for line in record.lines() {
            let file = line.rsplitn(3, ',').nth(2).unwrap_or("").trim_matches('"');
            let path = normalize(&site.join(file));
            if !file.is_empty() && std::fs::symlink_metadata(&path).is_err() {
                return Some(format!("{} is missing", path.display()));
            }
        }
    }
    None
}

/// Point `link` at `generation` in one rename.
fn switch(link: &Path, generation: &Path) -> std::io::Result<()> {
    let name = generation.file_name().unwrap_or_default();
    let tmp = link.with_extension(format!("link-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, link)
}

enum Failure {
    Pip {
        status: String,
        tail: String,
    },
    /// An input could not be staged as it was read.
    Input(String),
    Io(BuildError),
}

fn build(
    inputs: &Inputs,
    path: &Path,
    workdir: &Path,
    env: &[(OsString, OsString)],
    (options, requirements): (Vec<OsString>, Vec<OsString>),
) -> Result<(), Failure> {
    let python = inputs.facts.command().to_path_buf();
    let pip = inputs.pip;
    if let Tool::Uv { path: uv, .. } = &inputs.installer.tool {
        return build_with_uv(uv, inputs, path, workdir, env, (options, requirements));
    }
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
            install.extend(editable_on_pythonpath(inputs));
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
            venv.args(isolating(inputs.facts, &env))
                .args(["-m", "venv"])
                // Joined: a name starting with `-` is not an option.
                .arg(format!("--prompt={}", inputs.prompt));
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
        let Some(missing) = lacking(
            (&pip_python, isolating(inputs.facts, &env)),
            &install,
            &wanted,
            path,
            workdir,
            &env,
        )?
        else {
            return Ok(());
        };
        install.push("--no-deps".into());
        wanted = missing;
    }
    let mut cmd = Command::new(pip_python);
    cmd.args(isolating(inputs.facts, &env))
        .args(["-m", "pip"])
        .args(&install)
        .args(&wanted)
        .current_dir(workdir);
    run(&mut cmd, &env)
}

/// How to start the interpreter so that no directory of the project's
/// comes first on `sys.path`, whatever the working directory: `-P` where
/// Python has it (3.11), else `-I`, unless the build relies on a variable
/// `-I` ignores (`PYTHONUSERBASE` for user mode, `PYTHONPATH` for a
/// profile's packages); builds run in a directory of ours either way.
fn isolating(facts: &Facts, env: &[(OsString, OsString)]) -> Option<&'static str> {
    let (major, minor) = facts.version_short.split_once('.')?;
    let version: (u32, u32) = (major.parse().ok()?, minor.parse().ok()?);
    if version >= (3, 11) {
        return Some("-P");
    }
    let needs_env = env
        .iter()
        .any(|(k, _)| k == "PYTHONUSERBASE" || k == "PYTHONPATH");
    (version >= (3, 4) && !needs_env).then_some("-I")
}

/// A prefix is reached through PYTHONPATH, where `.pth` files are not run:
/// setuptools' editable installs of a flat layout rely on an import hook a
/// `.pth` installs. Its compat mode writes a plain path instead (other
/// backends write plain paths already, and ignore the setting).
fn editable_on_pythonpath(inputs: &Inputs) -> Vec<OsString> {
    if inputs.scan.has_editable() {
        vec!["--config-settings".into(), "editable_mode=compat".into()]
    } else {
        Vec::new()
    }
}

/// The same build as pip's, by uv: `uv pip install --prefix`, or `uv venv`
/// (no pip inside, so no ensurepip) and `uv pip install` into it. Neither
/// reads uv's configuration files: options go in [pip].options, as for pip.
fn build_with_uv(
    uv: &Path,
    inputs: &Inputs,
    path: &Path,
    workdir: &Path,
    env: &[(OsString, OsString)],
    (options, requirements): (Vec<OsString>, Vec<OsString>),
) -> Result<(), Failure> {
    let python = inputs.facts.command().to_path_buf();
    let mut env: Vec<(OsString, OsString)> = env.to_vec();
    env.push(("PYTHONNOUSERSITE".into(), "1".into()));
    // uv reads no pip configuration: the CA the user gave pip reaches it
    // as uv takes one.
    let has = |env: &[(OsString, OsString)], name: &str| env.iter().any(|(k, _)| k == name);
    if !has(&env, "SSL_CERT_FILE")
        && let Some((_, cert)) = env.iter().find(|(k, _)| k == "PIP_CERT").cloned()
    {
        env.push(("SSL_CERT_FILE".into(), cert));
    }
    let mut install: Vec<OsString> = vec!["pip".into(), "install".into(), "--no-config".into()];
    match inputs.pip.mode {
        PipMode::Prefix => {
            install.extend(["--python".into(), python.clone().into()]);
            install.extend(["--prefix".into(), path.into()]);
            install.extend(editable_on_pythonpath(inputs));
        }
        PipMode::Venv => {
            let mut venv = Command::new(uv);
            venv.args(["venv", "--no-config", "--quiet"])
                .arg(format!("--prompt={}", inputs.prompt))
                .arg("--python")
                .arg(&python);
            if inputs.pip.system_site_packages {
                venv.arg("--system-site-packages");
            }
            venv.arg(path);
            run(venv.current_dir(workdir), &env)?;
            uv_pip(uv, path).map_err(|e| {
                Failure::Io(io(format!("cannot write {}/bin/pip", path.display()))(e))
            })?;
            install.extend(["--python".into(), path.join("bin/python").into()]);
        }
        PipMode::User => {
            // `installer::choose` gives pip for user mode.
            return Err(Failure::Input(
                "uv does not install in user mode (pip's --user)".into(),
            ));
        }
    }
    install.extend(options.iter().cloned());
    let mut wanted = requirements;
    if inputs.pip.mode == PipMode::Prefix && inputs.profile.is_some() {
        // uv sees only the target's own site directory, never the Guix
        // profile's packages on GUIX_PYTHONPATH: pip, which sees them,
        // says what is missing, and uv installs exactly that. (A venv does
        // not see the profile's packages: it gets everything, as with pip.)
        let mut dry: Vec<OsString> = vec![
            "install".into(),
            "--disable-pip-version-check".into(),
            "--no-input".into(),
            "--prefix".into(),
            path.into(),
        ];
        dry.extend(options);
        let Some(missing) = lacking(
            (&python, isolating(inputs.facts, &env)),
            &dry,
            &wanted,
            path,
            workdir,
            &env,
        )?
        else {
            return Ok(());
        };
        install.push("--no-deps".into());
        wanted = missing;
    }
    let mut cmd = Command::new(uv);
    cmd.args(&install).args(&wanted).current_dir(workdir);
    run(&mut cmd, &env)
}

/// A uv venv has no pip (uv seeds none, and fetching one would need the
/// network): its `pip` runs `uv pip` on the venv, the same uv that built
/// it. A change made with it is the venv's, outside the manifest, and it
/// says so. It costs one small file per build.
fn uv_pip(uv: &Path, venv: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let quote = |p: &Path| {
        let mut out = Vec::new();
        crate::shells::posix_quote(&mut out, p.as_os_str().as_bytes());
        out
    };
    let python = venv.join("bin/python");
    let mut script = b"#!/bin/sh\n# pip for this venv, by the uv that built it.\ncase \"$1\" in\n  install|uninstall|sync) echo \"pyenv-guix: this changes the project's venv, outside its manifest; 'pyenv-guix rebuild' puts it back\" >&2 ;;\nesac\ncase \"$1\" in\n  ''|-*) exec ".to_vec();
    script.extend(quote(uv));
    script.extend_from_slice(b" pip \"$@\" ;;\n  *) command=$1; shift; exec ");
    script.extend(quote(uv));
    script.extend_from_slice(b" pip \"$command\" --python ");
    script.extend(quote(&python));
    script.extend_from_slice(b" \"$@\" ;;\nesac\n");
    for name in ["pip", "pip3"] {
        let file = venv.join("bin").join(name);
        fsutil::write_atomic(&file, &script)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// With a Guix profile: `pip install --dry-run --report` with the
/// profile's packages visible says what it lacks. Each is then named by
/// the very artifact pip chose (`name @ URL`, with its hash; `-e URL` for
/// an editable install), in a requirements file of ours given as `-r`, to
/// install with `--no-deps` (and said, as how far the build got). A bare
/// `name==version` would let an index stand in for a local project of
/// the same name, and lose the options a requirements file gave. `None`,
/// with the prefix made empty, when the profile has everything.
fn lacking(
    (python, flags): (&Path, Option<&str>),
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
    cmd.args(flags)
        .args(["-m", "pip"])
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
    if dry.install.is_empty() {
        std::fs::create_dir_all(path)
            .map_err(|e| Failure::Io(io(format!("cannot create {}", path.display()))(e)))?;
        return Ok(None);
    }
    let missing: Vec<String> = dry
        .install
        .iter()
        .map(|i| format!("{}=={}", i.metadata.name, i.metadata.version))
        .collect();
    log::info(&format!(
        "the Guix profile has the rest; installing {} it lacks: {}",
        missing.len(),
        missing.join(" ")
    ));
    let file = path.with_extension("lacking.txt");
    fsutil::write_atomic(&file, exact_requirements(&dry.install).as_bytes())
        .map_err(|e| Failure::Io(io(format!("cannot write {}", file.display()))(e)))?;
    Ok(Some(vec!["-r".into(), file.into_os_string()]))
}

/// A requirements file naming exactly what a dry run chose. Hashes go
/// with every artifact that has one, unless an editable install is among
/// them (pip checks hashes of all or none, and an editable has none).
fn exact_requirements(items: &[DryRunItem]) -> String {
    let editable = |i: &DryRunItem| {
        i.download_info
            .dir_info
            .as_ref()
            .is_some_and(|d| d.editable)
    };
    let hashed = !items.iter().any(editable)
        && items.iter().all(|i| {
            i.download_info
                .archive_info
                .as_ref()
                .is_some_and(|a| a.sha256().is_some())
        });
    let mut out = String::new();
    for i in items {
        let url = &i.download_info.url;
        if editable(i) {
            out.push_str(&format!("-e {url}\n"));
            continue;
        }
        out.push_str(&format!("{} @ {url}", i.metadata.name));
        if hashed
            && let Some(sha) = i
                .download_info
                .archive_info
                .as_ref()
                .and_then(|a| a.sha256())
        {
            out.push_str(&format!(" --hash=sha256:{sha}"));
        }
        out.push('\n');
    }
    out
}

#[derive(Deserialize)]
struct DryRun {
    install: Vec<DryRunItem>,
}

#[derive(Deserialize)]
struct DryRunItem {
    metadata: DryRunMetadata,
    download_info: DownloadInfo,
}

/// Where pip would get a distribution from (PEP 610's direct URL data).
#[derive(Deserialize)]
struct DownloadInfo {
    url: String,
    #[serde(default)]
    dir_info: Option<DirInfo>,
    #[serde(default)]
    archive_info: Option<ArchiveInfo>,
}

#[derive(Deserialize)]
struct DirInfo {
    #[serde(default)]
    editable: bool,
}

#[derive(Deserialize)]
struct ArchiveInfo {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

impl ArchiveInfo {
    fn sha256(&self) -> Option<&str> {
        self.hashes
            .get("sha256")
            .map(String::as_str)
            .or_else(|| self.hash.as_deref().and_then(|h| h.strip_prefix("sha256=")))
    }
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
    // pip's lines are the progress (PYENV_GUIX_LOG=quiet hides them; a
    // failure still shows their end).
    let show = log::level() >= log::Level::Info;
    for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
        if show {
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
        pth_dirs: pth_dirs(&site_dirs),
        dists: dists_in(&site_dirs),
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
            script: false,
        }
    }

    #[test]
    fn key_ignores_requirement_order_and_spacing_but_not_the_rest() {
        let f = facts();
        let root = Path::new("/nowhere");
        let pip = Choice {
            tool: Tool::Pip,
            instead: None,
        };
        let uv = |id: &str| Choice {
            tool: Tool::Uv {
                path: PathBuf::from("/bin/uv"),
                id: id.to_string(),
            },
            instead: None,
        };
        let key_by = |packages: &str, mode: &str, profile: Option<&Path>, installer: &Choice| {
            let text = format!("[pip]\nmode = {mode:?}\npackages = [{packages}]\n");
            let m = crate::manifest::parse(Path::new("m"), text.as_bytes()).unwrap();
            let project = crate::manifest::Project {
                manifest_path: root.join(".pyguix.toml"),
                root: root.to_path_buf(),
                bytes: text.into_bytes(),
                manifest: m,
            };
            let scan = Scan::new(&project);
            let m = &project.manifest;
            Inputs {
                facts: &f,
                profile,
                pip: &m.pip,
                scan: &scan,
                root,
                installer,
                prompt: "p",
            }
            .key()
        };
        let key = |packages: &str, mode: &str, profile: Option<&Path>| {
            key_by(packages, mode, profile, &pip)
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
        let by_uv = key_by("\"six\", \"prov==1.5.3\"", "prefix", None, &uv("1"));
        assert_ne!(a, by_uv);
        assert_ne!(
            by_uv,
            key_by("\"six\", \"prov==1.5.3\"", "prefix", None, &uv("2"))
        );
    }
}
