use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml_edit::{Array, DocumentMut, Item, Table};

use crate::guix::{self, Available};
use crate::requirement::{self, Requirement};
use crate::{fsutil, log, manifest};

mod sources;

use sources::{Found, Origin, Sources};

/// Write a starter .pyguix.toml, from a requirements file or pyproject.toml
///
/// A requirements file is named in [pip].requirements as it is: its `-r`
/// chain, `-e` lines, `-c` constraints and hashes stay in it, for pip. A
/// pyproject.toml gives [project].dependencies, and by choice the optional
/// dependencies of each --extra and the dependency groups of each --group
/// (PEP 735); a project with a build system is installed editable
/// ([pip].editable), with the extras chosen.
///
/// Whatever Guix has at a version that satisfies a requirement (and the
/// file's constraints) goes to [guix].packages: one `guix package -A` asks
/// for all of them, Guix's names being `python-` and the PyPI name. A
/// requirement of a referenced file stays in it too: pip, which sees the
/// Guix profile, installs only what it lacks. A file pinned with hashes is
/// left whole to pip. Without Guix, everything goes to [pip]. The manifest
/// is not allowed: review it, then run `pyenv-guix allow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project's directory [default: the current directory]
    path: Option<PathBuf>,
    /// A requirements file, or a pyproject.toml
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// With a pyproject.toml: a dependency group to install too (repeatable)
    #[arg(long, value_name = "NAME", requires = "from")]
    group: Vec<String>,
    /// With a pyproject.toml: optional dependencies to install too (repeatable)
    #[arg(long, value_name = "NAME", requires = "from")]
    extra: Vec<String>,
    /// With a pyproject.toml beside a uv.lock: build a venv from uv.lock
    /// (`[pip] uv-project = true`), where `uv run` and `uv add` work too
    #[arg(long, requires = "from")]
    uv_project: bool,
    /// An option for pip, written to [pip].options: one word each, as pip
    /// spells it in full (`--pip-option=--index-url=URL`, or the option
    /// and its value as two); repeatable
    #[arg(
        long = "pip-option",
        value_name = "WORD",
        allow_hyphen_values = true,
        conflicts_with = "uv_project"
    )]
    pip_option: Vec<String>,
    /// Replace an existing .pyguix.toml
    #[arg(long)]
    force: bool,
    /// Lock the pip packages at once (as `pyenv-guix lock` does), into
    /// pylock.toml, named in the manifest; the manifest stays for you to
    /// review and allow
    #[arg(long, requires = "from")]
    lock: bool,
}

