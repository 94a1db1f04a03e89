//! One file per subcommand.

pub mod allow;
pub mod build;
pub mod completions;
pub mod deny;
pub mod doctor;
pub mod edit;
pub mod exec;
pub mod export;
pub mod gc;
pub mod hook;
pub mod init;
pub mod lock;
pub mod pin;
pub mod prefix;
pub mod promote;
pub mod rebuild;
pub mod reload;
pub mod status;
pub mod watch;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::context::Context;
use crate::manifest;

/// The PATH argument of the commands that act on one project.
#[derive(Debug, Default, clap::Args)]
pub struct ProjectPath {
    /// A directory (the nearest .pyguix.toml at or above it) or the manifest
    /// itself [default: the current directory]
    path: Option<PathBuf>,
}

impl ProjectPath {
    pub fn manifest(&self, ctx: &Context) -> anyhow::Result<PathBuf> {
        manifest_from(ctx, self.path.as_deref())
    }

    /// The project if it is allowed as it is now, with what was read to
    /// tell; else the error says why it is blocked.
    pub fn load_allowed(
        &self,
        ctx: &Context,
    ) -> anyhow::Result<(crate::manifest::Project, Box<crate::pip::Scan>)> {
        let opened = crate::trust::open(&ctx.data_dir, &self.manifest(ctx)?)?;
        let project = opened.project?;
        match opened.trust {
            crate::trust::Trust::Allowed(_, scan) => Ok((project, scan)),
            blocked => bail!("{}", blocked.blocked_message(&project.manifest_path)),
        }
    }

    /// Build (or look at) what the allowed project needs, with the PATH the
    /// user had before any project: `build`, `rebuild` and `prefix`.
    pub fn materialise(
        &self,
        ctx: &Context,
        mode: crate::materialise::Mode,
    ) -> anyhow::Result<(crate::manifest::Project, crate::materialise::Materialised)> {
        let (project, scan) = self.load_allowed(ctx)?;
        let user_path = crate::activation::user_path(ctx);
        let built =
            crate::materialise::materialise(ctx, &project, &scan, user_path.as_deref(), mode)?;
        Ok((project, built))
    }

    /// The project, and where its trust record lives.
    pub fn load(&self, ctx: &Context) -> anyhow::Result<(crate::manifest::Project, PathBuf)> {
        let opened = crate::trust::open(&ctx.data_dir, &self.manifest(ctx)?)?;
        Ok((opened.project?, opened.record))
    }
}

/// The context of this process: its environment, about the shell's directory.
pub fn context() -> anyhow::Result<Context> {
    Ok(Context::from_process(crate::activation::before_projects)?)
}

/// The manifest that `PATH` (a directory, or the manifest itself) points at.
pub fn manifest_from(ctx: &Context, path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let start = match path {
        Some(p) => absolute(p)?,
        None => ctx.dir.clone(),
    };
    let meta = std::fs::metadata(&start).with_context(|| format!("{}", start.display()))?;
    if meta.is_file() {
        if start.file_name() != Some(manifest::FILE_NAME.as_ref()) {
            bail!("{} is not a {}", start.display(), manifest::FILE_NAME);
        }
        return Ok(start);
    }
    match manifest::find(&start) {
        Some(m) => Ok(m),
        None => bail!(
            "no {} at or above {}; 'pyenv-guix init' starts one",
            manifest::FILE_NAME,
            start.display()
        ),
    }
}

/// Absolute without resolving symlinks: the user's own spelling of the path.
/// `path` made absolute and tidied, as it is printed back: `.` gone,
/// and `dir/..` folded unless `dir` is a link (then `..` is not its
/// parent, and stays).
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    use std::path::Component;
    let whole = std::path::absolute(path).with_context(|| format!("{}", path.display()))?;
    let mut out = PathBuf::new();
    for c in whole.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let foldable = out.file_name().is_some()
                    && !std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink());
                if foldable {
                    out.pop();
                } else if out.parent().is_some() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}
