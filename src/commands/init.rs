use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml_edit::{Array, DocumentMut, Item, Table};

use crate::guix::{self, Available};
use crate::requirement::{self, Requirement};
use crate::{fsutil, log, manifest};

/// Write a starter .pyguix.toml, from a requirements.txt or pyproject.toml
///
/// With --from, each requirement goes where it can be had: to
/// [guix].packages when Guix has a package for it at a version that
/// satisfies it (one `guix package -A` for all of them, Guix's names being
/// `python-` and the PyPI name), else to [pip].packages. Without Guix,
/// everything goes to [pip]. The manifest is not allowed: review it, then
/// run `pyenv-guix allow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project's directory [default: the current directory]
    path: Option<PathBuf>,
    /// A requirements.txt, or a pyproject.toml ([project].dependencies)
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Replace an existing .pyguix.toml
    #[arg(long)]
    force: bool,
}

/// Where one requirement went, and why.
struct Placed {
    requirement: String,
    guix_name: Option<String>,
    guix_version: Option<String>,
    to_guix: bool,
    why: String,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let dir = match &args.path {
        Some(p) => super::absolute(p)?,
        None => ctx.dir.clone(),
    };
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let target = dir.join(manifest::FILE_NAME);
    if std::fs::symlink_metadata(&target).is_ok() && !args.force {
        bail!(
            "{} exists; pyenv-guix init --force replaces it",
            target.display()
        );
    }
    let wanted = match &args.from {
        Some(from) => read_requirements(&super::absolute(from)?)?,
        None => Vec::new(),
    };
    let user_path = crate::activation::user_path(&ctx);
    let parsed: Vec<(String, Result<Requirement, &str>)> = wanted
        .iter()
        .map(|r| (r.clone(), requirement::parse(r)))
        .collect();
    let names: Vec<String> = parsed
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|r| requirement::guix_name(&r.name)))
        .collect();
    let guix_has: Option<Vec<Available>> =
        match guix::available(&ctx, user_path.as_deref(), &dir, &names) {
            Some(result) => Some(result?),
            None => None,
        };
    let placed: Vec<Placed> = parsed
        .iter()
        .map(|(text, r)| place(text, r, guix_has.as_deref()))
        .collect();
    let text = manifest_text(&args, guix_has.is_some(), &placed);
    fsutil::write_in_project(&dir, &target, text.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    if !placed.is_empty() {
        print!("{}", table(&placed));
    }
    if guix_has.is_none() {
        log::notice(&format!(
            "no `{}` on your PATH: everything goes to [pip], on the host's Python",
            ctx.guix_command().join(" ")
        ));
    }
    log::notice(&format!(
        "wrote {}: review it, then run 'pyenv-guix allow'",
        target.display()
    ));
    Ok(0)
}

fn place(text: &str, r: &Result<Requirement, &str>, guix: Option<&[Available]>) -> Placed {
    let mut p = Placed {
        requirement: text.to_string(),
        guix_name: None,
        guix_version: None,
        to_guix: false,
        why: String::new(),
    };
    let r = match r {
        Ok(r) => r,
        Err(why) => {
            p.why = format!("{why}: stays with pip");
            return p;
        }
    };
    let name = requirement::guix_name(&r.name);
    p.guix_name = Some(name.clone());
    let Some(guix) = guix else {
        p.why = "no Guix".into();
        return p;
    };
    match newest(guix, &name, r) {
        (Some(v), true) => {
            p.guix_version = Some(v);
            p.to_guix = true;
        }
        (Some(v), false) => {
            p.why = format!("Guix has {v}, which does not satisfy it");
            p.guix_version = Some(v);
        }
        (None, _) => p.why = "not in Guix".into(),
    }
    p
}

/// The version Guix would install that satisfies `r` (the newest that
/// does), else the newest it has; and whether it satisfies.
pub fn newest(guix: &[Available], name: &str, r: &Requirement) -> (Option<String>, bool) {
    let versions: Vec<&str> = guix
        .iter()
        .filter(|a| a.name == name)
        .map(|a| a.version.as_str())
        .collect();
    if let Some(v) = versions.iter().find(|v| r.allows(v)) {
        return (Some(v.to_string()), true);
    }
    (versions.first().map(|v| v.to_string()), false)
}

fn table(placed: &[Placed]) -> String {
    let width = |f: &dyn Fn(&Placed) -> usize, head: usize| {
        placed.iter().map(f).max().unwrap_or(0).max(head)
    };
    let w1 = width(&|p| p.requirement.len(), "requirement".len());
    let w2 = width(
        &|p| p.guix_name.as_deref().unwrap_or("-").len(),
        "Guix package".len(),
    );
    let w3 = width(
        &|p| p.guix_version.as_deref().unwrap_or("-").len(),
        "Guix has".len(),
    );
    let mut out = format!(
        "{:<w1$}  {:<w2$}  {:<w3$}  goes to\n",
        "requirement", "Guix package", "Guix has"
    );
    for p in placed {
        let to = if p.to_guix {
            "[guix]".to_string()
        } else {
            format!("[pip] ({})", p.why)
        };
        out.push_str(&format!(
            "{:<w1$}  {:<w2$}  {:<w3$}  {to}\n",
            p.requirement,
            p.guix_name.as_deref().unwrap_or("-"),
            p.guix_version.as_deref().unwrap_or("-"),
        ));
    }
    out
}

fn manifest_text(args: &Args, guix: bool, placed: &[Placed]) -> String {
    let mut doc = DocumentMut::new();
    let from = args
        .from
        .as_ref()
        .map(|f| format!(" --from {}", f.display()))
        .unwrap_or_default();
    let mut head = format!(
        "# A pyenv-guix project, started by `pyenv-guix init{from}`.\n# Review it, then run `pyenv-guix allow`.\n"
    );
    if guix {
        let mut packages = Array::new();
        packages.push("python");
        for p in placed.iter().filter(|p| p.to_guix) {
            if let Some(name) = &p.guix_name {
                packages.push(name.as_str());
            }
        }
        let mut t = Table::new();
        t.insert("packages", toml_edit::value(packages));
        doc.insert("guix", Item::Table(t));
    } else {
        head.push_str("# No Guix here: the host's Python, packages from pip.\n");
    }
    let mut pip = Array::new();
    for p in placed.iter().filter(|p| !p.to_guix) {
        pip.push(p.requirement.as_str());
    }
    let mut t = Table::new();
    t.insert("packages", toml_edit::value(pip));
    doc.insert("pip", Item::Table(t));
    format!("{head}\n{doc}")
}

/// The requirement strings of a requirements.txt (option lines are left
/// out, and said) or of a pyproject.toml's [project].dependencies.
fn read_requirements(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = fsutil::read_limited(path, 1 << 20)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    if path.extension().is_some_and(|e| e == "toml") {
        let doc: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
        let deps = doc
            .get("project")
            .and_then(|p| p.get("dependencies"))
            .and_then(|d| d.as_array())
            .with_context(|| format!("{} has no [project].dependencies", path.display()))?;
        return Ok(deps
            .iter()
            .filter_map(|d| d.as_str().map(|s| s.trim().to_string()))
            .collect());
    }
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        if let Some(cont) = raw.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(raw);
        let line = match pending.find(" #") {
            Some(at) => &pending[..at],
            None if pending.trim_start().starts_with('#') => "",
            None => &pending,
        }
        .trim()
        .to_string();
        pending.clear();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            log::notice(&format!(
                "{}: `{line}` is an option, not a requirement: put it in [pip].options if you need it",
                path.display()
            ));
            continue;
        }
        out.push(line);
    }
    Ok(out)
}
