//! The environment engine: what a project wants, what we did, and how to undo
//! exactly that and nothing else.
//!
//! Values are bytes (`OsString`): the engine never decodes them.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// One change a project asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Give the variable this value.
    Set(OsString),
    /// Put these entries, in this order, before the variable's own entries.
    Prepend(Vec<OsString>),
}

/// What we did to one variable: enough to undo it, and to see that the user
/// changed it since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Scalar {
        before: Option<OsString>,
        set: OsString,
    },
    List {
        before_unset: bool,
        prepended: Vec<OsString>,
        /// Defaults we appended because the variable was unset (XDG).
        appended: Vec<OsString>,
    },
}

pub type Records = Vec<(String, Record)>;

/// What a project asks for, one op per variable, in order. Sources add to
/// it from the highest precedence down: a later prepend goes after the
/// entries already there; a set replaces whatever was asked before.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Wanted(Vec<(String, Op)>);

impl Wanted {
    pub fn set(&mut self, name: &str, value: impl Into<OsString>) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_string(), Op::Set(value.into())));
    }

    pub fn prepend(&mut self, name: &str, entries: Vec<OsString>) {
        if entries.is_empty() {
            return;
        }
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, Op::Prepend(have))) => have.extend(entries),
            Some((_, Op::Set(_))) => {}
            None => self.0.push((name.to_string(), Op::Prepend(entries))),
        }
    }

    pub fn as_slice(&self) -> &[(String, Op)] {
        &self.0
    }
}

/// The variables to change: `None` unsets.
pub type Changes = BTreeMap<String, Option<OsString>>;

/// What an unset variable means, per the XDG base directory spec: prepending to
/// it must keep that meaning.
fn xdg_default(name: &str) -> &'static [&'static str] {
    match name {
        "XDG_DATA_DIRS" => &["/usr/local/share", "/usr/share"],
        "XDG_CONFIG_DIRS" => &["/etc/xdg"],
        _ => &[],
    }
}

pub fn split(value: &OsStr) -> Vec<OsString> {
    if value.is_empty() {
        return Vec::new();
    }
    value
        .as_bytes()
        .split(|&b| b == b':')
        .map(|e| OsString::from_vec(e.to_vec()))
        .collect()
}

pub fn join(entries: &[OsString]) -> OsString {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(e.as_bytes());
    }
    OsString::from_vec(out)
}

/// The environment as the engine sees it while it works: the shell's values
/// with our pending changes on top.
struct Working<'a> {
    current: &'a dyn Fn(&str) -> Option<OsString>,
    pending: BTreeMap<String, Option<OsString>>,
}

impl Working<'_> {
    fn get(&self, name: &str) -> Option<OsString> {
        match self.pending.get(name) {
            Some(v) => v.clone(),
            None => (self.current)(name),
        }
    }

    fn put(&mut self, name: &str, value: Option<OsString>) {
        self.pending.insert(name.to_string(), value);
    }
}

fn undo(w: &mut Working, name: &str, record: &Record) {
    match record {
        Record::Scalar { before, set } => {
            // A value the user changed since is theirs now.
            if w.get(name).as_ref() == Some(set) {
                w.put(name, before.clone());
            }
        }
        Record::List {
            before_unset,
            prepended,
            appended,
        } => {
            // Unset by the user while inside: they meant it.
            let Some(value) = w.get(name) else { return };
            let mut entries = split(&value);
            for ours in prepended {
                if let Some(i) = entries.iter().position(|e| e == ours) {
                    entries.remove(i);
                }
            }
            for ours in appended {
                if let Some(i) = entries.iter().rposition(|e| e == ours) {
                    entries.remove(i);
                }
            }
            if entries.is_empty() && *before_unset {
                w.put(name, None);
            } else {
                w.put(name, Some(join(&entries)));
            }
        }
    }
}

