//! A uv project (`[pip] uv-project = true`): `pyproject.toml` and `uv.lock`
//! at the root, or for a member of a uv workspace the root's `uv.lock` and
//! `pyproject.toml` too, are what the venv is built from. `uv sync
//! --frozen` reads them in place (relative paths in the lock, such as a
//! find-links directory, are the workspace's), so they are read here by
//! content for trust and the key, and read again after the build: a venv
//! is kept only if uv read the bytes that were keyed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{StageError, Unreadable};
use super::hash::{DIST_LIMIT, TEXT_LIMIT, hash_file};
use super::scan::{Kind, Scan};
use super::stage::{read_id, unchanged};
use crate::fsutil::{self, hex};

/// A large project's uv.lock lists every wheel of every platform.
const LOCK_LIMIT: u64 = 16 << 20;
/// How many local files one uv.lock may name.
const LOCAL_FILES_LIMIT: usize = 1000;

impl Scan {
    /// Read the project's `pyproject.toml`, the `uv.lock` uv uses for it
    /// (its own, or its workspace root's with the root's `pyproject.toml`),
    /// and each local file the lock names by path alone (a find-links
    /// wheel has no hash in uv.lock, so its bytes are read here). The venv
    /// is the project's own: uv installs the project itself (editable)
    /// unless it is virtual, and `uv add` changes it.
    pub(super) fn uv_project(&mut self, shown: &Path) {
        // uv finds its workspace from its working directory as the kernel
        // gives it, links resolved: so does this, or a link into a member
        // would have one lock keyed and trusted and another installed.
        let physical = physical(shown);
        let root = physical.as_path();
        let own = self.uv_file(&root.join("pyproject.toml"), TEXT_LIMIT);
        let is_root = own
            .and_then(|(_, bytes)| parse(&bytes))
            .is_some_and(|t| workspace_table(&t).is_some());
        let (workspace, what) = match is_root {
            true => (root.to_path_buf(), "project"),
            false => match self.workspace_above(root) {
                Some(dir) => (dir, "workspace"),
                None => (root.to_path_buf(), "project"),
            },
        };
        if let Some((i, bytes)) = self.uv_file(&workspace.join("uv.lock"), LOCK_LIMIT) {
            self.lock_files(i, &workspace, what, &bytes);
        }
        // `uv lock` (which `pyenv-guix lock` runs) reads a `uv.toml` beside
        // the project's or the workspace's pyproject.toml over its
        // [tool.uv]: where there is one, trust covers it.
        for dir in [root, workspace.as_path()] {
            let config = dir.join("uv.toml");
            if std::fs::symlink_metadata(&config).is_ok() {
                self.uv_file(&config, TEXT_LIMIT);
            }
        }
        self.per_project
            .push(format!("uv project {}", shown.display()));
    }

    /// Add the file at `path`, read up to `limit` bytes and named by
    /// content: its index and bytes, or `None` when it could not be read
    /// (the input says why) or was read already.
    fn uv_file(&mut self, path: &Path, limit: u64) -> Option<(usize, Vec<u8>)> {
        let (i, new) = self.add(Kind::UvProject, path.to_path_buf());
        if !new {
            return None;
        }
        match fsutil::read_limited(path, limit) {
            Ok(bytes) => {
                self.inputs[i].id = Ok(hex(&Sha256::digest(&bytes)));
                Some((i, bytes))
            }
            Err(e) => {
                self.inputs[i].id = Err(e.into());
                None
            }
        }
    }

    /// The workspace root above `root` whose uv.lock uv uses for it, as
    /// uv finds one: the nearest `pyproject.toml` above decides. It is the
    /// root when it has `[tool.uv.workspace]` whose `members` globs take
    /// the project in and whose `exclude` globs do not; any other file
    /// there (a project, a tool's settings, `managed = false`) means the
    /// project is its own workspace. That file is read (trust and the key
    /// cover it, for it decides); a glob leaving the workspace refuses it.
    fn workspace_above(&mut self, root: &Path) -> Option<PathBuf> {
        let dir = nearest_pyproject_above(root)?;
        let (i, bytes) = self.uv_file(&dir.join("pyproject.toml"), TEXT_LIMIT)?;
        match workspace_of(root, &dir, &bytes) {
            Ok(found) => found,
            Err(why) => {
                self.inputs[i].id = Err(Unreadable::NotALock(why));
                None
            }
        }
    }

