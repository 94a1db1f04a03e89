use std::io::Write;

use crate::cache::Bucket;
use crate::context::Context;
use anyhow::{Context as _, bail};

use crate::activation::Target;
use crate::shells::{self, Output, Shell, ShellName};
use crate::{activation, log};

mod wait;

use wait::{unbuilt, wait_at_most, wait_limit};

/// Print what to change for the current directory's project (the hook runs this)
#[derive(Debug, clap::Args)]
#[command(long_about = long_help())]
pub struct Args {
    #[arg(help = shells::list(ShellName::ALL.iter().map(|s| s.name()), "or"))]
    shell: ShellName,
    /// Re-check everything even if no file changed (the hook passes this on
    /// a new shell's first prompt, whose inherited variables may be stale).
    #[arg(long, hide = true)]
    first_prompt: bool,
    /// The shell's directory changed since its last prompt (the hook knows):
    /// a build interrupted with Ctrl-C is tried again.
    #[arg(long, hide = true)]
    entered: bool,
    /// The hook's shell: also print what the hook watches to decide, with
    /// no process, that nothing changed (the shells with a hook).
    #[arg(long, value_name = "PID", hide = true)]
    shell_pid: Option<u32>,
    /// Never build: if the project here needs a Guix profile or a pip
    /// prefix that is not built, print nothing, say what is missing and
    /// exit 1 (for editors, which must not start builds).
    #[arg(long)]
    no_build: bool,
    /// The file for non-interactive starts (`hook SHELL --non-interactive`)
    /// asks: as a script does, without the lines that narrate loading.
    #[arg(long, hide = true)]
    non_interactive: bool,
    /// The hook's call after its shell refused the answer (a value it
    /// cannot carry): only undo what is loaded, as if no project were here.
    #[arg(long, hide = true)]
    unload: bool,
}

/// What the output is for each shell, and when it waits.
fn long_help() -> String {
    let answer = |data: bool| {
        shells::list(
            shells::hooked()
                .filter(|s| s.shell().answers_with_data() == data)
                .map(|s| s.name()),
            "or",
        )
    };
    let (code, data) = (answer(false), answer(true));
    let described: Vec<String> = ShellName::ALL
        .iter()
        .filter_map(|s| {
            s.shell()
                .about()
                .map(|about| format!("`{}` {about}", s.name()))
        })
        .collect();
    let one_shot = described.join("; ");
    format!(
        "Print what to change for the current directory's project (the hook runs this)\n\n\
         The changes take this shell's environment to the one its directory wants: {code} code to eval, for {data} lines of JSON that their hook applies, or JSON for editors, in the shape of `direnv export json` (variable to new value, null to unset). \
         Prints nothing when nothing changes. The hook runs this at every prompt; it prints either a whole snippet or nothing at all. \
         Called by the hook at a prompt it leaves a build to the background; called by anything else (a script's `eval \"$(pyenv-guix export bash)\"`, an editor) it waits for the build the project needs, unless --no-build.\n\n\
         For CI and containers, one-shot exports of what the project sets: {one_shot}. \
         They wait for the build, and fail, writing nothing, unless the project here is allowed and loads. \
         A value the format cannot carry is refused, naming the variable, never changed; so is a variable the project's environment would unset (run them in a fresh environment)."
    )
}

