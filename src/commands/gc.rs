use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

mod in_use;

use crate::activation;
use crate::buildlock::KeyBuild;
use crate::cache::{Bucket, Records, sorted_entries};
use crate::context::Context;
use crate::manifest::Project;
use crate::materialise::{self, Mode};
use crate::pip::Scan;
use crate::{log, trust};

/// Remove prefixes and Guix profiles that no trusted project still needs
///
/// Keeps what each manifest on disk that is trusted as it is now needs: what
/// it used when it was last activated (recorded then, so the PATH, the
/// PYENV_VERSION or the directory gc runs with change nothing), and what it
/// would use now. If gc cannot tell what a trusted project needs, it keeps
/// everything. With --older-than DAYS, it also removes prefixes no project
/// used for DAYS days (a trusted project's Guix profile is always kept).
/// Removing a profile link drops its Guix GC root; `guix gc` then frees the
/// store items. A project whose prefix was removed rebuilds it on entry.
///
/// Never removed: a key being built (gc takes its build lock to remove
/// anything of it), and a generation a running process uses (its program,
/// working directory, open or mapped files, arguments or environment lead
/// into it) or a shell open in a project has loaded, unless --older-than
/// covers it: then it goes, and gc says who still used it. Staged copies
/// a killed build left go, and build logs after --older-than DAYS (30 by
/// default), or an hour after their key is gone.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also remove prefixes that no project used for this many days, even
    /// in use; and logs this old.
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let ctx = super::context()?;
    let needs = Needs::now(&ctx);
    let cutoff = args
        .older_than
        .map(|days| SystemTime::now() - Duration::from_secs(days.saturating_mul(86_400)));
    // Told by --older-than: last used before the cutoff (or never).
    let aged = |key: &str| cutoff.is_some_and(|c| needs.last_used.get(key).is_none_or(|t| *t < c));
    let keep = |bucket: Bucket, key: &str| {
        if needs.unsure || (bucket == Bucket::Profiles && needs.profiles.contains(key)) {
            return true;
        }
        needs.keys.contains(key) && !aged(key)
    };
    let users = match in_use::scan(&ctx.cache, &needs.projects) {
        Ok(users) => Some(users),
        Err(why) => {
            log::warn(&format!(
                "cannot tell what running processes use ({why}); keeping all that may be in use"
            ));
            None
        }
    };
    let mut gc = Gc {
        dry_run: args.dry_run,
        failed: false,
        freed: 0,
        kept: BTreeSet::new(),
        shared: Shared::default(),
    };
    for bucket in Bucket::BUILT {
        for (key, paths) in ctx.cache.keys(bucket) {
            let slot = KeyBuild::new(&ctx.cache, bucket, &key);
            let link = ctx.cache.entry(bucket, &key);
            let mut doomed: Vec<(PathBuf, Option<String>)> = Vec::new();
            for path in paths.into_iter().filter(|p| !slot.is_lock(p)) {
                let old = bucket == Bucket::Prefixes && is_old_generation(&link, &path);
                // A kept prefix's replaced generations go all the same.
                if keep(bucket, &key) && !old {
                    gc.kept.insert(key.clone());
                    continue;
                }
                let user = match &users {
                    Some(users) => user_of(users, bucket, &link, &key, &path, old),
                    None => Some("a process gc could not look at".to_string()),
                };
                match user {
                    Some(who) if !aged(&key) => {
                        if shown(&path) {
                            log::info(&format!("keeping {}: in use by {who}", path.display()));
                        }
                        gc.kept.insert(key.clone());
                    }
                    user => doomed.push((path, user)),
                }
            }
            gc.remove_under_lock(&slot, bucket, &key, doomed)?;
        }
    }
    // What a killed build left: its staged copies, unless a build of the
    // key runs now.
    for bucket in Bucket::BUILT {
        for (key, path) in ctx.cache.staged(bucket) {
            let slot = KeyBuild::new(&ctx.cache, bucket, &key);
            gc.remove_under_lock(&slot, bucket, &key, vec![(path, None)])?;
        }
    }
    gc.remove_unused_pool_copies(&ctx);
    gc.remove_logs(&ctx, args.older_than.unwrap_or(LOG_DAYS));
    if !args.dry_run {
        remove_stale_temporaries(&ctx);
    }
    log::info(&format!(
        "{} {} in all; kept {} in use",
        gc.verb(),
        human(gc.freed),
        gc.kept.len()
    ));
    Ok(i32::from(gc.failed))
}

