use std::collections::BTreeSet;

use anyhow::{Context as _, bail};

use crate::guix::{self, Available};
use crate::requirement::{self, Requirement};
use crate::rewrite::{self, Change, Edit};
use crate::{log, scheme};

mod draft;
mod metadata;

use draft::{Drafting, check};

/// Move pip fallbacks to Guix packages
///
/// Each [pip].packages entry (or only those NAMEd) that Guix now provides at
/// a version satisfying it moves to [guix].packages. With --import, one that
/// Guix lacks gets a package definition drafted by `guix import pypi
/// --recursive` into a Guile module in the project (the first directory of
/// [guix].load-path, `guix` if there is none), and moves too: the profile
/// is then built with `guix package -L`. Inputs that only the fallback's
/// optional extras need are left out, as its installed METADATA (in the
/// project's built pip prefix) tells. Comments and formatting stay. A
/// manifest allowed before is allowed after, since you asked for exactly
/// this change; review the drafted definitions all the same.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
    /// Only these fallbacks (PyPI names)
    names: Vec<String>,
    /// Draft definitions for fallbacks Guix lacks, with `guix import pypi`
    #[arg(long)]
    import: bool,
    /// Show what would change, as a diff, and change nothing
    #[arg(long)]
    dry_run: bool,
}

