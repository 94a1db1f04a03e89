//! Drafted definitions made loadable: what `guix import pypi` is known to
//! print wrong is repaired, inputs it left out are drafted too, and what is
//! left is checked before anything is written. Real Guix refuses a whole
//! load path over one unbound variable or one dependency cycle, so a module
//! with either would stop every profile built from it.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Context as _, bail};

use super::metadata::{self, Requires};
use crate::context::Context;
use crate::guix::{self, Available};
use crate::{log, requirement, scheme};

/// Input fields, and the one whose inputs only the importer's test and
/// development extras put there (it reads `extra == '…'` as one of those
/// when the extra's name has "test" or "dev", and as nothing else).
const INPUT_FIELDS: [&str; 3] = ["inputs", "propagated-inputs", "native-inputs"];
const EXTRAS_FIELD: &str = "native-inputs";
/// Where the importer puts what it takes for required: an extra in double
/// quotes too.
const REQUIRED_FIELDS: [&str; 2] = ["inputs", "propagated-inputs"];

pub struct Drafting<'a> {
    pub ctx: &'a Context,
    pub user_path: Option<&'a OsStr>,
    pub root: &'a Path,
    /// PyPI names already given to `guix import pypi --recursive`.
    pub tried: BTreeSet<String>,
    /// The installed distributions' requirements (normalised name): which
    /// inputs only extras bring.
    pub requires: BTreeMap<String, Vec<Requires>>,
}

impl Drafting<'_> {
    /// `guix import pypi --recursive NAME`, its definitions added to
    /// `defs` unless defined there already; how many were added.
    pub fn import(
        &mut self,
        name: &str,
        defs: &mut Vec<(String, String)>,
    ) -> anyhow::Result<usize> {
        self.tried.insert(name.to_string());
        let drafted = guix::import_pypi(self.ctx, self.user_path, self.root, name)?
            .context("there is no guix on your PATH to import with")?;
        let mut added = 0;
        for form in scheme::forms(&drafted) {
            let Some((var, form)) = definition(form) else {
                continue;
            };
            if !defs.iter().any(|(v, _)| *v == var) {
                defs.push((var, form));
                added += 1;
            }
        }
        Ok(added)
    }

    /// Repair the new definitions (`defs` past `kept`) and draft the inputs
    /// they need that neither Guix nor the module has, until every input
    /// resolves; or fail naming each one left and what needs it. Drafted
    /// definitions Guix has itself are dropped, and so are those nothing
    /// reaches from `roots` (the promoted packages) and the module's own
    /// any more. What Guix has of them all, asked in one `guix package -A`
    /// a round.
    pub fn settle(
        &mut self,
        defs: &mut Vec<(String, String)>,
        kept: usize,
        roots: &[String],
    ) -> anyhow::Result<Vec<Available>> {
        loop {
            let mut asked: Vec<String> = defs.iter().map(|(v, _)| v.clone()).collect();
            for (_, form) in defs.iter() {
                asked.extend(scheme::inputs(form).into_iter().map(String::from));
            }
            asked.sort();
            asked.dedup();
            let guix_has = guix::available(self.ctx, self.user_path, self.root, &asked)?
                .context("there is no guix on your PATH to ask which packages it has")?;
            let mut i = kept;
            while i < defs.len() {
                if guix_has.iter().any(|a| a.name == defs[i].0) {
                    defs.remove(i);
                } else {
                    i += 1;
                }
            }
            let known: BTreeSet<String> = defs
                .iter()
                .map(|(v, _)| v.clone())
                .chain(guix_has.iter().map(|a| a.name.clone()))
                .collect();
            let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut repaired = Vec::new();
            for (var, form) in defs[kept..].iter_mut() {
                let pypi = scheme::pypi_name(form).map_or_else(|| pypi_of(var), String::from);
                let requires = self.requires.get(&requirement::normal_name(&pypi));
                let dropped = |field: &str, input: &str| {
                    if input == var.as_str() {
                        Some("a package is not its own input")
                    } else if field == EXTRAS_FIELD && !known.contains(input) {
                        Some("a test or development extra neither Guix nor the import has")
                    } else if REQUIRED_FIELDS.contains(&field)
                        && requires.is_some_and(|r| metadata::only_from_extras(r, input))
                    {
                        Some("only its optional extras need it (its installed METADATA)")
                    } else {
                        None
                    }
                };
                let (text, notes) = repair(form, var, dropped);
                repaired.push((var.clone(), notes));
                *form = text;
            }
            let needed = reachable(defs, kept, roots);
            let mut i = kept;
            while i < defs.len() {
                if needed.contains(&defs[i].0) {
                    i += 1;
                } else {
                    log::info(&format!(
                        "{}: not drafted after all: only dropped inputs needed it",
                        defs[i].0
                    ));
                    defs.remove(i);
                }
            }
            // What was repaired in a definition that is not written is
            // not news.
            for (var, notes) in repaired {
                if needed.contains(&var) {
                    notes.iter().for_each(|n| log::info(n));
                }
            }
            for (var, form) in &defs[kept..] {
                for input in scheme::inputs(form) {
                    if !known.contains(input) {
                        missing
                            .entry(input.to_string())
                            .or_default()
                            .push(var.clone());
                    }
                }
            }
            if missing.is_empty() {
                return Ok(guix_has);
            }
            let fresh: Vec<String> = missing
                .keys()
                .map(|input| pypi_of(input))
                .filter(|name| !self.tried.contains(name))
                .collect();
            if fresh.is_empty() {
                let list: Vec<String> = missing
                    .iter()
                    .map(|(input, by)| format!("{input} (needed by {})", by.join(", ")))
                    .collect();
                bail!(
                    "the drafted definitions need what neither Guix nor `guix import pypi --recursive` defines: {}. \
                     Nothing was written; define them in the module yourself, or leave these packages with pip",
                    list.join("; ")
                );
            }
            for name in fresh {
                let added = self.import(&name, defs)?;
                log::info(&format!(
                    "{name}: drafted {added} more definition{} for inputs the import left out",
                    if added == 1 { "" } else { "s" }
                ));
            }
        }
    }
}