impl Args {
    /// The arguments the hook passes (`export SHELL [--shell-pid PID]
    /// [--first-prompt] [--entered] [--no-build]`), read without building
    /// clap's whole command tree, which costs about a fifth of a
    /// millisecond at every prompt that runs the binary. `None` for
    /// anything else: clap then reads it, and explains errors.
    pub fn from_hook(args: &[std::ffi::OsString]) -> Option<Args> {
        let mut words = args.iter().map(|a| a.to_str());
        if words.next()?? != "export" {
            return None;
        }
        let shell = ShellName::from_name(words.next()??)?;
        let mut out = Args {
            shell,
            first_prompt: false,
            entered: false,
            shell_pid: None,
            no_build: false,
            non_interactive: false,
            unload: false,
        };
        while let Some(word) = words.next() {
            match word? {
                "--first-prompt" => out.first_prompt = true,
                "--entered" => out.entered = true,
                "--no-build" => out.no_build = true,
                "--non-interactive" => out.non_interactive = true,
                "--unload" => out.unload = true,
                "--shell-pid" => out.shell_pid = Some(words.next()??.parse().ok()?),
                _ => return None,
            }
        }
        Some(out)
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    // What the check sees is as of now: a file changed while it runs must
    // be newer than the mark it leaves.
    let started = std::time::SystemTime::now();
    let mut ctx = super::context()?;
    // The hook's prompt call (it alone passes --shell-pid) never waits for
    // a build, its own or another's; a script, a Makefile or an editor
    // asks in order to use the result at once, so it waits, with the
    // build's words on stderr, as `exec` does.
    // json keeps its own rule: it builds what is missing, but does not
    // wait behind another process's build (tests/security.rs).
    let shell = args.shell.shell();
    let at_prompt = args.shell_pid.is_some() || shell.for_editors();
    ctx.at_prompt = at_prompt;
    ctx.entered = args.entered;
    ctx.background = ctx.at_prompt
        && !shell.for_editors()
        && ctx
            .var("PYENV_GUIX_BUILD")
            .is_none_or(|v| v != "foreground");
    // Ctrl-C stops a build without killing us: we record that it was
    // interrupted (the next prompt does not start it again) and print nothing.
    crate::buildlock::catch_interrupts();
    if args.non_interactive {
        // The stderr of every `bash -c` in the project: only a build, a
        // warning or an error is worth a line there.
        log::mute_transitions();
    }
    // A CI export loads all or fails: it always waits.
    if !ctx.at_prompt
        && !args.no_build
        && !shell.needs_project()
        && let Some(limit) = wait_limit(&ctx)
    {
        wait_at_most(&mut ctx, limit)?;
    }
    if args.no_build
        && let Some(missing) = unbuilt(&ctx)?
    {
        log::notice(&format!(
            "not built yet: {}; nothing exported (--no-build). `pyenv-guix prefix`, `exec` or entering the project in a shell builds it",
            missing.what.join(", ")
        ));
        return Ok(1);
    }
    if shell.needs_project() {
        return one_shot(&ctx, shell);
    }
    let check = if args.unload {
        activation::Check::Changed(activation::plan_unloading(&ctx)?)
    } else if args.first_prompt {
        activation::Check::Changed(activation::plan(&ctx)?)
    } else {
        activation::plan_if_changed(&ctx)?
    };
    let (mut changes, mut state) = check.into_parts();
    if crate::buildlock::interrupted() {
        return stopped(at_prompt);
    }
    if let Err(refused) = shell.refuse(&changes) {
        // A script asked for this project: it gets the error, and stops.
        if args.shell_pid.is_none() {
            return Err(refused.into());
        }
        // At a prompt the project is not loaded, and what was loaded
        // (the project the shell left) is undone all the same.
        log::error(&format!(
            "{} cannot carry `{}`: {}; the project here is not loaded",
            refused.target, refused.name, refused.why
        ));
        (changes, state) =
            activation::Check::Changed(activation::plan_unloading(&ctx)?).into_parts();
        shell.refuse(&changes)?;
    }
    let mut snippet = if changes.is_empty() {
        Vec::new()
    } else {
        shell.snippet(&changes)
    };
    if let (Some(pid), true) = (args.shell_pid, shell.hook_template().is_some()) {
        // What the hook watches, from the state the shell has after this
        // snippet (read or made once, above).
        let watch = activation::watch_list(&ctx, state.as_ref());
        match activation::mark(&ctx, pid, started) {
            Ok(mark) => {
                let items: Vec<&std::ffi::OsStr> = watch.iter().map(|p| p.as_os_str()).collect();
                shell.set_hook_list(&mut snippet, "__pyenv_guix_watch", &items);
                shell.set_hook_list(&mut snippet, "__pyenv_guix_mark", &[mark.as_os_str()]);
                shell.set_hook_list(&mut snippet, "__pyenv_guix_checked", &[ctx.dir.as_os_str()]);
            }
            // A read-only or full cache: the project still loads, and the
            // hook, with no mark, asks at every prompt. Said on entering.
            Err(e) => {
                if args.entered || args.first_prompt {
                    log::warn(&format!(
                        "cannot write in {}: {e}; every prompt runs pyenv-guix until it can",
                        ctx.cache.bucket(Bucket::Marks).display()
                    ));
                }
            }
        }
    }
    if snippet.is_empty() {
        return Ok(0);
    }
    // One write, at the end: an interrupted run prints nothing rather than half.
    let mut out = std::io::stdout().lock();
    out.write_all(&snippet)?;
    out.flush()?;
    Ok(0)
}

/// A CI export: the whole environment of a loaded project, or an error
/// and nothing written. The reason a project is not loaded (blocked, its
/// errors, a failed build) has been said by the plan.
fn one_shot(ctx: &Context, shell: &dyn Shell) -> anyhow::Result<i32> {
    let plan = activation::plan(ctx)?;
    if crate::buildlock::interrupted() {
        return stopped(false);
    }
    match plan.target {
        Target::Loaded { .. } => {}
        Target::NoProject => bail!(
            "export {}: no .pyguix.toml at or above {}; nothing was written",
            shell.name(),
            ctx.dir.display()
        ),
        Target::Blocked | Target::Failed | Target::Kept => bail!(
            "export {}: the project here is not loaded (said above); nothing was written",
            shell.name()
        ),
    }
    match shell.render(&plan.changes, &|name| ctx.var(name))? {
        Output::Print(text) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&text)?;
            out.flush()?;
        }
        Output::Append(files) => {
            // Every file is found before any is written.
            let mut targets = Vec::new();
            for (var, text) in files {
                let path = ctx.var(var).filter(|p| !p.is_empty()).with_context(|| {
                    format!(
                        "export {}: {var} is not set (a GitHub Actions step sets it); nothing was written",
                        shell.name()
                    )
                })?;
                targets.push((std::path::PathBuf::from(path), text));
            }
            for (path, text) in targets {
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(&text))
                    .with_context(|| format!("export {}: {}", shell.name(), path.display()))?;
            }
        }
    }
    Ok(0)
}

