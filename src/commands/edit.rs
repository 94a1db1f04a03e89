use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::inputs::Scan;
use crate::manifest::{self, Project};
use crate::{log, trust};

/// Edit a project's manifest, and allow it if the result is valid
///
/// Opens $VISUAL, else $EDITOR (split as a shell would), on the manifest
/// found from PATH, or on a new one in PATH (a commented template) when
/// there is none at or above it. When the editor exits successfully and
/// the manifest is new or changed, it is checked as `allow` checks it and,
/// if valid, allowed; if not, its errors are shown and it stays blocked.
/// An unchanged manifest keeps the trust it had, as with `direnv edit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory (the nearest .pyguix.toml at or above it, else a new one
    /// in it) or the manifest itself [default: the current directory]
    path: Option<PathBuf>,
}

/// A new manifest: every table, commented out, so that saving it as it is
/// makes a valid project that changes nothing.
const TEMPLATE: &str = r#"# pyenv-guix manifest. Every table is optional; uncomment what the
# project needs. `man pyenv-guix` (or the README) says more.
#
# [project]
# name = "myapp"                     # for prompts; default: this directory's name
#
# [python]
# interpreter = "python3"            # used when no Guix profile has Python
#
# [guix]
# packages = ["python", "python-requests"]
#
# [pip]                              # what Guix does not have
# packages = ["prov==1.5.3"]
# requirements = ["requirements.txt"]
# mode = "prefix"                    # prefix | venv | user
#
# [env]
# GREETING = "hello"
#
# [path]                             # relative to this directory
# PATH = ["bin"]
# PYTHONPATH = ["src"]
"#;

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let editor = editor(ctx.var("VISUAL"), ctx.var("EDITOR"))?;
    let (path, before) = match target(&ctx, args.path.as_deref())? {
        Target::Existing(path) => {
            let before = crate::fsutil::read_limited(&path, crate::manifest::LIMIT)
                .with_context(|| format!("{}", path.display()))?;
            (path, Some(before))
        }
        Target::New(path) => {
            write_new(&path)?;
            log::info(&format!("new manifest {}", path.display()));
            (path, None)
        }
    };
    let status = std::process::Command::new(&editor[0])
        .args(&editor[1..])
        .arg(&path)
        .current_dir(&ctx.dir)
        .status()
        .with_context(|| format!("cannot run the editor {}", editor[0]))?;
    if !status.success() {
        bail!(
            "the editor ({}) failed ({status}): {} is not allowed",
            editor.join(" "),
            path.display()
        );
    }
    let after = crate::fsutil::read_limited(&path, crate::manifest::LIMIT)
        .with_context(|| format!("{}", path.display()))?;
    if before.as_deref() == Some(after.as_slice()) {
        log::info(&format!(
            "{} is unchanged: its trust is as it was",
            path.display()
        ));
        return Ok(0);
    }
    let record = trust::record_path(&ctx.data_dir, &path)?;
    let project = match Project::load(&path) {
        Ok(p) => p,
        Err(e) => return Ok(blocked(&path, &e.to_string())),
    };
    let scan = Scan::new(&project);
    if let Some(problem) = scan.problem() {
        return Ok(blocked(&path, &problem));
    }
    trust::allow(&record, &project, &scan)?;
    log::info(&format!("allowed {}", project.manifest_path.display()));
    Ok(0)
}

fn blocked(path: &Path, why: &str) -> i32 {
    log::error(why);
    log::notice(&format!(
        "{} has errors and stays blocked. Run 'pyenv-guix edit' again to fix them.",
        path.display()
    ));
    1
}

/// The editor command: $VISUAL, else $EDITOR, as a shell splits it.
fn editor(
    visual: Option<std::ffi::OsString>,
    editor: Option<std::ffi::OsString>,
) -> anyhow::Result<Vec<String>> {
    let (name, value) = match (visual.filter(|v| !v.is_empty()), editor) {
        (Some(v), _) => ("VISUAL", v),
        (None, Some(e)) if !e.is_empty() => ("EDITOR", e),
        _ => bail!("no editor: set VISUAL or EDITOR (e.g. EDITOR=nano)"),
    };
    let Some(text) = value.to_str() else {
        bail!("{name} is not valid UTF-8");
    };
    let words = shell_words::split(text).with_context(|| format!("{name}={text}"))?;
    if words.is_empty() {
        bail!("no editor: {name} is blank");
    }
    Ok(words)
}

enum Target {
    Existing(PathBuf),
    New(PathBuf),
}

/// The manifest found from PATH as other commands find it, or, with none
/// at or above it, a new one in that directory (or at that file name).
fn target(ctx: &crate::context::Context, path: Option<&Path>) -> anyhow::Result<Target> {
    let start = match path {
        Some(p) => super::absolute(p)?,
        None => ctx.dir.clone(),
    };
    if start.file_name() == Some(manifest::FILE_NAME.as_ref()) {
        return Ok(match std::fs::symlink_metadata(&start) {
            Ok(_) => Target::Existing(super::manifest_from(ctx, Some(&start))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Target::New(start),
            Err(e) => return Err(e).with_context(|| format!("{}", start.display())),
        });
    }
    let meta = std::fs::metadata(&start).with_context(|| format!("{}", start.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a {}", start.display(), manifest::FILE_NAME);
    }
    Ok(match manifest::find(&start) {
        Some(found) => Target::Existing(found),
        None => Target::New(start.join(manifest::FILE_NAME)),
    })
}

/// The template, in a file that did not exist (never through a symlink
/// or over a file made meanwhile).
fn write_new(path: &Path) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(TEMPLATE.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