/// The definitions `roots` and the first `kept` (the module's own) need,
/// through the inputs of those the module defines.
fn reachable(defs: &[(String, String)], kept: usize, roots: &[String]) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = roots
        .iter()
        .cloned()
        .chain(defs[..kept].iter().map(|(v, _)| v.clone()))
        .collect();
    while let Some(var) = todo.pop() {
        let Some((_, form)) = defs.iter().find(|(v, _)| *v == var) else {
            continue;
        };
        if seen.insert(var) {
            todo.extend(scheme::inputs(form).into_iter().map(String::from));
        }
    }
    seen
}

/// The PyPI name the importer turned into `input` (`python-` and the
/// name, lower case, `_` as `-`).
fn pypi_of(input: &str) -> String {
    input.strip_prefix("python-").unwrap_or(input).to_string()
}

/// `form` as a `(define-public VAR (package …))`: the importer's own, or
/// an older Guix's bare `(package …)` wrapped in one, named by its name.
fn definition(form: &str) -> Option<(String, String)> {
    if let Some(var) = scheme::defined(form) {
        return Some((var.to_string(), form.to_string()));
    }
    if scheme::symbols(form).first() != Some(&"package") {
        return None;
    }
    let name = scheme::package_fields(form)
        .into_iter()
        .find(|f| f.name == "name")?
        .string?;
    // A variable name must read back as the same symbol.
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || "()[]\";'`,#|\\".contains(c))
    {
        return None;
    }
    let body: Vec<String> = form.lines().map(|l| format!("  {l}")).collect();
    Some((
        name.to_string(),
        format!("(define-public {name}\n{})", body.join("\n")),
    ))
}

