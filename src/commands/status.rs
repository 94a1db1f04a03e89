use serde_json::{Value, json};

use crate::activation;
use crate::inputs::Scan;
use crate::materialise::{self, Materialised, Mode};
use crate::state::{self, State};
use crate::trust;

/// Show a project: root, manifest, trust, interpreter, profile, prefix
///
/// Says whether the manifest is allowed, blocked or denied, whether it is
/// active in this shell, which interpreter it uses and who that is, and the
/// Guix profile and pip prefix it needs: their keys, paths and whether each
/// is built. Builds nothing.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, record) = args.project.load(&ctx)?;
    let found = project.manifest_path.clone();
    let scan = Scan::new(&project.root, &project.manifest.pip);
    let trust = match trust::check(&record, &project, &scan) {
        trust::Trust::Allowed(_) => "allowed",
        trust::Trust::Blocked => "blocked",
        trust::Trust::Denied => "denied",
    };
    let active = ctx
        .var(state::VAR)
        .and_then(|raw| State::decode(&raw).ok())
        .is_some_and(|s| s.manifest == found && s.loaded.is_some());
    let looked = materialise::materialise(
        &ctx,
        &project,
        &scan,
        activation::user_path(&ctx).as_deref(),
        Mode::Look,
    );
    let m = &project.manifest;
    let paths: Vec<(String, Vec<String>)> = project
        .path_entries()
        .into_iter()
        .map(|(name, entries)| {
            let shown = entries
                .iter()
                .map(|e| e.to_string_lossy().into_owned())
                .collect();
            (name, shown)
        })
        .collect();
    let env: Vec<(&str, &str)> = m
        .env
        .iter()
        .map(|(k, v)| (k.get_ref().as_str(), v.as_str()))
        .collect();
    let (built, problem) = match looked {
        Ok(b) => (b, None),
        Err(e) => (Materialised::default(), Some(e.to_string())),
    };

    if args.json {
        let value = json!({
            "root": project.root,
            "manifest": found,
            "trust": trust,
            "active": active,
            "interpreter": interpreter_json(&m.python.interpreter, &built),
            "guix": {
                "packages": m.guix.packages,
                "channels": m.guix.channels,
                "profile": built.profile.as_ref().map(|p| json!({
                    "key": p.key,
                    "path": p.path,
                    "store_path": p.store_path,
                    "built": p.store_path.is_some(),
                })),
            },
            "pip": {
                "mode": m.pip.mode.to_string(),
                "packages": m.pip.packages.iter().map(|p| p.get_ref()).collect::<Vec<_>>(),
                "editable": m.pip.editable,
                "requirements": m.pip.requirements,
                "prefix": built.prefix.as_ref().map(|p| json!({
                    "key": p.key,
                    "path": p.path,
                    "built": p.layout.is_some(),
                    "inputs": p.inputs,
                })),
            },
            "env": env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "path": paths.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "problem": problem,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }

    let list = |items: &[String]| {
        if items.is_empty() {
            "(none)".to_string()
        } else {
            items.join(" ")
        }
    };
    let built_word = |b: bool| if b { "built" } else { "not built" };
    println!("root         {}", project.root.display());
    println!("manifest     {}", found.display());
    println!("trust        {trust}");
    println!(
        "active       {}",
        if active { "yes, in this shell" } else { "no" }
    );
    match &built.facts {
        Some(f) => {
            println!(
                "interpreter  {} ({})",
                f.path.display(),
                f.executable.display()
            );
            println!("  version    {}", f.version.lines().next().unwrap_or(""));
            if let Some(item) = &f.store_item {
                println!("  store item {}", item.display());
            }
        }
        None => println!("interpreter  {}", m.python.interpreter),
    }
    println!("guix         {}", list(&m.guix.packages));
    if let Some(p) = &built.profile {
        println!(
            "  profile    {} ({})",
            p.path.display(),
            built_word(p.store_path.is_some())
        );
        if let Some(store) = &p.store_path {
            println!("  store path {}", store.display());
        }
    }
    let mut pip: Vec<String> = m.pip.packages.iter().map(|p| p.get_ref().clone()).collect();
    pip.extend(m.pip.editable.iter().map(|e| format!("-e {e}")));
    pip.extend(m.pip.requirements.iter().map(|r| format!("-r {r}")));
    println!("pip          {} (mode {})", list(&pip), m.pip.mode);
    if let Some(p) = &built.prefix {
        println!(
            "  prefix     {} ({})",
            p.path.display(),
            built_word(p.layout.is_some())
        );
        println!("  key        {}", p.key);
        for line in p.inputs.lines() {
            println!("    {line}");
        }
    }
    for (name, value) in &env {
        println!("env          {name}={value}");
    }
    for (name, entries) in &paths {
        println!("path         {name} += {}", entries.join(":"));
    }
    if let Some(problem) = problem {
        println!("problem      {problem}");
    }
    Ok(0)
}

fn interpreter_json(command: &str, built: &Materialised) -> Value {
    match &built.facts {
        Some(f) => json!({
            "command": command,
            "path": f.path,
            "executable": f.executable,
            "version": f.version,
            "implementation": f.implementation,
            "platform": f.platform,
            "store_item": f.store_item,
        }),
        None => json!({ "command": command }),
    }
}
