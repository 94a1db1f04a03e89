//! A uv project (`[pip] uv-project = true`): `pyproject.toml` and `uv.lock`
//! at the root are what the venv is built from. `uv sync --frozen` reads
//! them in place (relative paths in the lock, such as a find-links
//! directory, are the project's), so they are read here by content for
//! trust and the key, and read again after the build: a venv is kept only
//! if uv read the bytes that were keyed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{StageError, Unreadable};
use super::hash::{DIST_LIMIT, TEXT_LIMIT, hash_file};
use super::scan::{Kind, Scan};
use super::stage::{read_id, unchanged};
use crate::fsutil::{self, hex};

/// The files uv reads for a project, beside the root.
pub const FILES: [&str; 2] = ["pyproject.toml", "uv.lock"];
/// A large project's uv.lock lists every wheel of every platform.
const LOCK_LIMIT: u64 = 16 << 20;
/// How many local files one uv.lock may name.
const LOCAL_FILES_LIMIT: usize = 1000;

impl Scan {
    /// Read the project's `pyproject.toml` and `uv.lock`, and each local
    /// file the lock names by path alone (a find-links wheel has no hash
    /// in uv.lock, so its bytes are read here). The venv is the project's
    /// own: uv installs the project itself (editable) unless it is
    /// virtual, and `uv add` changes it.
    pub(super) fn uv_project(&mut self, root: &Path) {
        for name in FILES {
            let path = root.join(name);
            let (i, new) = self.add(Kind::UvProject, path.clone());
            if !new {
                continue;
            }
            let limit = if name == "uv.lock" {
                LOCK_LIMIT
            } else {
                TEXT_LIMIT
            };
            match fsutil::read_limited(&path, limit) {
                Ok(bytes) => {
                    self.inputs[i].id = Ok(hex(&Sha256::digest(&bytes)));
                    if name == "uv.lock" {
                        let files = match local_files(root, &bytes) {
                            Ok(files) => files,
                            Err(why) => {
                                self.inputs[i].id = Err(Unreadable::NotALock(why));
                                continue;
                            }
                        };
                        if files.len() > LOCAL_FILES_LIMIT {
                            self.inputs[i].id = Err(Unreadable::TooMuch {
                                files: LOCAL_FILES_LIMIT,
                                bytes: LOCK_LIMIT,
                            });
                            continue;
                        }
                        for file in files {
                            let (j, new) = self.add(Kind::UvProject, file.clone());
                            if new {
                                self.inputs[j].id = hash_file(&file, DIST_LIMIT);
                            }
                        }
                    }
                }
                Err(e) => self.inputs[i].id = Err(e.into()),
            }
        }
        self.per_project
            .push(format!("uv project {}", root.display()));
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

/// The local files a uv.lock names by path: each wheel and sdist of a
/// registry that is a directory (find-links), and each package whose
/// source is a file. (Files named by URL carry their hash in the lock; a
/// source tree, `directory` or `editable`, is the project's own, as an
/// editable install is.) A lock uv cannot read names nothing: uv fails on it.
///
/// Every path the lock gives relative to the project (files and source
/// trees alike: uv reads or builds them) must lead, links followed, to
/// somewhere inside it, or the lock is refused: `Err` names the package
/// and the path. Nothing outside is opened. An absolute path is the
/// user's to name.
fn local_files(root: &Path, bytes: &[u8]) -> Result<Vec<PathBuf>, String> {
    let Some(lock) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
    else {
        return Ok(Vec::new());
    };
    let packages = lock.get("package").and_then(|p| p.as_array());
    let mut out = Vec::new();
    for package in packages.into_iter().flatten() {
        let Some(source) = package.get("source").and_then(|s| s.as_table()) else {
            continue;
        };
        let name = package.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let inside = |rel: &str| -> Result<PathBuf, String> {
            let path = root.join(rel);
            let refused = |why: String| format!("package {name:?}: names {rel:?}, {why}");
            if Path::new(rel).is_absolute() {
                return Ok(path);
            }
            if !fsutil::stays_inside(0, Path::new(rel)) {
                return Err(refused(format!(
                    "outside the project {}: name a file inside the project, or one elsewhere by its absolute path",
                    root.display()
                )));
            }
            fsutil::resolve_inside(root, &path).map_err(|e| refused(e.to_string()))?;
            Ok(path)
        };
        let local = |s: &str| !s.contains("://");
        if let Some(registry) = source.get("registry").and_then(|r| r.as_str())
            && local(registry)
        {
            let wheels = package.get("wheels").and_then(|w| w.as_array());
            let sdist = package.get("sdist");
            for artefact in wheels.into_iter().flatten().chain(sdist) {
                if let Some(path) = artefact.get("path").and_then(|p| p.as_str()) {
                    let rel = Path::new(registry).join(path);
                    out.push(inside(&rel.to_string_lossy())?);
                }
            }
        }
        if let Some(path) = source.get("path").and_then(|p| p.as_str())
            && local(path)
        {
            out.push(inside(path)?);
        }
        for tree in ["directory", "editable", "virtual"] {
            if let Some(path) = source.get(tree).and_then(|p| p.as_str()) {
                inside(path)?;
            }
        }
    }
    Ok(out)
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
            local_files(root, lock.as_bytes()).unwrap(),
            [
                "wheels/alpha-1.0-py3-none-any.whl",
                "wheels/alpha-1.0.tar.gz",
                "dist/local-2.0-py3-none-any.whl",
            ]
            .map(|f| root.join(f))
        );
        assert_eq!(local_files(root, b"not [ toml"), Ok(Vec::new()));
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
        ] {
            let e = local_files(&root, lock(source).as_bytes()).unwrap_err();
            assert!(e.contains("package \"x\""), "{source}: {e}");
            assert!(e.contains(&format!("{named:?}")), "{source}: {e}");
            assert!(e.contains("outside the project"), "{source}: {e}");
        }
        let registry = "{ registry = \"out\" }\nwheels = [{ path = \"x.whl\" }]";
        let e = local_files(&root, lock(registry).as_bytes()).unwrap_err();
        assert!(e.contains("outside the project"), "{e}");
        let absolute = dir.path().join("x.whl");
        let source = format!("{{ path = {:?} }}", absolute.to_str().unwrap());
        assert_eq!(
            local_files(&root, lock(&source).as_bytes()),
            Ok(vec![absolute])
        );
        // Inside, through a link that stays inside: fine.
        std::os::unix::fs::symlink(root.join("in"), root.join("alias")).unwrap();
        std::fs::write(root.join("in/y.whl"), "y").unwrap();
        let source = "{ path = \"alias/y.whl\" }";
        assert_eq!(
            local_files(&root, lock(source).as_bytes()),
            Ok(vec![root.join("alias/y.whl")])
        );
    }
}