    /// The local files `uv.lock` (input `i`, in `workspace`) names, each
    /// read by content, or why the lock is refused.
    fn lock_files(&mut self, i: usize, workspace: &Path, what: &str, bytes: &[u8]) {
        let files = match local_files(workspace, what, bytes) {
            Ok(files) => files,
            Err(why) => {
                self.inputs[i].id = Err(Unreadable::NotALock(why));
                return;
            }
        };
        if files.len() > LOCAL_FILES_LIMIT {
            self.inputs[i].id = Err(Unreadable::TooMuch {
                files: LOCAL_FILES_LIMIT,
                bytes: LOCK_LIMIT,
            });
            return;
        }
        for file in files {
            let (j, new) = self.add(Kind::UvProject, file.clone());
            if new {
                self.inputs[j].id = hash_file(&file, DIST_LIMIT);
            }
        }
    }

    /// The key's lines for the uv project's files, by content, in order.
    pub(super) fn uv_key_lines(&self) -> Result<Vec<String>, super::Unreadable> {
        let mut lines = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            // By name (uv reads a wheel's version from it) and content.
            if input.kind == Kind::UvProject {
                let name = input.path.file_name().unwrap_or_default().to_string_lossy();
                lines.push(format!("uv-project {name} {}", self.id(i)?));
            }
        }
        Ok(lines)
    }

    /// After `uv sync`: each file it read still holds the bytes the key
    /// and trust were made from.
    pub(super) fn uv_project_unchanged(&self) -> Result<(), StageError> {
        for input in self.inputs.iter().filter(|i| i.kind == Kind::UvProject) {
            let id = read_id(input)?;
            let now = hash_file(&input.path, DIST_LIMIT).map_err(|why| StageError::Unreadable {
                path: input.path.clone(),
                why,
            })?;
            unchanged(input, id, &now)?;
        }
        Ok(())
    }
}

/// The `uv.lock` uv builds the project at `root` from: its own, or its
/// `uv lock` in the project at `root`, as its user runs it (their
/// environment and `PATH`), with nothing any project set: one left, or
/// the one this runs inside.
pub fn lock_command(
    ctx: &crate::context::Context,
    uv: &Path,
    root: &Path,
    user_path: Option<&std::ffi::OsStr>,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(uv);
    cmd.arg("lock")
        .current_dir(root)
        .env_clear()
        .envs(ctx.user_env());
    if let Some(path) = user_path {
        cmd.env("PATH", path);
    }
    cmd
}

/// `uv lock` as `lock_command` runs it, to check the lock only (see
/// `pip::lock::uv_check_started`): with the interpreter the build uses,
/// never one the project points uv at (`.python-version`, a `.venv` of
/// its own), which trust does not cover and uv would run to ask what it is.
pub fn check_command(
    ctx: &crate::context::Context,
    uv: &Path,
    root: &Path,
    user_path: Option<&std::ffi::OsStr>,
    python: &Path,
) -> std::process::Command {
    let mut cmd = lock_command(ctx, uv, root, user_path);
    cmd.arg("--python").arg(python).env(
        "UV_PROJECT_ENVIRONMENT",
        "/dev/null/pyenv-guix-checks-the-lock-only",
    );
    cmd
}

/// workspace root's (found as `Scan::uv_project` finds it), if that file
/// is there. For `init`, before anything is trusted: it reads two
/// bounded files and names a path, nothing more.
pub fn lock_for(root: &Path) -> Option<PathBuf> {
    let physical = physical(root);
    let root = physical.as_path();
    let own = fsutil::read_limited(&root.join("pyproject.toml"), TEXT_LIMIT).ok()?;
    let is_root = parse(&own).is_some_and(|t| workspace_table(&t).is_some());
    let workspace = match is_root {
        true => root.to_path_buf(),
        false => nearest_pyproject_above(root)
            .and_then(|dir| {
                let bytes = fsutil::read_limited(&dir.join("pyproject.toml"), TEXT_LIMIT).ok()?;
                workspace_of(root, &dir, &bytes).ok().flatten()
            })
            .unwrap_or_else(|| root.to_path_buf()),
    };
    Some(workspace.join("uv.lock")).filter(|lock| lock.is_file())
}

