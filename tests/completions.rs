//! `pyenv-guix completions SHELL`, sourced in the real shell and asked
//! what it completes: commands, options after a subcommand (the case
//! clap's static bash script gets wrong for a hyphenated name), and the
//! shells of `hook` and `export`.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use pyenv_guix::shells::ShellName;
use support::{Run, Sandbox, UserShell, bin, quote, run_with_timeout};

/// What each line (the words typed so far, the last one being completed)
/// must offer, and what it must not.
const CASES: &[(&[&str], &[&str], &[&str])] = &[
    // Commands.
    (
        &["pyenv-guix", ""],
        &["hook", "export", "allow", "edit", "doctor", "completions"],
        &["--shell-pid"],
    ),
    (
        &["pyenv-guix", "ex"],
        &["export", "exec"],
        &["hook", "allow"],
    ),
    // The shells of hook and export.
    (
        &["pyenv-guix", "hook", ""],
        &["bash", "zsh", "fish"],
        &["json", "export"],
    ),
    (
        &["pyenv-guix", "export", ""],
        &["bash", "zsh", "fish", "json"],
        &["hook"],
    ),
    // Options of a subcommand.
    (
        &["pyenv-guix", "status", "--"],
        &["--json", "--help"],
        &["--dry-run"],
    ),
    (
        &["pyenv-guix", "gc", "--"],
        &["--dry-run", "--older-than"],
        &["--json"],
    ),
    // Options of the command itself.
    (&["pyenv-guix", "--"], &["--help", "--version"], &["--json"]),
];

fn script(s: &Sandbox, shell: &str) -> String {
    s.command(&["completions", shell], &s.path("")).stdout_ok()
}

fn check(shell: ShellName, words: &[&str], offered: &[String], want: &[&str], not: &[&str]) {
    for w in want {
        assert!(
            offered.iter().any(|o| o == w),
            "{}: {words:?} should offer {w}, offered {offered:?}",
            shell.name()
        );
    }
    for w in not {
        assert!(
            !offered.iter().any(|o| o == w),
            "{}: {words:?} should not offer {w}, offered {offered:?}",
            shell.name()
        );
    }
}

fn run_shell(s: &Sandbox, program: &str, args: &[&str], script: &str) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(s.path(""))
        .env_clear()
        .envs(s.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = run_with_timeout(cmd, script.as_bytes(), Duration::from_secs(60));
    support::succeeded_as(program, &out)
}

/// bash: the function the script registers for `pyenv-guix`, called as
/// bash's programmable completion calls it.
#[test]
fn bash() {
    if !ShellName::Bash.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("completion.bash", &script(&s, "bash"));
    // Under `set -u`, as some users run their shells.
    let mut sh = format!(
        "set -u\nsource {}\ncomplete -p pyenv-guix\n",
        quote(s.path("completion.bash").as_os_str())
    );
    sh.push_str(
        "ask() {\n  COMP_WORDS=(\"$@\"); COMP_CWORD=$(( $# - 1 )); COMP_TYPE=9; COMPREPLY=()\n  \
         _clap_complete_pyenv_guix pyenv-guix \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n  \
         printf 'offered'; printf ' %s' \"${COMPREPLY[@]}\"; echo\n}\n",
    );
    for (words, _, _) in CASES {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        sh.push_str(&format!("ask {}\n", quoted.join(" ")));
    }
    // Called by a script rather than a Tab: no COMP_TYPE.
    sh.push_str(
        "unset COMP_TYPE; COMP_WORDS=(pyenv-guix exp); COMP_CWORD=1; COMPREPLY=()\n\
         _clap_complete_pyenv_guix pyenv-guix exp pyenv-guix && echo \"bare ${COMPREPLY[*]}\"\n",
    );
    let out = run_shell(&s, "bash", &["--norc", "--noprofile"], &sh);
    assert!(
        out.contains("-F _clap_complete_pyenv_guix pyenv-guix"),
        "registered for pyenv-guix: {out}"
    );
    assert!(out.contains("bare export"), "without COMP_TYPE: {out}");
    let answers: Vec<&str> = out.lines().filter(|l| l.starts_with("offered")).collect();
    assert_eq!(answers.len(), CASES.len(), "{out}");
    for ((words, want, not), line) in CASES.iter().zip(answers) {
        let offered: Vec<String> = line.split(' ').skip(1).map(String::from).collect();
        check(ShellName::Bash, words, &offered, want, not);
    }
}

