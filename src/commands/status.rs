use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use crate::activation;
use crate::buildlock::KeyBuild;
use crate::cache::Bucket;
use crate::manifest::Project;
use crate::materialise::{self, Materialised, Mode};
use crate::pip::{Scan, lock};
use crate::trust;

/// Show a project: root, manifest, trust, interpreter, profile, prefix
///
/// Says whether the manifest is allowed, blocked or denied, whether it is
/// active in this shell, which interpreter it uses and who that is, and the
/// Guix profile and pip prefix it needs: their keys, every input of the
/// prefix key, and whether each is built; the lock ([pip] lock), whether
/// it is current or stale, and what it locks. Builds nothing; runs nothing
/// for a manifest that is not allowed as it is now.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One report, printed as JSON or as text.
#[derive(Serialize)]
struct Report {
    #[serde(serialize_with = "lossy")]
    root: PathBuf,
    #[serde(serialize_with = "lossy")]
    manifest: PathBuf,
    trust: &'static str,
    /// Why it is not allowed, when it is not.
    blocked: Option<String>,
    /// This shell has this project loaded, as built from its inputs now.
    active: bool,
    /// This shell has this project loaded, but another build of it: its
    /// inputs (the interpreter pyenv chooses, say) changed since. Shown
    /// only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    other_build_active: bool,
    interpreter: Interpreter,
    guix: Guix,
    pip: Pip,
    env: BTreeMap<String, String>,
    path: BTreeMap<String, Vec<String>>,
    problem: Option<String>,
}

#[derive(Serialize)]
struct Interpreter {
    command: String,
    #[serde(flatten)]
    facts: Option<FactsShown>,
    /// What pyenv says is wrong with the version it chooses here (one not
    /// installed: its shim runs the system's command instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pyenv: Option<String>,
}

/// The interpreter's facts as shown: paths as text.
#[derive(Serialize)]
struct FactsShown {
    #[serde(serialize_with = "lossy")]
    path: PathBuf,
    #[serde(serialize_with = "lossy")]
    executable: PathBuf,
    version: String,
    implementation: String,
    platform: String,
    #[serde(serialize_with = "lossy_opt")]
    store_item: Option<PathBuf>,
}

/// JSON is text: a path that is not UTF-8 is shown with U+FFFD, as
/// `export json` does.
fn lossy<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn lossy_opt<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => lossy(p, s),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct Guix {
    packages: Vec<String>,
    channels: Option<String>,
    profile: Option<Profile>,
}

#[derive(Serialize)]
struct Profile {
    key: String,
    #[serde(serialize_with = "lossy")]
    path: PathBuf,
    #[serde(serialize_with = "lossy_opt")]
    store_path: Option<PathBuf>,
    built: bool,
    /// A process is building it now.
    building: bool,
    /// The recorded failure of its last build, until `reload`.
    failure: Option<String>,
}

#[derive(Serialize)]
struct Pip {
    mode: String,
    packages: Vec<String>,
    editable: Vec<String>,
    requirements: Vec<String>,
    /// Every file and directory pip reads, by content.
    reads: Vec<Read>,
    /// Why the prefix is this project's alone, if it is.
    own_prefix_because: Vec<String>,
    /// What of the interpreter's own packages the project sees besides its
    /// own: `None` when it sees none (a venv without system site packages).
    shares: Option<String>,
    /// The lock the manifest names ([pip] lock), if it names one.
    lock: Option<LockShown>,
    prefix: Option<Prefix>,
}

#[derive(Serialize)]
struct LockShown {
    #[serde(serialize_with = "lossy")]
    file: PathBuf,
    /// current, stale, missing, unreadable or unknown.
    state: &'static str,
    why: Option<String>,
    /// What it installs, as read when the project was allowed.
    packages: Vec<LockedPackage>,
    /// The local projects it installs editable after them (live, no hash).
    editable: Vec<LockedEditable>,
}

#[derive(Serialize)]
struct LockedEditable {
    name: String,
    /// As the lock names it, relative to the lock's directory.
    path: String,
}

#[derive(Serialize)]
struct LockedPackage {
    name: String,
    version: String,
}

