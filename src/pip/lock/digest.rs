//! What a lock was made from, as one digest: the requirements (files by
//! content), the options, the interpreter and the Guix profile. A lock
//! whose digest is not the project's own now is stale. The files in a
//! find-links directory or a local index are left out: a new wheel there
//! does not make a lock stale (that is what a lock is for).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fsutil::{exact, hex};
use crate::interpreter::Facts;
use crate::pip::hash::{TEXT_LIMIT, hash_file};
use crate::pip::reqfile::canonical_spacing;
use crate::pip::scan::{Kind, Scan, Word};
use crate::pip::{Pip, Unreadable};

/// The files of an editable project that say what it depends on.
const METADATA_FILES: &[&str] = &["pyproject.toml", "setup.cfg", "setup.py"];

/// How deep `-r` inside `-r` is followed here (the scan refused deeper).
const DEPTH: usize = 20;

/// The digest `[tool.pyenv-guix].inputs` records. `profile` is the Guix
/// profile's key, when the project has one.
pub fn inputs_digest(
    scan: &Scan,
    root: &Path,
    pip: &Pip,
    facts: &Facts,
    profile: Option<&str>,
) -> Result<String, Unreadable> {
    let here = |p: &Path| exact(p.strip_prefix(root).unwrap_or(p));
    let mut lines = vec![
        "pyenv-guix lock inputs 1".to_string(),
        facts.identity(),
        format!("profile {}", profile.unwrap_or("none")),
        format!("mode {}", pip.mode),
        format!("system-site-packages {}", pip.system_site_packages),
    ];
    let mut reqs: Vec<String> = (scan.packages.iter())
        .map(|w| match w {
            Word::Lit(s) => Ok(canonical_spacing(s)),
            w => word(scan, w, root, 0),
        })
        .collect::<Result<_, _>>()?;
    reqs.sort();
    lines.extend(reqs.into_iter().map(|r| format!("requirement {r}")));
    lines.extend(
        scan.editable
            .iter()
            .map(|e| format!("editable {}", here(e))),
    );
    for &i in &scan.requirements {
        lines.push(format!("requirements {}", file(scan, i, root, 0)?));
    }
    // An editable project's dependencies are in its own metadata files:
    // a change there is a change to what the lock was made from. Its
    // source is live, and is not.
    for dir in scan.editable_dirs(root) {
        for name in METADATA_FILES {
            let id = match hash_file(&dir.join(name), TEXT_LIMIT) {
                Ok(id) => id,
                Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    "none".to_string()
                }
                Err(e) => return Err(e),
            };
            lines.push(format!("editable-project {} {name} {id}", here(&dir)));
        }
    }
    for w in &scan.options {
        lines.push(format!("option {:?}", word(scan, w, root, 0)?));
    }
    Ok(hex(&Sha256::digest((lines.join("\n") + "\n").as_bytes())))
}

fn word(scan: &Scan, w: &Word, root: &Path, depth: usize) -> Result<String, Unreadable> {
    Ok(match w {
        Word::Lit(s) => s.clone(),
        Word::Ref(i, rest) => {
            let input = &scan.inputs[*i];
            let what = match input.kind {
                Kind::Requirements | Kind::Constraints => file(scan, *i, root, depth + 1)?,
                // A directory by where it is in the project, not by its files.
                Kind::FindLinks | Kind::Index => {
                    exact(input.path.strip_prefix(root).unwrap_or(&input.path))
                }
                _ => scan.id(*i)?.to_string(),
            };
            format!("<{} {what}>{rest}", input.kind.name())
        }
    })
}

/// A requirements file by its text, each input it names as `word` has it.
fn file(scan: &Scan, i: usize, root: &Path, depth: usize) -> Result<String, Unreadable> {
    if depth > DEPTH {
        return Err(Unreadable::NestedTooDeep(DEPTH));
    }
    let mut text = String::new();
    for line in &scan.inputs[i].lines {
        let words = (line.iter())
            .map(|w| word(scan, w, root, depth))
            .collect::<Result<Vec<_>, _>>()?;
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    Ok(hex(&Sha256::digest(text.as_bytes())))
}