/// The module `--import` writes, under the load-path directory.
const MODULE_FILE: &str = "pyguix/packages.scm";
const MODULE_NAME: &str = "(pyguix packages)";

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, _) = args.project.load(&ctx)?;
    let user_path = crate::activation::user_path(&ctx);
    let user_path = user_path.as_deref();
    let mut edit = Edit::open(&project)?;
    let wanted: BTreeSet<String> = args
        .names
        .iter()
        .map(|n| requirement::normal_name(n))
        .collect();
    let mut fallbacks: Vec<(String, Requirement)> = Vec::new();
    for text in edit.pip_packages() {
        match requirement::parse(&text) {
            Ok(r) if wanted.is_empty() || wanted.contains(&r.name) => fallbacks.push((text, r)),
            Ok(_) => {}
            Err(why) => {
                if wanted.is_empty() {
                    log::info(&format!("{text} {why}: it stays with pip"));
                }
            }
        }
    }
    for name in &wanted {
        if !fallbacks.iter().any(|(_, r)| &r.name == name) {
            bail!("{name} is not among [pip].packages");
        }
    }
    if fallbacks.is_empty() {
        log::info("no pip fallbacks to promote");
        return Ok(0);
    }
    let names: Vec<String> = fallbacks
        .iter()
        .map(|(_, r)| requirement::guix_name(&r.name))
        .collect();
    let root = project.root.clone();
    let guix_has = guix::available(&ctx, user_path, &root, &names)?
        .context("there is no guix on your PATH to ask which packages it has")?;

    let mut moved = Vec::new();
    let mut to_import = Vec::new();
    for (text, r) in &fallbacks {
        let name = requirement::guix_name(&r.name);
        match super::init::newest(&guix_has, &name, r) {
            (Some(v), true) => {
                log::info(&format!("{text}: Guix has {name} {v}; moving it to [guix]"));
                moved.push((text.clone(), name));
            }
            (Some(v), false) => log::info(&format!(
                "{text}: Guix has {name} {v}, which does not satisfy it; it stays with pip"
            )),
            (None, _) if args.import => to_import.push((text.clone(), r.clone(), name)),
            (None, _) => log::info(&format!(
                "{text}: Guix has no {name}; it stays with pip (--import drafts a definition)"
            )),
        }
    }

    let mut changes = Vec::new();
    let mut load_path = None;
    if !to_import.is_empty() {
        let dir = project
            .manifest
            .guix
            .load_path
            .first()
            .map(|d| d.get_ref().clone())
            .unwrap_or_else(|| "guix".to_string());
        let module_path = root.join(&dir).join(MODULE_FILE);
        // A module already there stays as the user left it: new
        // definitions are added to it, never written over it.
        let existing = match crate::fsutil::read_limited(&module_path, 16 << 20) {
            Ok(bytes) => Some(
                String::from_utf8(bytes)
                    .with_context(|| format!("{} is not UTF-8", module_path.display()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("{}", module_path.display())),
        };
        let mut defs = existing.as_deref().map(definitions).unwrap_or_default();
        let kept = defs.len();
        let requires = metadata::installed(&installed_dists(&args.project, &ctx));
        for (text, r, _) in &to_import {
            if !requires.contains_key(&r.name) {
                log::warn(&format!(
                    "{text}: no installed METADATA to tell its optional extras from what it requires (the project's pip prefix is not built, or the project is not allowed); inputs `guix import pypi` took from extras written `extra == \"…\"` stay. Run `pyenv-guix build` first to have them dropped"
                ));
            }
        }
        let mut drafting = Drafting {
            ctx: &ctx,
            user_path,
            root: &root,
            tried: BTreeSet::new(),
            requires,
        };
        for (text, r, name) in &to_import {
            let added = drafting.import(&r.name, &mut defs)?;
            if !defs.iter().any(|(v, _)| v == name) {
                bail!(
                    "`guix import pypi --recursive {}` drafted no {name}: PyPI has no such project, or Guix could not reach it",
                    r.name
                );
            }
            let (drafted, moving) = if args.dry_run {
                ("would draft", "would move")
            } else {
                ("drafted", "moving")
            };
            let plural = if added == 1 { "" } else { "s" };
            log::info(&format!(
                "{text}: {drafted} {added} definition{plural} into {}; {moving} it to [guix]",
                module_path.display()
            ));
            moved.push((text.clone(), name.clone()));
        }
        let roots: Vec<String> = to_import.iter().map(|(_, _, n)| n.clone()).collect();
        let guix_has = drafting.settle(&mut defs, kept, &roots)?;
        check(&defs, kept, &guix_has)?;
        let module = module_text(existing.as_deref(), &defs, kept, &guix_has);
        changes.push(Change::new(module_path, module.into_bytes()));
        load_path = Some(dir);
    }
    if moved.is_empty() {
        log::info("nothing to move");
        return Ok(0);
    }
    if !edit.guix_packages().iter().any(|p| p == "python") {
        edit.add_guix_package("python")?;
        log::info("adding Guix's python, which the Guix packages are built for");
    }
    for (text, name) in &moved {
        edit.remove_pip_package(text)?;
        edit.add_guix_package(name)?;
    }
    if let Some(dir) = &load_path {
        edit.add_load_path(dir)?;
    }
    changes.push(Change::new(project.manifest_path.clone(), edit.to_bytes()));
    if args.dry_run {
        for c in changes.iter().filter(|c| c.changes_anything()) {
            print!("{}", crate::log::escape(&c.diff()));
        }
        log::info("--dry-run: nothing was changed");
        return Ok(0);
    }
    rewrite::write(&ctx, &project, &changes)?;
    // Its digest holds the pip packages and the profile, which both changed.
    if let Some(lock) = &project.manifest.pip.lock {
        log::warn(&format!(
            "{} is now stale: run 'pyenv-guix lock' to renew it (what it locks moved to Guix)",
            lock.get_ref()
        ));
    }
    Ok(0)
}

/// The `*.dist-info` directories of the project's pip prefix (or venv) as
/// last built, to read the fallbacks' METADATA from; none when the project
/// is not allowed or its prefix not built. Promote builds nothing.
fn installed_dists(
    project: &super::ProjectPath,
    ctx: &crate::context::Context,
) -> Vec<std::path::PathBuf> {
    project
        .materialise(ctx, crate::materialise::Mode::Look)
        .ok()
        .and_then(|(_, m)| m.prefix)
        .and_then(|p| p.built)
        .map(|(_, layout)| layout.dists)
        .unwrap_or_default()
}

/// The definitions a module holds: (variable, form). One commented out
/// is not among them.
fn definitions(text: &str) -> Vec<(String, String)> {
    scheme::forms(text)
        .into_iter()
        .filter_map(|f| scheme::defined(f).map(|v| (v.to_string(), f.to_string())))
        .collect()
}

/// The module: a `define-module` with the `#:use-module`s its definitions
/// need (Guix's own modules for what they use, and the module of each
/// input Guix provides), then the definitions, dependencies first as the
/// importer printed them. An `existing` module keeps every byte of its
/// own (comments, definitions, line ends): the new modules go into its
/// `define-module`, the new definitions (`defs` past the first `kept`)
/// after it.
fn module_text(
    existing: Option<&str>,
    defs: &[(String, String)],
    kept: usize,
    guix_has: &[Available],
) -> String {
    let has = |name: &str| guix_has.iter().find(|a| a.name == name);
    let mut modules: BTreeSet<String> = ["(guix packages)".to_string()].into_iter().collect();
    for (_, form) in defs {
        let symbols = scheme::symbols(form);
        let uses = |s: &str| symbols.contains(&s);
        if uses("url-fetch") {
            modules.insert("(guix download)".into());
        }
        if uses("git-fetch") {
            modules.insert("(guix git-download)".into());
        }
        if uses("pypi-uri") || uses("python-build-system") {
            modules.insert("(guix build-system python)".into());
        }
        if uses("pyproject-build-system") {
            modules.insert("(guix build-system pyproject)".into());
        }
        if symbols.iter().any(|s| s.starts_with("license:")) {
            modules.insert("((guix licenses) #:prefix license:)".into());
        }
        for input in scheme::inputs(form) {
            if defs.iter().any(|(v, _)| v == input) {
                continue;
            }
            // `guix_has` came from a `guix package -A` without `-L`.
            if let Some(m) = has(input).and_then(|a| a.module(&[])) {
                modules.insert(m);
            }
        }
    }
    if let Some(existing) = existing {
        return added_to(existing, &modules, &defs[kept..]);
    }
    let mut text = format!(
        ";;; Package definitions for this project, drafted by `pyenv-guix promote --import`\n;;; from `guix import pypi --recursive`. Review them: they are built as they are.\n\n(define-module {MODULE_NAME}"
    );
    for m in &modules {
        text.push_str(&format!("\n  #:use-module {m}"));
    }
    text.push_str(")\n");
    for (_, form) in defs {
        text.push('\n');
        text.push_str(form);
        text.push('\n');
    }
    text
}

/// `existing` with the `#:use-module`s it lacks added at the end of its
/// `define-module`, and `new` definitions at its end, in its line ends.
fn added_to(existing: &str, modules: &BTreeSet<String>, new: &[(String, String)]) -> String {
    let eol = if existing.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut text = existing.to_string();
    let header = scheme::forms(existing)
        .into_iter()
        .find(|f| scheme::symbols(f).first() == Some(&"define-module"));
    if let Some(header) = header {
        let squeezed: String = header.split_whitespace().collect::<Vec<_>>().join(" ");
        let lacking: String = modules
            .iter()
            .filter(|m| !squeezed.contains(&format!("#:use-module {m}")))
            .map(|m| format!("{eol}  #:use-module {m}"))
            .collect();
        // The form is a slice of `existing`: its closing parenthesis is
        // at its end.
        let close = header.as_ptr() as usize - existing.as_ptr() as usize + header.len() - 1;
        text.insert_str(close, &lacking);
    }
    if !text.ends_with('\n') {
        text.push_str(eol);
    }
    for (_, form) in new {
        text.push_str(eol);
        text.push_str(&form.replace("\r\n", "\n").replace('\n', eol));
        text.push_str(eol);
    }
    text
}
