//! Writing a lock: pip's dry-run report as PEP 751 `pylock.toml` (uv
//! writes its own), and our `[tool.pyenv-guix]` table into either.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value, value};

use crate::pip::hash::{DIST_LIMIT, hash_file};
use crate::pip::report::{self, Report};
use crate::pip::reqfile::normal_name;

/// The lock a report describes: each package with the one file pip chose,
/// by its URL and sha256; a file under `lock_dir` by its path relative to
/// it, so that the lock holds in another checkout of the project.
pub(super) fn from_report(report: &Report, lock_dir: &Path) -> Result<String, String> {
    let mut items: Vec<&report::Item> = report.install.iter().collect();
    items.sort_by_key(|i| normal_name(&i.metadata.name));
    let mut packages = ArrayOfTables::new();
    for i in items {
        let name = &i.metadata.name;
        let url = &i.download_info.url;
        if i.is_editable() {
            packages.push(editable(name, url, lock_dir)?);
            continue;
        }
        if !i.is_archive() {
            return Err(format!(
                "cannot lock {name}: pip would install it from {url}, a directory or a VCS checkout, which has no hash; install a local project editable (`-e`)"
            ));
        }
        let sha256 = match i.sha256() {
            Some(h) => h.to_string(),
            // pip names a local file it did not hash: we hash it.
            None => match url.strip_prefix("file://") {
                Some(path) => hash_file(Path::new(path), DIST_LIMIT)
                    .map_err(|e| format!("cannot lock {name}: {path}: {e}"))?,
                None => return Err(format!("cannot lock {name}: pip gives no sha256 for {url}")),
            },
        };
        let file_name = url.rsplit('/').next().unwrap_or_default();
        let mut file = InlineTable::new();
        file.insert("name", file_name.into());
        match inside(url, lock_dir) {
            Some(path) => file.insert("path", path.into()),
            None => file.insert("url", url.as_str().into()),
        };
        let mut hashes = InlineTable::new();
        hashes.insert("sha256", sha256.into());
        file.insert("hashes", Value::InlineTable(hashes));
        let mut t = Table::new();
        t["name"] = value(name.as_str());
        t["version"] = value(i.metadata.version.as_str());
        if file_name.ends_with(".whl") {
            let mut wheels = Array::new();
            wheels.push(Value::InlineTable(file));
            t["wheels"] = value(wheels);
        } else if i.is_direct {
            t["archive"] = Item::Value(Value::InlineTable(file));
        } else {
            t["sdist"] = Item::Value(Value::InlineTable(file));
        }
        packages.push(t);
    }
    let mut doc = DocumentMut::new();
    doc["lock-version"] = value("1.0");
    doc["created-by"] = value("pyenv-guix");
    doc["packages"] = Item::ArrayOfTables(packages);
    Ok(doc.to_string())
}

/// The project installed editable, as uv writes it: by its directory
/// relative to the lock's, with no version (a source tree's is its own).
fn editable(name: &str, url: &str, lock_dir: &Path) -> Result<Table, String> {
    let path = match url.strip_prefix("file://") {
        Some(rest) => PathBuf::from(OsString::from_vec(super::file_url_bytes(rest)?)),
        None => return Err(format!("cannot lock {name}: an editable install of {url}")),
    };
    let rel = match path.strip_prefix(lock_dir) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => rel
            .to_str()
            .ok_or_else(|| format!("cannot lock {name}: {} is not UTF-8", path.display()))?
            .to_string(),
        Err(_) => {
            return Err(format!(
                "cannot lock {name}: it is installed editable from {}, outside the lock's directory {}",
                path.display(),
                lock_dir.display()
            ));
        }
    };
    let mut dir = InlineTable::new();
    dir.insert("path", rel.into());
    dir.insert("editable", true.into());
    let mut t = Table::new();
    t["name"] = value(name);
    t["directory"] = Item::Value(Value::InlineTable(dir));
    Ok(t)
}

/// A `file:` URL's path relative to `dir`, if it is under it.
fn inside(url: &str, dir: &Path) -> Option<String> {
    let bytes = super::file_url_bytes(url.strip_prefix("file://")?).ok()?;
    let path = Path::new(std::str::from_utf8(&bytes).ok()?);
    let rel = path.strip_prefix(dir).ok()?;
    rel.to_str().filter(|r| !r.is_empty()).map(String::from)
}