/// `form` with what the importer prints wrong repaired: `null` (PyPI's
/// JSON null, an unbound variable to Guile) as the project's PyPI page,
/// an empty text or no license; and the inputs `dropped(field, input)`
/// gives a reason for removed. Also what was changed, to tell the user.
fn repair(
    form: &str,
    var: &str,
    dropped: impl Fn(&str, &str) -> Option<&'static str>,
) -> (String, Vec<String>) {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut notes = Vec::new();
    for field in scheme::package_fields(form) {
        if let [("null", at)] = field.atoms.as_slice() {
            let value = match field.name {
                "home-page" => {
                    let name = scheme::pypi_name(form)
                        .map(str::to_string)
                        .unwrap_or_else(|| pypi_of(var));
                    format!("\"https://pypi.org/project/{name}/\"")
                }
                "synopsis" | "description" => "\"\"".to_string(),
                "license" => "#f".to_string(),
                _ => continue,
            };
            notes.push(format!(
                "{var}: ({} null) is now ({} {value})",
                field.name, field.name
            ));
            edits.push((*at, at + "null".len(), value));
            continue;
        }
        if !INPUT_FIELDS.contains(&field.name) {
            continue;
        }
        let inputs: Vec<(&str, usize)> = field
            .atoms
            .iter()
            .copied()
            .filter(|(a, _)| !matches!(*a, "list" | "quote" | "modify-inputs"))
            .collect();
        let gone: Vec<(&str, usize)> = inputs
            .iter()
            .copied()
            .filter(|(a, _)| dropped(field.name, a).is_some())
            .collect();
        for (input, _) in &gone {
            let why = dropped(field.name, input).unwrap_or_default();
            notes.push(format!(
                "{var}: dropped {input} from its {}: {why}",
                field.name
            ));
        }
        if gone.is_empty() {
            continue;
        }
        if gone.len() == inputs.len() {
            // The whole field goes, with the line it was on.
            let from = form[..field.start]
                .trim_end_matches([' ', '\t', '\n', '\r'])
                .len();
            edits.push((from, field.end + 1, String::new()));
            continue;
        }
        let first_kept = inputs
            .iter()
            .find(|(a, _)| dropped(field.name, a).is_none())
            .map_or(usize::MAX, |(_, at)| *at);
        for (input, at) in gone {
            let end = at + input.len();
            let from = form[..at].trim_end_matches([' ', '\t', '\n', '\r']).len();
            if at < first_kept {
                // Before any kept input: the next one takes its place.
                let rest = form[end..].trim_start_matches([' ', '\t', '\n', '\r']);
                edits.push((at, form.len() - rest.len(), String::new()));
            } else {
                edits.push((from, end, String::new()));
            }
        }
    }
    // Removals next to one another may overlap: one removal each.
    edits.sort_by_key(|e| e.0);
    let mut merged: Vec<(usize, usize, String)> = Vec::new();
    for e in edits {
        match merged.last_mut() {
            Some(last) if e.0 < last.1 && last.2.is_empty() && e.2.is_empty() => {
                last.1 = last.1.max(e.1)
            }
            _ => merged.push(e),
        }
    }
    let mut text = form.to_string();
    for (from, to, with) in merged.into_iter().rev() {
        text.replace_range(from..to, &with);
    }
    (text, notes)
}