#[derive(Serialize)]
struct Read {
    kind: &'static str,
    #[serde(serialize_with = "lossy")]
    path: PathBuf,
    sha256: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Prefix {
    key: String,
    #[serde(serialize_with = "lossy")]
    path: PathBuf,
    built: bool,
    /// A process is building it now.
    building: bool,
    /// The current generation, once built.
    #[serde(serialize_with = "lossy_opt")]
    generation: Option<PathBuf>,
    /// The recorded failure of its last build, until `reload`.
    failure: Option<String>,
    /// What is wrong with the built prefix: empty when every file its
    /// distributions' RECORDs list is there as pip wrote it.
    damage: Vec<String>,
    /// The text the key is the SHA-256 of, line by line.
    inputs: Vec<String>,
    /// What the wheels got from Guix: each package, the libraries it
    /// gave, and which files needed them.
    libraries: Vec<Pulled>,
    /// Libraries nothing provided (`missing-libraries = "warn"`).
    missing_libraries: Vec<String>,
}

#[derive(Serialize)]
struct Pulled {
    provider: String,
    libraries: Vec<String>,
    needed_by: Vec<String>,
    dirs: Vec<String>,
}

fn pulled(linked: &crate::libraries::Linked) -> Vec<Pulled> {
    let mut out: Vec<Pulled> = Vec::new();
    for f in &linked.found {
        let i = match out.iter().position(|p| p.provider == f.provider) {
            Some(i) => i,
            None => {
                out.push(Pulled {
                    provider: f.provider.clone(),
                    libraries: vec![],
                    needed_by: vec![],
                    dirs: vec![],
                });
                out.len() - 1
            }
        };
        let p = &mut out[i];
        for (list, item) in [
            (&mut p.libraries, &f.library),
            (&mut p.needed_by, &f.needed_by),
            (&mut p.dirs, &f.dir),
        ] {
            if !list.contains(item) {
                list.push(item.clone());
            }
        }
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let found = match args.project.manifest(&ctx) {
        Ok(found) => found,
        // Outside a project a script still gets JSON.
        Err(e) if args.json => {
            let problem = json!({ "manifest": null, "problem": e.to_string() });
            print(&(serde_json::to_string_pretty(&problem)? + "\n"));
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
    let opened = trust::open(&ctx.data_dir, &found)?;
    let trust = opened.trust;
    // A manifest with errors: what can be said, then the errors.
    let (project, broken) = match opened.project {
        Ok(p) => (p, None),
        Err(e) => (Project::unreadable(&found), Some(e.to_string())),
    };
    // A manifest not allowed as it is now: what its text says, nothing read.
    let empty = Scan::default();
    let scan = match &trust {
        trust::Trust::Allowed(_, scan) => scan.as_ref(),
        _ => &empty,
    };
    let loaded = ctx
        .carried_state()
        .and_then(Result::ok)
        .is_some_and(|s| s.manifest == project.manifest_path && s.loaded.is_some());
    // Only an allowed manifest gets its interpreter asked, or Guix looked at.
    let (built, problem) = match trust {
        trust::Trust::Allowed(..) => {
            let user_path = activation::user_path(&ctx);
            match materialise::materialise(&ctx, &project, scan, user_path.as_deref(), Mode::Look) {
                Ok(b) => (b, scan.problem()),
                Err(e) => (Materialised::default(), Some(e.to_string())),
            }
        }
        _ => (Materialised::default(), broken.clone().or(scan.problem())),
    };
    let active = loaded && has_this_build(&ctx, &built);
    let allowed = matches!(trust, trust::Trust::Allowed(..));
    let m = &project.manifest;
    let report = Report {
        root: project.root.clone(),
        manifest: project.manifest_path.clone(),
        trust: trust.word(),
        blocked: match &trust {
            trust::Trust::Allowed(..) => None,
            t => Some(t.blocked_message(&project.manifest_path)),
        },
        active,
        other_build_active: loaded && !active,
        interpreter: Interpreter {
            pyenv: (built.facts.as_ref())
                .and_then(|f| crate::pyenv::Shim::at(&f.path))
                .and_then(|shim| {
                    let user_path = activation::user_path(&ctx);
                    shim.version_problem(&project.root, &ctx.build_env(user_path.as_deref(), &[]))
                }),
            command: m.python.interpreter.clone(),
            facts: built.facts.as_ref().map(|f| FactsShown {
                path: f.path.clone(),
                executable: f.executable.clone(),
                version: f.version.clone(),
                implementation: f.implementation.clone(),
                platform: f.platform.clone(),
                store_item: f.store_item.clone(),
            }),
        },
        guix: Guix {
            packages: m.guix.packages.clone(),
            channels: m.guix.channels.clone(),
            profile: built.profile.as_ref().map(|p| Profile {
                key: p.key.clone(),
                path: p.path.clone(),
                store_path: p.store_path.clone(),
                built: p.store_path.is_some(),
                building: KeyBuild::new(&ctx.cache, Bucket::Profiles, &p.key).under_way(),
                failure: KeyBuild::new(&ctx.cache, Bucket::Profiles, &p.key).failed_before(),
            }),
        },
        pip: Pip {
            mode: m.pip.mode.to_string(),
            packages: m.pip.packages.iter().map(|p| p.get_ref().clone()).collect(),
            editable: m.pip.editable.clone(),
            requirements: m.pip.requirements.clone(),
            reads: scan
                .inputs
                .iter()
                .map(|i| Read {
                    kind: i.kind.name(),
                    path: i.path.clone(),
                    sha256: i.id.as_ref().ok().cloned(),
                    error: i.id.as_ref().err().map(ToString::to_string),
                })
                .collect(),
            own_prefix_because: scan.per_project.clone(),
            lock: lock_state(&ctx, &project, scan, &built, allowed).map(|(file, state)| {
                LockShown {
                    file,
                    state: state.word(),
                    why: state.why(),
                    packages: scan
                        .lock
                        .iter()
                        .flat_map(|l| &l.packages)
                        .map(|p| LockedPackage {
                            name: p.name.clone(),
                            version: p.version.clone(),
                        })
                        .collect(),
                    editable: scan
                        .lock
                        .iter()
                        .flat_map(|l| &l.editable)
                        .map(|e| LockedEditable {
                            name: e.name.clone(),
                            path: e.rel.clone(),
                        })
                        .collect(),
                }
            }),
            shares: materialise::has_pip(&project)
                .then(|| shares(&m.pip))
                .flatten(),
            prefix: built.prefix.as_ref().map(|p| Prefix {
                key: p.key.clone(),
                path: p.path.clone(),
                built: p.built.is_some(),
                building: KeyBuild::new(&ctx.cache, Bucket::Prefixes, &p.key).under_way(),
                generation: p.built.as_ref().map(|(g, _)| g.clone()),
                failure: KeyBuild::new(&ctx.cache, Bucket::Prefixes, &p.key).failed_before(),
                damage: p
                    .built
                    .as_ref()
                    .map(|(generation, layout)| layout.verify(generation))
                    .unwrap_or_default(),
                inputs: p.inputs.lines().map(String::from).collect(),
                libraries: p
                    .built
                    .as_ref()
                    .map(|(_, layout)| pulled(&layout.libraries))
                    .unwrap_or_default(),
                missing_libraries: p
                    .built
                    .iter()
                    .flat_map(|(_, layout)| &layout.libraries.missing)
                    .map(|m| format!("{} (needed by {})", m.library, m.needed_by))
                    .collect(),
            }),
        },
        env: m
            .env
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.clone()))
            .collect(),
        path: project
            .path_entries()
            .into_iter()
            .map(|(name, entries)| {
                let shown = entries
                    .iter()
                    .map(|e| e.to_string_lossy().into_owned())
                    .collect();
                (name, shown)
            })
            .collect(),
        problem,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        // A project's words (never-allowed ones too) reach a terminal here.
        crate::log::escape(&report.text())
    };
    print(&text);
    Ok(if broken.is_some() { 1 } else { 0 })
}

/// The state of the lock the manifest names: told against the inputs as
/// `built` looked at them, for an allowed project; of another, only
/// whether the file is there (nothing of it is read).
pub(super) fn lock_state(
    ctx: &crate::context::Context,
    project: &Project,
    scan: &Scan,
    built: &Materialised,
    allowed: bool,
) -> Option<(PathBuf, lock::State)> {
    if project.manifest.pip.is_uv_project() {
        return uv_lock_state(ctx, project, built, allowed);
    }
    let name = project.manifest.pip.lock.as_ref()?;
    let path = project.root.join(name.get_ref());
    let unknown = |why: &str| Some((path.clone(), lock::State::Unknown(why.to_string())));
    if !allowed {
        if std::fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Some((path, lock::State::Missing));
        }
        return unknown("not read: the project is not allowed as it is now");
    }
    // Without its profile built, the interpreter looked at is not the
    // one the lock was made for.
    let profile = built.profile.as_ref();
    if profile.is_some_and(|p| p.store_path.is_none()) {
        return unknown("the Guix profile is not built yet: its interpreter is not known");
    }
    let Some(facts) = &built.facts else {
        return unknown("the interpreter is not known");
    };
    lock::state(
        scan,
        &project.root,
        &project.manifest.pip,
        facts,
        profile.map(|p| p.key.as_str()),
    )
}

/// A uv project's `uv.lock`, as a build of its venv's key finds it (uv
/// asked now if no build has).
fn uv_lock_state(
    ctx: &crate::context::Context,
    project: &Project,
    built: &Materialised,
    allowed: bool,
) -> Option<(PathBuf, lock::State)> {
    let path = crate::pip::uv_lock_for(&project.root)?;
    let unknown = |why: &str| Some((path.clone(), lock::State::Unknown(why.to_string())));
    if !allowed {
        return unknown("not read: the project is not allowed as it is now");
    }
    let Some(key) = built.prefix.as_ref().map(|p| p.key.as_str()) else {
        return unknown("the venv's inputs cannot be read");
    };
    let user_path = crate::activation::user_path(ctx);
    let uv = match crate::pip::install::uv::find(ctx, user_path.as_deref(), &project.root) {
        Ok(uv) => uv,
        Err(e) => return unknown(&format!("uv cannot tell: {e}")),
    };
    let Some(facts) = &built.facts else {
        return unknown("the interpreter is not known");
    };
    let cmd = crate::pip::uv_check_command(
        ctx,
        &uv.path,
        &project.root,
        user_path.as_deref(),
        facts.command(),
    );
    let record = ctx.cache.uv_lock_check(key);
    // Asked again: a workspace member's pyproject.toml, which uv reads to
    // tell, is not in the key the answer is kept under.
    Some((path, lock::uv_project_state(cmd, &record, true)))
}

/// Whether the shell's environment holds the builds the project's inputs
/// name now: the profile and the prefix generation, built, and the ones it
/// exported. A key not built is never what the shell has.
fn has_this_build(ctx: &crate::context::Context, built: &Materialised) -> bool {
    let exported = |name: &str, path: &std::path::Path| {
        ctx.var(name)
            .is_some_and(|v| std::path::Path::new(&v) == path)
    };
    let profile = built
        .profile
        .as_ref()
        .is_none_or(|p| p.store_path.is_some() && exported("PYENV_GUIX_PROFILE", &p.path));
    let prefix = built.prefix.as_ref().is_none_or(|p| {
        p.built
            .as_ref()
            .is_some_and(|(generation, _)| exported("PYENV_GUIX_PREFIX", generation))
    });
    profile && prefix
}

/// What a failed build's record says went wrong, for a line of `status`:
/// the installer's last `error:` line with its `×` summary, and the words
/// of the subprocess that failed (a `setup.py`'s, say) or uv's causes
/// when they are there. pip and uv end with `hint:` and `note:` lines that say where to
/// look, never what failed: they are skipped.
fn failure_lines(text: &str) -> Vec<String> {
    const SUBPROCESS_LINES: usize = 5;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let is_error = |l: &str| l.starts_with("ERROR:") || l.starts_with("error:");
    let Some(at) = lines.iter().rposition(|l| is_error(l)) else {
        let last = lines
            .iter()
            .rev()
            .find(|l| !l.is_empty() && !l.starts_with("hint:") && !l.starts_with("note:"))
            .or_else(|| lines.iter().rev().find(|l| !l.is_empty()));
        // uv draws its reason as `╰─▶ Because …`.
        let bare = |l: &&str| {
            l.trim_start_matches(['╰', '─', '▶', '>'])
                .trim()
                .to_string()
        };
        return last.map(|l| vec![bare(l)]).unwrap_or_default();
    };
    let mut head = lines[at].to_string();
    if let Some(summary) = lines[at + 1..]
        .iter()
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_prefix('×'))
    {
        head = format!("{head}: {}", summary.trim());
    }
    let mut out = vec![head];
    // uv says why under its error, one `cause:` a link of the chain (the
    // file, line and column of a file it could not read among them).
    out.extend(
        (lines[at + 1..].iter())
            .filter(|l| l.starts_with("cause:") || l.starts_with("Caused by:"))
            .take(SUBPROCESS_LINES)
            .map(|l| format!("  {l}")),
    );
    // pip frames a subprocess's own output: `╰─> [N lines of output]` ... `[end of output]`.
    if let Some(start) = lines.iter().position(|l| l.ends_with("lines of output]")) {
        out.extend(
            lines[start + 1..]
                .iter()
                .take_while(|l| *l != &"[end of output]")
                .filter(|l| !l.is_empty())
                .take(SUBPROCESS_LINES)
                .map(|l| format!("  {l}")),
        );
    }
    out
}

fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

impl Report {
    fn text(&self) -> String {
        let mut out = Vec::new();
        // A value's own line breaks (a path may hold one) continue under
        // the value: no value can pass for a line of its own.
        let mut line = |label: &str, value: String| {
            out.push(format!(
                "{label:<12} {}",
                value.replace('\n', "\n             ")
            ))
        };
        let list = |items: &[String]| {
            if items.is_empty() {
                "(none)".to_string()
            } else {
                items.join(" ")
            }
        };
        let built_word = |b: bool| if b { "built" } else { "not built" };
        line("root", self.root.display().to_string());
        line("manifest", self.manifest.display().to_string());
        line("trust", self.trust.to_string());
        if let Some(why) = &self.blocked {
            line("", why.clone());
        }
        line(
            "active",
            if self.active {
                "yes, in this shell"
            } else if self.other_build_active {
                "no: this shell has another build of it (its inputs changed since it was loaded); the next prompt loads this one"
            } else {
                "no"
            }
            .to_string(),
        );
        match &self.interpreter.facts {
            Some(f) => {
                line(
                    "interpreter",
                    format!("{} ({})", f.path.display(), f.executable.display()),
                );
                line("  version", f.version.lines().next().unwrap_or("").into());
                if let Some(said) = &self.interpreter.pyenv {
                    line(
                        "  pyenv",
                        format!(
                            "{said}: {} runs {}",
                            f.path.display(),
                            f.executable.display()
                        ),
                    );
                }
                if let Some(item) = &f.store_item {
                    line("  store item", item.display().to_string());
                }
            }
            None => line("interpreter", self.interpreter.command.clone()),
        }
        line("guix", list(&self.guix.packages));
        if let Some(p) = &self.guix.profile {
            line(
                "  profile",
                format!("{} ({})", p.path.display(), built_word(p.built)),
            );
            if let Some(store) = &p.store_path {
                line("  store path", store.display().to_string());
            }
            if p.building {
                line("  building", "now, in another process".to_string());
            }
            if let Some(f) = &p.failure {
                for (i, said) in failure_lines(f).into_iter().enumerate() {
                    line(if i == 0 { "  failed" } else { "" }, said);
                }
            }
        }
        let pip = &self.pip;
        for r in &pip.reads {
            let what = match (&r.sha256, &r.error) {
                (Some(h), _) => h.clone(),
                (_, Some(e)) => format!("cannot read: {e}"),
                _ => String::new(),
            };
            line("reads", format!("{} {} {what}", r.kind, r.path.display()));
        }
        let mut wanted = pip.packages.clone();
        wanted.extend(pip.editable.iter().map(|e| format!("-e {e}")));
        wanted.extend(pip.requirements.iter().map(|r| format!("-r {r}")));
        line("pip", format!("{} (mode {})", list(&wanted), pip.mode));
        for why in &pip.own_prefix_because {
            line(
                "  own prefix",
                format!("{why}: the key holds the project root"),
            );
        }
        if let Some(shares) = &pip.shares {
            line("  sees also", shares.clone());
        }
        if let Some(l) = &pip.lock {
            line("lock", format!("{} ({})", l.file.display(), l.state));
            if let Some(why) = &l.why {
                line("", why.clone());
            }
            let packages: Vec<String> = l
                .packages
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect();
            if !packages.is_empty() {
                line("  locks", packages.join(", "));
            }
            let editable: Vec<String> = l
                .editable
                .iter()
                .map(|e| format!("{} ({})", e.name, e.path))
                .collect();
            if !editable.is_empty() {
                line("  editable", editable.join(", "));
            }
        }
        if let Some(p) = &pip.prefix {
            line(
                "  prefix",
                format!("{} ({})", p.path.display(), built_word(p.built)),
            );
            if let Some(g) = &p.generation {
                line("  generation", g.display().to_string());
            }
            if p.building {
                line("  building", "now, in another process".to_string());
            }
            if let Some(f) = &p.failure {
                for (i, said) in failure_lines(f).into_iter().enumerate() {
                    line(if i == 0 { "  failed" } else { "" }, said);
                }
                line("  retry", "pyenv-guix reload".to_string());
            }
            for d in &p.damage {
                line("  damaged", d.clone());
            }
            if !p.damage.is_empty() {
                line("  repair", "pyenv-guix rebuild".to_string());
            }
            for pulled in &p.libraries {
                line(
                    "  libraries",
                    format!(
                        "{} from {} (for {})",
                        pulled.libraries.join(" "),
                        pulled.provider,
                        pulled.needed_by.join(", ")
                    ),
                );
            }
            for missing in &p.missing_libraries {
                line("  missing", missing.clone());
            }
            line("  key", p.key.clone());
            // A lock's packages, one long line each, are said once, as a
            // count: `locks` above names them, `--json` has each line.
            let locked = p.inputs.iter().filter(|i| i.starts_with("locked ")).count();
            for input in p.inputs.iter().filter(|i| !i.starts_with("locked ")) {
                out.push(format!("    {input}"));
            }
            if locked > 0 {
                out.push(format!(
                    "    locked ({locked}: each by name, version, marker and file hashes; status --json lists them)"
                ));
            }
        }
        for (name, value) in &self.env {
            out.push(format!("env          {name}={value}"));
        }
        for (name, entries) in &self.path {
            out.push(format!("path         {name} += {}", entries.join(":")));
        }
        if let Some(problem) = &self.problem {
            out.push(format!("problem      {problem}"));
        }
        out.join("\n") + "\n"
    }
}

