use crate::{log, trust};

/// Trust a project's manifest as it is now
///
/// Trust covers the manifest's exact bytes and everything that can act for
/// it: every file pip will read (requirements and constraints files,
/// followed), local wheels and find-links directories, the channels file,
/// an interpreter in the project. Any later change to any of them blocks
/// the project again until you allow it again. A manifest with errors, or
/// whose files can't be used (missing, not followed, refused options), is
/// not trusted: the errors are shown.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, record) = args.project.load(&ctx)?;
    let scan = project.scan();
    trust::allow_scanned(&record, &project, &scan)?;
    log::info(&format!("allowed {}", project.manifest_path.display()));
    // Trusted as the project's own files are, yet not in what the user
    // looked at when they reviewed the project: each is said by name.
    let outside: Vec<String> = (scan.inputs.iter())
        .filter(|input| !input.path.starts_with(&project.root))
        .map(|input| input.path.display().to_string())
        .collect();
    if !outside.is_empty() {
        log::notice(&format!(
            "trusted with it, outside the project: {}; a change to any blocks the project again",
            outside.join(", ")
        ));
    }
    Ok(0)
}
