use anyhow::Context;

use crate::log;

/// Make the next prompt re-check everything
///
/// In every shell, the next prompt reads the manifest and its trust again,
/// and retries anything that failed before.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    crate::buildlock::clear_failures(&ctx.cache);
    let stamp = ctx.cache.reload_stamp();
    if let Some(dir) = stamp.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    crate::fsutil::write_atomic(&stamp, format!("{now}\n").as_bytes())
        .with_context(|| format!("cannot write {}", stamp.display()))?;
    log::info("the next prompt re-checks everything");
    Ok(0)
}
