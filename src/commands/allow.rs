use crate::inputs::Scan;
use crate::{log, trust};

/// Trust a project's manifest as it is now
///
/// Trust covers the manifest's exact bytes and every file it names
/// (requirements files, the channels file). Any later change to any of them
/// blocks the project again until you allow it again. A manifest with
/// errors is not trusted: they are shown with file, line and column.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: super::ProjectPath,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let (project, record) = args.project.load(&ctx)?;
    let scan = Scan::new(&project);
    trust::allow(&record, &project, &scan)?;
    log::info(&format!("allowed {}", project.manifest_path.display()));
    Ok(0)
}
