//! Binary wheels on Guix. A manylinux wheel expects some libraries from
//! the system (libstdc++, libgomp, libz, libGL, …); on Guix there is no
//! system library directory, and the interpreter's loader looks only where
//! each file's RUNPATH says. After a build on a Guix interpreter, the
//! libraries the installed ELF files need and nothing provides are found
//! in Guix packages, and those packages' store directories are written
//! into the files' RUNPATH, as Nix's autoPatchelf does. Nothing is
//! exported: other programs, started from the project, load what they
//! always did.

mod elf;
mod patch;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::interpreter::Facts;

pub use table::package_for;

/// What a prefix got from Guix: recorded in its layout, shown by
/// `status`, kept alive by `gc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    /// The profile holding the packages pulled in (and patchelf): a Guix
    /// GC root for the store directories written into RUNPATHs.
    #[serde(default, with = "crate::fsutil::paths")]
    pub profile: Option<PathBuf>,
    /// Each library found, where, and for which file.
    #[serde(default)]
    pub found: Vec<Found>,
    /// Files rewritten, by path, with their new SHA-256 in RECORD's
    /// encoding: the integrity check holds them to these.
    #[serde(default)]
    pub patched: BTreeMap<String, String>,
    /// Libraries nothing provided, when the project asked only to be told.
    #[serde(default)]
    pub missing: Vec<Unprovided>,
}

impl Linked {
    /// The packages pulled in, each with the libraries it gave.
    pub fn packages(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for f in &self.found {
            out.entry(f.provider.as_str())
                .or_default()
                .insert(f.library.as_str());
        }
        out
    }
}

/// One library one file needed, and what provides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub library: String,
    /// The file that needs it, relative to the prefix.
    pub needed_by: String,
    /// A Guix package name, `the interpreter` or `the project's profile`.
    pub provider: String,
    /// The store directory written into the file's RUNPATH.
    pub dir: String,
}

/// A library no one provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unprovided {
    pub library: String,
    /// The file that needs it, relative to the prefix.
    pub needed_by: String,
    /// The distribution that installed that file, `name version`.
    pub wheel: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{}", missing_message(.0))]
    Missing(Vec<Unprovided>),
    #[error("cannot build the Guix profile of the libraries {packages}: {source}")]
    Profile {
        packages: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "Guix package {package} was expected to provide {library}, and its profile {profile} has no lib/{library}"
    )]
    NotInPackage {
        package: String,
        library: String,
        profile: PathBuf,
    },
    #[error("cannot set the RUNPATH of {file}: {message}")]
    Patch { file: PathBuf, message: String },
    #[error("cannot read {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
}

fn missing_message(all: &[Unprovided]) -> String {
    let mut s = String::from(
        "the wheels need libraries that neither they, the interpreter, the project's Guix profile nor a known Guix package provide:",
    );
    for u in all {
        s.push_str(&format!("\n  {} (needed by {}", u.library, u.needed_by));
        if let Some(w) = &u.wheel {
            s.push_str(&format!(", from {w}"));
        }
        s.push(')');
    }
    s.push_str(
        "\nAdd the Guix package that provides each to [guix] packages in .pyguix.toml (`guix search` finds it).",
    );
    s
}

/// What a build gives to this step.
pub struct Request<'a> {
    pub facts: &'a Facts,
    /// The new generation: every ELF file under it is looked at.
    pub generation: &'a Path,
    /// The directories the installer put things in (site-packages,
    /// scripts), under `generation`.
    pub dirs: &'a [PathBuf],
    /// The project's Guix profile, when it has one: its libraries are
    /// used before any package is added.
    pub profile: Option<&'a Path>,
    /// Whether a library nothing provides fails the build.
    pub missing: MissingLibraries,
}

/// Builds a Guix profile of the given packages and returns its path.
pub type BuildProfile<'a> =
    &'a dyn Fn(&[String]) -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>>;

