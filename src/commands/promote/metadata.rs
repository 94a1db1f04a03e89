//! Which of a drafted package's inputs only its optional extras bring, from
//! the `Requires-Dist` lines of its installed `*.dist-info/METADATA`. Real
//! `guix import pypi` recognises an extra only as `extra == '…'` in single
//! quotes; flit and hatchling write `extra == "…"`, and every such extra
//! becomes an input. A package's own extras are not its inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::requirement::normal_name;

/// More than any real METADATA; a bigger one is not read.
const LIMIT: u64 = 4 << 20;

/// One `Requires-Dist`: the project it names (normalised), and whether it
/// is needed only when an extra is asked for.
#[derive(Debug, PartialEq)]
pub struct Requires {
    pub name: String,
    pub only_extras: bool,
}

/// The installed distributions' requirements, by normalised name.
pub fn installed(dists: &[PathBuf]) -> BTreeMap<String, Vec<Requires>> {
    let mut out = BTreeMap::new();
    for dist in dists {
        let Ok(bytes) = crate::fsutil::read_limited(&dist.join("METADATA"), LIMIT) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Some((name, requires)) = parse(&text) {
            out.insert(name, requires);
        }
    }
    out
}

/// The name and requirements of a METADATA file: its headers, up to the
/// first blank line (the description follows).
fn parse(text: &str) -> Option<(String, Vec<Requires>)> {
    let mut name = None;
    let mut requires = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(normal_name(value.trim())),
            "requires-dist" => requires.extend(requirement(value)),
            _ => {}
        }
    }
    Some((name?, requires))
}

fn requirement(value: &str) -> Option<Requires> {
    let (spec, marker) = value.split_once(';').unwrap_or((value, ""));
    let spec = spec.trim_start();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len());
    if end == 0 {
        return None;
    }
    Some(Requires {
        name: normal_name(&spec[..end]),
        only_extras: never_without_extras(marker),
    })
}

/// Whether `input` (a Guix name the importer made) comes only from extras
/// in `requires`: every line naming it is an extra's. An input no line
/// names is the importer's own knowledge, and stays.
pub fn only_from_extras(requires: &[Requires], input: &str) -> bool {
    let input = normal_name(input);
    let mut naming = requires
        .iter()
        .filter(|r| input == format!("python-{}", r.name) || input == r.name)
        .peekable();
    naming.peek().is_some() && naming.all(|r| r.only_extras)
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open,
    Close,
    Word(&'a str),
    Str(&'a str),
    Op(&'a str),
}

fn tokens(marker: &str) -> Option<Vec<Token<'_>>> {
    let mut out = Vec::new();
    let mut rest = marker;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return Some(out);
        };
        let len = match c {
            '(' => {
                out.push(Token::Open);
                1
            }
            ')' => {
                out.push(Token::Close);
                1
            }
            '\'' | '"' => {
                let close = rest[1..].find(c)?;
                out.push(Token::Str(&rest[1..1 + close]));
                close + 2
            }
            '<' | '>' | '=' | '!' | '~' => {
                let len = rest.find(|c| !"<>=!~".contains(c)).unwrap_or(rest.len());
                out.push(Token::Op(&rest[..len]));
                len
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "_.".contains(c)))
                    .unwrap_or(rest.len());
                out.push(Token::Word(&rest[..len]));
                len
            }
            _ => return None,
        };
        rest = &rest[len..];
    }
}

/// Whether a PEP 508 marker is false whatever the environment when no
/// extra is asked for. `extra == X` is then false; every other comparison
/// may be true. A marker that does not parse may be true.
fn never_without_extras(marker: &str) -> bool {
    let Some(tokens) = tokens(marker) else {
        return false;
    };
    if tokens.is_empty() {
        return false;
    }
    let mut at = 0;
    match or(&tokens, &mut at) {
        Some(never) if at == tokens.len() => never,
        _ => false,
    }
}

