//! pip's and uv's install options as pyenv-guix takes them: which take a
//! value, which are refused, which uv takes. The manifest checks
//! `[pip].options` with these tables, and the scan the options of
//! requirements files.

/// Options that take a value, as pip's `install` and requirements files spell them.
const VALUED: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade-strategy",
    "-C",
    "--config-settings",
    "--global-option",
    "--hash",
    "--progress-bar",
    "--proxy",
    "--retries",
    "--timeout",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--use-feature",
    "--use-deprecated",
    "--keyring-provider",
    "--exists-action",
    "--log",
    "--group",
];

/// `--flag=value`, `--flag value`, `-rvalue` or `-r value`, for the options
/// in `VALUED`; `None` for anything else.
pub(super) fn split_option<'a>(
    word: &'a str,
    rest: &mut dyn Iterator<Item = String>,
) -> Option<(&'a str, String)> {
    if let Some((flag, value)) = word.split_once('=')
        && flag.starts_with("--")
        && VALUED.contains(&flag)
    {
        return Some((flag, value.to_string()));
    }
    if VALUED.contains(&word) {
        return Some((word, rest.next().unwrap_or_default()));
    }
    let short = word.get(..2)?;
    if !word.starts_with("--") && word.len() > 2 && VALUED.contains(&short) {
        return Some((short, word[2..].to_string()));
    }
    None
}

/// Options that would install somewhere else than the prefix, or not at
/// all, run another Python, or read and write places of pip's own choosing:
/// refused, in `[pip].options` and in requirements files.
const FORBIDDEN_OPTIONS: &[&str] = &[
    "--prefix",
    "--target",
    "--root",
    "--user",
    "--src",
    "--dry-run",
    "--report",
    "--require-virtualenv",
    "--python",
    "--cache-dir",
    "--log",
];

/// Every other long option of `pip install` (and pip's general options),
/// spelt in full. pip would take a unique prefix of any (`--find-l`): we
/// take only these, so that no option reads a file we did not see.
const KNOWN_OPTIONS: &[&str] = &[
    "--requirement",
    "--constraint",
    "--editable",
    "--find-links",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-deps",
    "--pre",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade",
    "--upgrade-strategy",
    "--force-reinstall",
    "--ignore-installed",
    "--ignore-requires-python",
    "--no-build-isolation",
    "--use-pep517",
    "--no-use-pep517",
    "--check-build-dependencies",
    "--break-system-packages",
    "--config-settings",
    "--global-option",
    "--compile",
    "--no-compile",
    "--no-warn-script-location",
    "--no-warn-conflicts",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--require-hashes",
    "--progress-bar",
    "--root-user-action",
    "--hash",
    "--trusted-host",
    "--quiet",
    "--verbose",
    "--no-input",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-color",
    "--no-python-version-warning",
    "--use-feature",
    "--use-deprecated",
    "--keyring-provider",
    "--isolated",
    "--debug",
    "--resume-retries",
    // pip 25.1: a PEP 735 dependency group, `[PATH:]NAME`.
    "--group",
];

/// The options of pip's that `uv pip install` takes on its command line
/// with the same meaning (checked against uv 0.13).
const UV_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-deps",
    "--pre",
    "-U",
    "--upgrade",
    "--force-reinstall",
    "--no-build-isolation",
    "-C",
    "--config-settings",
    "--no-binary",
    "--only-binary",
    "--require-hashes",
    "--python-version",
    "--group",
    "--compile",
    "--no-compile",
    "--break-system-packages",
    "--keyring-provider",
    "--cert",
    "--trusted-host",
    "-q",
    "--quiet",
    "-v",
    "--verbose",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-color",
];

/// The options uv reads in a requirements file; it ignores others there.
const UV_FILE_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--no-binary",
    "--only-binary",
    "--require-hashes",
    "--hash",
];

/// Why an option written for pip is not passed on.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "`{0}` would make pip install elsewhere than the project's prefix, or not at all, or use places of its own; pyenv-guix decides those"
    )]
    Ours(String),
    #[error("`{0}` is not a pip install option spelt in full: write pip's options in full")]
    NotInFull(String),
    #[error("`-t` (--target) would make pip install elsewhere than the project's prefix")]
    Target,
    #[error("`{0}` joins several short options: write each apart")]
    Joined(String),
    #[error("`{0}` is not a pip install option")]
    Unknown(String),
}

/// Whether pip may be given `word`, an option as written in `[pip].options`
/// or a requirements file.
pub fn check_option(word: &str) -> Result<(), Refused> {
    if word.starts_with("--") {
        let flag = flag_name(word);
        if FORBIDDEN_OPTIONS.contains(&flag) {
            return Err(Refused::Ours(flag.to_string()));
        }
        if !KNOWN_OPTIONS.contains(&flag) {
            return Err(Refused::NotInFull(flag.to_string()));
        }
        return Ok(());
    }
    let mut letters = word.chars().skip(1);
    match letters.next() {
        Some('t') => Err(Refused::Target),
        // The value follows, joined or as the next word.
        Some('r' | 'c' | 'e' | 'f' | 'i' | 'C') => Ok(()),
        Some(first @ ('q' | 'v' | 'U' | 'I')) => {
            let rest: String = letters.collect();
            let repeat = matches!(first, 'q' | 'v') && rest.chars().all(|c| c == first);
            if rest.is_empty() || repeat {
                Ok(())
            } else {
                Err(Refused::Joined(word.to_string()))
            }
        }
        _ => Err(Refused::Unknown(word.to_string())),
    }
}

/// An option's flag as written, without a joined value: `--flag` of
/// `--flag=value`, `-r` of `-rvalue`.
pub(super) fn flag_name(word: &str) -> &str {
    match word.strip_prefix("--") {
        Some(long) => &word[..2 + long.find('=').unwrap_or(long.len())],
        None => word.get(..2).unwrap_or(word),
    }
}

/// Why uv cannot install as pip would with `flag` given on the command
/// line, or (`in_file`) in a requirements file, where uv warns and goes on
/// without an option it does not read.
pub(super) fn uv_refuses(flag: &str, in_file: bool) -> Option<String> {
    let (known, place) = if in_file {
        (UV_FILE_OPTIONS, "in a requirements file")
    } else {
        (UV_OPTIONS, "in [pip].options")
    };
    (!known.contains(&flag)).then(|| format!("uv does not take `{flag}` {place}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_as_pip_splits_them() {
        let mut none = std::iter::empty();
        assert_eq!(
            split_option("-rbase.txt", &mut none),
            Some(("-r", "base.txt".into()))
        );
        assert_eq!(
            split_option("--constraint=c.txt", &mut none),
            Some(("--constraint", "c.txt".into()))
        );
        let mut next = vec!["w".to_string()].into_iter();
        assert_eq!(
            split_option("--find-links", &mut next),
            Some(("--find-links", "w".into()))
        );
        assert_eq!(split_option("--no-index", &mut none), None);
        assert_eq!(split_option("--pre", &mut none), None);
    }
}