/// What the trusted projects need, and what any project used when.
#[derive(Default)]
struct Needs {
    /// Keys trusted projects use now, or last used.
    keys: BTreeSet<String>,
    /// Profiles trusted projects use now (their own, and their libraries').
    profiles: BTreeSet<String>,
    /// When each key was last used, by any project.
    last_used: BTreeMap<String, SystemTime>,
    /// Each project's root, with the keys it last used: what a shell open
    /// in it has loaded.
    projects: Vec<(PathBuf, Vec<String>)>,
    /// A trusted project could not say what it needs: keep everything.
    unsure: bool,
}

impl Needs {
    fn now(ctx: &Context) -> Needs {
        // Each manifest trusted as it is now, with what was read to tell.
        let trusted: Vec<(Project, Box<Scan>)> = trust::allowed_manifests(&ctx.data_dir)
            .into_iter()
            .filter_map(|manifest| trust::open(&ctx.data_dir, &manifest).ok()?.allowed())
            .collect();
        let mut needs = Needs::default();
        needs.read_usage(ctx, &trusted);
        needs.ask_projects(ctx, &trusted);
        needs.keys.extend(needs.profiles.iter().cloned());
        needs
    }

    /// The usage records: which keys each project last used, and when.
    fn read_usage(&mut self, ctx: &Context, trusted: &[(Project, Box<Scan>)]) {
        // One manifest spelled two ways is one project.
        let canonical: BTreeSet<PathBuf> = trusted
            .iter()
            .filter_map(|(p, _)| std::fs::canonicalize(&p.manifest_path).ok())
            .collect();
        let Ok(entries) = std::fs::read_dir(materialise::usage_dir(ctx)) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(text) = crate::fsutil::read_limited(e.path().as_path(), 1 << 16)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
            else {
                continue;
            };
            let when = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let materialise::Usage { manifest, keys, .. } = materialise::read_usage(&text);
            let is_trusted = std::fs::canonicalize(&manifest).is_ok_and(|m| canonical.contains(&m));
            if let Some(root) = manifest.parent() {
                self.projects.push((root.to_path_buf(), keys.clone()));
            }
            for key in keys {
                if is_trusted {
                    self.keys.insert(key.clone());
                }
                let latest = self.last_used.entry(key).or_insert(when);
                *latest = (*latest).max(when);
            }
        }
    }

    /// What each trusted project needs as it is now (looked up, never built).
    fn ask_projects(&mut self, ctx: &Context, trusted: &[(Project, Box<Scan>)]) {
        let user_path = activation::user_path(ctx);
        for (project, scan) in trusted {
            match materialise::materialise(ctx, project, scan, user_path.as_deref(), Mode::Look) {
                Ok(m) => {
                    self.profiles.extend(m.profile.map(|p| p.key));
                    // The profile of the libraries the prefix's wheels got
                    // from Guix roots the store items in their RUNPATHs.
                    let libraries = m.prefix.as_ref().and_then(|p| p.built.as_ref());
                    let libraries = libraries.and_then(|(_, l)| l.libraries.profile.as_deref());
                    self.profiles.extend(
                        libraries
                            .and_then(|p| p.file_name()?.to_str())
                            .map(str::to_string),
                    );
                    self.keys.extend(m.prefix.map(|p| p.key));
                }
                Err(e) => {
                    log::warn(&format!(
                        "cannot tell what {} needs now ({e}); keeping everything",
                        project.manifest_path.display()
                    ));
                    self.unsure = true;
                }
            }
        }
    }
}