/// `root` with every link resolved, as uv's `getcwd` sees it there.
fn physical(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// The nearest directory above `root` holding a `pyproject.toml`: the
/// one that decides whether `root` is a workspace member.
fn nearest_pyproject_above(root: &Path) -> Option<PathBuf> {
    root.ancestors()
        .skip(1)
        .find(|d| d.join("pyproject.toml").is_file())
        .map(Path::to_path_buf)
}

/// Given the bytes of `dir/pyproject.toml`, the nearest above `root`: the
/// workspace root uv uses for `root` (`Some(dir)`), or `None` when the
/// project is its own workspace (no `[tool.uv.workspace]`, `managed =
/// false`, not a member), or why uv's reading of it is refused.
fn workspace_of(root: &Path, dir: &Path, bytes: &[u8]) -> Result<Option<PathBuf>, String> {
    let Some(table) = parse(bytes) else {
        // uv stops at a pyproject.toml it cannot parse.
        return Err("not TOML that uv can read, and uv reads it for the project below".into());
    };
    let managed = table
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("managed"))
        .and_then(|m| m.as_bool());
    let Some(workspace) = workspace_table(&table).filter(|_| managed != Some(false)) else {
        return Ok(None);
    };
    let Ok(rel) = root.strip_prefix(dir) else {
        return Ok(None);
    };
    Ok(is_member(workspace, dir, rel)?.then(|| dir.to_path_buf()))
}

fn parse(bytes: &[u8]) -> Option<toml::Table> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// `[tool.uv.workspace]` of a pyproject.toml, if it has one.
fn workspace_table(table: &toml::Table) -> Option<&toml::Value> {
    table.get("tool")?.get("uv")?.get("workspace")
}

/// Whether the project at `rel` below the workspace root `dir` is a
/// member, by the `members` and `exclude` globs as uv matches them (the
/// glob crate's, `*` within one path component). A glob reaching out of
/// the workspace, by `..` or from `/`, is refused: the workspace is what
/// the root's directory holds.
fn is_member(workspace: &toml::Value, dir: &Path, rel: &Path) -> Result<bool, String> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let globs = |key: &str| -> Result<Vec<glob::Pattern>, String> {
        let Some(list) = workspace.get(key) else {
            return Ok(Vec::new());
        };
        let refused = |why: String| format!("[tool.uv.workspace] {key}: {why}");
        let list = list
            .as_array()
            .ok_or_else(|| refused("not a list of globs".into()))?;
        list.iter()
            .map(|g| {
                let g = g
                    .as_str()
                    .ok_or_else(|| refused("not a list of globs".into()))?;
                if !fsutil::stays_inside(0, Path::new(g)) {
                    return Err(refused(format!(
                        "{g:?} is outside the workspace {}: name members inside it",
                        dir.display()
                    )));
                }
                glob::Pattern::new(g).map_err(|e| refused(format!("{g:?}: {e}")))
            })
            .collect()
    };
    let (members, exclude) = (globs("members")?, globs("exclude")?);
    let matches = |p: &glob::Pattern| p.matches_path_with(rel, options);
    Ok(!exclude.iter().any(matches) && members.iter().any(matches))
}

/// The local files a uv.lock names by path: each wheel and sdist of a
/// registry that is a directory (find-links), and each package whose
/// source is a file. (A source tree, `directory` or `editable`, is the
/// project's own, as an editable install is.) A lock uv cannot read names
/// nothing: uv fails on it.
///
/// A file named by URL must carry its hash, which uv checks: uv accepts a
/// registry's file without one, and installs whatever the URL holds when
/// it builds, which no `allow` covered. `Err` names the package and URL.
///
/// Every path the lock gives relative to the project (files and source
/// trees alike: uv reads or builds them) must lead, links followed, to
/// somewhere inside it, or the lock is refused: `Err` names the package
/// and the path. Nothing outside is opened. An absolute path is the
/// user's to name.
fn local_files(root: &Path, what: &str, bytes: &[u8]) -> Result<Vec<PathBuf>, String> {
    let Some(lock) = parse(bytes) else {
        return Ok(Vec::new());
    };
    let packages = lock.get("package").and_then(|p| p.as_array());
    let mut out = Vec::new();
    for package in packages.into_iter().flatten() {
        let Some(source) = package.get("source").and_then(|s| s.as_table()) else {
            continue;
        };
        let name = package.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let inside = |rel: &Path| -> Result<PathBuf, String> {
            let path = root.join(rel);
            let refused = |why: String| format!("package {name:?}: names {rel:?}, {why}");
            if rel.is_absolute() {
                return Ok(path);
            }
            if !fsutil::stays_inside(0, rel) {
                return Err(refused(format!(
                    "outside the {what} {}: name a file inside the {what}, or one elsewhere by its absolute path",
                    root.display()
                )));
            }
            fsutil::resolve_inside(root, &path).map_err(|e| refused(e.to_string()))?;
            Ok(path)
        };
        let wheels = package.get("wheels").and_then(|w| w.as_array());
        let artefacts = || wheels.into_iter().flatten().chain(package.get("sdist"));
        for artefact in artefacts() {
            let hashed = artefact.get("hash").and_then(|h| h.as_str());
            if let (Some(url), None) = (artefact.get("url").and_then(|u| u.as_str()), hashed) {
                return Err(format!(
                    "package {name:?}: names {url:?} with no hash, so uv would install whatever that URL holds when it builds; lock again with a uv that records hashes (`uv lock`)"
                ));
            }
        }
        // A `path` source is a path, whatever it holds (uv reads
        // `x:///../..` as one); a registry is a URL only over http(s),
        // and a `file:` one is the absolute path it names.
        if let Some(registry) = source.get("registry").and_then(|r| r.as_str())
            && let Some(dir) =
                registry_dir(registry).map_err(|why| format!("package {name:?}: {why}"))?
        {
            for artefact in artefacts() {
                if let Some(path) = artefact.get("path").and_then(|p| p.as_str()) {
                    out.push(inside(&dir.join(path))?);
                }
            }
        }
        if let Some(path) = source.get("path").and_then(|p| p.as_str()) {
            out.push(inside(Path::new(path))?);
        }
        for tree in ["directory", "editable", "virtual"] {
            if let Some(path) = source.get(tree).and_then(|p| p.as_str()) {
                inside(Path::new(path))?;
            }
        }
    }
    Ok(out)
}

