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

/// What a lock is made from: the digest `[tool.pyenv-guix].inputs`
/// records, which decides whether the lock is stale, and a short digest
/// of each part (`made-from`), which only says which part changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub whole: String,
    pub parts: Vec<(&'static str, String)>,
}

/// The parts, by the key `made-from` gives them and as messages name them.
pub const PARTS: &[(&str, &str)] = &[
    ("interpreter", "the interpreter"),
    ("profile", "the Guix profile"),
    ("requirements", "the requirements"),
    (
        "editable-projects",
        "an editable project's pyproject.toml, setup.cfg or setup.py",
    ),
    ("options", "the pip options"),
];

/// How much of a part's digest is kept: it names a change, it decides
/// nothing.
const PART_LEN: usize = 16;

/// The inputs of a lock for `scan` now. `profile` is the Guix profile's
/// key, when the project has one.
pub fn inputs_digest(
    scan: &Scan,
    root: &Path,
    pip: &Pip,
    facts: &Facts,
    profile: Option<&str>,
) -> Result<Inputs, Unreadable> {
    let here = |p: &Path| exact(p.strip_prefix(root).unwrap_or(p));
    let interpreter = vec![
        facts.identity(),
        format!("mode {}", pip.mode),
        format!("system-site-packages {}", pip.system_site_packages),
    ];
    let profile = vec![format!("profile {}", profile.unwrap_or("none"))];
    let mut reqs: Vec<String> = (scan.packages.iter())
        .map(|w| match w {
            Word::Lit(s) => Ok(canonical_spacing(s)),
            w => word(scan, w, root, 0),
        })
        .collect::<Result<_, _>>()?;
    reqs.sort();
    let mut requirements: Vec<String> = (reqs.into_iter())
        .map(|r| format!("requirement {r}"))
        .collect();
    requirements.extend(
        scan.editable
            .iter()
            .map(|e| format!("editable {}", here(e))),
    );
    for &i in &scan.requirements {
        requirements.push(format!("requirements {}", file(scan, i, root, 0)?));
    }
    // An editable project's dependencies are in its own metadata files:
    // a change there is a change to what the lock was made from. Its
    // source is live, and is not.
    let mut editable = Vec::new();
    for dir in scan.editable_dirs(root) {
        for name in METADATA_FILES {
            let id = match hash_file(&dir.join(name), TEXT_LIMIT) {
                Ok(id) => id,
                Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    "none".to_string()
                }
                Err(e) => return Err(e),
            };
            editable.push(format!("editable-project {} {name} {id}", here(&dir)));
        }
    }
    let options = (scan.options.iter())
        .map(|w| Ok(format!("option {:?}", word(scan, w, root, 0)?)))
        .collect::<Result<Vec<_>, Unreadable>>()?;
    // The whole, in the order locks written before the parts have it.
    let digest = |lines: &[&[String]]| {
        let text: Vec<&str> = lines
            .iter()
            .flat_map(|l| l.iter())
            .map(String::as_str)
            .collect();
        hex(&Sha256::digest((text.join("\n") + "\n").as_bytes()))
    };
    let head = vec!["pyenv-guix lock inputs 1".to_string()];
    let whole = digest(&[
        &head,
        &interpreter[..1],
        &profile,
        &interpreter[1..],
        &requirements,
        &editable,
        &options,
    ]);
    let parts = [interpreter, profile, requirements, editable, options];
    let parts = PARTS
        .iter()
        .zip(parts)
        .map(|((key, _), lines)| (*key, digest(&[&lines])[..PART_LEN].to_string()))
        .collect();
    Ok(Inputs { whole, parts })
}

/// What changed between the parts a lock was made from (`then`) and
/// those of now, as a message says it; `None` when the lock does not
/// record them, or they do not tell.
pub fn what_changed(then: &[(String, String)], now: &Inputs) -> Option<String> {
    if then.is_empty() {
        return None;
    }
    let changed: Vec<&str> = PARTS
        .iter()
        .zip(&now.parts)
        .filter(|(_, (key, d))| {
            then.iter()
                .find(|(k, _)| k == key)
                .is_none_or(|(_, was)| was != d)
        })
        .map(|((_, said), _)| *said)
        .collect();
    match changed.is_empty() {
        true => None,
        false => Some(format!(
            "{} changed since it was written",
            crate::log::and_list(&changed)
        )),
    }
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
    for (_, line) in &scan.inputs[i].lines {
        let words = (line.iter())
            .map(|w| word(scan, w, root, depth))
            .collect::<Result<Vec<_>, _>>()?;
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    Ok(hex(&Sha256::digest(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(parts: [&str; 5]) -> Inputs {
        Inputs {
            whole: String::new(),
            parts: PARTS
                .iter()
                .zip(parts)
                .map(|((k, _), d)| (*k, d.to_string()))
                .collect(),
        }
    }

    #[test]
    fn what_changed_names_each_part_that_differs_and_nothing_it_cannot_tell() {
        let then: Vec<(String, String)> = inputs(["i", "p", "r", "e", "o"])
            .parts
            .into_iter()
            .map(|(k, d)| (k.to_string(), d))
            .collect();
        let said = |now| what_changed(&then, &inputs(now));
        assert_eq!(said(["i", "p", "r", "e", "o"]), None);
        assert_eq!(
            said(["i", "p", "R", "e", "o"]).as_deref(),
            Some("the requirements changed since it was written")
        );
        assert_eq!(
            said(["I", "P", "r", "e", "O"]).as_deref(),
            Some(
                "the interpreter, the Guix profile and the pip options changed since it was written"
            )
        );
        // A lock written before it recorded its parts: no claim.
        assert_eq!(what_changed(&[], &inputs(["I"; 5])), None);
        // A part it did not record counts as changed.
        assert_eq!(
            what_changed(&then[..4], &inputs(["i", "p", "r", "e", "o"])).as_deref(),
            Some("the pip options changed since it was written")
        );
    }
}