/// How long a build's log is kept, by default: it says how the last
/// build went, which `status` and the user may want to read.
const LOG_DAYS: u64 = 30;

struct Gc {
    dry_run: bool,
    /// Something could not be removed (said as it was met).
    failed: bool,
    freed: u64,
    kept: BTreeSet<String>,
    shared: Shared,
}

/// Files with other links (the pool's copies) met in what gc removes, by
/// device and inode: their size, how many links they had when first met,
/// and how many of those gc removes. Their bytes are freed with the last.
#[derive(Default)]
struct Shared(BTreeMap<(u64, u64), (u64, u64, u64)>);

impl Shared {
    /// How many links the file of `m` keeps once gc has removed its part.
    fn left(&self, m: &std::fs::Metadata) -> u64 {
        use std::os::unix::fs::MetadataExt;
        match self.0.get(&(m.dev(), m.ino())) {
            Some((_, links, removed)) => links.saturating_sub(*removed),
            None => m.nlink(),
        }
    }
}

impl Gc {
    fn verb(&self) -> &'static str {
        if self.dry_run {
            "would remove"
        } else {
            "removed"
        }
    }

    /// Remove `doomed` (each with who uses it, if anyone) holding the
    /// key's build lock, so that no build starts meanwhile; a build under
    /// way keeps it all.
    fn remove_under_lock(
        &mut self,
        slot: &KeyBuild,
        bucket: Bucket,
        key: &str,
        doomed: Vec<(PathBuf, Option<String>)>,
    ) -> anyhow::Result<()> {
        if doomed.is_empty() {
            return Ok(());
        }
        let what = bucket.what();
        let lock = if self.dry_run {
            None
        } else {
            match slot.try_lock() {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => {
                    self.leave(what, key);
                    return Ok(());
                }
                Err(e) => {
                    log::warn(&format!("leaving {what} {key} alone: cannot lock it: {e}"));
                    return Ok(());
                }
            }
        };
        if self.dry_run && slot.under_way() {
            self.leave(what, key);
            return Ok(());
        }
        for (path, user) in doomed {
            let size = disk_usage(&path, &mut self.shared);
            let said = shown(&path);
            // One path that will not go (a tree deeper than a path may
            // name) is said, and the rest of the cache still gone through.
            if !self.dry_run
                && let Err(e) = remove(&path)
            {
                log::warn(&format!("cannot remove {}: {e}", path.display()));
                self.failed = true;
                continue;
            }
            if said {
                let though = user
                    .map(|who| format!(" though in use by {who}"))
                    .unwrap_or_default();
                println!(
                    "{} {} ({}){though}",
                    self.verb(),
                    path.display(),
                    human(size)
                );
            }
            self.freed += size;
        }
        drop(lock);
        Ok(())
    }

    /// The pool's copies of files no prefix holds any more (those of the
    /// prefixes removed above among them), and the bytes of files whose
    /// every link went with those prefixes (a copy an edit took out of
    /// the pool). Counted alike with --dry-run, which removes nothing.
    fn remove_unused_pool_copies(&mut self, ctx: &Context) {
        // Removed already, unless this is a dry run: then as if it were.
        let links = |m: &std::fs::Metadata| match self.dry_run {
            true => self.shared.left(m),
            false => std::os::unix::fs::MetadataExt::nlink(m),
        };
        let unused = crate::pip::pool::unused(&ctx.cache.bucket(Bucket::Pool), links);
        let mut freed = 0;
        for (path, size) in &unused {
            if self.dry_run || std::fs::remove_file(path).is_ok() {
                freed += size;
            }
        }
        if !unused.is_empty() {
            println!(
                "{} {} files of the pool that no prefix holds ({})",
                self.verb(),
                unused.len(),
                human(freed)
            );
        }
        let gone_with_them: u64 = (self.shared.0.values())
            .filter(|(_, links, removed)| links == removed)
            .map(|(size, _, _)| size)
            .sum();
        self.freed += freed + gone_with_them;
        // A record of what uv installed is of no use once a copy it names
        // is gone: the next build runs uv, and keeps another.
        let gone: std::collections::HashSet<&std::ffi::OsStr> =
            unused.iter().filter_map(|(p, _)| p.file_name()).collect();
        let records = crate::pip::replay::unusable(&ctx.cache, |copy| gone.contains(copy));
        for record in &records {
            if !self.dry_run {
                let _ = std::fs::remove_file(record);
            }
        }
        if !records.is_empty() {
            println!(
                "{} {} records of packages uv installed whose files the pool no longer holds",
                self.verb(),
                records.len()
            );
        }
    }

    fn leave(&mut self, what: &str, key: &str) {
        log::info(&format!("leaving {what} {key} alone: it is being built"));
        self.kept.insert(key.to_string());
    }

    /// Build logs (`cache/logs/KEY.log`) and what `uv lock --check` said
    /// (`KEY.uv-lock`) older than `days`, or, after an hour, of a key with
    /// nothing left (no prefix, no profile, no failure the log explains);
    /// never while the key builds.
    fn remove_logs(&mut self, ctx: &crate::context::Context, days: u64) {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(days.saturating_mul(86_400));
        let hour_ago = now - Duration::from_secs(3600);
        let cache = &ctx.cache;
        for key in cache.keys(Bucket::Logs).into_keys() {
            let slots = Bucket::BUILT.map(|b| (b, KeyBuild::new(cache, b, &key)));
            if slots.iter().any(|(_, slot)| slot.under_way()) {
                continue;
            }
            let gone = slots.iter().all(|(b, slot)| {
                std::fs::symlink_metadata(cache.entry(*b, &key)).is_err()
                    && slot.failed_before().is_none()
            });
            for path in [cache.log(&key), cache.uv_lock_check(&key)] {
                let Ok(modified) = std::fs::symlink_metadata(&path).and_then(|m| m.modified())
                else {
                    continue;
                };
                if modified < old || (gone && modified < hour_ago) {
                    let size = disk_usage(&path, &mut Shared::default());
                    println!("{} {} ({})", self.verb(), path.display(), human(size));
                    self.freed += size;
                    if !self.dry_run
                        && let Err(e) = std::fs::remove_file(&path)
                    {
                        log::warn(&format!("cannot remove {}: {e}", path.display()));
                    }
                }
            }
        }
    }
}

