//! What `init` reads a project's requirements from: a requirements file
//! (followed through `-r` and `-c` as pip follows them, only to report and
//! place what is in them: the manifest names the file, never its lines),
//! or a pyproject.toml's dependencies, extras and dependency groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::requirement::{self, normal_name};

/// Largest file read, as for the build (`pip::TEXT_LIMIT`).
const LIMIT: u64 = crate::pip::TEXT_LIMIT;
/// How deep `-r` inside `-r` is followed, as for the build.
const DEPTH_LIMIT: usize = 16;
/// How many files are followed, as for the build.
const FILES_LIMIT: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}:{line}: {option}: {why}", path.display())]
    Include {
        path: PathBuf,
        line: usize,
        option: String,
        why: String,
    },
    #[error("{}: {message}", path.display())]
    Pyproject { path: PathBuf, message: String },
}

/// Where a requirement came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a requirements file the manifest names (directly or
    /// through `-r`); `hashed`: the file pins artifacts by hash.
    File {
        path: PathBuf,
        line: usize,
        hashed: bool,
    },
    /// A dependency of the project itself, installed editable.
    Project { path: PathBuf, table: String },
    /// A string from pyproject.toml that the manifest will hold itself.
    Listed { path: PathBuf, table: String },
}

/// One requirement found.
#[derive(Debug, Clone)]
pub struct Found {
    pub text: String,
    pub origin: Origin,
}

/// Everything found from one `--from`.
#[derive(Debug, Default)]
pub struct Sources {
    pub requirements: Vec<Found>,
    /// Constraint lines (`-c` files), by PEP 503 name.
    pub constraints: BTreeMap<String, Vec<Found>>,
    /// Editable installs: `-e` lines of the files (pip reads them there),
    /// or the project itself.
    pub editable: Vec<Found>,
    /// The pyproject's project, to install editable (relative to the
    /// root, with the extras chosen), when it can be built.
    pub project: Option<String>,
    /// The pyproject's `[project].requires-python`, as written.
    pub requires_python: Option<String>,
}

/// Read a requirements file and what it includes.
pub fn requirements_file(path: &Path) -> Result<Sources, SourceError> {
    let mut s = Sources::default();
    let mut stack = Vec::new();
    let mut seen = Vec::new();
    read_file(&mut s, path, false, &mut stack, &mut seen)?;
    Ok(s)
}

fn read_text(path: &Path) -> Result<String, SourceError> {
    let bytes = crate::fsutil::read_limited(path, LIMIT).map_err(|source| SourceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

fn read_file(
    s: &mut Sources,
    path: &Path,
    constraint: bool,
    stack: &mut Vec<PathBuf>,
    seen: &mut Vec<PathBuf>,
) -> Result<(), SourceError> {
    let text = read_text(path)?;
    let lines = crate::pip::reqfile::logical_lines(&text);
    let hashed = lines
        .iter()
        .any(|(_, l)| l.contains("--hash") || l.starts_with("--require-hashes"));
    let dir = path.parent().unwrap_or(Path::new("/"));
    let same = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    stack.push(same.clone());
    seen.push(same);
    for (line, text) in lines {
        if !text.starts_with('-') {
            // `REQ --hash=…`: the requirement, then its own options.
            let req = match text.find(" -") {
                Some(at) => text[..at].trim(),
                None => text.as_str(),
            };
            let found = Found {
                text: req.to_string(),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line,
                    hashed,
                },
            };
            if constraint {
                let name = requirement::parse(req)
                    .map(|r| r.name)
                    .unwrap_or_else(|_| normal_name(req));
                s.constraints.entry(name).or_default().push(found);
            } else {
                s.requirements.push(found);
            }
            continue;
        }
        let Some((flag, value)) = option(&text) else {
            continue;
        };
        let include = |why: String| SourceError::Include {
            path: path.to_path_buf(),
            line,
            option: format!("{flag} {value}"),
            why,
        };
        match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                // pip reads a nested file relative to the file naming it.
                let nested = dir.join(&value);
                let canonical = std::fs::canonicalize(&nested)
                    .map_err(|e| include(format!("{}: {e}", nested.display())))?;
                if stack.contains(&canonical) {
                    return Err(include(format!("{} includes itself", nested.display())));
                }
                if seen.contains(&canonical) {
                    continue;
                }
                if stack.len() > DEPTH_LIMIT {
                    return Err(include(format!("nested more than {DEPTH_LIMIT} deep")));
                }
                if seen.len() >= FILES_LIMIT {
                    return Err(include(format!(
                        "one of more than {FILES_LIMIT} files: the build would refuse them"
                    )));
                }
                let is_constraint = constraint || matches!(flag, "-c" | "--constraint");
                read_file(s, &nested, is_constraint, stack, seen)
                    .map_err(|e| include(e.to_string()))?;
            }
            "-e" | "--editable" if !constraint => s.editable.push(Found {
                text: format!("-e {value}"),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line,
                    hashed,
                },
            }),
            _ => {}
        }
    }
    stack.pop();
    Ok(())
}

