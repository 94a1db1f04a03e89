//! Guix profiles: one per sorted package specs (and channels pin, or the
//! Guix the user runs now), built with `guix package -p PROFILE -m
//! MANIFEST.scm`, read back from `PROFILE/etc/profile` with no Guix process.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::buildlock::{KeyBuild, Missed, Pending};
use crate::cache::Bucket;
use crate::context::Context;
use crate::envdiff::Wanted;
use crate::fsutil::hex;
use crate::manifest::Project;
use crate::{fsutil, log};

#[derive(Debug, thiserror::Error)]
pub enum GuixError {
    #[error(
        "{} lists Guix packages, but there is no `{command}` to build them. \
         Install GNU Guix, point PYENV_GUIX_GUIX at it, or remove [guix] packages to use the host's Python",
        manifest.display()
    )]
    NotInstalled { manifest: PathBuf, command: String },
    #[error("guix failed to build profile {key} ({status}); its output is above")]
    Failed { key: String, status: String },
    #[error("the build of Guix profile {key} failed (run 'pyenv-guix reload' to retry)")]
    FailedBefore { key: String },
    /// Not an error to the user: activation loads it later.
    #[error(transparent)]
    Pending(#[from] Pending),
    #[error("`{command}` failed: {message}")]
    Query { command: String, message: String },
    /// The channels file or a load-path file could not be read, or
    /// changed while it was copied.
    #[error(transparent)]
    Stage(#[from] crate::pip::StageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchPath {
    Prepend(String, Vec<OsString>),
    Set(String, OsString),
}

#[derive(Debug)]
pub struct Profile {
    pub key: String,
    /// `$PYENV_GUIX_CACHE_DIR/profiles/<key>`: a Guix GC root while it exists.
    pub path: PathBuf,
    /// The store path the profile points at, once built.
    pub store_path: Option<PathBuf>,
    pub search_paths: Vec<SearchPath>,
}

impl Profile {
    pub fn python(&self) -> Option<PathBuf> {
        let p = self.path.join("bin").join("python3");
        fsutil::is_executable(&p).then_some(p)
    }

    pub fn uses_guix_pythonpath(&self) -> bool {
        self.search_paths
            .iter()
            .any(|s| matches!(s, SearchPath::Prepend(n, _) | SearchPath::Set(n, _) if n == "GUIX_PYTHONPATH"))
    }

    /// What pip must see to know what Guix already provides.
    pub fn python_env(&self) -> Vec<(String, OsString)> {
        self.search_paths
            .iter()
            .filter_map(|s| match s {
                SearchPath::Prepend(n, entries) if n.ends_with("PYTHONPATH") => {
                    Some((n.clone(), crate::envdiff::join(entries)))
                }
                _ => None,
            })
            .collect()
    }

    pub fn add_to(&self, wanted: &mut Wanted) {
        wanted.set("PYENV_GUIX_PROFILE", &self.path);
        for s in &self.search_paths {
            match s {
                SearchPath::Prepend(name, entries) => wanted.prepend(name, entries.clone()),
                SearchPath::Set(name, value) => wanted.set(name, value),
            }
        }
    }
}

/// The profile for `project`, built when `build` and not built yet (or
/// again, with `force`: Guix makes a new generation and switches to it). `guix`
/// is looked up on, and runs with, `user_path`: the PATH from before any
/// project changed it.
pub fn profile(
    ctx: &Context,
    project: &Project,
    scan: &crate::pip::Scan,
    user_path: Option<&OsStr>,
    build: bool,
    force: bool,
) -> Result<Profile, GuixError> {
    let packages = &project.manifest.guix.packages;
    profile_of(ctx, project, packages, scan, user_path, build, force)
}

/// A profile of `packages` from the project's Guix (its channels and
/// load path): the project's own, or one the project needs besides.
pub fn profile_of(
    ctx: &Context,
    project: &Project,
    packages: &[String],
    scan: &crate::pip::Scan,
    user_path: Option<&OsStr>,
    build: bool,
    force: bool,
) -> Result<Profile, GuixError> {
    let mut specs = packages.to_vec();
    specs.sort();
    let cmd = ctx.guix_command();
    let mut keyed = format!("pyenv-guix profile 1\n{}\n", specs.join("\n"));
    // The channels file and the modules by content, as trust read them:
    // the build is given copies checked against these ids.
    let channels = scan.channels().map(|id| {
        id.map_err(|why| {
            GuixError::Stage(crate::pip::StageError::Unreadable {
                path: project.channels_file().unwrap_or_default(),
                why: why.clone(),
            })
        })
    });
    keyed.push_str(&which_guix(ctx, channels.transpose()?, user_path));
    keyed.push('\n');
    for (dir, id) in scan.load_path() {
        let id = id.map_err(|why| {
            GuixError::Stage(crate::pip::StageError::Unreadable {
                path: dir.to_path_buf(),
                why: why.clone(),
            })
        })?;
        keyed.push_str(&format!("load-path {id}\n"));
    }
    let key = hex(&Sha256::digest(keyed.as_bytes()));
    let path = ctx.cache.entry(Bucket::Profiles, &key);
    if build {
        let slot = KeyBuild::new(&ctx.cache, Bucket::Profiles, &key);
        let run = || -> Result<(), (GuixError, Option<String>)> {
            let io = |what: String| move |source| (GuixError::Io { what, source }, None);
            let Some(program) = fsutil::find_program(cmd[0].as_ref(), user_path, &project.root)
            else {
                let manifest = project.manifest_path.clone();
                let command = cmd.join(" ");
                return Err((GuixError::NotInstalled { manifest, command }, None));
            };
            let scm = ctx.cache.entry(Bucket::Profiles, format!("{key}.scm"));
            let quoted: Vec<String> = specs.iter().map(|s| format!("{s:?}")).collect();
            let text = format!("(specifications->manifest\n '({}))\n", quoted.join(" "));
            fsutil::write_atomic(&scm, text.as_bytes())
                .map_err(io(format!("cannot write {}", scm.display())))?;
            let mut c = Command::new(program);
            c.args(&cmd[1..]).env_clear().envs(ctx.guix_env(user_path));
            // Guix reads private copies of exactly the channels file and
            // modules the key was made from.
            let stage = ctx.cache.stage(Bucket::Profiles, &key);
            let _ = std::fs::remove_dir_all(&stage);
            let staged = |e| (GuixError::Stage(e), None);
            if let Some(channels) = scan.stage_channels(&stage).map_err(staged)? {
                c.arg("time-machine").arg("-C").arg(channels).arg("--");
            }
            c.arg("package");
            let modules = scan.stage_load_path(&stage).map_err(staged)?;
            for m in &modules {
                c.arg("-L").arg(m);
            }
            c.arg("-p").arg(&path).arg("-m").arg(&scm);
            log::info(&format!(
                "building Guix profile {} ({})",
                path.display(),
                specs.join(" ")
            ));
            // Guix's own progress goes to our stderr; stdout carries only the snippet.
            let stderr = std::io::stderr();
            let status = c
                .stdin(Stdio::null())
                .stdout(
                    std::os::fd::AsFd::as_fd(&stderr)
                        .try_clone_to_owned()
                        .map(Stdio::from)
                        .unwrap_or(Stdio::null()),
                )
                .status();
            let _ = std::fs::remove_dir_all(&stage);
            let status = status.map_err(io(format!("cannot run {}", cmd.join(" "))))?;
            if !status.success() || !is_built(&path) {
                let status = status.to_string();
                let record = status.clone();
                let key = key.clone();
                return Err((GuixError::Failed { key, status }, Some(record)));
            }
            Ok(())
        };
        let what = format!("Guix profile {key}");
        let built = || is_built(&path).then_some(());
        match slot.once(&what, ctx.how(force), built, run) {
            Ok(()) => {}
            Err(Missed::Pending(pending)) => return Err(GuixError::Pending(pending)),
            Err(Missed::FailedBefore(_)) => return Err(GuixError::FailedBefore { key }),
            Err(Missed::Failed(e)) => return Err(e),
            Err(Missed::Lock(source)) => {
                let what = format!("cannot lock profile {key}");
                return Err(GuixError::Io { what, source });
            }
        }
    }
    let store_path = std::fs::canonicalize(&path).ok();
    let search_paths = std::fs::read_to_string(path.join("etc/profile"))
        .map(|text| parse_profile(&text))
        .unwrap_or_default();
    Ok(Profile {
        key,
        path,
        store_path,
        search_paths,
    })
}

/// Guix makes the profile link only when the profile is complete.
fn is_built(path: &Path) -> bool {
    path.join("etc/profile").is_file()
}

/// A package Guix has, as `guix package -A` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    pub name: String,
    pub version: String,
    /// Where it is defined: `gnu/packages/python-xyz.scm:123:2`.
    pub location: String,
}