fn apply(w: &mut Working, name: &str, op: &Op) -> Record {
    let before = w.get(name);
    match op {
        Op::Set(value) => {
            w.put(name, Some(value.clone()));
            Record::Scalar {
                before,
                set: value.clone(),
            }
        }
        Op::Prepend(ours) => {
            let mut entries = ours.clone();
            let mut appended = Vec::new();
            match &before {
                Some(v) => entries.extend(split(v)),
                None => {
                    appended = xdg_default(name).iter().map(OsString::from).collect();
                    entries.extend(appended.iter().cloned());
                }
            }
            w.put(name, Some(join(&entries)));
            Record::List {
                before_unset: before.is_none(),
                prepended: ours.clone(),
                appended,
            }
        }
    }
}

/// Whether an old record already does what `op` asks, so that re-checking a
/// project leaves the variable (and the user's edits to it) alone.
fn still_holds(w: &Working, name: &str, record: &Record, op: &Op) -> bool {
    match (record, op) {
        (Record::Scalar { set, .. }, Op::Set(value)) => set == value,
        (Record::List { prepended, .. }, Op::Prepend(ours)) if prepended == ours => {
            let mut present = w.get(name).map(|v| split(&v)).unwrap_or_default();
            ours.iter()
                .all(|e| match present.iter().position(|p| p == e) {
                    Some(i) => {
                        present.remove(i);
                        true
                    }
                    None => false,
                })
        }
        _ => false,
    }
}

/// What can be undone of `records` no one vouches for (a state whose key
/// is lost): only removals, and only where the current value still shows
/// exactly what the record says was added. A variable it set goes if it
/// was unset before and still holds that value; the entries it prepended
/// or appended come out of a list. A value it replaced is not given back
/// (the record's "before" could be anyone's): those names are returned.
pub fn salvage(
    current: &dyn Fn(&str) -> Option<OsString>,
    records: &[(String, Record)],
) -> (Changes, Vec<String>) {
    let mut changes = Changes::new();
    let mut left = Vec::new();
    for (name, record) in records {
        let now = current(name);
        match record {
            Record::Scalar { before: None, set } => {
                if now.as_ref() == Some(set) {
                    changes.insert(name.clone(), None);
                }
            }
            Record::Scalar {
                before: Some(_),
                set,
            } => {
                if now.as_ref() == Some(set) {
                    left.push(name.clone());
                }
            }
            Record::List {
                before_unset,
                prepended,
                appended,
            } => {
                let Some(now) = now else { continue };
                let mut entries = split(&now);
                for added in prepended.iter().chain(appended) {
                    if let Some(i) = entries.iter().position(|e| e == added) {
                        entries.remove(i);
                    }
                }
                let value = (!(entries.is_empty() && *before_unset)).then(|| join(&entries));
                if value.as_ref() != Some(&now) {
                    changes.insert(name.clone(), value);
                }
            }
        }
    }
    (changes, left)
}

