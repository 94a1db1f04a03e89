//! `man/pyenv-guix.1` is made from the CLI definition (clap_mangen: every
//! command's synopsis, help and options) with the manifest, the variables
//! and the files appended from the text below. The test fails when the
//! file in the repository differs from what the code makes now; to write
//! it again:
//!
//!     PYENV_GUIX_MAN=overwrite cargo test --test man

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};
use pyenv_guix::cli::Cli;

const PAGE: &str = "man/pyenv-guix.1";

/// The page, as the code defines it now.
fn page() -> String {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone()).manual("pyenv-guix manual");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    description(&mut roff, &cmd);
    roff.to_writer(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.to_writer(&mut out).unwrap();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pyenv-guix {}", sub.get_name());
        let sub = sub.clone().bin_name(&name);
        let man = Man::new(sub.clone());
        let mut roff = Roff::new();
        roff.control("SS", [name.as_str()]);
        roff.to_writer(&mut out).unwrap();
        // Each part without its own section heading: under one `.SS`.
        for part_no in 0..3 {
            let mut part = Vec::new();
            match part_no {
                0 => man.render_synopsis_section(&mut part).unwrap(),
                1 => {
                    let mut roff = Roff::new();
                    description(&mut roff, &sub);
                    roff.to_writer(&mut part).unwrap();
                }
                _ => man.render_options_section(&mut part).unwrap(),
            }
            let part = String::from_utf8(part).unwrap();
            let body: Vec<&str> = part.lines().filter(|l| !l.starts_with(".SH ")).collect();
            if !body.is_empty() {
                out.extend_from_slice(b".PP\n");
                for line in body {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
            }
        }
    }
    out.extend_from_slice(extra().render().as_bytes());
    man.render_version_section(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The long help as `--help` shows it. clap gives a doc comment's
/// paragraphs one line each, but keeps the lines of a verbatim one
/// (examples, aligned columns): those are not refilled.
fn description(roff: &mut Roff, cmd: &clap::Command) {
    let Some(about) = cmd.get_long_about().or_else(|| cmd.get_about()) else {
        return;
    };
    let about = about.to_string();
    for (i, para) in about.split("\n\n").enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        let lines: Vec<&str> = para.lines().collect();
        if lines.len() > 1 {
            roff.control("nf", []);
            for line in lines {
                roff.text([roman(line)]);
            }
            roff.control("fi", []);
        } else {
            roff.text([roman(para)]);
        }
    }
}

/// What the CLI definition does not hold: the manifest, the variables, the
/// files, the exit status.
fn extra() -> Roff {
    let mut r = Roff::new();
    let para = |r: &mut Roff, text: &str| {
        r.control("PP", []);
        r.text([roman(text)]);
    };
    let item = |r: &mut Roff, term: &str, text: &str| {
        r.control("TP", []);
        r.text([bold(term)]);
        r.text([roman(text)]);
    };
    let example = |r: &mut Roff, text: &str| {
        r.control("PP", []);
        r.control("RS", ["4"]);
        r.control("nf", []);
        for line in text.lines() {
            r.text([roman(line)]);
        }
        r.control("fi", []);
        r.control("RE", []);
    };

    r.control("SH", ["MANIFEST"]);
    para(
        &mut r,
        "A project is a directory with a .pyguix.toml, found at or above the current directory (the nearest wins). All tables are optional: an empty file is a project that sets only the PYENV_GUIX_* variables. Unknown keys and wrong types are errors that name the file, line and column. Nothing in it acts until it is allowed (pyenv-guix allow) as it is now, with every file it names.",
    );
    example(
        &mut r,
        r#"[project]
name = "myapp"

[python]
interpreter = "python3"

[guix]
packages = ["python", "python-rapidjson"]
channels = "channels.scm"

[pip]
packages = ["prov==1.5.3"]
editable = ["."]
requirements = ["requirements.txt"]
mode = "prefix"
options = ["--no-index", "--find-links", "wheels"]
system-site-packages = false

[env]
DJANGO_SETTINGS_MODULE = "app.settings"

[path]
PATH = ["bin"]
PYTHONPATH = ["src"]"#,
    );
    item(
        &mut r,
        "[project] name",
        "The project's name for prompts, PYENV_GUIX_PROMPT (default: the root directory's name). At most 64 characters, with no control character and none of % $ ` \\.",
    );
    item(
        &mut r,
        "[python] interpreter",
        "The command or path of the Python used when no Guix profile provides one (default python3), looked up on the PATH from before the project. Inside the project python, python3, pip and pip3 are it.",
    );
    item(
        &mut r,
        "[guix] packages, channels",
        "Guix package specifications, built into a profile with guix package -p; channels pins them through guix time-machine -C, relative to the root.",
    );
    item(
        &mut r,
        "[pip] packages, editable, requirements, mode, options, system-site-packages",
        "What Guix does not have, installed by pip into a prefix whose key is a hash of everything that decides its content (above all the interpreter's identity). mode is prefix (pip install --prefix), venv (a virtual environment) or user (PYTHONUSERBASE and pip install --user). Options that would install elsewhere are refused.",
    );
    item(
        &mut r,
        "[env]",
        "Variables set to literal values while the project is active; they have the last word.",
    );
    item(
        &mut r,
        "[path]",
        "Entries, relative to the root, put first on path lists such as PATH or PYTHONPATH. Leaving takes away exactly these entries.",
    );

    r.control("SH", ["ENVIRONMENT"]);
    para(&mut r, "Read:");
    item(
        &mut r,
        "PYENV_GUIX_DATA_DIR",
        "Trust records and the key that signs the state (default $XDG_DATA_HOME/pyenv-guix). Absolute, the user's own, writable by no one else.",
    );
    item(
        &mut r,
        "PYENV_GUIX_CACHE_DIR",
        "Prefixes, Guix profiles, build logs (default $XDG_CACHE_HOME/pyenv-guix). Absolute, the user's own, writable by no one else.",
    );
    item(
        &mut r,
        "PYENV_GUIX_GUIX",
        "The guix command, split as a shell would (default guix).",
    );
    item(
        &mut r,
        "PYENV_GUIX_LOG",
        "quiet, info (the default) or debug. quiet hides the loading, export and unloading lines and pip's output, never warnings or errors.",
    );
    item(
        &mut r,
        "PYENV_GUIX_BUILD",
        "foreground: a prompt waits for builds instead of running them in the background.",
    );
    para(&mut r, "Set while a project is active:");
    item(&mut r, "PYENV_GUIX_ROOT", "The project's directory.");
    item(
        &mut r,
        "PYENV_GUIX_PROMPT",
        "The project's name, for prompts.",
    );
    item(
        &mut r,
        "PYENV_GUIX_PREFIX",
        "The pip prefix's current generation, when there are pip fallbacks.",
    );
    item(
        &mut r,
        "PYENV_GUIX_PROFILE",
        "The Guix profile, when there are Guix packages.",
    );
    item(
        &mut r,
        "PYENV_GUIX_STATE",
        "Opaque, versioned and signed: what the next export needs to undo this one exactly.",
    );
    para(&mut r, "Set by the hook when it is sourced:");
    item(
        &mut r,
        "PYENV_GUIX_HOOK",
        "SHELL:PID:BINARY, the shell that set the hook up and the binary it calls, for pyenv-guix doctor.",
    );

    r.control("SH", ["FILES"]);
    item(&mut r, ".pyguix.toml", "The project's manifest.");
    item(
        &mut r,
        "$PYENV_GUIX_DATA_DIR/trust/",
        "One record per project directory: the hashes of the manifest and of every file that can act for it.",
    );
    item(
        &mut r,
        "$PYENV_GUIX_CACHE_DIR/prefixes/KEY",
        "A pip prefix: a link to its current generation, KEY.gN.",
    );
    item(
        &mut r,
        "$PYENV_GUIX_CACHE_DIR/profiles/KEY",
        "A Guix profile, and a Guix GC root.",
    );
    item(
        &mut r,
        "$PYENV_GUIX_CACHE_DIR/logs/",
        "The output of builds run in the background.",
    );

    r.control("SH", ["EXIT STATUS"]);
    para(
        &mut r,
        "0 on success; exec exits with its command's status (127 when it is not found, 1 when the project is blocked). Errors are printed as pyenv-guix: error: ... on standard error, with a non-zero status.",
    );

    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("guix"),
        roman("(1), "),
        bold("pip"),
        roman("(1), "),
        bold("direnv"),
        roman("(1); the README of "),
        italic("pyenv-guix"),
        roman("."),
    ]);
    r
}