/// Find, for every ELF file the build installed, the libraries nothing
/// provides, pull them from Guix and write them into RUNPATH. On an
/// interpreter outside the Guix store this does nothing.
pub fn link(req: &Request, build_profile: BuildProfile) -> Result<Linked, LibraryError> {
    if req.facts.store_item.is_none() {
        return Ok(Linked::default());
    }
    let files = elf_files(req.dirs)?;
    if files.is_empty() {
        return Ok(Linked::default());
    }
    let own = Provided::of_interpreter(req.facts);
    let profile_lib = req.profile.map(|p| p.join("lib"));
    let mut found = Vec::new();
    let mut wanted: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    let mut unprovided = Vec::new();
    for (i, (file, dynamic)) in files.iter().enumerate() {
        let search = dynamic.search_dirs(file);
        for lib in &dynamic.needed {
            if search.iter().any(|d| d.join(lib).exists())
                || own
                    .loader_dir
                    .as_ref()
                    .is_some_and(|d| d.join(lib).exists())
            {
                continue;
            }
            let needed_by = relative(req.generation, file);
            if let Some(dir) = own.find(lib) {
                found.push(Found {
                    library: lib.clone(),
                    needed_by,
                    provider: "the interpreter".into(),
                    dir: dir.display().to_string(),
                });
            } else if let Some(dir) = profile_lib
                .as_deref()
                .and_then(|l| store_dir_of(&l.join(lib)))
            {
                found.push(Found {
                    library: lib.clone(),
                    needed_by,
                    provider: "the project's profile".into(),
                    dir: dir.display().to_string(),
                });
            } else if let Some(package) = package_for(lib) {
                wanted
                    .entry(package.to_string())
                    .or_default()
                    .push((i, lib.clone()));
            } else {
                unprovided.push(Unprovided {
                    library: lib.clone(),
                    wheel: owner(req.generation, req.dirs, file),
                    needed_by,
                });
            }
        }
    }
    if !unprovided.is_empty() {
        match req.missing {
            MissingLibraries::Fail => return Err(LibraryError::Missing(unprovided)),
            MissingLibraries::Warn => crate::log::warn(&missing_message(&unprovided)),
        }
    }
    if found.is_empty() && wanted.is_empty() {
        return Ok(Linked {
            missing: unprovided,
            ..Linked::default()
        });
    }
    // patchelf comes from Guix too: the same tool on every machine.
    let mut packages: Vec<String> = wanted.keys().cloned().collect();
    packages.push("patchelf".into());
    packages.sort();
    packages.dedup();
    let profile = build_profile(&packages).map_err(|source| LibraryError::Profile {
        packages: packages.join(" "),
        source,
    })?;
    for (package, needs) in &wanted {
        for (i, lib) in needs {
            let in_profile = profile.join("lib").join(lib);
            let dir = store_dir_of(&in_profile).ok_or_else(|| LibraryError::NotInPackage {
                package: package.clone(),
                library: lib.clone(),
                profile: profile.clone(),
            })?;
            found.push(Found {
                library: lib.clone(),
                needed_by: relative(req.generation, &files[*i].0),
                provider: package.clone(),
                dir: dir.display().to_string(),
            });
        }
    }
    found.sort_by(|a, b| (&a.needed_by, &a.library).cmp(&(&b.needed_by, &b.library)));
    let patchelf = profile.join("bin/patchelf");
    let mut patched = BTreeMap::new();
    for (file, dynamic) in &files {
        let rel = relative(req.generation, file);
        let mut search = dynamic.search.clone();
        for f in found.iter().filter(|f| f.needed_by == rel) {
            if !search.contains(&f.dir) {
                search.push(f.dir.clone());
            }
        }
        if search == dynamic.search {
            continue;
        }
        let digest = patch::set_runpath(&patchelf, file, &search)?;
        patched.insert(file.display().to_string(), digest);
    }
    Ok(Linked {
        profile: Some(profile),
        found,
        patched,
        missing: unprovided,
    })
}

