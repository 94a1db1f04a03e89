//! Changing a manifest for the user (`promote`, `pin`): through toml_edit,
//! so the user's comments, order and formatting stay; and a manifest that
//! was allowed before the change is allowed after it, since the user asked
//! for exactly this change. One that was not stays blocked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::context::Context;
use crate::manifest::Project;
use crate::pip::Scan;
use crate::{fsutil, log, trust};

pub struct Edit {
    doc: DocumentMut,
    /// The manifest's lines end in CRLF: so do the edited ones.
    crlf: bool,
}

impl Edit {
    pub fn open(project: &Project) -> anyhow::Result<Edit> {
        let text = std::str::from_utf8(&project.bytes)
            .with_context(|| format!("{} is not UTF-8", project.manifest_path.display()))?;
        let doc = text
            .parse::<DocumentMut>()
            .with_context(|| format!("{}", project.manifest_path.display()))?;
        Ok(Edit {
            doc,
            crlf: text.contains("\r\n"),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let text = self.doc.to_string();
        if self.crlf {
            // toml_edit writes what it makes with `\n`, and keeps the
            // file's own `\r\n` in what it kept.
            text.replace("\r\n", "\n")
                .replace('\n', "\r\n")
                .into_bytes()
        } else {
            text.into_bytes()
        }
    }

    /// `[table].key`, an array of strings, made if missing. A new table
    /// goes before the first existing one, where a reader looks first.
    fn array(&mut self, table: &str, key: &str) -> anyhow::Result<&mut Array> {
        let first = self
            .doc
            .iter()
            .filter_map(|(_, item)| item.as_table().and_then(Table::position))
            .min()
            .unwrap_or(0);
        if !self.doc.contains_key(table) {
            // A blank line between the new table and the one it precedes.
            for (_, item) in self.doc.iter_mut() {
                if let Some(t) = item.as_table_mut()
                    && t.position() == Some(first)
                    && t.decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or("")
                        .is_empty()
                {
                    t.decor_mut().set_prefix("\n");
                }
            }
        }
        let t = self.doc.entry(table).or_insert_with(|| {
            let mut t = Table::new();
            t.set_position(Some(first - 1));
            Item::Table(t)
        });
        let t = t
            .as_table_like_mut()
            .with_context(|| format!("[{table}] is not a table"))?;
        let item = t
            .entry(key)
            .or_insert(Item::Value(Value::Array(Array::new())));
        item.as_array_mut()
            .with_context(|| format!("[{table}].{key} is not an array"))
    }

    /// `[table].key`'s strings, as written.
    fn strings(&self, table: &str, key: &str) -> Vec<String> {
        self.doc
            .get(table)
            .and_then(|t| t.get(key))
            .and_then(Item::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `[pip].packages`, as written.
    pub fn pip_packages(&self) -> Vec<String> {
        self.strings("pip", "packages")
    }

    pub fn remove_pip_package(&mut self, text: &str) -> anyhow::Result<()> {
        let packages = self.array("pip", "packages")?;
        packages.retain(|v| v.as_str() != Some(text));
        Ok(())
    }

    /// Add `name` to `[guix].packages` unless it is there; whether it was added.
    pub fn add_guix_package(&mut self, name: &str) -> anyhow::Result<bool> {
        let packages = self.array("guix", "packages")?;
        if packages.iter().any(|v| v.as_str() == Some(name)) {
            return Ok(false);
        }
        packages.push(name);
        Ok(true)
    }

    pub fn guix_packages(&self) -> Vec<String> {
        self.strings("guix", "packages")
    }

    pub fn add_load_path(&mut self, dir: &str) -> anyhow::Result<()> {
        let dirs = self.array("guix", "load-path")?;
        if !dirs.iter().any(|v| v.as_str() == Some(dir)) {
            dirs.push(dir);
        }
        Ok(())
    }

    /// `[pip].lock = file`.
    pub fn set_pip_lock(&mut self, file: &str) -> anyhow::Result<()> {
        let pip = self
            .doc
            .get_mut("pip")
            .and_then(Item::as_table_like_mut)
            .context("the manifest has no [pip] table to name the lock in")?;
        pip.insert("lock", toml_edit::value(file));
        Ok(())
    }

    pub fn set_channels(&mut self, file: &str) -> anyhow::Result<()> {
        self.array("guix", "packages")?;
        let guix = self.doc["guix"]
            .as_table_like_mut()
            .context("[guix] is not a table")?;
        guix.insert("channels", toml_edit::value(file));
        Ok(())
    }
}

/// What `write` will change: each file's path, its bytes now (None: new),
/// its bytes then.
pub struct Change {
    pub path: PathBuf,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

impl Change {
    pub fn new(path: PathBuf, after: Vec<u8>) -> Change {
        let before = std::fs::read(&path).ok();
        Change {
            path,
            before,
            after,
        }
    }

    pub fn changes_anything(&self) -> bool {
        self.before.as_deref() != Some(&self.after[..])
    }

    /// A unified diff, as `--dry-run` shows it.
    pub fn diff(&self) -> String {
        let before = String::from_utf8_lossy(self.before.as_deref().unwrap_or_default());
        let after = String::from_utf8_lossy(&self.after);
        let name = self.path.display().to_string();
        let old = if self.before.is_some() {
            name.clone()
        } else {
            "/dev/null".to_string()
        };
        similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
            .unified_diff()
            .header(&old, &name)
            .to_string()
    }
}

/// Write `changes` (the manifest's last, so that a crash between leaves
/// the old manifest with new files it does not name, never the reverse),
/// and carry the manifest's trust over if it was allowed before.
pub fn write(ctx: &Context, project: &Project, changes: &[Change]) -> anyhow::Result<()> {
    let record = trust::record_path(&ctx.data_dir, &project.manifest_path)?;
    // What the user allowed, as read now: the trust carried over covers
    // this and the bytes written below, nothing else.
    let before = match trust::check(&record, project).0 {
        trust::Trust::Allowed(_, scan) => Some(scan),
        _ => None,
    };
    let mut ordered: Vec<&Change> = changes.iter().filter(|c| c.changes_anything()).collect();
    ordered.sort_by_key(|c| c.path == project.manifest_path);
    // Every path is checked before any is written: a refusal leaves the
    // project as it was. So is the manifest: one edited since it was read
    // (an editor, a checkout, while a resolver ran) is neither overwritten
    // nor allowed.
    for c in &ordered {
        fsutil::check_inside(&project.root, &c.path)?;
    }
    let now = fsutil::read_limited(&project.manifest_path, crate::manifest::LIMIT);
    if now.ok().as_deref() != Some(&project.bytes[..]) {
        anyhow::bail!(
            "{} changed while this ran: nothing was written; run it again",
            project.manifest_path.display()
        );
    }
    for c in ordered {
        fsutil::write_in_project(&project.root, &c.path, &c.after)
            .with_context(|| format!("cannot write {}", c.path.display()))?;
        log::info(&format!("wrote {}", c.path.display()));
    }
    let manifest = &project.manifest_path;
    let Some(before) = before else {
        log::notice(&format!(
            "{} was not allowed before this change, and stays blocked: review it, then run 'pyenv-guix allow'",
            manifest.display()
        ));
        return Ok(());
    };
    let edited = Project::load(manifest)?;
    // The manifest as reviewed, or as written here: anything else came
    // from someone else while this ran (an editor, a checkout).
    let meant = changes
        .iter()
        .find(|c| c.path == *manifest)
        .map_or(&project.bytes[..], |c| &c.after[..]);
    if edited.bytes != meant {
        log::notice(&format!(
            "{} stays blocked: it changed while this ran; review it, then run 'pyenv-guix allow'",
            manifest.display()
        ));
        return Ok(());
    }
    let scan = edited.scan();
    let written: BTreeMap<PathBuf, String> = changes
        .iter()
        .map(|c| (c.path.clone(), fsutil::hex(&Sha256::digest(&c.after))))
        .collect();
    if let Some(stranger) = unreviewed(&before, &scan, &written) {
        log::notice(&format!(
            "{} stays blocked: {} was not reviewed (this change brought it in, or it changed since the check); review it, then run 'pyenv-guix allow'",
            manifest.display(),
            stranger.display()
        ));
        return Ok(());
    }
    match trust::allow_scanned(&record, &edited, &scan) {
        Err(trust::TrustError::Unusable(problem)) => {
            log::notice(&format!("{} is blocked: {problem}", manifest.display()));
            return Ok(());
        }
        other => other?,
    }
    log::info(&format!(
        "allowed {}: it was allowed before, and this is the change you asked for",
        manifest.display()
    ));
    Ok(())
}

/// A file the edited project reads that is neither as the user allowed it
/// nor as this command wrote it: one a new load-path brought in, or one
/// changed while the command ran.
fn unreviewed(before: &Scan, after: &Scan, written: &BTreeMap<PathBuf, String>) -> Option<PathBuf> {
    let old = before.files();
    let new = after.files();
    let changed = |path: &PathBuf, hash: Option<&String>| match written.get(path) {
        Some(ours) => hash != Some(ours),
        None => old.get(path) != hash,
    };
    new.iter()
        .find(|(path, hash)| changed(path, Some(hash)))
        .map(|(path, _)| path.clone())
        .or_else(|| {
            old.keys()
                .find(|path| !new.contains_key(*path) && !written.contains_key(*path))
                .cloned()
        })
}