/// `-r x`, `-rx`, `--requirement=x`, `--requirement x` and the same for
/// `-c` and `-e`: the flag and its value. Other options: `None`.
fn option(line: &str) -> Option<(&'static str, String)> {
    let words = shell_words::split(line).ok()?;
    let first = words.first()?;
    for (short, long) in [
        ("-r", "--requirement"),
        ("-c", "--constraint"),
        ("-e", "--editable"),
    ] {
        let value = if first == short || first == long {
            words.get(1).cloned()
        } else if let Some(v) = first.strip_prefix(&format!("{long}=")) {
            Some(v.to_string())
        } else if let Some(v) = first
            .strip_prefix(short)
            .filter(|v| !v.is_empty() && !first.starts_with("--"))
        {
            Some(v.to_string())
        } else {
            continue;
        };
        return value.map(|v| (short, v));
    }
    None
}

/// A pyproject.toml's `[project].dependencies`, the optional dependencies
/// of `extras`, and the dependency groups `groups` (PEP 735, with
/// `include-group` followed). `root` is the project's directory. For a uv
/// project (`uv_project`), a uv workspace's virtual root (no `[project]`)
/// has nothing of its own to read: uv syncs its members' lock.
pub fn pyproject(
    path: &Path,
    root: &Path,
    groups: &[String],
    extras: &[String],
    uv_project: bool,
) -> Result<Sources, SourceError> {
    let fail = |message: String| SourceError::Pyproject {
        path: path.to_path_buf(),
        message,
    };
    let text = read_text(path)?;
    let doc: toml::Table =
        toml::from_str(&text).map_err(|e| fail(e.to_string().trim_end().to_string()))?;
    let project = doc.get("project").and_then(|p| p.as_table());
    let workspace = doc
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("workspace"))
        .is_some();
    if project.is_none() && uv_project && workspace {
        return Ok(Sources::default());
    }
    if project.is_none() && groups.is_empty() {
        return Err(fail(match workspace {
            true => "has no [project] table: it is a uv workspace's virtual root; build what 'uv sync' builds there with --uv-project, or name a dependency group with --group".into(),
            false => "has no [project] table: name a dependency group with --group, or a requirements file".into(),
        }));
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    // Built and installed editable, the project brings its own
    // dependencies; else they are listed.
    let installable =
        project.is_some() && (doc.contains_key("build-system") || dir.join("setup.py").is_file());
    let mut s = Sources::default();
    let origin = |table: String| {
        let path = path.to_path_buf();
        if installable {
            Origin::Project { path, table }
        } else {
            Origin::Listed { path, table }
        }
    };
    let strings = |v: Option<&toml::Value>, table: &str| -> Result<Vec<String>, SourceError> {
        let Some(v) = v else { return Ok(Vec::new()) };
        let array = v
            .as_array()
            .ok_or_else(|| fail(format!("{table} is not an array")))?;
        array
            .iter()
            .map(|d| {
                d.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| fail(format!("{table} holds {d}, not a requirement string")))
            })
            .collect()
    };
    let project = project.cloned().unwrap_or_default();
    s.requires_python = (project.get("requires-python"))
        .and_then(|v| v.as_str())
        .map(|v| v.trim().to_string());
    for text in strings(project.get("dependencies"), "[project].dependencies")? {
        s.requirements.push(Found {
            text,
            origin: origin("[project].dependencies".into()),
        });
    }
    let optional = project
        .get("optional-dependencies")
        .and_then(|o| o.as_table())
        .cloned()
        .unwrap_or_default();
    let mut chosen = Vec::new();
    for extra in extras {
        let Some((name, deps)) = optional
            .iter()
            .find(|(k, _)| normal_name(k) == normal_name(extra))
        else {
            let have: Vec<&str> = optional.keys().map(String::as_str).collect();
            return Err(fail(format!(
                "has no optional dependencies `{extra}` (it has: {})",
                none_or(&have)
            )));
        };
        let table = format!("[project.optional-dependencies].{name}");
        for text in strings(Some(deps), &table)? {
            s.requirements.push(Found {
                text,
                origin: origin(table.clone()),
            });
        }
        chosen.push(name.clone());
    }
    if installable {
        let rel = dir.strip_prefix(root).unwrap_or(dir);
        let mut at = if rel.as_os_str().is_empty() {
            ".".to_string()
        } else {
            rel.display().to_string()
        };
        if !chosen.is_empty() {
            at = format!("{at}[{}]", chosen.join(","));
        }
        s.editable.push(Found {
            text: at.clone(),
            origin: Origin::Listed {
                path: path.to_path_buf(),
                table: "[project]".into(),
            },
        });
        s.project = Some(at);
    }
    let all = doc
        .get("dependency-groups")
        .and_then(|g| g.as_table())
        .cloned()
        .unwrap_or_default();
    for group in groups {
        let mut trail = Vec::new();
        for text in group_requirements(&all, group, &mut trail).map_err(fail)? {
            // One row for a requirement that groups share, as the
            // manifest holds it once.
            if s.requirements.iter().any(|f| f.text == text) {
                continue;
            }
            s.requirements.push(Found {
                text,
                origin: Origin::Listed {
                    path: path.to_path_buf(),
                    table: format!("[dependency-groups].{group}"),
                },
            });
        }
    }
    Ok(s)
}