/// Who uses `path`, an entry of `key` (whose link is `link`): an old
/// generation only itself; the rest (the link, the current generation,
/// the records) whatever the link leads to. A shell that loaded the key
/// uses all.
fn user_of(
    users: &in_use::Users,
    bucket: Bucket,
    link: &Path,
    key: &str,
    path: &Path,
    old: bool,
) -> Option<String> {
    if let Some(who) = users.shells.get(key) {
        return Some(who.clone());
    }
    if bucket == Bucket::Profiles {
        return users.profiles.get(key).cloned();
    }
    let names: Vec<String> = if old {
        vec![file_name(path)]
    } else {
        let current = std::fs::read_link(link)
            .map(|t| t.to_string_lossy().into_owned())
            .ok();
        std::iter::once(key.to_string()).chain(current).collect()
    };
    names.iter().find_map(|n| users.prefixes.get(n).cloned())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a line is printed for: directories and links, not their records.
fn shown(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
        || file_name(path).ends_with("-link")
        || std::fs::read_link(path).is_ok()
}

/// Whether `path` was last written, or its mode or date set, before
/// `than`: its ctime, which no one can set back.
fn unchanged_since(path: &Path, than: SystemTime) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        let ctime = SystemTime::UNIX_EPOCH + Duration::from_secs(m.ctime().max(0).unsigned_abs());
        ctime < than
    })
}

