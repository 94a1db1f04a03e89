use std::path::PathBuf;

use serde_json::json;

use crate::manifest::Project;
use crate::state::{self, State};
use crate::{settings, trust};

/// Show a project: root, manifest, trust, and what it asks for
///
/// Says whether the manifest is allowed, blocked or denied, whether it is
/// active in this shell, and what it sets.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory (the nearest .pyguix.toml at or above it) or the manifest
    /// itself [default: the current directory]
    path: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let found = super::manifest_from(args.path.as_deref())?;
    let project = Project::load(&found)?;
    let record = trust::record_path(&settings::data_dir(), &found)?;
    let trust = match trust::check(&record, &project) {
        trust::Trust::Allowed(_) => "allowed",
        trust::Trust::Blocked => "blocked",
        trust::Trust::Denied => "denied",
    };
    let active = std::env::var_os(state::VAR)
        .and_then(|raw| State::decode(&raw).ok())
        .is_some_and(|s| s.manifest == found && s.loaded.is_some());
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

    if args.json {
        let value = json!({
            "root": project.root,
            "manifest": found,
            "trust": trust,
            "active": active,
            "interpreter": m.python.interpreter,
            "guix": { "packages": m.guix.packages, "channels": m.guix.channels, "profile": null },
            "pip": {
                "mode": m.pip.mode.to_string(),
                "packages": m.pip.packages,
                "requirements": m.pip.requirements,
                "prefix": null,
            },
            "env": env.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "path": paths.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
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
    println!("root         {}", project.root.display());
    println!("manifest     {}", found.display());
    println!("trust        {trust}");
    println!(
        "active       {}",
        if active { "yes, in this shell" } else { "no" }
    );
    println!("interpreter  {}", m.python.interpreter);
    println!("guix         {}", list(&m.guix.packages));
    if !m.guix.packages.is_empty() {
        println!("  profile    not built (this version does not build Guix profiles yet)");
    }
    let mut pip = m.pip.packages.clone();
    pip.extend(m.pip.requirements.iter().map(|r| format!("-r {r}")));
    println!("pip          {} (mode {})", list(&pip), m.pip.mode);
    if !pip.is_empty() {
        println!("  prefix     not built (this version does not build pip prefixes yet)");
    }
    for (name, value) in &env {
        println!("env          {name}={value}");
    }
    for (name, entries) in &paths {
        println!("path         {name} += {}", entries.join(":"));
    }
    Ok(0)
}