/// `text` (a lock) with `[tool.pyenv-guix]` recording `digest`, the
/// inputs it was made from, and `packages`, the digest of its packages
/// (`Lock::packages_digest`).
pub fn with_our_table(
    text: &str,
    inputs: &super::Inputs,
    packages: &str,
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let tool = doc.entry("tool").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let tool = tool.as_table_mut().ok_or("its `tool` is not a table")?;
    let mut ours = Table::new();
    ours.decor_mut().set_prefix(
        "\n# What this lock was made from; `pyenv-guix lock --check` tells whether it still is.\n",
    );
    ours["inputs"] = value(&inputs.whole);
    ours["packages"] = value(packages);
    let mut parts = toml_edit::InlineTable::new();
    for (key, digest) in &inputs.parts {
        parts.insert(*key, digest.as_str().into());
    }
    ours["made-from"] = value(parts);
    tool.insert("pyenv-guix", Item::Table(ours));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_becomes_a_lock_that_reads_back() {
        let report: Report = serde_json::from_str(
            r#"{"version": "1", "install": [
              {"metadata": {"name": "beta", "version": "2.0"}, "download_info": {"url": "file:///w/beta-2.0-py3-none-any.whl", "archive_info": {"hash": "sha256=aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"}}},
              {"metadata": {"name": "Alpha", "version": "1.0"}, "is_direct": false, "download_info": {"url": "https://x.org/Alpha-1.0.tar.gz", "archive_info": {"hashes": {"sha256": "bb11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"}}}}
            ]}"#,
        )
        .unwrap();
        let inputs = super::super::Inputs {
            whole: "dd".into(),
            parts: vec![("requirements", "ff".into())],
        };
        let text = with_our_table(
            &from_report(&report, Path::new("/w")).unwrap(),
            &inputs,
            "ee",
        )
        .unwrap();
        assert!(
            text.contains("path = \"beta-2.0-py3-none-any.whl\""),
            "{text}"
        );
        let lock =
            super::super::parse(&text, Path::new("/elsewhere"), Path::new("/elsewhere")).unwrap();
        assert_eq!(
            lock.packages[1].artefacts[0].source,
            super::super::Source::InProject("/elsewhere/beta-2.0-py3-none-any.whl".into())
        );
        assert_eq!(lock.inputs.as_deref(), Some("dd"));
        assert_eq!(lock.packages_written.as_deref(), Some("ee"));
        let names: Vec<&str> = lock.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Alpha", "beta"]);
        assert!(
            text.contains("[packages.sdist]") || text.contains("sdist = {"),
            "{text}"
        );
        assert!(text.contains("wheels = [{"), "{text}");
    }

    #[test]
    fn a_directory_is_locked_only_editable_and_in_the_locks_directory() {
        let report = |dir_info: &str| -> Report {
            serde_json::from_str(&format!(
                r#"{{"install": [{{"metadata": {{"name": "me", "version": "0"}}, "download_info": {{"url": "file:///src/me", "dir_info": {dir_info}}}}}]}}"#
            ))
            .unwrap()
        };
        let text = from_report(&report(r#"{"editable": true}"#), Path::new("/src/me")).unwrap();
        assert!(
            text.contains("directory = { path = \".\", editable = true }"),
            "{text}"
        );
        let lock = super::super::parse(&text, Path::new("/p"), Path::new("/p")).unwrap();
        assert_eq!(lock.editable[0].path, Path::new("/p/."));
        assert!(lock.packages.is_empty());
        let sub = from_report(&report(r#"{"editable": true}"#), Path::new("/src")).unwrap();
        assert!(sub.contains("path = \"me\""), "{sub}");
        let out = from_report(&report(r#"{"editable": true}"#), Path::new("/src/other"));
        assert!(out.unwrap_err().contains("outside the lock's directory"));
        let plain = from_report(&report("{}"), Path::new("/src/me"));
        assert!(plain.unwrap_err().contains("cannot lock me"));
    }
}