/// A group's requirement strings, `{include-group = …}` expanded in place
/// (PEP 735: names compare normalised; a group that includes itself is an
/// error).
fn group_requirements(
    all: &toml::Table,
    group: &str,
    trail: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let Some((name, entries)) = all
        .iter()
        .find(|(k, _)| normal_name(k) == normal_name(group))
    else {
        let have: Vec<&str> = all.keys().map(String::as_str).collect();
        return Err(format!(
            "has no dependency group `{group}` (it has: {})",
            none_or(&have)
        ));
    };
    if trail.contains(&normal_name(name)) {
        return Err(format!(
            "dependency group `{name}` includes itself ({} -> {name})",
            trail.join(" -> ")
        ));
    }
    trail.push(normal_name(name));
    let entries = entries
        .as_array()
        .ok_or_else(|| format!("[dependency-groups].{name} is not an array"))?;
    let mut out = Vec::new();
    for e in entries {
        if let Some(text) = e.as_str() {
            out.push(text.trim().to_string());
        } else if let Some(inner) = e
            .as_table()
            .and_then(|t| t.get("include-group"))
            .and_then(|g| g.as_str())
        {
            out.extend(group_requirements(all, inner, trail)?);
        } else {
            return Err(format!(
                "[dependency-groups].{name} holds {e}, neither a requirement nor {{include-group = …}}"
            ));
        }
    }
    trail.pop();
    Ok(out)
}

fn none_or(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
