use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::context::Context;
use crate::manifest;
use crate::materialise::{self, Mode};
use crate::{activation, fsutil, trust};

/// Explain the set-up: the hook in this shell, the binary, the directories
///
/// Checks, and says in plain words: whether the hook is installed in the
/// shell that runs doctor and has run at its prompts, which binary it
/// calls, the data and cache directories and their permissions, whether
/// guix and uv are found, and which interpreter the project here uses (only
/// for a project allowed as it is now: nothing of another is run), and
/// whether its lock is stale. Run it
/// from the prompt of the shell in question. Exits 1 when something is
/// wrong.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// As it should be.
    Ok,
    /// Worth knowing, not wrong (no guix on a machine without Guix).
    Note,
    /// Wrong: doctor exits 1.
    Problem,
}

#[derive(Serialize)]
struct Finding {
    name: &'static str,
    status: Status,
    message: String,
}

#[derive(Serialize)]
struct Diagnosis {
    ok: bool,
    checks: Vec<Finding>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut checks = Vec::new();
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() } as u32;
    let hook = std::env::var_os("PYENV_GUIX_HOOK");
    let marker = hook.as_deref().and_then(parse_marker);
    // The directories decide whether anything else can be asked: a context
    // is refused when they are not the user's own.
    let ctx = match super::context() {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            checks.push(Finding {
                name: "directories",
                status: Status::Problem,
                message: e.to_string(),
            });
            None
        }
    };
    checks.push(hook_check(
        marker.as_ref(),
        hook.is_some(),
        parent,
        ctx.as_ref(),
    ));
    checks.push(binary_check(marker.as_ref()));
    if let Some(ctx) = &ctx {
        checks.push(dir_check("data directory", &ctx.data_dir));
        checks.push(dir_check("cache directory", ctx.cache.root()));
        checks.push(match ctx.state_key() {
            Ok(_) => Finding {
                name: "state key",
                status: Status::Ok,
                message: format!("{} (yours alone)", ctx.data_dir.join("state-key").display()),
            },
            Err(e) => Finding {
                name: "state key",
                status: Status::Problem,
                message: e.to_string(),
            },
        });
        let user_path = activation::user_path(ctx);
        checks.push(guix_check(ctx, user_path.as_deref()));
        checks.push(uv_check(ctx, user_path.as_deref()));
        checks.extend(interpreter_check(ctx, user_path.as_deref()));
        checks.extend(libraries_check(ctx));
    }
    let ok = checks.iter().all(|c| c.status != Status::Problem);
    let report = Diagnosis { ok, checks };
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        let mut out = String::new();
        for c in &report.checks {
            let word = match c.status {
                Status::Ok => "ok",
                Status::Note => "note",
                Status::Problem => "PROBLEM",
            };
            out.push_str(&format!("{word:<8} {:<16} {}\n", c.name, c.message));
        }
        out.push_str(if ok {
            "Nothing is wrong.\n"
        } else {
            "Something is wrong: see PROBLEM above.\n"
        });
        out
    };
    let text = if args.json {
        text
    } else {
        crate::log::escape(&text)
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if ok { 0 } else { 1 })
}

/// What the hook exported when it was set up: `SHELL:PID:BINARY`.
struct Marker {
    shell: String,
    pid: u32,
    bin: PathBuf,
}

fn parse_marker(value: &OsStr) -> Option<Marker> {
    use std::os::unix::ffi::OsStrExt;
    let mut parts = value.as_bytes().splitn(3, |&b| b == b':');
    let shell = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let pid = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let bin = PathBuf::from(OsStr::from_bytes(parts.next()?));
    Some(Marker { shell, pid, bin })
}

