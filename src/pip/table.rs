//! The manifest's `[pip]` table: what it may say, and the checks its
//! values pass when the manifest is read.

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pip {
    #[serde(default)]
    pub packages: Vec<Spanned<String>>,
    /// Local projects installed editable (`pip install -e`), relative to the root.
    #[serde(default)]
    pub editable: Vec<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub mode: PipMode,
    #[serde(default)]
    pub options: Vec<Spanned<String>>,
    #[serde(default, rename = "system-site-packages")]
    pub system_site_packages: bool,
    /// Which program installs: pip, uv, or uv when the user has it.
    #[serde(default)]
    pub installer: Installer,
    /// What a library the wheels need, and no Guix package pyenv-guix
    /// knows provides, does to the build (on a Guix interpreter).
    #[serde(default, rename = "missing-libraries")]
    pub missing_libraries: crate::libraries::MissingLibraries,
    /// A PEP 751 lock (`pylock.toml`), relative to the root: the prefix is
    /// built from its files alone (`pyenv-guix lock` writes it).
    pub lock: Option<Spanned<String>>,
    /// The project is a uv project: its venv is built from `uv.lock`
    /// (`uv sync --frozen`), and inside it uv works on that venv.
    #[serde(rename = "uv-project")]
    pub uv_project: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    /// uv when it is on the PATH the user had before the project, else pip.
    #[default]
    Auto,
    Pip,
    Uv,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PipMode {
    #[default]
    Prefix,
    Venv,
    User,
}

impl fmt::Display for PipMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PipMode::Prefix => "prefix",
            PipMode::Venv => "venv",
            PipMode::User => "user",
        })
    }
}

impl Pip {
    /// Whether `uv-project = true`.
    pub fn is_uv_project(&self) -> bool {
        self.uv_project.as_ref().is_some_and(|u| *u.get_ref())
    }

    /// The first value no build could take, as its offset in the manifest
    /// and why.
    pub fn check(&self) -> Result<(), (usize, String)> {
        for p in &self.packages {
            let req = p.get_ref().trim();
            if req.is_empty() {
                return Err((p.span().start, "an empty requirement".into()));
            }
            if req.starts_with('-') {
                return Err((
                    p.span().start,
                    format!(
                        "`{req}` is a pip option, not a requirement: put options in [pip].options"
                    ),
                ));
            }
        }
        for o in &self.options {
            if o.get_ref().starts_with('-')
                && let Err(why) = super::options::check_option(o.get_ref())
            {
                return Err((o.span().start, why.to_string()));
            }
        }
        if let Some(lock) = &self.lock {
            let rel = std::path::Path::new(lock.get_ref());
            let why = if lock.get_ref().is_empty() {
                Some("is empty")
            } else if rel.is_absolute()
                || (rel.components()).any(|c| c == std::path::Component::ParentDir)
            {
                Some("is outside the project: name a file inside it, relative to its root")
            } else {
                None
            };
            if let Some(why) = why {
                return Err((
                    lock.span().start,
                    format!("[pip].lock {:?} {why}", lock.get_ref()),
                ));
            }
        }
        if let Some(uv_project) = self.uv_project.as_ref().filter(|u| *u.get_ref()) {
            let at = uv_project.span().start;
            let why = if !self.packages.is_empty()
                || !self.requirements.is_empty()
                || !self.editable.is_empty()
                || self.lock.is_some()
            {
                Some(
                    "[pip] uv-project = true builds from uv.lock alone: remove packages, requirements, editable and lock (uv add puts a package in uv.lock)",
                )
            } else if self.mode != PipMode::Venv {
                Some("[pip] uv-project = true needs mode = \"venv\": uv syncs a venv")
            } else if self.installer == Installer::Pip {
                Some("[pip] uv-project = true needs uv: installer = \"pip\" cannot sync uv.lock")
            } else if !self.options.is_empty() {
                Some(
                    "[pip] uv-project = true takes no [pip].options: uv.lock says where each package comes from",
                )
            } else {
                None
            };
            if let Some(why) = why {
                return Err((at, why.to_string()));
            }
        }
        Ok(())
    }
}