/// Where one requirement went, and why.
struct Placed {
    requirement: String,
    /// Where it was read.
    from: String,
    guix_name: Option<String>,
    guix_version: Option<String>,
    to_guix: bool,
    /// Listed in [pip].packages (not brought by a file or the project).
    listed: bool,
    goes: String,
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
    if args.uv_project && !(args.group.is_empty() && args.extra.is_empty()) {
        bail!(
            "--uv-project builds what 'uv sync --frozen' installs: the groups in [tool.uv] default-groups of pyproject.toml, and no extras; name them there (then 'uv lock'), not with --group or --extra"
        );
    }
    if args.uv_project && args.lock {
        bail!(
            "--uv-project builds from uv.lock, which 'uv lock' writes: --lock writes pylock.toml, for [pip] packages and requirements"
        );
    }
    if args.uv_project && uv_lock_beside(&args).is_none() {
        bail!(
            "--uv-project builds from the uv.lock beside a pyproject.toml, or at its uv workspace's root; there is none for {}: run 'uv lock' first",
            args.from.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    for word in args.pip_option.iter().filter(|w| w.starts_with('-')) {
        crate::pip::options::check_option(word)
            .with_context(|| format!("--pip-option {}", shell_words::quote(word)))?;
    }
    let mut reference = None;
    let found = match &args.from {
        Some(from) => {
            let from = super::absolute(from)?;
            if from.extension().is_some_and(|e| e == "toml") {
                sources::pyproject(&from, &dir, &args.group, &args.extra, args.uv_project)?
            } else {
                if !args.group.is_empty() || !args.extra.is_empty() {
                    bail!(
                        "--group and --extra name parts of a pyproject.toml; {} is a requirements file",
                        from.display()
                    );
                }
                let s = sources::requirements_file(&from)?;
                reference = Some(referenced(&dir, &from));
                s
            }
        }
        None => Sources::default(),
    };
    let user_path = crate::activation::user_path(&ctx);
    let names: Vec<String> = found
        .requirements
        .iter()
        .filter_map(|f| requirement::parse(&f.text).ok())
        .map(|r| requirement::guix_name(&r.name))
        .collect();
    let guix_has: Option<Vec<Available>> =
        guix::available(&ctx, user_path.as_deref(), &dir, &names)?;
    let requires_python = found.requires_python.clone();
    // A uv project's packages all come from uv.lock, into its venv.
    let found = if args.uv_project {
        Sources::default()
    } else {
        found
    };
    let mut placed: Vec<Placed> = found
        .requirements
        .iter()
        .map(|f| place(f, &found.constraints, guix_has.as_deref(), &dir))
        .collect();
    placed.extend(found.editable.iter().map(|f| Placed {
        requirement: f.text.clone(),
        from: origin(&f.origin, &dir),
        guix_name: None,
        guix_version: None,
        to_guix: false,
        listed: false,
        goes: match f.origin {
            Origin::File { .. } => "pip, editable, from the file".into(),
            _ => "[pip].editable".into(),
        },
    }));
    let text = manifest_text(
        &args,
        guix_has.is_some(),
        &placed,
        reference.as_deref(),
        found.project.as_deref(),
    );
    fsutil::write_in_project(&dir, &target, text.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    if !placed.is_empty() {
        print!("{}", table(&placed));
    }
    if guix_has.is_none() {
        log::notice(&format!(
            "no `{}` on your PATH: everything goes to {}, on the host's Python",
            ctx.guix_command().join(" "),
            match args.uv_project {
                true => "the venv uv syncs from uv.lock",
                false => "[pip]",
            }
        ));
    }
    if let Some(lock) = uv_lock(&args) {
        log::notice(&lock);
    }
    if let (Some(wanted), None) = (&requires_python, &guix_has) {
        python_unfit(&ctx, user_path.as_deref(), &dir, wanted);
    }
    // Locking says itself what it wrote and that the manifest waits.
    if !(args.lock && lock_now(&ctx, &target)?) {
        log::notice(&format!(
            "wrote {}: review it, then run 'pyenv-guix allow'",
            target.display()
        ));
    }
    Ok(0)
}

/// The pyproject's `requires-python` against the `python3` the project
/// gets without Guix (the manifest names no other): said when it does not
/// fit, with how to choose one that does, before a build fails on it.
fn python_unfit(
    ctx: &crate::context::Context,
    user_path: Option<&std::ffi::OsStr>,
    dir: &Path,
    wanted: &str,
) {
    let Ok(spec) = requirement::parse(&format!("python{wanted}")) else {
        return;
    };
    let facts = crate::interpreter::locate("python3", user_path, dir)
        .and_then(|python| crate::interpreter::facts(ctx, &python, dir, user_path));
    let Ok(facts) = facts else {
        return;
    };
    let version = facts.version.split_whitespace().next().unwrap_or_default();
    if !spec.allows(version) {
        log::warn(&format!(
            "pyproject.toml asks for Python {wanted}, and python3 here is {version} ({}): builds will fail on it. Choose one that fits: `pyenv local X.Y` with pyenv, or `interpreter = \"python3.X\"` (a command or a path) under [python] in {}",
            facts.executable.display(),
            manifest::FILE_NAME
        ));
    }
}

/// `--lock`: the manifest just written, locked as `pyenv-guix lock` would
/// once it is allowed. The user named the file it is made from; the
/// manifest is not allowed by this, and stays written if locking fails.
/// Whether it locked.
fn lock_now(ctx: &crate::context::Context, manifest: &Path) -> anyhow::Result<bool> {
    let project = manifest::Project::load(manifest)?;
    if !crate::materialise::has_pip(&project) {
        log::notice("everything went to Guix: there is nothing for pip to lock");
        return Ok(false);
    }
    let asked = super::lock::Asked {
        upgrade: false,
        upgrade_package: &[],
        check: false,
    };
    super::lock::lock_project(ctx, &project, &project.scan(), &asked)
        .map(|_| true)
        .with_context(|| {
            format!(
                "{} is written, not locked; once allowed, 'pyenv-guix lock' locks it",
                manifest.display()
            )
        })
}

/// With a uv.lock beside the pyproject: how to keep its pins, which init
/// does not read (a project's tests may need them: flask's and fastapi's
/// fail on versions newer than their locks). uv exports them as a
/// requirements file, `-e .` included, which init then names as it is.
fn uv_lock(args: &Args) -> Option<String> {
    if args.uv_project {
        return None;
    }
    let lock = uv_lock_beside(args)?;
    let from = args.from.as_ref()?;
    let uv_project = format!(
        "pyenv-guix init --force --from {} --uv-project",
        shell_words::quote(&from.to_string_lossy())
    );
    // A member's export names the workspace's projects by paths from the
    // workspace's root (`-e ./packages/p`), which pip reads from here.
    let beside = (from.parent())
        .and_then(|d| {
            std::path::absolute(if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            })
            .ok()
        })
        .is_some_and(|d| lock.parent() == Some(d.as_path()));
    if !beside {
        return Some(format!(
            "{} pins versions that this manifest leaves free; this project is a member of its workspace, whose projects `uv export` names by paths from the workspace's root. To build a venv from uv.lock itself (where `uv run` and `uv add` work too):\n    {uv_project}",
            lock.display(),
        ));
    }
    let mut export = String::from("uv export --frozen --no-hashes --no-default-groups");
    for g in &args.group {
        export.push_str(&format!(" --group {}", shell_words::quote(g)));
    }
    for e in &args.extra {
        export.push_str(&format!(" --extra {}", shell_words::quote(e)));
    }
    Some(format!(
        "{} pins versions that this manifest leaves free; to build with them:\n    {export} -o requirements.lock\n    pyenv-guix init --force --from requirements.lock\nor, to build a venv from uv.lock itself (where `uv run` and `uv add` work too):\n    {uv_project}",
        lock.display(),
    ))
}

/// The uv.lock that uv builds `--from`'s pyproject.toml from, if there is
/// one: beside it, or at the root of the workspace it is a member of.
fn uv_lock_beside(args: &Args) -> Option<PathBuf> {
    let from = args.from.as_ref()?;
    if from.file_name()? != "pyproject.toml" {
        return None;
    }
    let dir = match from.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::path::absolute(&dir).ok()?;
    crate::pip::uv_lock_for(&dir)
}

/// How the manifest names `file`: relative to the root when it is inside
/// the project (its own name kept, a link stays a link), else as it is.
fn referenced(root: &Path, file: &Path) -> String {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let inside = file
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .zip(file.file_name())
        .map(|(parent, name)| parent.join(name))
        .and_then(|f| f.strip_prefix(&canonical_root).ok().map(Path::to_path_buf));
    match inside {
        Some(rel) => rel.display().to_string(),
        None => {
            log::notice(&format!(
                "{} is outside the project: the manifest names it by its absolute path",
                file.display()
            ));
            file.display().to_string()
        }
    }
}

fn origin(o: &Origin, root: &Path) -> String {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    match o {
        Origin::File { path, line, .. } => format!("{}:{line}", rel(path)),
        Origin::Project { table, .. } | Origin::Listed { table, .. } => table.clone(),
    }
}

fn place(
    f: &Found,
    constraints: &BTreeMap<String, Vec<Found>>,
    guix: Option<&[Available]>,
    root: &Path,
) -> Placed {
    // Where it goes when not to Guix.
    let pip = match &f.origin {
        Origin::File { .. } => "pip, from the file",
        Origin::Project { .. } => "pip, with the project",
        Origin::Listed { .. } => "[pip]",
    };
    let mut p = Placed {
        requirement: f.text.clone(),
        from: origin(&f.origin, root),
        guix_name: None,
        guix_version: None,
        to_guix: false,
        listed: matches!(f.origin, Origin::Listed { .. }),
        goes: pip.to_string(),
    };
    let r = match requirement::parse(&f.text) {
        Ok(r) => r,
        Err(why) => {
            p.goes = format!("{pip} ({why})");
            return p;
        }
    };
    let name = requirement::guix_name(&r.name);
    p.guix_name = Some(name.clone());
    let Some(guix) = guix else {
        p.goes = format!("{pip} (no Guix)");
        return p;
    };
    let (version, satisfies) = newest(guix, &name, &r);
    p.guix_version = version.clone();
    let Some(v) = version else {
        p.goes = format!("{pip} (not in Guix)");
        return p;
    };
    if !satisfies {
        p.goes = format!("{pip} (Guix has {v}, which does not satisfy it)");
        return p;
    }
    if let Origin::File {
        path, hashed: true, ..
    } = &f.origin
    {
        // A lock names the artifacts it was made from, not only versions.
        p.goes = format!(
            "{pip} (pinned with hashes in {})",
            path.strip_prefix(root).unwrap_or(path).display()
        );
        return p;
    }
    let refused = constraints
        .get(&r.name)
        .into_iter()
        .flatten()
        .find(|c| requirement::parse(&c.text).map_or(true, |c| !c.allows(&v)));
    if let Some(c) = refused {
        let file = match &c.origin {
            Origin::File { path, .. } => path.strip_prefix(root).unwrap_or(path),
            Origin::Project { path, .. } | Origin::Listed { path, .. } => path,
        };
        p.goes = format!(
            "{pip} (Guix has {v}, which does not satisfy {})",
            file.display()
        );
        return p;
    }
    p.to_guix = true;
    p.goes = if p.listed {
        "[guix]".into()
    } else {
        "[guix] (pip finds it there)".into()
    };
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

/// Text from the project, safe in one cell of a table: every control
/// character (line breaks too: they would forge rows) and invisible one
/// shown escaped.
fn cell(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let shown: Vec<char> = if c.is_control() || log::invisible(c) {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

fn table(placed: &[Placed]) -> String {
    let rows: Vec<[String; 5]> = placed
        .iter()
        .map(|p| {
            [
                cell(&p.requirement),
                cell(&p.from),
                cell(p.guix_name.as_deref().unwrap_or("-")),
                cell(p.guix_version.as_deref().unwrap_or("-")),
                cell(&p.goes),
            ]
        })
        .collect();
    let head = ["requirement", "from", "Guix package", "Guix has", "goes to"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&head])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in [&head].into_iter().chain(&rows) {
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}  ", row[i]));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out
}

fn manifest_text(
    args: &Args,
    guix: bool,
    placed: &[Placed],
    reference: Option<&str>,
    project: Option<&str>,
) -> String {
    let mut doc = DocumentMut::new();
    let mut command = String::new();
    if let Some(f) = &args.from {
        command.push_str(&format!(" --from {}", f.display()));
    }
    for g in &args.group {
        command.push_str(&format!(" --group {g}"));
    }
    for e in &args.extra {
        command.push_str(&format!(" --extra {e}"));
    }
    for o in &args.pip_option {
        command.push_str(&format!(" --pip-option={}", shell_words::quote(o)));
    }
    if args.uv_project {
        command.push_str(" --uv-project");
    }
    // A comment ends at a line break: none gets in.
    let command = cell(&command);
    let mut head = format!(
        "# A pyenv-guix project, started by `pyenv-guix init{command}`.\n# Review it, then run `pyenv-guix allow`.\n"
    );
    if guix {
        let mut packages = Array::new();
        packages.push("python");
        let mut seen = HashSet::from(["python"]);
        for p in placed.iter().filter(|p| p.to_guix) {
            if let Some(name) = p.guix_name.as_deref()
                && seen.insert(name)
            {
                packages.push(name);
            }
        }
        let mut t = Table::new();
        t.insert("packages", toml_edit::value(packages));
        doc.insert("guix", Item::Table(t));
    } else {
        head.push_str(match args.uv_project {
            true => "# No Guix here: the host's Python, packages from uv.lock.\n",
            false => "# No Guix here: the host's Python, packages from pip.\n",
        });
    }
    let mut t = Table::new();
    if args.uv_project {
        t.insert("mode", toml_edit::value("venv"));
        t.insert("uv-project", toml_edit::value(true));
    }
    if let Some(file) = reference {
        t.insert("requirements", toml_edit::value(Array::from_iter([file])));
    }
    if let Some(project) = project {
        t.insert("editable", toml_edit::value(Array::from_iter([project])));
    }
    let mut pip = Array::new();
    let mut seen = HashSet::new();
    for p in placed.iter().filter(|p| p.listed && !p.to_guix) {
        if seen.insert(p.requirement.as_str()) {
            pip.push(p.requirement.as_str());
        }
    }
    if !args.uv_project && (!pip.is_empty() || t.is_empty()) {
        t.insert("packages", toml_edit::value(pip));
    }
    if !args.pip_option.is_empty() {
        t.insert(
            "options",
            toml_edit::value(Array::from_iter(&args.pip_option)),
        );
    }
    doc.insert("pip", Item::Table(t));
    format!("{head}\n{doc}")
}
