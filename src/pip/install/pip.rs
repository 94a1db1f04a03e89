//! pip as the installer: `pip install --prefix`, `--user`, or into a venv
//! made by the interpreter's own `venv`.

use std::ffi::OsString;
use std::process::Command;

use super::lacking::lacking;
use super::{Job, Tool, editable_on_pythonpath, isolating};
use crate::pip::PipMode;
use crate::pip::run::{Failure, run};

#[derive(Debug)]
pub struct Pip;

impl Tool for Pip {
    fn name(&self) -> &'static str {
        "pip"
    }

    fn key_line(&self) -> String {
        "installer pip".to_string()
    }

    fn install(&self, job: Job) -> Result<(), Failure> {
        let Job {
            facts,
            pip,
            profile,
            prompt,
            editable,
            path,
            pool: _,
            workdir,
            env,
            options,
            requirements,
            editable_after,
        } = job;
        let python = facts.command().to_path_buf();
        let mut install: Vec<OsString> = vec![
            "install".into(),
            "--disable-pip-version-check".into(),
            "--no-input".into(),
        ];
        let mut env: Vec<(OsString, OsString)> = env.to_vec();
        // The prefix is ours, not the system's: pip's warning about root is noise here.
        env.push(("PIP_ROOT_USER_ACTION".into(), "ignore".into()));
        let pip_python = match pip.mode {
            PipMode::Prefix => {
                // --ignore-installed: pip never tries to remove a copy it did not
                // put here (a read-only store item, the system's own; pip issue 10136).
                install.extend([
                    "--prefix".into(),
                    path.into(),
                    "--ignore-installed".into(),
                    "--no-warn-script-location".into(),
                ]);
                install.extend(editable_on_pythonpath(editable));
                env.push(("PYTHONNOUSERSITE".into(), "1".into()));
                python.clone()
            }
            PipMode::User => {
                install.extend([
                    "--user".into(),
                    "--ignore-installed".into(),
                    "--no-warn-script-location".into(),
                ]);
                env.push(("PYTHONUSERBASE".into(), path.into()));
                // The user base is ours alone: Debian's "externally managed" guard
                // protects the system's, which this does not touch.
                env.push(("PIP_BREAK_SYSTEM_PACKAGES".into(), "1".into()));
                python.clone()
            }
            PipMode::Venv => {
                let mut venv = Command::new(python);
                venv.args(isolating(facts, &env))
                    .args(["-m", "venv"])
                    // Joined: a name starting with `-` is not an option.
                    .arg(format!("--prompt={}", prompt));
                if pip.system_site_packages {
                    venv.arg("--system-site-packages");
                }
                venv.arg(path);
                run(venv.current_dir(workdir), &env)?;
                env.push(("PYTHONNOUSERSITE".into(), "1".into()));
                path.join("bin").join("python")
            }
        };
        // The local projects a lock names go in with the mode's own options.
        let mut then = install.clone();
        install.extend(options);
        // `None`: the Guix profile has everything.
        let wanted = if pip.mode == PipMode::Prefix && profile.is_some() {
            // Resolve against what the Guix profile provides, so pip installs only
            // what is missing or must be newer, then install exactly that.
            let missing = lacking(
                (&pip_python, isolating(facts, &env)),
                &install,
                &requirements,
                path,
                workdir,
                &env,
            )?;
            install.push("--no-deps".into());
            missing
        } else {
            Some(requirements)
        };
        let pip_run = |args: &[OsString], wanted: &[OsString]| {
            let mut cmd = Command::new(&pip_python);
            cmd.args(isolating(facts, &env))
                .args(["-m", "pip"])
                .args(args)
                .args(wanted)
                .current_dir(workdir);
            run(&mut cmd, &env)
        };
        if let Some(wanted) = wanted {
            pip_run(&install, &wanted)?;
        }
        if editable_after.is_empty() {
            return Ok(());
        }
        if !editable {
            then.extend(editable_on_pythonpath(pip.mode == PipMode::Prefix));
        }
        pip_run(&then, &editable_after)
    }
}