/// Ctrl-C stopped a build or a wait: nothing is printed. At a prompt the
/// hook applies nothing and the shell goes on; a script is stopped as
/// Ctrl-C stops it, rather than running its command without the project.
fn stopped(at_prompt: bool) -> anyhow::Result<i32> {
    if at_prompt {
        return Ok(130);
    }
    crate::buildlock::die_of_interrupt()
}

#[cfg(test)]
mod tests {
    use super::Args;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// The hook's forms read directly are read as clap reads them; all
    /// else is left to clap.
    #[test]
    fn the_hooks_arguments_are_read_as_clap_reads_them() {
        let hook_forms: &[&[&str]] = &[
            &["export", "bash"],
            &["export", "zsh", "--shell-pid", "42", "--first-prompt"],
            &["export", "fish", "--shell-pid", "7", "--entered"],
            &["export", "json", "--no-build"],
        ];
        for form in hook_forms {
            let argv: Vec<std::ffi::OsString> = form.iter().map(Into::into).collect();
            let direct = Args::from_hook(&argv).expect("a hook form");
            let parsed =
                Cli::try_parse_from(std::iter::once("pyenv-guix").chain(form.iter().copied()))
                    .unwrap();
            let Command::Export(by_clap) = parsed.command else {
                panic!("not export")
            };
            assert_eq!(format!("{direct:?}"), format!("{by_clap:?}"), "{form:?}");
        }
        for other in [
            &["export"][..],
            &["export", "csh"],
            &["export", "bash", "--shell-pid"],
            &["export", "bash", "--shell-pid", "x"],
            &["export", "bash", "--help"],
            &["export", "bash", "--entered=1"],
            &["status"],
        ] {
            let argv: Vec<std::ffi::OsString> = other.iter().map(Into::into).collect();
            assert!(Args::from_hook(&argv).is_none(), "{other:?}");
        }
    }
}
