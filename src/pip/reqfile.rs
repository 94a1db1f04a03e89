//! Requirements files as pip reads them: its logical lines (continuations
//! joined, comments dropped), the variables it would expand, and the
//! requirements and locations that are local paths.

use std::path::{Path, PathBuf};

/// The first `${NAME}` pip would expand in a requirements file (NAME of
/// capitals, digits and `_`), if any.
pub(super) fn pip_variable(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        if let Some(end) = after.find('}') {
            let name = &after[..end];
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Some(name);
            }
        }
        rest = after;
    }
    None
}

/// A requirements file's logical lines as pip makes them, each with the
/// number of the line it starts on: lines split where Python's
/// `str.splitlines` splits, continuations (`\\` at the end) joined unless
/// the line holds a comment, then comments and blank lines dropped.
pub(crate) fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in split_lines(text).into_iter().enumerate() {
        let comment = strip_comment(raw).len() != raw.len();
        if raw.ends_with('\\') && !comment {
            pending
                .get_or_insert_with(|| (i + 1, String::new()))
                .1
                .push_str(raw.trim_matches('\\'));
            continue;
        }
        match pending.take() {
            // pip puts a space before a comment line, so that it stays one.
            Some((n, mut p)) => {
                if comment {
                    p.push(' ');
                }
                p.push_str(raw);
                joined.push((n, p));
            }
            None => joined.push((i + 1, raw.to_string())),
        }
    }
    joined.extend(pending);
    joined
        .into_iter()
        .map(|(n, l)| (n, strip_comment(&l).trim().to_string()))
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// A copy of a requirements file, as an installer is given it, that keeps
/// each line where the user's file has it: the line an installer names in
/// the copy is the user's.
#[derive(Default)]
pub(crate) struct LinedCopy {
    pub text: String,
    lines: usize,
}

impl LinedCopy {
    /// Write `line` on line `number` (or the next, if that is past).
    pub fn line(&mut self, number: usize, line: &str) {
        while self.lines + 1 < number {
            self.text.push('\n');
            self.lines += 1;
        }
        self.text.push_str(line);
        self.text.push('\n');
        self.lines += 1;
    }
}

/// The lines of `text` as Python's `str.splitlines` gives them.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {
                chars.next();
                i + 2
            }
            '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => i + c.len_utf8(),
            _ => continue,
        };
        out.push(&text[start..i]);
        start = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A `#` at the start or after whitespace starts a comment.
pub(crate) fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// The local file or directory a requirement names, as pip decides that a
/// requirement is a path (it has a `/`, starts with `.`, is an archive
/// name, or is a `file:` URL, alone or after `name @`), and what followed
/// the path (extras).
pub(super) fn local_path(req: &str, root: &Path) -> Option<(PathBuf, String)> {
    let req = req.trim();
    let target = match req.split_once('@') {
        Some((name, url)) if is_name(name.trim()) => url.trim(),
        _ => req,
    };
    let target = target.split(" ;").next().unwrap_or(target).trim();
    let (target, extras) = match target.rfind('[') {
        Some(at) if target.ends_with(']') => (&target[..at], &target[at..]),
        _ => (target, ""),
    };
    let path = if let Some(rest) = target.strip_prefix("file:") {
        file_url_path(rest)
    } else if target.contains("://") {
        return None;
    } else if target.contains('/') || target.starts_with('.') || is_archive(target) {
        PathBuf::from(target)
    } else {
        return None;
    };
    Some((root.join(path), extras.to_string()))
}

/// A local find-links or index location: a `file:` URL, or a path that
/// exists (relative to the file naming it first, then to the root).
pub(super) fn local_dir(value: &str, dir: &Path, root: &Path) -> Option<PathBuf> {
    if let Some(rest) = value.strip_prefix("file:") {
        return Some(root.join(file_url_path(rest)));
    }
    if value.contains("://") {
        return None;
    }
    let near = dir.join(value);
    Some(if near.exists() {
        near
    } else {
        root.join(value)
    })
}

/// `///abs`, `//localhost/abs` or `rel` after `file:`, with `%XX` decoded.
fn file_url_path(rest: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let path = match rest.strip_prefix("//") {
        Some(r) => &r[r.find('/').unwrap_or(r.len())..],
        None => rest,
    };
    PathBuf::from(std::ffi::OsString::from_vec(
        crate::fsutil::percent_decode(path).0,
    ))
}

/// The value `word` gives `--hash`, when it is that option (`--hash=V`,
/// or `--hash` with the `next` word as its value), with the quotes pip's
/// shell-like splitting takes off (`--hash="sha256:…"`).
pub(crate) fn hash_value<'a>(word: &'a str, next: Option<&'a str>) -> Option<Option<&'a str>> {
    let value = match word.strip_prefix("--hash")? {
        "" => next,
        joined => Some(joined.strip_prefix('=')?),
    };
    Some(value.map(|v| {
        (v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v)
    }))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.[], ".contains(c))
}