/// fish: its own `complete -C`, which runs the registered completion.
#[test]
fn fish() {
    if !ShellName::Fish.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("completion.fish", &script(&s, "fish"));
    let mut sh = format!("source {}\n", quote(s.path("completion.fish").as_os_str()));
    for (words, _, _) in CASES {
        let line = words.join(" ");
        sh.push_str(&format!("echo '== {line}'\ncomplete -C '{line}'\n"));
    }
    let out = run_shell(&s, "fish", &["--no-config"], &sh);
    let mut blocks = out.split("== ").skip(1);
    for (words, want, not) in CASES {
        let block = blocks.next().unwrap_or_else(|| panic!("{out}"));
        let mut lines = block.lines();
        assert_eq!(lines.next(), Some(words.join(" ").as_str()), "{out}");
        // Each candidate, then a tab and its help.
        let offered: Vec<String> = lines
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect();
        check(ShellName::Fish, words, &offered, want, not);
    }
}

/// zsh: a real interactive zsh on a pseudo-terminal (zsh's own zpty), with
/// compinit and the script loaded, where Tab is typed. A unique completion
/// is read back from the line it leaves; an ambiguous one from the list it
/// shows.
#[test]
fn zsh() {
    if !ShellName::Zsh.available() {
        return;
    }
    let s = Sandbox::new();
    s.write("completion.zsh", &script(&s, "zsh"));
    let setup = format!(
        "bindkey -e; autoload -Uz compinit; compinit -u -D; source {}; print -r -- \"registered:$_comps[pyenv-guix]\"; PS1='READY> '",
        quote(s.path("completion.zsh").as_os_str())
    );
    // Typed text, and a line the shell must print after Tab and Enter.
    let unique: &[(&str, &str)] = &[
        ("pyenv-guix hook f", "pyenv-guix hook fish"),
        ("pyenv-guix export js", "pyenv-guix export json"),
        ("pyenv-guix stat", "pyenv-guix status"),
        ("pyenv-guix status --j", "pyenv-guix status --json"),
        ("pyenv-guix gc --dry", "pyenv-guix gc --dry-run"),
        ("pyenv-guix compl", "pyenv-guix completions"),
    ];
    let mut driver = String::from(
        "zmodload zsh/zpty\n\
         zpty z 'PS1=\"%% \" zsh -f -i'\n\
         drain() { local chunk; out=''; while zpty -r -t z chunk; do out+=$chunk; done; }\n",
    );
    driver.push_str(&format!(
        "zpty -w z {}\nzpty -r -m z out '*READY> '\nprint -r -- \"$out\"\n",
        shell_single(&setup)
    ));
    for (typed, _) in unique {
        // Tab, then Ctrl-A and `print -r -- ` before the completed words:
        // Enter prints the line as completed.
        driver.push_str(&format!(
            "zpty -w -n z {}$'\\t'\nsleep 1\nzpty -w -n z $'\\C-a'{}$'\\n'\nsleep 0.5\ndrain\nprint -r -- \"$out\"\n",
            shell_single(typed),
            shell_single("print -r -- ")
        ));
    }
    // Ambiguous: Tab lists the candidates with their help.
    driver.push_str(
        "zpty -w -n z 'pyenv-guix ex'$'\\t'\nsleep 1\ndrain\nprint -r -- \"LIST:$out\"\n\
         zpty -w -n z $'\\C-e\\C-u'\nzpty -d z\n",
    );
    let out = run_shell(&s, "zsh", &["-f"], &driver);
    assert!(
        out.contains("registered:_clap_dynamic_completer_pyenv_guix"),
        "compdef registered: {out}"
    );
    let printed: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    for (typed, want) in unique {
        assert!(
            printed.iter().any(|l| l.trim_end() == *want),
            "zsh: Tab after {typed:?} should give {want:?}:\n{out}"
        );
    }
    let list = out.split("LIST:").nth(1).unwrap_or_default();
    for word in ["export", "exec", "Run one command in a project"] {
        assert!(list.contains(word), "zsh lists {word}: {list}");
    }
}

/// Single-quoted for zsh.
fn shell_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The script runs the binary it came from, by the path it was run as.
#[test]
fn script_names_this_binary() {
    let s = Sandbox::new();
    let path = bin().display().to_string();
    for shell in ["bash", "zsh", "fish"] {
        let text = script(&s, shell);
        assert!(text.contains(&path), "{shell}: {text}");
        assert!(text.contains("PYENV_GUIX_COMPLETE"), "{shell}: {text}");
    }
}

/// A `COMPLETE` meant for another tool changes nothing: the hook's
/// `export` must never print a list of completions to eval.
#[test]
fn another_tools_complete_variable_is_ignored() {
    let s = Sandbox::new();
    let out = s
        .command(&["export", "bash"], &s.path(""))
        .env("COMPLETE", "bash")
        .stdout_ok();
    assert_eq!(out, "");
}