impl Available {
    /// The module defining it: `gnu/packages/python-xyz.scm` is
    /// `(gnu packages python-xyz)`. A location is a file on Guix's load
    /// path, relative to it, or, for what Guix loaded from source (as it
    /// does with `-L`), absolute; a `-L` directory is printed as typed, so
    /// `load_path` holds the `-L` directories of the query, as given.
    pub fn module(&self, load_path: &[&str]) -> Option<String> {
        // FILE:LINE:COL; the file name itself may hold a colon.
        let file = self.location.rsplitn(3, ':').nth(2)?;
        let under = load_path.iter().find_map(|d| {
            file.strip_prefix(d.trim_end_matches('/'))?
                .strip_prefix('/')
        });
        let rel = match under {
            Some(rel) => rel.to_string(),
            None if !file.starts_with('/') => file.to_string(),
            None => return declared_module(file).or_else(|| guix_module(file)),
        };
        let rel = rel.strip_suffix(".scm")?;
        Some(format!(
            "({})",
            rel.split('/').collect::<Vec<_>>().join(" ")
        ))
    }
}

/// The module an absolute `file` declares in its `define-module`, if it is
/// the path's own tail (as Guix requires of a module it loads).
fn declared_module(file: &str) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::new();
    // The define-module comes after the licence notice, well within this.
    fsutil::open_regular(Path::new(file), 1 << 30)
        .ok()?
        .take(64 << 10)
        .read_to_end(&mut head)
        .ok()?;
    let head = String::from_utf8_lossy(&head);
    let rest = &head[head.find("(define-module (")? + "(define-module (".len()..];
    let name: Vec<&str> = rest[..rest.find(')')?].split_whitespace().collect();
    let tail = format!("/{}.scm", name.join("/"));
    (!name.is_empty() && file.ends_with(&tail)).then(|| format!("({})", name.join(" ")))
}

