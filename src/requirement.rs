//! Requirement strings, as far as moving them between pip and Guix needs:
//! the project's name (normalised as PEP 503 says), its version specifier
//! (PEP 440), and the Guix package that would provide it.

use std::cmp::Ordering;

pub use crate::pip::reqfile::normal_name;

/// A requirement simple enough to hand to Guix: a name and a version
/// specifier. Extras, markers and URLs say more than a Guix package name
/// can, so such requirements stay with pip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// As written, whole.
    pub text: String,
    /// PEP 503: lower case, runs of `-`, `_` and `.` as one `-`.
    pub name: String,
    pub specifier: Vec<(Op, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
    Compatible,
    Arbitrary,
}

/// Why a requirement cannot go to Guix as it is, or the requirement.
pub fn parse(text: &str) -> Result<Requirement, &'static str> {
    let t = text.trim();
    if t.contains(';') {
        return Err("has an environment marker");
    }
    if t.contains('[') {
        return Err("asks for extras");
    }
    if t.contains('@') || t.contains('/') || t.contains(':') {
        return Err("is a URL or a path");
    }
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(end);
    if name.is_empty() {
        return Err("has no project name");
    }
    let mut specifier = Vec::new();
    for clause in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let ops = [
            ("===", Op::Arbitrary),
            ("~=", Op::Compatible),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let Some((op, version)) = ops
            .iter()
            .find_map(|(s, op)| clause.strip_prefix(s).map(|v| (*op, v.trim())))
        else {
            return Err("has a version specifier pyenv-guix cannot read");
        };
        if version.is_empty() {
            return Err("has a version specifier pyenv-guix cannot read");
        }
        specifier.push((op, version.to_string()));
    }
    Ok(Requirement {
        text: t.to_string(),
        name: normal_name(name),
        specifier,
    })
}

/// PyPI projects whose Guix package is not `python-` and the name (checked
/// against Guix's package list; see the README).
const GUIX_NAMES: &[(&str, &str)] = &[
    ("torch", "python-pytorch"),
    ("jupyter", "jupyter"),
    ("opencv-python", "opencv"),
    ("opencv-python-headless", "opencv"),
    ("pyqt5", "python-pyqt"),
    ("dbus-python", "python-dbus"),
    ("psycopg2-binary", "python-psycopg2"),
];

/// The Guix package for a PyPI project (normalised name): Guix's
/// convention is `python-` and the name, once (`python-dateutil` stays).
pub fn guix_name(name: &str) -> String {
    if let Some((_, guix)) = GUIX_NAMES.iter().find(|(pypi, _)| *pypi == name) {
        return guix.to_string();
    }
    if name.starts_with("python-") {
        name.to_string()
    } else {
        format!("python-{name}")
    }
}

impl Requirement {
    /// Whether `version` (as Guix gives it) satisfies the specifier.
    pub fn allows(&self, version: &str) -> bool {
        let v = Version::parse(version);
        self.specifier.iter().all(|(op, want)| {
            if let Some(prefix) = want.strip_suffix(".*") {
                let p = Version::parse(prefix);
                let head = v.release.len() >= p.release.len()
                    && v.release[..p.release.len()] == p.release[..];
                return match op {
                    Op::Eq => head,
                    Op::Ne => !head,
                    _ => false,
                };
            }
            let w = Version::parse(want);
            match op {
                Op::Eq => v.cmp(&w) == Ordering::Equal,
                Op::Ne => v.cmp(&w) != Ordering::Equal,
                Op::Ge => v >= w,
                Op::Le => v <= w,
                Op::Gt => v > w,
                Op::Lt => v < w,
                Op::Arbitrary => version == want,
                Op::Compatible => {
                    // ~= X.Y.Z means >= X.Y.Z, == X.Y.*
                    let n = w.release.len().saturating_sub(1).max(1);
                    v >= w
                        && v.release.len() >= n
                        && v.release[..n] == w.release[..n.min(w.release.len())]
                }
            }
        })
    }
}