/// Temporary files and directories an interrupted write left behind
/// (`*.tmp`), in any folder of the cache or the data directory, once they
/// are an hour old: no write takes that long; and the marks of shells not
/// seen for a week.
fn remove_stale_temporaries(ctx: &crate::context::Context) {
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let week_ago = SystemTime::now() - Duration::from_secs(7 * 86_400);
    let older = |path: &Path, than: SystemTime| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < than)
    };
    for path in sorted_entries(&ctx.cache.bucket(Bucket::Marks)) {
        if older(&path, week_ago) {
            let _ = std::fs::remove_file(path);
        }
    }
    let dirs = [ctx.data_dir.clone(), ctx.cache.root().to_path_buf()]
        .into_iter()
        .chain(Records::ALL.map(|r| r.dir(&ctx.data_dir)))
        .chain(Bucket::ALL.map(|b| ctx.cache.bucket(b)));
    let pool = ctx.cache.bucket(Bucket::Pool);
    for dir in dirs {
        for path in sorted_entries(&dir) {
            // A pool copy being made is dated 1970 before it is renamed
            // into place: its ctime tells its age.
            let stale = match dir == pool {
                true => unchanged_since(&path, hour_ago),
                false => older(&path, hour_ago),
            };
            if path.extension().is_some_and(|x| x == "tmp") && stale {
                let _ = remove(&path);
            }
        }
    }
}

/// A prefix generation `KEY.gN` that the link `KEY` no longer points at.
fn is_old_generation(link: &Path, path: &Path) -> bool {
    let generations = crate::pip::generations(link);
    let current = std::fs::read_link(link).ok();
    generations.iter().any(|g| g == path) && path.file_name().map(PathBuf::from) != current
}

/// Remove `path` and all under it, links not followed. `remove_dir_all`
/// keeps a directory open per level, which also takes it past paths too
/// long to name; a wheel's data files can make a tree deeper than the
/// process may open files, which is then removed by paths, a level at a
/// time. A tree both too deep and too long stays, and is said.
fn remove(path: &Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(path)?.is_dir() {
        return std::fs::remove_file(path);
    }
    match std::fs::remove_dir_all(path) {
        Err(_) if std::fs::symlink_metadata(path).is_ok() => remove_by_paths(path),
        done => done,
    }
}

/// Remove the directory `path` with no directory kept open per level.
fn remove_by_paths(path: &Path) -> std::io::Result<()> {
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.last().cloned() {
        // Read whole, and closed, before going down.
        let entries = std::fs::read_dir(&dir)?.collect::<std::io::Result<Vec<_>>>()?;
        let mut below = Vec::new();
        for e in entries {
            match e.file_type()?.is_dir() {
                true => below.push(e.path()),
                false => std::fs::remove_file(e.path())?,
            }
        }
        if below.is_empty() {
            std::fs::remove_dir(&dir)?;
            stack.pop();
        }
        stack.extend(below);
    }
    Ok(())
}

/// Bytes under `path`, not following symlinks (a profile link is a link).
/// The bytes under `path` that removing it frees. A file with other
/// links is noted in `shared` instead, and counted once its last goes.
fn disk_usage(path: &Path, shared: &mut Shared) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_file() && meta.nlink() > 1 {
        let seen =
            (shared.0)
                .entry((meta.dev(), meta.ino()))
                .or_insert((meta.len(), meta.nlink(), 0));
        seen.2 += 1;
        return 0;
    }
    if !meta.is_dir() {
        return meta.len();
    }
    // Read whole, and closed, before going down (see `remove`).
    let below: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    below.iter().map(|p| disk_usage(p, shared)).sum()
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