/// Take the environment from what `old` did to what `wanted` asks: undo the
/// old records that no longer hold, apply the rest. Returns the new records
/// and the variables whose values change.
pub fn transition(
    current: &dyn Fn(&str) -> Option<OsString>,
    old: &[(String, Record)],
    wanted: &[(String, Op)],
) -> (Records, Changes) {
    let mut w = Working {
        current,
        pending: BTreeMap::new(),
    };
    let mut kept: BTreeMap<&str, &Record> = BTreeMap::new();
    for (name, record) in old {
        let same = wanted
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, op)| still_holds(&w, name, record, op));
        if same {
            kept.insert(name, record);
        } else {
            undo(&mut w, name, record);
        }
    }
    let mut records = Vec::new();
    for (name, op) in wanted {
        let record = match kept.get(name.as_str()) {
            Some(r) => (*r).clone(),
            None => apply(&mut w, name, op),
        };
        records.push((name.clone(), record));
    }
    let changes = w
        .pending
        .into_iter()
        .filter(|(name, value)| current(name) != *value)
        .collect();
    (records, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn os(s: &str) -> OsString {
        OsString::from(s)
    }

    struct Shell(HashMap<String, OsString>);

    impl Shell {
        fn new(vars: &[(&str, &str)]) -> Shell {
            Shell(vars.iter().map(|(k, v)| (k.to_string(), os(v))).collect())
        }
        fn step(&mut self, old: &[(String, Record)], wanted: &[(String, Op)]) -> Records {
            let snapshot = self.0.clone();
            let (records, changes) = transition(&|n| snapshot.get(n).cloned(), old, wanted);
            for (k, v) in changes {
                match v {
                    Some(v) => self.0.insert(k, v),
                    None => self.0.remove(&k),
                };
            }
            records
        }
        fn get(&self, k: &str) -> Option<&str> {
            self.0.get(k).map(|v| v.to_str().unwrap())
        }
    }

    fn prepend(name: &str, entries: &[&str]) -> (String, Op) {
        (
            name.into(),
            Op::Prepend(entries.iter().map(|e| os(e)).collect()),
        )
    }

    fn set(name: &str, value: &str) -> (String, Op) {
        (name.into(), Op::Set(os(value)))
    }

    #[test]
    fn user_path_edits_inside_survive_leaving() {
        let mut sh = Shell::new(&[("PATH", "/usr/bin:/bin")]);
        let rec = sh.step(&[], &[prepend("PATH", &["/p/bin"])]);
        assert_eq!(sh.get("PATH"), Some("/p/bin:/usr/bin:/bin"));
        sh.0.insert("PATH".into(), os("/mine:/p/bin:/usr/bin"));
        sh.step(&rec, &[]);
        assert_eq!(sh.get("PATH"), Some("/mine:/usr/bin"));
    }

    #[test]
    fn scalar_changed_by_user_is_left_alone() {
        let mut sh = Shell::new(&[("A", "old")]);
        let rec = sh.step(&[], &[set("A", "ours"), set("B", "b")]);
        sh.0.insert("A".into(), os("user"));
        sh.step(&rec, &[]);
        assert_eq!(sh.get("A"), Some("user"));
        assert_eq!(sh.get("B"), None);
    }

    #[test]
    fn xdg_default_kept_and_removed() {
        let mut sh = Shell::new(&[]);
        let rec = sh.step(&[], &[prepend("XDG_DATA_DIRS", &["/p/share"])]);
        assert_eq!(
            sh.get("XDG_DATA_DIRS"),
            Some("/p/share:/usr/local/share:/usr/share")
        );
        sh.step(&rec, &[]);
        assert_eq!(sh.get("XDG_DATA_DIRS"), None);
    }

    #[test]
    fn recheck_keeps_present_entries_and_restores_missing_ones() {
        let mut sh = Shell::new(&[("PATH", "/bin")]);
        let wanted = [prepend("PATH", &["/p/bin"]), set("A", "x")];
        let rec = sh.step(&[], &wanted);
        sh.0.insert("PATH".into(), os("/first:/p/bin:/bin"));
        let rec2 = sh.step(&rec, &wanted);
        assert_eq!(rec, rec2);
        assert_eq!(sh.get("PATH"), Some("/first:/p/bin:/bin"));
        sh.0.insert("PATH".into(), os("/bin"));
        sh.step(&rec2, &wanted);
        assert_eq!(sh.get("PATH"), Some("/p/bin:/bin"));
    }

    #[test]
    fn empty_and_trailing_entries_round_trip() {
        for start in ["", "/x:", ":", "/a::/b"] {
            let mut sh = Shell::new(&[("P", start)]);
            let rec = sh.step(&[], &[prepend("P", &["/p", "/a"])]);
            sh.step(&rec, &[]);
            assert_eq!(sh.get("P"), Some(start), "start {start:?}");
        }
    }
}