/// Where the interpreter's own store items are: its loader's directory
/// (glibc, searched for every file), and the directories its executable,
/// libpython and extension modules search.
struct Provided {
    loader_dir: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Provided {
    fn of_interpreter(facts: &Facts) -> Provided {
        let mut loader_dir = None;
        let mut dirs = Vec::new();
        let mut look = |file: &Path| {
            let Ok(bytes) = std::fs::read(file) else {
                return;
            };
            let Ok(Some(d)) = elf::read(&bytes) else {
                return;
            };
            if loader_dir.is_none() {
                // Where the loader really is: glibc's own directory.
                loader_dir = d
                    .interpreter
                    .as_ref()
                    .and_then(|i| std::fs::canonicalize(i).ok())
                    .and_then(|i| i.parent().map(Path::to_path_buf));
            }
            for dir in d.search_dirs(file) {
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        };
        look(&facts.executable);
        if let Some(item) = &facts.store_item {
            let lib = item.join("lib");
            let dynload = lib
                .join(format!("python{}", facts.version_short))
                .join("lib-dynload");
            for dir in [lib, dynload] {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                names.sort();
                for f in names.iter().filter(|f| f.is_file() && is_shared_object(f)) {
                    look(f);
                }
            }
        }
        Provided { loader_dir, dirs }
    }

    /// The store directory one of the interpreter's items holds `lib` in.
    fn find(&self, lib: &str) -> Option<PathBuf> {
        self.dirs.iter().find_map(|d| store_dir_of(&d.join(lib)))
    }
}

fn is_shared_object(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".so") || n.contains(".so."))
}

/// The directory the file `path` really is in (links followed: a
/// profile's `lib/` holds links into the store items), if it exists.
fn store_dir_of(path: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).ok()?;
    real.is_file()
        .then(|| real.parent().map(Path::to_path_buf))?
}

fn relative(base: &Path, file: &Path) -> String {
    file.strip_prefix(base)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Every ELF file with a dynamic section under `dirs`, sorted, links
/// not followed (a wheel's files are plain files; a link could lead out).
fn elf_files(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, elf::Dynamic)>, LibraryError> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for dir in dirs {
        let mut stack = vec![(dir.clone(), 0usize)];
        while let Some((d, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(kind) = e.file_type() else { continue };
                let path = e.path();
                if kind.is_dir() && depth < 64 {
                    stack.push((path, depth + 1));
                } else if kind.is_file()
                    && seen.insert(path.clone())
                    && let Some(d) = read_elf(&path)?
                {
                    out.push((path, d));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn read_elf(path: &Path) -> Result<Option<elf::Dynamic>, LibraryError> {
    use std::io::Read;
    let read_err = |source| LibraryError::Read {
        file: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(read_err)?;
    let mut head = [0u8; 4];
    if f.read(&mut head).map_err(read_err)? < 4 || !elf::looks_like_elf(&head) {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    // A file that only starts like ELF is not one the loader would load.
    Ok(elf::read(&bytes).ok().flatten())
}

/// The distribution whose RECORD lists `file`, as `name version`.
fn owner(generation: &Path, dirs: &[PathBuf], file: &Path) -> Option<String> {
    for site in dirs.iter().filter(|site| file.starts_with(site)) {
        for e in std::fs::read_dir(site).ok()?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".dist-info") else {
                continue;
            };
            let Ok(record) = std::fs::read_to_string(e.path().join("RECORD")) else {
                continue;
            };
            if crate::pip::record_entries(generation, site, &record)
                .any(|(listed, _)| listed == file)
            {
                return Some(stem.replacen('-', " ", 1));
            }
        }
    }
    None
}

/// What a library the wheels need, and no Guix package pyenv-guix knows
/// provides, does to the build (the manifest's `[pip] missing-libraries`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingLibraries {
    /// The build fails, naming each library.
    #[default]
    Fail,
    /// The build goes on, and says which are missing.
    Warn,
}