/// `and`-terms joined by `or`: never true if none can be.
fn or(t: &[Token], at: &mut usize) -> Option<bool> {
    let mut never = and(t, at)?;
    while t.get(*at) == Some(&Token::Word("or")) {
        *at += 1;
        never &= and(t, at)?;
    }
    Some(never)
}

/// Comparisons joined by `and`: never true if one cannot be.
fn and(t: &[Token], at: &mut usize) -> Option<bool> {
    let mut never = comparison(t, at)?;
    while t.get(*at) == Some(&Token::Word("and")) {
        *at += 1;
        never |= comparison(t, at)?;
    }
    Some(never)
}

fn comparison(t: &[Token], at: &mut usize) -> Option<bool> {
    if t.get(*at) == Some(&Token::Open) {
        *at += 1;
        let never = or(t, at)?;
        if t.get(*at) != Some(&Token::Close) {
            return None;
        }
        *at += 1;
        return Some(never);
    }
    let left = value(t, at)?;
    let op = match t.get(*at)? {
        Token::Op(op) => {
            *at += 1;
            *op
        }
        Token::Word("in") => {
            *at += 1;
            "in"
        }
        Token::Word("not") if t.get(*at + 1) == Some(&Token::Word("in")) => {
            *at += 2;
            "not in"
        }
        _ => return None,
    };
    let right = value(t, at)?;
    let extra = |v: &Token| *v == Token::Word("extra");
    let named = |v: &Token| matches!(v, Token::Str(_));
    Some(
        matches!(op, "==" | "===")
            && ((extra(left) && named(right)) || (named(left) && extra(right))),
    )
}

fn value<'a, 'b>(t: &'b [Token<'a>], at: &mut usize) -> Option<&'b Token<'a>> {
    let v = t.get(*at)?;
    if matches!(v, Token::Word(_) | Token::Str(_)) {
        *at += 1;
        Some(v)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_in_any_quotes_alone_or_with_and_is_only_for_that_extra() {
        for marker in [
            " extra == \"dev\"",
            "extra == 'dev'",
            "extra=='dev'",
            "\"dev\" == extra",
            "(extra == \"tests\") and python_version < \"3.11\"",
            "python_version < \"3.11\" and extra == \"tests\"",
            "extra == \"tests\" or extra == \"dev\"",
            "(extra == \"a\" or extra == \"b\") and sys_platform == \"linux\"",
        ] {
            assert!(never_without_extras(marker), "{marker}");
        }
        for marker in [
            "",
            "python_version < \"3.11\"",
            "python_version < \"3.11\" or extra == \"tests\"",
            "extra != \"dev\"",
            "extra == \"dev\" or",
            "(extra == \"dev\"",
            "extra == \"dev\" garbage",
            "platform_machine in 'x86_64 aarch64' and extra == ",
        ] {
            assert!(!never_without_extras(marker), "{marker}");
        }
    }

    #[test]
    fn metadata_names_and_requirements() {
        let text = "Metadata-Version: 2.1\nName: WebArgs\nVersion: 8.7.1\nRequires-Dist: marshmallow>=3.0.0\nRequires-Dist: Flask>=0.12.5 ; extra == \"frameworks\"\nRequires-Dist: typing_extensions; python_version < \"3.11\"\nRequires-Dist: Flask ; extra == 'tests'\nRequires-Dist: python-dateutil ; extra == \"x\"\n\nRequires-Dist: in-the-description\n";
        let (name, requires) = parse(text).unwrap();
        assert_eq!(name, "webargs");
        assert_eq!(requires.len(), 5);
        assert!(!only_from_extras(&requires, "python-marshmallow"));
        assert!(only_from_extras(&requires, "python-flask"));
        assert!(!only_from_extras(&requires, "python-typing-extensions"));
        assert!(only_from_extras(&requires, "python-dateutil"));
        assert!(!only_from_extras(&requires, "python-in-the-description"));
        assert!(!only_from_extras(&requires, "python-unmentioned"));
        assert!(parse("Version: 1\n").is_none());
    }
}