/// For a Guix module file that cannot be read: its `(gnu packages …)`
/// name, from the path's last `gnu/packages/`.
fn guix_module(file: &str) -> Option<String> {
    let at = file.rfind("/gnu/packages/")?;
    let rel = file[at + 1..].strip_suffix(".scm")?;
    Some(format!(
        "({})",
        rel.split('/').collect::<Vec<_>>().join(" ")
    ))
}

/// Run one guix command, as the user's shell would outside any project;
/// its standard output. `None` when there is no guix.
fn query(
    ctx: &Context,
    user_path: Option<&OsStr>,
    dir: &Path,
    args: &[&str],
) -> Result<Option<String>, GuixError> {
    let cmd = ctx.guix_command();
    let Some(program) = find_guix(&cmd, user_path, dir) else {
        return Ok(None);
    };
    let command = format!("{} {}", cmd.join(" "), args.join(" "));
    log::debug(&format!("running {command}"));
    let mut c = Command::new(program);
    c.args(&cmd[1..])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(ctx.guix_env(user_path))
        .stdin(Stdio::null());
    match c.output() {
        Ok(out) if out.status.success() => {
            Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
        }
        Ok(out) => Err(GuixError::Query {
            command,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
        Err(e) => Err(GuixError::Query {
            command,
            message: e.to_string(),
        }),
    }
}

fn find_guix(cmd: &[String], user_path: Option<&OsStr>, dir: &Path) -> Option<PathBuf> {
    fsutil::find_program(cmd.first()?.as_ref(), user_path, dir)
}

/// What Guix has of `names`, in one `guix package -A` for all of them
/// (a few more when they would not fit in one argument); `None` when
/// there is no guix.
pub fn available(
    ctx: &Context,
    user_path: Option<&OsStr>,
    dir: &Path,
    names: &[String],
) -> Result<Option<Vec<Available>>, GuixError> {
    if names.is_empty() {
        let found = find_guix(&ctx.guix_command(), user_path, dir);
        return Ok(found.map(|_| Vec::new()));
    }
    let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    for regex in list_regexes(names) {
        let Some(text) = query(ctx, user_path, dir, &["package", "-A", &regex])? else {
            return Ok(None);
        };
        found.extend(
            text.lines()
                .filter_map(|line| {
                    // Columns are separated by a tab and aligned with spaces
                    // (Guix's pretty-print-table).
                    let mut f = line.split('\t').map(str::trim);
                    let (name, version) = (f.next()?, f.next()?);
                    let _outputs = f.next();
                    Some(Available {
                        name: name.to_string(),
                        version: version.to_string(),
                        location: f.next().unwrap_or("").to_string(),
                    })
                })
                .filter(|a| wanted.contains(a.name.as_str())),
        );
    }
    Ok(Some(found))
}

/// The longest regexp given to `guix package -A`: the kernel takes at most
/// 128 KiB in one argument (MAX_ARG_STRLEN).
const REGEX_LIMIT: usize = 64 * 1024;

/// The regexps that ask for exactly `names`: one when it fits in an
/// argument. Else every `python-` package at once (filtered here: a few
/// thousand lines, one run of Guix) and the other names in as few
/// regexps as fit.
fn list_regexes(names: &[String]) -> Vec<String> {
    let escape = |n: &str| -> String {
        n.chars()
            .flat_map(|c| {
                let special = ".+*?()[]{}|^$\\".contains(c);
                special.then_some('\\').into_iter().chain([c])
            })
            .collect()
    };
    let all: Vec<String> = names.iter().map(|n| escape(n)).collect();
    let whole = all.iter().map(|n| n.len() + 1).sum::<usize>();
    if whole <= REGEX_LIMIT {
        return vec![format!("^({})$", all.join("|"))];
    }
    let mut out = Vec::new();
    let mut group = vec!["python-.*".to_string()];
    let mut size = group[0].len() + 1;
    for n in all.into_iter().filter(|n| !n.starts_with("python-")) {
        if size + n.len() + 1 > REGEX_LIMIT {
            out.push(format!("^({})$", group.join("|")));
            group.clear();
            size = 0;
        }
        size += n.len() + 1;
        group.push(n);
    }
    out.push(format!("^({})$", group.join("|")));
    out
}

/// `guix import pypi --recursive NAME`: definitions for NAME and what it
/// needs that Guix lacks.
pub fn import_pypi(
    ctx: &Context,
    user_path: Option<&OsStr>,
    dir: &Path,
    name: &str,
) -> Result<Option<String>, GuixError> {
    query(
        ctx,
        user_path,
        dir,
        &["import", "pypi", "--recursive", name],
    )
}

/// `guix describe -f channels`: the channels the user's Guix comes from.
pub fn describe_channels(
    ctx: &Context,
    user_path: Option<&OsStr>,
    dir: &Path,
) -> Result<Option<String>, GuixError> {
    query(ctx, user_path, dir, &["describe", "-f", "channels"])
}

/// Where an unpinned profile's key looks for the Guix the user runs: a
/// change along what these resolve through (a `guix pull`) changes it.
pub fn followed(ctx: &Context, user_path: Option<&OsStr>) -> Vec<PathBuf> {
    let cmd = ctx.guix_command();
    let mut out: Vec<PathBuf> = ctx
        .config_dir()
        .map(|d| d.join("guix/current"))
        .into_iter()
        .collect();
    if let Some(first) = cmd.first() {
        out.extend(fsutil::find_program(
            first.as_ref(),
            user_path,
            Path::new("/"),
        ));
    }
    out
}

/// `~/.config/guix/current` resolved, else the guix command itself resolved.
/// Which Guix builds the project's packages, as a key line: its pinned
/// channels by content or, unpinned, the Guix the user runs now, so that
/// after `guix pull` the next entry rebuilds, as `guix shell`'s own cache
/// does.
fn which_guix(ctx: &Context, channels: Option<&str>, user_path: Option<&OsStr>) -> String {
    match channels {
        Some(id) => format!("channels {id}"),
        None => {
            let cmd = ctx.guix_command();
            format!("guix {}", current_guix(ctx, &cmd[0], user_path).display())
        }
    }
}

/// [`which_guix`] for the project `scan` was made of: its channels file
/// as trust read it, not read again.
pub fn identity(
    ctx: &Context,
    scan: &crate::pip::Scan,
    user_path: Option<&OsStr>,
) -> Result<String, crate::pip::Unreadable> {
    let channels = scan.channels().transpose().map_err(Clone::clone)?;
    Ok(which_guix(ctx, channels, user_path))
}

fn current_guix(ctx: &Context, cmd: &str, user_path: Option<&OsStr>) -> PathBuf {
    let current = ctx.config_dir().map(|d| d.join("guix/current"));
    if let Some(p) = current.and_then(|c| std::fs::canonicalize(c).ok()) {
        return p;
    }
    fsutil::find_program(cmd.as_ref(), user_path, Path::new("/"))
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| PathBuf::from(cmd))
}

/// Read `etc/profile` lines such as
/// `export PATH="${GUIX_PROFILE:-/gnu/store/…-profile}/bin${PATH:+:}$PATH"`
/// with the store path spelt out, as `--search-paths=prefix` prints them.
pub fn parse_profile(text: &str) -> Vec<SearchPath> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("export ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        let value = expand_profile(value);
        let tail = format!("${{{name}:+:}}${name}");
        let head = format!("${name}${{{name}:+:}}");
        if let Some(v) = value.strip_suffix(&tail) {
            out.push(SearchPath::Prepend(name.to_string(), split(v)));
        } else if let Some(v) = value.strip_prefix(&head) {
            // A suffix search path: ours still go first, which is what a
            // project environment wants.
            out.push(SearchPath::Prepend(name.to_string(), split(v)));
        } else {
            out.push(SearchPath::Set(name.to_string(), value.into()));
        }
    }
    out
}

