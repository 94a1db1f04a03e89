use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::manifest;
use crate::{log, trust};

/// Edit a project's manifest, and allow it if the result is valid
///
/// Opens $VISUAL, else $EDITOR (split as a shell would), on the manifest
/// found from PATH, or on a new one in PATH (a commented template) when
/// there is none at or above it. The editor works on a copy beside it.
/// When the editor exits successfully having saved a change, the copy
/// replaces the manifest, which is checked as `allow` checks it and, if
/// valid, allowed; if not, its errors are shown and it stays blocked. An
/// editor that saves nothing makes and allows nothing, and an unchanged
/// manifest keeps the trust it had, as with `direnv edit`. If another
/// process changed the manifest while the editor was open, nothing is
/// allowed or overwritten, and the user's version is kept beside it.
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
        EditedFile::Existing(path) => {
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                bail!(
                    "{} is a symbolic link: pyenv-guix writes no file through a link; edit the file it leads to",
                    path.display()
                );
            }
            let before = crate::fsutil::read_limited(&path, crate::manifest::LIMIT)
                .with_context(|| format!("{}", path.display()))?;
            (path, Some(before))
        }
        EditedFile::New(path) => (path, None),
    };
    // The editor works on a copy beside the manifest: what it saved is
    // told from what anyone else wrote to the manifest meanwhile.
    let copy = Copy::make(&path, before.as_deref())?;
    if before.is_none() {
        log::info(&format!("new manifest {}", path.display()));
    }
    let status = std::process::Command::new(&editor[0])
        .args(&editor[1..])
        .arg(copy.path())
        .current_dir(&ctx.dir)
        .status();
    let saved = copy.saved();
    let status = match status {
        Ok(status) => status,
        Err(e) => {
            copy.discard();
            return Err(e).with_context(|| format!("cannot run the editor {}", editor[0]));
        }
    };
    if !status.success() {
        let kept = copy.keep_if(saved);
        bail!(
            "the editor ({}) failed ({status}): {} is not allowed{kept}",
            editor.join(" "),
            path.display()
        );
    }
    // Whoever else wrote the manifest while the editor was open: the user
    // saw none of it, so none of it is allowed, nor overwritten.
    let now = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => None,
        Ok(_) => crate::fsutil::read_limited(&path, crate::manifest::LIMIT).ok(),
        Err(_) => None,
    };
    let exists = std::fs::symlink_metadata(&path).is_ok();
    if now != before || (before.is_none() && exists) {
        let kept = copy.keep_if(saved);
        log::error(&format!(
            "{} was changed by another process while the editor was open: nothing is allowed{kept}",
            path.display()
        ));
        return Ok(1);
    }
    if !saved {
        copy.discard();
        match before {
            Some(_) => log::info(&format!(
                "{} is unchanged (not saved): its trust is as it was",
                path.display()
            )),
            None => log::info(&format!(
                "not saved: no manifest made at {}, nothing allowed",
                path.display()
            )),
        }
        return Ok(0);
    }
    let edited = crate::fsutil::read_limited(copy.path(), crate::manifest::LIMIT)
        .with_context(|| format!("{}", copy.path().display()))?;
    if before.as_deref() == Some(edited.as_slice()) {
        copy.discard();
        log::info(&format!(
            "{} is unchanged: its trust is as it was",
            path.display()
        ));
        return Ok(0);
    }
    copy.move_to(&path)?;
    let opened = trust::open(&ctx.data_dir, &path)?;
    let record = opened.record;
    let project = match opened.project {
        Ok(p) => p,
        Err(e) => return Ok(blocked(&path, &e.to_string())),
    };
    // Written between our check and the move: not what the user saved.
    if project.bytes != edited {
        log::error(&format!(
            "{} was changed by another process as the edit was saved: nothing is allowed",
            path.display()
        ));
        return Ok(1);
    }
    match trust::allow_now(&record, &project) {
        Err(trust::TrustError::Unusable(problem)) => return Ok(blocked(&path, &problem)),
        other => other?,
    }
    log::info(&format!("allowed {}", project.manifest_path.display()));
    Ok(0)
}