/// The normalised names of the packages a uv.lock holds.
pub fn locked_names(bytes: &[u8]) -> Vec<String> {
    let Some(lock) = parse(bytes) else {
        return Vec::new();
    };
    let packages = lock.get("package").and_then(|p| p.as_array());
    packages
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name")?.as_str())
        .map(crate::requirement::normal_name)
        .collect()
}

/// Where a registry's files are, when it is local: `None` for one over
/// http(s), the path of a `file:` URL, anything else as written.
fn registry_dir(registry: &str) -> Result<Option<PathBuf>, String> {
    let scheme = registry.get(..8).unwrap_or(registry).to_ascii_lowercase();
    if scheme.starts_with("http://") || scheme.starts_with("https://") {
        return Ok(None);
    }
    match registry.strip_prefix("file://") {
        // Checked as text below: a path that is not UTF-8 is refused,
        // not changed into another.
        Some(rest) => crate::pip::lock::file_url_bytes(rest).and_then(|p| {
            String::from_utf8(p)
                .map(|p| Some(PathBuf::from(p)))
                .map_err(|_| format!("registry {registry:?} is not a UTF-8 path"))
        }),
        None => Ok(Some(PathBuf::from(registry))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_names_its_local_files_and_not_what_it_hashes_or_builds() {
        let lock = r#"version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "alpha"
version = "1.0"
source = { registry = "wheels" }
sdist = { path = "alpha-1.0.tar.gz" }
wheels = [{ path = "alpha-1.0-py3-none-any.whl" }]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/six.whl", hash = "sha256:00" }]

[[package]]
name = "local"
version = "2.0"
source = { path = "dist/local-2.0-py3-none-any.whl" }
"#;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "wheels/alpha-1.0-py3-none-any.whl",
            "wheels/alpha-1.0.tar.gz",
            "dist/local-2.0-py3-none-any.whl",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), f).unwrap();
        }
        assert_eq!(
            local_files(root, "project", lock.as_bytes()).unwrap(),
            [
                "wheels/alpha-1.0-py3-none-any.whl",
                "wheels/alpha-1.0.tar.gz",
                "dist/local-2.0-py3-none-any.whl",
            ]
            .map(|f| root.join(f))
        );
        assert_eq!(local_files(root, "project", b"not [ toml"), Ok(Vec::new()));
    }

    /// Members as uv matches them (checked against uv 0.13's own
    /// discovery): `*` stays within one directory, `exclude` wins, and a
    /// glob reaching out of the workspace is refused, naming it.
    #[test]
    fn workspace_members_match_as_uvs_do() {
        let ws: toml::Value = toml::from_str(
            "members = [\"packages/*\", \"tools/cli\"]\nexclude = [\"packages/old\"]\n",
        )
        .unwrap();
        let dir = Path::new("/w");
        let member = |rel: &str| is_member(&ws, dir, Path::new(rel));
        assert_eq!(member("packages/p"), Ok(true));
        assert_eq!(member("tools/cli"), Ok(true));
        assert_eq!(member("packages/old"), Ok(false));
        assert_eq!(member("packages/a/b"), Ok(false));
        assert_eq!(member("other/q"), Ok(false));
        for glob in ["../x/*", "packages/../../x", "/abs/*"] {
            let ws: toml::Value = toml::from_str(&format!("members = [{glob:?}]")).unwrap();
            let e = is_member(&ws, dir, Path::new("packages/p")).unwrap_err();
            assert!(e.contains(&format!("{glob:?}")), "{e}");
            assert!(e.contains("outside the workspace /w"), "{e}");
        }
        // `**`: every directory below, hidden ones too, not the one above.
        let ws: toml::Value = toml::from_str("members = [\"packages/**\"]").unwrap();
        let member = |rel: &str| is_member(&ws, dir, Path::new(rel));
        for rel in ["packages/a", "packages/a/b", "packages/.h"] {
            assert_eq!(member(rel), Ok(true), "{rel}");
        }
        assert_eq!(member("packages"), Ok(false));
        assert_eq!(member("other/a"), Ok(false));
        let ws: toml::Value = toml::from_str("members = \"packages/*\"").unwrap();
        let e = is_member(&ws, dir, Path::new("packages/p")).unwrap_err();
        assert!(e.contains("members: not a list of globs"), "{e}");
    }

    /// Out by `..` or by a link, a file or a source tree: refused, naming
    /// the package and the path; an absolute path is the user's to name.
    #[test]
    fn a_lock_naming_what_is_outside_the_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("in")).unwrap();
        std::fs::write(dir.path().join("x.whl"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        let lock = |source: &str| {
            format!("version = 1\n[[package]]\nname = \"x\"\nversion = \"1\"\nsource = {source}\n")
        };
        for (source, named) in [
            ("{ path = \"../x.whl\" }", "../x.whl"),
            ("{ path = \"in/../../x.whl\" }", "in/../../x.whl"),
            ("{ path = \"out/x.whl\" }", "out/x.whl"),
            ("{ editable = \"out\" }", "out"),
            ("{ directory = \"..\" }", ".."),
            ("{ virtual = \"out/p/..\" }", "out/p/.."),
            // HOLE: `://` made a path a URL, unchecked; uv reads it as a
            // path, `x:` and all.
            ("{ path = \"x:///../../x.whl\" }", "x:///../../x.whl"),
            (
                "{ registry = \"x:///../..\" }\nsdist = { path = \"x.tar.gz\" }",
                "x:///../../x.tar.gz",
            ),
        ] {
            let e = local_files(&root, "project", lock(source).as_bytes()).unwrap_err();
            assert!(e.contains("package \"x\""), "{source}: {e}");
            assert!(e.contains(&format!("{named:?}")), "{source}: {e}");
            assert!(e.contains("outside the project"), "{source}: {e}");
        }
        // A `file:` registry whose path is not UTF-8 is refused, not read
        // as another path.
        let bytes = "{ registry = \"file:///in%ff\" }\nwheels = [{ path = \"x.whl\" }]";
        let e = local_files(&root, "project", lock(bytes).as_bytes()).unwrap_err();
        assert!(e.contains("not a UTF-8 path"), "{e}");
        let registry = "{ registry = \"out\" }\nwheels = [{ path = \"x.whl\" }]";
        let e = local_files(&root, "project", lock(registry).as_bytes()).unwrap_err();
        assert!(e.contains("outside the project"), "{e}");
        // A registry over http(s) is uv's to fetch, with hashes; a `file:`
        // one is the absolute path it names.
        let remote = "{ registry = \"HTTPS://pypi.org/simple\" }\nwheels = [{ path = \"x.whl\" }]";
        assert_eq!(
            local_files(&root, "project", lock(remote).as_bytes()),
            Ok(vec![])
        );
        let file = format!(
            "{{ registry = \"file://{}\" }}\nwheels = [{{ path = \"x.whl\" }}]",
            dir.path().display()
        );
        assert_eq!(
            local_files(&root, "project", lock(&file).as_bytes()),
            Ok(vec![dir.path().join("x.whl")])
        );
        let absolute = dir.path().join("x.whl");
        let source = format!("{{ path = {:?} }}", absolute.to_str().unwrap());
        assert_eq!(
            local_files(&root, "project", lock(&source).as_bytes()),
            Ok(vec![absolute])
        );
        // Inside, through a link that stays inside: fine.
        std::os::unix::fs::symlink(root.join("in"), root.join("alias")).unwrap();
        std::fs::write(root.join("in/y.whl"), "y").unwrap();
        let source = "{ path = \"alias/y.whl\" }";
        assert_eq!(
            local_files(&root, "project", lock(source).as_bytes()),
            Ok(vec![root.join("alias/y.whl")])
        );
    }
}
