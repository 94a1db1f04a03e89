//! What a Guix profile lacks of what pip would install: pip's dry run,
//! with the profile's packages visible, names each missing artifact, and
//! the installer then installs exactly those.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::pip::error::io;
use crate::pip::report::Item;
use crate::pip::run::{Failure, run};
use crate::{fsutil, log};

/// With a Guix profile: `pip install --dry-run --report` with the
/// profile's packages visible says what it lacks. Each is then named by
/// the very artifact pip chose (`name @ URL`, with its hash; `-e URL` for
/// an editable install), in a requirements file of ours given as `-r`, to
/// install with `--no-deps` (and said, as how far the build got). A bare
/// `name==version` would let an index stand in for a local project of
/// the same name, and lose the options a requirements file gave. `None`,
/// with the prefix made empty, when the profile has everything.
pub(super) fn lacking(
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
    let parsed = crate::pip::report::read(&report);
    let _ = std::fs::remove_file(&report);
    let dry = parsed.map_err(|e| Failure::Pip {
        status: format!("unreadable pip report: {e}"),
        tail: e.to_string(),
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
fn exact_requirements(items: &[Item]) -> String {
    let hashed = !items.iter().any(Item::is_editable) && items.iter().all(|i| i.sha256().is_some());
    let mut out = String::new();
    for i in items {
        let url = &i.download_info.url;
        if i.is_editable() {
            out.push_str(&format!("-e {url}\n"));
            continue;
        }
        out.push_str(&format!("{} @ {url}", i.metadata.name));
        if hashed && let Some(sha) = i.sha256() {
            out.push_str(&format!(" --hash=sha256:{sha}"));
        }
        out.push('\n');
    }
    out
}