fn split(v: &str) -> Vec<OsString> {
    v.split(':')
        .filter(|e| !e.is_empty())
        .map(OsString::from)
        .collect()
}

/// `${GUIX_PROFILE:-X}` → `X`.
fn expand_profile(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("${GUIX_PROFILE:-") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "${GUIX_PROFILE:-".len()..];
        match after.find('}') {
            Some(j) => {
                out.push_str(&after[..j]);
                rest = &after[j + 1..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_regexps_fit_in_an_argument_and_ask_for_every_name() {
        let few = vec!["python-a.b".to_string(), "jupyter".to_string()];
        assert_eq!(list_regexes(&few), [r"^(python-a\.b|jupyter)$"]);
        let mut many: Vec<String> = (0..100_000).map(|i| format!("python-p{i}")).collect();
        many.extend((0..20_000).map(|i| format!("other{i}")));
        let all = list_regexes(&many);
        assert!(all.len() > 1 && all.iter().all(|r| r.len() <= REGEX_LIMIT + 4));
        assert!(all[0].starts_with("^(python-.*|other0|"));
        let asked: usize = all.iter().map(|r| r.matches("other").count()).sum();
        assert_eq!(asked, 20_000);
    }

    /// Rows as real Guix printed them (tests/guix-samples/package-A-with-L.txt,
    /// `guix package -L guix -A`): a drafted package's location carries the
    /// `-L` directory as typed, and Guix's own, loaded from source, are
    /// absolute. Then the same with `-L` given as an absolute directory.
    #[test]
    fn a_module_is_named_from_relative_and_absolute_locations() {
        let row = |location: &str| Available {
            name: "python-x".into(),
            version: "1".into(),
            location: location.into(),
        };
        let sample = "python-prov   \t2.0.0     \tout\t/tmp/realguix/guix/src/gnu/packages/python-xyz.scm:24928:2\n\
                      python-pyhumps\t3.8.0     \tout\tguix/pyguix/packages.scm:19:2\n";
        let cells: Vec<String> = sample
            .lines()
            .map(|l| l.split('\t').nth(3).unwrap().to_string())
            .collect();
        assert_eq!(
            row(&cells[0]).module(&["guix"]).as_deref(),
            Some("(gnu packages python-xyz)")
        );
        assert_eq!(
            row(&cells[1]).module(&["guix"]).as_deref(),
            Some("(pyguix packages)")
        );
        assert_eq!(
            row("gnu/packages/python-xyz.scm:8482:2")
                .module(&[])
                .as_deref(),
            Some("(gnu packages python-xyz)")
        );

        let dir = std::env::temp_dir().join(format!("pyenv-guix-module-{}", std::process::id()));
        let file = dir.join("proj/guix/pyguix/packages.scm");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            ";;; drafted\n(define-module (pyguix packages)\n  #:use-module (guix packages))\n",
        )
        .unwrap();
        let absolute = format!("{}:19:2", file.display());
        let load = dir.join("proj/guix/");
        let load = load.to_str().unwrap();
        assert_eq!(
            row(&absolute).module(&[load]).as_deref(),
            Some("(pyguix packages)")
        );
        // Not under a `-L` directory given: named by its define-module.
        assert_eq!(
            row(&absolute).module(&[]).as_deref(),
            Some("(pyguix packages)")
        );
        // A define-module that is not the path's tail is not believed.
        let other = dir.join("proj/guix/other.scm");
        std::fs::write(&other, "(define-module (gnu packages lies))\n").unwrap();
        assert_eq!(row(&format!("{}:1:2", other.display())).module(&[]), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_guix_profile_lines() {
        let text = r#"# Source this file to define all the relevant environment variables in Bash
export PATH="${GUIX_PROFILE:-/gnu/store/aaa-profile}/bin${PATH:+:}$PATH"
export GUIX_PYTHONPATH="${GUIX_PROFILE:-/gnu/store/aaa-profile}/lib/python3.11/site-packages${GUIX_PYTHONPATH:+:}$GUIX_PYTHONPATH"
export XDG_DATA_DIRS="${GUIX_PROFILE:-/gnu/store/aaa-profile}/share:${GUIX_PROFILE:-/gnu/store/aaa-profile}/x${XDG_DATA_DIRS:+:}$XDG_DATA_DIRS"
export SSL_CERT_FILE="${GUIX_PROFILE:-/gnu/store/aaa-profile}/etc/ssl/certs/ca-certificates.crt"
"#;
        let got = parse_profile(text);
        assert_eq!(
            got,
            vec![
                SearchPath::Prepend("PATH".into(), vec!["/gnu/store/aaa-profile/bin".into()]),
                SearchPath::Prepend(
                    "GUIX_PYTHONPATH".into(),
                    vec!["/gnu/store/aaa-profile/lib/python3.11/site-packages".into()]
                ),
                SearchPath::Prepend(
                    "XDG_DATA_DIRS".into(),
                    vec![
                        "/gnu/store/aaa-profile/share".into(),
                        "/gnu/store/aaa-profile/x".into()
                    ]
                ),
                SearchPath::Set(
                    "SSL_CERT_FILE".into(),
                    "/gnu/store/aaa-profile/etc/ssl/certs/ca-certificates.crt".into()
                ),
            ]
        );
    }
}