/// A PEP 440 version, enough to order releases, pre-, post- and
/// development releases; a local part (`+…`) is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    release: Vec<u64>,
    /// (0 alpha, 1 beta, 2 rc, number)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    fn parse(text: &str) -> Version {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix('v').unwrap_or(&t);
        let t = t.split('+').next().unwrap_or("");
        let mut v = Version {
            release: Vec::new(),
            pre: None,
            post: None,
            dev: None,
        };
        let mut rest = t;
        while let Some(end) = rest
            .find(|c: char| !c.is_ascii_digit())
            .or(Some(rest.len()))
        {
            let (num, after) = rest.split_at(end);
            if num.is_empty() {
                break;
            }
            v.release.push(num.parse().unwrap_or(u64::MAX));
            match after.strip_prefix('.') {
                Some(more) if more.starts_with(|c: char| c.is_ascii_digit()) => rest = more,
                _ => {
                    rest = after;
                    break;
                }
            }
        }
        let number = |s: &str| -> (u64, usize) {
            let s2 = s.trim_start_matches(['.', '-', '_']);
            let skipped = s.len() - s2.len();
            let end = s2.find(|c: char| !c.is_ascii_digit()).unwrap_or(s2.len());
            (s2[..end].parse().unwrap_or(0), skipped + end)
        };
        while !rest.is_empty() {
            let r = rest.trim_start_matches(['.', '-', '_']);
            let tags: [(&str, u8); 7] = [
                ("alpha", 0),
                ("beta", 1),
                ("preview", 2),
                ("pre", 2),
                ("rc", 2),
                ("a", 0),
                ("b", 1),
            ];
            if let Some((tag, kind)) = tags.iter().find(|(t, _)| r.starts_with(t)) {
                let (n, used) = number(&r[tag.len()..]);
                v.pre = Some((*kind, n));
                rest = &r[tag.len() + used..];
            } else if let Some(tag) = ["post", "rev", "r"].iter().find(|t| r.starts_with(*t)) {
                let (n, used) = number(&r[tag.len()..]);
                v.post = Some(n);
                rest = &r[tag.len() + used..];
            } else if let Some(after) = r.strip_prefix("dev") {
                let (n, used) = number(after);
                v.dev = Some(n);
                rest = &after[used..];
            } else {
                break;
            }
        }
        v
    }

    fn key(&self) -> Key {
        let mut release = self.release.clone();
        while release.last() == Some(&0) {
            release.pop();
        }
        // 1.0.dev1 < 1.0a1 < 1.0 < 1.0.post1
        let pre = match (self.pre, self.post, self.dev) {
            (Some((k, n)), _, _) => (k as i8, n),
            (None, None, Some(_)) => (-1, 0),
            (None, _, _) => (3, 0),
        };
        let post = self.post.map_or((-1, 0), |n| (0, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        (release, pre, post, dev)
    }
}

/// Release (without trailing zeros), then pre-, post- and development
/// release, each as (rank, number).
type Key = (Vec<u64>, (i8, u64), (i8, u64), (i8, u64));

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_specifiers_are_read_as_pip_reads_them() {
        let r = parse("Foo_Bar.baz >= 1.2, != 1.3.0").unwrap();
        assert_eq!(r.name, "foo-bar-baz");
        assert_eq!(
            r.specifier,
            vec![(Op::Ge, "1.2".into()), (Op::Ne, "1.3.0".into())]
        );
        assert!(parse("a[x]").is_err());
        assert!(parse("a; python_version < '3'").is_err());
        assert!(parse("a @ https://x/a.whl").is_err());
        assert!(parse("./wheels/a.whl").is_err());
        assert!(parse("a ?= 1").is_err());
        assert_eq!(parse("prov==1.5.3").unwrap().name, "prov");
    }

    #[test]
    fn versions_satisfy_specifiers_as_pep_440_orders_them() {
        let allows = |spec: &str, v: &str| parse(&format!("x{spec}")).unwrap().allows(v);
        assert!(allows("", "0.1"));
        assert!(allows(">=1.20", "1.26.4"));
        assert!(!allows(">=2", "1.16.0"));
        assert!(allows("==1.5.3", "1.5.3"));
        assert!(allows("==1.5", "1.5.0"));
        assert!(!allows("==1.5.3", "1.5.4"));
        assert!(allows("==1.5.*", "1.5.9"));
        assert!(!allows("==1.5.*", "1.6"));
        assert!(allows("~=1.4.2", "1.4.9"));
        assert!(!allows("~=1.4.2", "1.5.0"));
        assert!(allows("~=2.2", "2.9"));
        assert!(!allows("~=2.2", "3.0"));
        assert!(allows("<2", "1.9.9"));
        assert!(!allows("<2", "2.0"));
        assert!(allows(">1.0rc1", "1.0"));
        assert!(allows("<1.0", "1.0rc1"));
        assert!(allows("<1.0a1", "1.0.dev3"));
        assert!(allows(">1.0", "1.0.post1"));
        assert!(allows("!=1.0", "1.0.1"));
    }

    #[test]
    fn guix_names_follow_guix_convention_and_its_exceptions() {
        assert_eq!(guix_name("numpy"), "python-numpy");
        assert_eq!(guix_name("python-dateutil"), "python-dateutil");
        assert_eq!(guix_name("torch"), "python-pytorch");
        assert_eq!(guix_name(&normal_name("PyYAML")), "python-pyyaml");
    }
}