#[test]
fn man_page_is_current() {
    let want = page();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    if std::env::var_os("PYENV_GUIX_MAN").is_some_and(|v| v == "overwrite") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{PAGE} differs from what the CLI definition makes now; write it again with\n\n    \
         PYENV_GUIX_MAN=overwrite cargo test --test man\n"
    );
}

/// `man -l` renders it, with no warning from groff, and every command,
/// the manifest and the variables are in the text.
#[test]
fn man_page_renders() {
    let found = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("PYENV_GUIX_REQUIRE_SHELLS").is_some_and(|v| v == "1") {
            panic!("man is not installed and PYENV_GUIX_REQUIRE_SHELLS=1");
        }
        eprintln!("\n!!! SKIPPED: man is not installed; the man page was not rendered !!!\n");
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&path)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {warnings}");
    assert!(warnings.trim().is_empty(), "groff warns: {warnings}");
    let mut cmd = Cli::command();
    cmd.build();
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let heading = format!("pyenv-guix {}", sub.get_name());
        assert!(text.contains(&heading), "{heading} in:\n{text}");
    }
    for word in [
        "MANIFEST",
        "[pip] packages",
        "ENVIRONMENT",
        "PYENV_GUIX_DATA_DIR",
        "PYENV_GUIX_ROOT",
        "PYENV_GUIX_PROMPT",
        "[project] name",
        "PYENV_GUIX_STATE",
        "FILES",
        "--dry-run",
        "--older-than",
    ] {
        assert!(text.contains(word), "{word} in:\n{text}");
    }
}