/// The copy the editor works on: `.pyguix-edit-XXXXXX.toml` beside the
/// manifest (an unpredictable name, made exclusively: a link planted there
/// is never followed), a TOML file by its name for the editor, with the
/// manifest's permissions and time, so that any save changes its stamp.
struct Copy {
    file: tempfile::TempPath,
    made: crate::state::Stamp,
}

impl Copy {
    fn make(manifest: &Path, before: Option<&[u8]>) -> anyhow::Result<Copy> {
        use std::os::unix::fs::PermissionsExt;
        let dir = manifest.parent().unwrap_or(Path::new("."));
        let meta = std::fs::metadata(manifest).ok();
        let permissions = meta
            .as_ref()
            .map(|m| m.permissions())
            .unwrap_or_else(|| std::fs::Permissions::from_mode(0o644));
        let mut tmp = tempfile::Builder::new()
            .prefix(".pyguix-edit-")
            .suffix(".toml")
            .permissions(permissions)
            .tempfile_in(dir)
            .with_context(|| format!("cannot make a copy to edit in {}", dir.display()))?;
        let copy = tmp.path().display().to_string();
        tmp.write_all(before.unwrap_or(TEMPLATE.as_bytes()))
            .with_context(|| format!("cannot write {copy}"))?;
        // Back in time: an editor's save, even of the same bytes within the
        // same clock tick, changes the stamp.
        let then = meta
            .and_then(|m| m.modified().ok())
            .unwrap_or_else(std::time::SystemTime::now)
            .min(std::time::SystemTime::now() - std::time::Duration::from_secs(10));
        tmp.as_file()
            .set_modified(then)
            .with_context(|| format!("cannot write {copy}"))?;
        let file = tmp.into_temp_path();
        let made = crate::state::Stamp::of_link(&file);
        Ok(Copy { file, made })
    }

    fn path(&self) -> &Path {
        &self.file
    }

    /// Whether the editor saved the copy (the same bytes or not).
    fn saved(&self) -> bool {
        crate::state::Stamp::of_link(&self.file) != self.made
    }

    fn discard(self) {
        let _ = self.file.close();
    }

    /// Keep the copy when it holds the user's work; say where.
    fn keep_if(self, saved: bool) -> String {
        if !saved {
            self.discard();
            return String::new();
        }
        match self.file.keep() {
            Ok(path) => format!("; your version is kept in {}", path.display()),
            Err(e) => format!("; your version could not be kept: {e}"),
        }
    }

    /// Put the edit in place in one rename (a link at `manifest` is
    /// replaced, never followed); a new manifest only if none was made
    /// meanwhile.
    fn move_to(self, manifest: &Path) -> anyhow::Result<()> {
        let path = self.file.to_path_buf();
        let moved = match std::fs::symlink_metadata(manifest) {
            Ok(_) => std::fs::rename(&path, manifest),
            Err(_) => std::fs::hard_link(&path, manifest),
        };
        if let Err(e) = moved {
            // The user's work stays where it is said to be.
            let kept = self.file.keep().unwrap_or(path);
            return Err(e).with_context(|| {
                format!(
                    "cannot save {}; your version is in {}",
                    manifest.display(),
                    kept.display()
                )
            });
        }
        let _ = self.file.close();
        Ok(())
    }
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

enum EditedFile {
    Existing(PathBuf),
    New(PathBuf),
}

/// The manifest found from PATH as other commands find it, or, with none
/// at or above it, a new one in that directory (or at that file name).
fn target(ctx: &crate::context::Context, path: Option<&Path>) -> anyhow::Result<EditedFile> {
    let start = match path {
        Some(p) => super::absolute(p)?,
        None => ctx.dir.clone(),
    };
    if start.file_name() == Some(manifest::FILE_NAME.as_ref()) {
        return Ok(match std::fs::symlink_metadata(&start) {
            Ok(_) => EditedFile::Existing(super::manifest_from(ctx, Some(&start))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => EditedFile::New(start),
            Err(e) => return Err(e).with_context(|| format!("{}", start.display())),
        });
    }
    let meta = std::fs::metadata(&start).with_context(|| format!("{}", start.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a {}", start.display(), manifest::FILE_NAME);
    }
    Ok(match manifest::find(&start) {
        Some(found) => EditedFile::Existing(found),
        None => EditedFile::New(start.join(manifest::FILE_NAME)),
    })
}