/// Whether the base interpreter's own site-packages leak into the project,
/// said as the user should hear it.
fn shares(pip: &crate::pip::Pip) -> Option<String> {
    use crate::pip::PipMode;
    match pip.mode {
        PipMode::Venv if !pip.system_site_packages => None,
        PipMode::Venv => Some(
            "the interpreter's own site-packages (system-site-packages = true); without it the venv is the project's alone".into(),
        ),
        PipMode::Prefix | PipMode::User => Some(format!(
            "the interpreter's own site-packages: {} mode adds to them; mode = \"venv\" isolates the project fully",
            pip.mode
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::failure_lines;

    #[test]
    fn a_failure_is_shown_by_its_error_not_its_hint() {
        // pip 23's words for a setup.py that exits with an error.
        let pip = "Obtaining file:///p/pkg
  Preparing metadata (setup.py): started
  Preparing metadata (setup.py): finished with status 'error'
  error: subprocess-exited-with-error
  
  × python setup.py egg_info did not run successfully.
  │ exit code: 1
  ╰─> [1 lines of output]
      this package does not build: missing libfoo
      [end of output]
  
  note: This error originates from a subprocess, and is likely not a problem with pip.
error: metadata-generation-failed

× Encountered error while generating package metadata.
╰─> See above for output.

note: This is an issue with the package mentioned above, not pip.
hint: See above for details.
";
        assert_eq!(
            failure_lines(pip),
            [
                "error: metadata-generation-failed: Encountered error while generating package metadata.",
                "  this package does not build: missing libfoo",
            ]
        );
        let missing = "Looking in links: /c/s\nERROR: Could not find a version that satisfies the requirement nosuch==1.0 (from versions: none)
ERROR: No matching distribution found for nosuch==1.0
";
        assert_eq!(
            failure_lines(missing),
            ["ERROR: No matching distribution found for nosuch==1.0"]
        );
        let uv = "  × No solution found when resolving dependencies:
  ╰─▶ Because nosuch was not found in the provided package locations and you require nosuch==1.0, we can conclude that your requirements are unsatisfiable.
hint: Packages were unavailable because index lookups were disabled and no additional package locations were provided (try: `--find-links <uri>`)
";
        assert_eq!(
            failure_lines(uv),
            [
                "Because nosuch was not found in the provided package locations and you require nosuch==1.0, we can conclude that your requirements are unsatisfiable."
            ]
        );
        // uv 0.13 on a pyproject.toml it cannot read.
        let unreadable = "error: Failed to parse: `pyproject.toml`
  cause: TOML parse error at line 4, column 17
           |
         4 | dependencies = [
           |                 ^
         unclosed array, expected `]`
";
        assert_eq!(
            failure_lines(unreadable),
            [
                "error: Failed to parse: `pyproject.toml`",
                "  cause: TOML parse error at line 4, column 17",
            ]
        );
        assert_eq!(failure_lines("interrupted\n\n"), ["interrupted"]);
        assert!(failure_lines("").is_empty());
    }
}