/// The module as it will be written must load: every input of a new
/// definition (`defs` past `kept`) resolves to one defined in the module
/// or to a package Guix has, no `null` is left, and no definition depends
/// on itself through the others.
pub fn check(defs: &[(String, String)], kept: usize, guix_has: &[Available]) -> anyhow::Result<()> {
    let defined = |n: &str| defs.iter().any(|(v, _)| v == n);
    for (var, form) in &defs[kept..] {
        for input in scheme::inputs(form) {
            if !defined(input) && !guix_has.iter().any(|a| a.name == input) {
                bail!(
                    "{var} needs {input}, which neither Guix nor the module defines; nothing was written"
                );
            }
        }
        for field in scheme::package_fields(form) {
            if field.atoms.iter().any(|(a, _)| *a == "null") {
                bail!(
                    "{var}: its {} holds null, which Guix cannot load; nothing was written",
                    field.name
                );
            }
        }
    }
    // Depth-first through the module's own definitions: a path back to
    // where it started is a cycle.
    let inputs: BTreeMap<&str, Vec<&str>> = defs
        .iter()
        .map(|(v, f)| {
            (
                v.as_str(),
                scheme::inputs(f)
                    .into_iter()
                    .filter(|i| defined(i))
                    .collect(),
            )
        })
        .collect();
    fn visit<'a>(
        at: &'a str,
        inputs: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|p| *p == at) {
            let mut cycle = path[i..].to_vec();
            cycle.push(at);
            return Some(cycle);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for next in inputs.get(at).into_iter().flatten() {
            if let Some(cycle) = visit(next, inputs, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for (var, _) in defs {
        if let Some(cycle) = visit(var, &inputs, &mut Vec::new(), &mut done) {
            bail!(
                "{} takes {} as an input, and that is a dependency cycle Guix refuses: {}; nothing was written",
                cycle[cycle.len() - 2],
                cycle[cycle.len() - 1],
                cycle.join(" -> ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAFT: &str = "(define-public python-a\n  (package\n    (name \"python-a\")\n    (source (origin (uri (pypi-uri \"A_b\" version))))\n    (propagated-inputs (list python-a\n                             python-b))\n    (native-inputs (list python-x))\n    (home-page null)\n    (license #f)))";

    #[test]
    fn repairs_null_and_drops_inputs_with_their_lines() {
        let (text, notes) = repair(DRAFT, "python-a", |field, input| {
            (input == "python-a" || (field == EXTRAS_FIELD && input == "python-x")).then_some("")
        });
        assert_eq!(
            text,
            "(define-public python-a\n  (package\n    (name \"python-a\")\n    (source (origin (uri (pypi-uri \"A_b\" version))))\n    (propagated-inputs (list python-b))\n    (home-page \"https://pypi.org/project/A_b/\")\n    (license #f)))"
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        let three = DRAFT.replace("python-b))", "python-b python-c))");
        let (text, _) = repair(&three, "python-a", |_, i| (i != "python-c").then_some(""));
        assert!(
            text.contains("(propagated-inputs (list python-c))"),
            "{text}"
        );
        let (text, _) = repair(&three, "python-a", |_, i| (i == "python-b").then_some(""));
        assert!(
            text.contains("(propagated-inputs (list python-a python-c))"),
            "{text}"
        );
        assert!(scheme::forms(&text).len() == 1);
    }

    #[test]
    fn a_bare_package_is_wrapped_in_define_public() {
        let (var, form) = definition("(package\n  (name \"python-a\"))").unwrap();
        assert_eq!(var, "python-a");
        assert_eq!(
            form,
            "(define-public python-a\n  (package\n    (name \"python-a\")))"
        );
        assert_eq!(scheme::defined(&form), Some("python-a"));
        assert!(definition("(package (name \"a b\"))").is_none());
    }

    #[test]
    fn check_names_the_package_and_the_input() {
        let def = |v: &str, inputs: &str| {
            (
                v.to_string(),
                format!(
                    "(define-public {v} (package (name \"{v}\") (propagated-inputs (list {inputs}))))"
                ),
            )
        };
        let err = check(&[def("python-a", "python-b")], 0, &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("python-a needs python-b"),
            "{err}"
        );
        let err = check(
            &[def("python-a", "python-b"), def("python-b", "python-a")],
            0,
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("python-a -> python-b -> python-a"),
            "{err}"
        );
        assert!(
            check(
                &[def("python-a", "python-b"), def("python-b", "python-c")],
                0,
                &[Available {
                    name: "python-c".into(),
                    version: "1".into(),
                    location: "gnu/packages/python-xyz.scm:1:2".into(),
                }]
            )
            .is_ok()
        );
    }
}