fn is_archive(s: &str) -> bool {
    [
        ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar",
    ]
    .iter()
    .any(|ext| s.ends_with(ext))
}

/// A requirement string with the spaces PEP 508 leaves insignificant
/// removed: around version operators, commas, brackets and parentheses,
/// outside quoted marker values. Other runs of spaces become one.
pub fn canonical_spacing(req: &str) -> String {
    let tight = |c: char| "=<>!~,;()[]".contains(c);
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in req.trim().chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !tight(c) && !out.ends_with(tight) {
            out.push(' ');
        }
        space = false;
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

/// PEP 503's normal form of a project name.
pub fn normal_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spacing_removes_only_insignificant_spaces() {
        assert_eq!(canonical_spacing(" prov == 1.5.3 "), "prov==1.5.3");
        assert_eq!(canonical_spacing("a [x , y] >= 1 , < 2"), "a[x,y]>=1,<2");
        assert_eq!(
            canonical_spacing("a ; extra == \"b  c\""),
            "a;extra==\"b  c\""
        );
        // A URL's end is where the space is: keep one.
        assert_eq!(
            canonical_spacing("a @ https://x/y ; m"),
            "a @ https://x/y;m"
        );
        assert_ne!(
            canonical_spacing("a @ https://x/y;m"),
            canonical_spacing("a @ https://x/y z")
        );
    }

    fn texts(text: &str) -> Vec<String> {
        logical_lines(text).into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn logical_lines_are_pips_with_their_first_line_number() {
        let text = "# head\na==1 \\\n  --hash=sha256:x \\\n  --hash=sha256:y\n    # via b\n\nc>=2 # pinned \\\nd\r\ne\x0cf\n";
        assert_eq!(
            logical_lines(text),
            [
                (2, "a==1   --hash=sha256:x   --hash=sha256:y".to_string()),
                (7, "c>=2".to_string()),
                (8, "d".to_string()),
                (9, "e".to_string()),
                (10, "f".to_string()),
            ]
        );
        // A continued line ending in a comment ends there.
        assert_eq!(
            logical_lines("b \\\n  # the runner\nc\n"),
            [(1, "b".to_string()), (3, "c".to_string())]
        );
    }

    #[test]
    fn lines_are_split_and_joined_as_pip_does() {
        assert_eq!(
            texts("alpha\r-f wheels2\ngamma\r\nbeta\x0cdelta\u{2028}eps"),
            ["alpha", "-f wheels2", "gamma", "beta", "delta", "eps"]
        );
        // A comment line ending in `\` is not continued into the next.
        assert_eq!(texts("# pinned below \\\nbeta\n"), ["beta"]);
        assert_eq!(texts("alpha \\\n  >= 1\n"), ["alpha   >= 1"]);
        assert_eq!(texts("a # x\\\nb"), ["a", "b"]);
    }

    #[test]
    fn variables_pip_would_expand_are_found() {
        assert_eq!(pip_variable("-r ${HOME}/x.txt\n"), Some("HOME"));
        assert_eq!(pip_variable("a==1\n# ${lower} is not pip's\n"), None);
        assert_eq!(pip_variable("$HOME ${} ${A-B}"), None);
    }

    #[test]
    fn lines_as_pip_reads_them() {
        let text =
            "\u{feff}a==1 # pinned\n# comment\n\nb \\\n  >=2\n-r other.txt#x\nc#notacomment\n";
        assert_eq!(
            texts(text),
            vec!["a==1", "b   >=2", "-r other.txt#x", "c#notacomment"]
        );
    }

    #[test]
    fn local_paths_as_pip_sees_them() {
        let root = Path::new("/p");
        let got = |r: &str| local_path(r, root).map(|(p, e)| (p.display().to_string(), e));
        assert_eq!(got("."), Some(("/p/.".into(), "".into())));
        assert_eq!(got("./pkg[cli]"), Some(("/p/./pkg".into(), "[cli]".into())));
        assert_eq!(
            got("dist/x-1.0-py3-none-any.whl").unwrap().0,
            "/p/dist/x-1.0-py3-none-any.whl"
        );
        assert_eq!(got("x @ file:///w/x%201.whl").unwrap().0, "/w/x 1.whl");
        assert_eq!(got("x @ https://h/x.whl"), None);
        assert_eq!(got("prov==1.5.3"), None);
        assert_eq!(got("x>=1; python_version >= \"3.8\""), None);
    }
}