fn hook_check(marker: Option<&Marker>, set: bool, parent: u32, ctx: Option<&Context>) -> Finding {
    let problem = |message: String| Finding {
        name: "hook",
        status: Status::Problem,
        message,
    };
    // The user's login shell (SHELL) when it is one we hook: its line
    // alone; else every shell's.
    let login = ctx
        .and_then(|c| c.var("SHELL"))
        .and_then(|s| {
            let name = Path::new(&s).file_name()?.to_str()?.to_string();
            crate::shells::ShellName::from_name(&name)
        })
        .filter(|s| s.shell().install().is_some());
    let lines: Vec<String> = crate::shells::hooked()
        .filter(|s| login.is_none_or(|l| l == *s))
        .filter_map(|s| s.shell().install())
        .map(|i| format!("`{}` to {}", i.line, i.rc_file))
        .collect();
    // The lines hold commas of their own: "a, b, or c".
    let how = match lines.split_last() {
        Some((last, head)) if !head.is_empty() => {
            format!("add {}, or {last}, then start a new shell", head.join(", "))
        }
        _ => format!("add {}, then start a new shell", lines.concat()),
    };
    let Some(m) = marker else {
        return problem(if set {
            "PYENV_GUIX_HOOK is set but not by a hook of this version: start a new shell".into()
        } else {
            format!("not installed in this shell: {how}")
        });
    };
    if m.pid != parent {
        return problem(format!(
            "set up in another {} (pid {}), not in the shell that runs doctor (pid {parent}): a shell started from it without its rc file, or doctor run from a script. In your interactive shell: {how}",
            m.shell, m.pid
        ));
    }
    // Each check the hook makes with the binary leaves a mark for its shell.
    let fired = ctx.is_some_and(|c| c.cache.shell_mark(m.pid).is_file());
    if !fired {
        return problem(format!(
            "installed in this {} (pid {}) but it has not run at a prompt: something in the rc file after it replaces {}",
            m.shell,
            m.pid,
            crate::shells::ShellName::from_name(&m.shell)
                .map_or("its prompt hook", |s| s.shell().prompt_hook())
        ));
    }
    Finding {
        name: "hook",
        status: Status::Ok,
        message: format!(
            "installed in this {} (pid {}) and running at its prompts",
            m.shell, m.pid
        ),
    }
}

fn binary_check(marker: Option<&Marker>) -> Finding {
    let me = std::env::current_exe().ok();
    let Some(m) = marker else {
        return Finding {
            name: "binary",
            status: Status::Note,
            message: format!(
                "this is {}; no hook here calls it",
                me.as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        };
    };
    if !fsutil::is_executable(&m.bin) {
        return Finding {
            name: "binary",
            status: Status::Problem,
            message: format!(
                "the hook calls {}, which is gone or not executable: the hook stays quiet and loads nothing. Set it up again from the binary you have",
                m.bin.display()
            ),
        };
    }
    let same = me.as_deref().is_some_and(|me| same_file(me, &m.bin));
    if same {
        Finding {
            name: "binary",
            status: Status::Ok,
            message: format!("the hook calls {} (this one)", m.bin.display()),
        }
    } else {
        Finding {
            name: "binary",
            status: Status::Note,
            message: format!(
                "the hook calls {}, doctor is {}: two installations, maybe of two versions",
                m.bin.display(),
                me.as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The context has already refused a directory that is not the user's own
/// or that others can write to; this says what it is.
fn dir_check(name: &'static str, dir: &Path) -> Finding {
    // Read-only or full: [env] and [path] still load, but nothing is built
    // or remembered.
    if let Err(e) = tempfile::Builder::new()
        .prefix(".pyenv-guix-doctor.")
        .tempfile_in(dir)
    {
        return Finding {
            name,
            status: Status::Problem,
            message: format!("{}: cannot write to it: {e}", dir.display()),
        };
    }
    match std::fs::metadata(dir) {
        Ok(meta) => Finding {
            name,
            status: Status::Ok,
            message: format!(
                "{} (mode {:o}, yours, no one else can write to it)",
                dir.display(),
                meta.mode() & 0o7777
            ),
        },
        Err(e) => Finding {
            name,
            status: Status::Problem,
            message: format!("{}: {e}", dir.display()),
        },
    }
}

/// `name` on the PATH the user had before any project changed it.
fn on_path(ctx: &Context, name: &str, user_path: Option<&OsStr>) -> Option<PathBuf> {
    fsutil::find_program(OsStr::new(name), user_path, &ctx.dir)
}

fn guix_check(ctx: &Context, user_path: Option<&OsStr>) -> Finding {
    let command = ctx.guix_command();
    let set = ctx.var("PYENV_GUIX_GUIX").is_some();
    let found = on_path(ctx, &command[0], user_path);
    match found {
        Some(p) => Finding {
            name: "guix",
            status: Status::Ok,
            message: format!(
                "{}{}",
                p.display(),
                if set { " (from PYENV_GUIX_GUIX)" } else { "" }
            ),
        },
        None if set => Finding {
            name: "guix",
            status: Status::Problem,
            message: format!(
                "PYENV_GUIX_GUIX names {}, which is not found",
                command[0]
            ),
        },
        None => Finding {
            name: "guix",
            status: Status::Note,
            message: "not found on PATH: projects with [guix] packages cannot be built; the rest work on the host's Python".into(),
        },
    }
}

fn uv_check(ctx: &Context, user_path: Option<&OsStr>) -> Finding {
    match on_path(ctx, "uv", user_path) {
        Some(p) => Finding {
            name: "uv",
            status: Status::Ok,
            message: p.display().to_string(),
        },
        None => Finding {
            name: "uv",
            status: Status::Note,
            message: "not found on PATH: pip fallbacks are installed with pip".into(),
        },
    }
}

/// The interpreter of the project here, asked only when the project is
/// allowed as it is now; and its lock, if it has one.
fn interpreter_check(ctx: &Context, user_path: Option<&OsStr>) -> Vec<Finding> {
    let mut lock = None;
    let interpreter = interpreter_finding(ctx, user_path, &mut lock);
    [Some(interpreter), lock].into_iter().flatten().collect()
}

fn interpreter_finding(
    ctx: &Context,
    user_path: Option<&OsStr>,
    lock: &mut Option<Finding>,
) -> Finding {
    let check = |status, message| Finding {
        name: "interpreter",
        status,
        message,
    };
    let Some(found) = manifest::find(&ctx.dir) else {
        let python = on_path(ctx, "python3", user_path);
        return check(
            Status::Note,
            format!(
                "no project here; a project here would use python3 ({})",
                python
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "not found on PATH".into())
            ),
        );
    };
    let opened = match trust::open(&ctx.data_dir, &found) {
        Ok(o) => o,
        Err(e) => return check(Status::Problem, e.to_string()),
    };
    let project = match opened.project {
        Ok(p) => p,
        Err(e) => return check(Status::Problem, e.to_string()),
    };
    let scan = match opened.trust {
        trust::Trust::Allowed(_, scan) => scan,
        blocked => {
            return check(
                Status::Note,
                format!(
                    "{} (its interpreter was not asked)",
                    blocked.blocked_message(&found)
                ),
            );
        }
    };
    let looked = materialise::materialise(ctx, &project, &scan, user_path, Mode::Look);
    if let Ok(looked) = &looked {
        *lock = super::status::lock_state(ctx, &project, &scan, looked, true)
            .map(|(path, state)| lock_check(ctx, &path, &state));
    }
    match looked {
        Ok(looked) => match looked.facts {
            Some(f) => check(
                Status::Ok,
                format!(
                    "{} uses {} (Python {}, {})",
                    found.display(),
                    f.path.display(),
                    f.version_short,
                    f.executable.display()
                ),
            ),
            None => check(
                Status::Ok,
                format!(
                    "{} uses the python3 on your PATH ({})",
                    found.display(),
                    on_path(ctx, "python3", user_path)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "not found".into())
                ),
            ),
        },
        Err(e) => check(Status::Problem, format!("{}: {e}", found.display())),
    }
}

/// A stale lock is worth knowing (builds install it as it is), and wrong
/// where `PYENV_GUIX_LOCKED=1` refuses it.
fn lock_check(ctx: &Context, path: &Path, state: &crate::pip::lock::State) -> Finding {
    use crate::pip::lock::{LOCKED_VAR, State};
    let locked = ctx.var(LOCKED_VAR).is_some_and(|v| v == "1");
    let status = match state {
        State::Current => Status::Ok,
        State::Unknown(_) => Status::Note,
        State::Stale(_) if !locked => Status::Note,
        _ => Status::Problem,
    };
    let mut message = format!("{} is {}", path.display(), state.word());
    if let Some(why) = state.why() {
        message.push_str(&format!(": {why}"));
    }
    if locked && matches!(state, State::Stale(_)) {
        message.push_str(&format!(" ({LOCKED_VAR}=1: nothing is built from it)"));
    }
    Finding {
        name: "lock",
        status,
        message,
    }
}

/// In an allowed project whose prefix is built: what its wheels got from
/// Guix, and what nothing provided (the project asked to be warned only).
fn libraries_check(ctx: &Context) -> Option<Finding> {
    let here = super::ProjectPath::default();
    let (_, built) = here.materialise(ctx, crate::materialise::Mode::Look).ok()?;
    let (_, layout) = built.prefix?.built?;
    let linked = layout.libraries;
    if !linked.missing.is_empty() {
        let said: Vec<String> = linked
            .missing
            .iter()
            .map(|m| format!("{} (needed by {})", m.library, m.needed_by))
            .collect();
        return Some(Finding {
            name: "libraries",
            status: Status::Problem,
            message: format!(
                "no Guix package provides {}: add the package that does to [guix] packages",
                said.join(", ")
            ),
        });
    }
    let packages = linked.packages();
    if packages.is_empty() {
        return None;
    }
    let said: Vec<String> = packages
        .iter()
        .map(|(provider, libs)| {
            let libs: Vec<&str> = libs.iter().copied().collect();
            format!("{} from {provider}", libs.join(" "))
        })
        .collect();
    Some(Finding {
        name: "libraries",
        status: Status::Note,
        message: format!("the prefix's wheels load {}", said.join("; ")),
    })
}
