//! What the dynamic loader reads of one ELF file: the libraries it needs
//! and where it looks for them.

use std::path::{Path, PathBuf};

/// The dynamic section of a shared object or executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dynamic {
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH`, else `DT_RPATH`, as written (`$ORIGIN` unexpanded).
    pub search: Vec<String>,
    /// `PT_INTERP`: the loader an executable names.
    pub interpreter: Option<PathBuf>,
}

impl Dynamic {
    /// The search directories with `$ORIGIN` made the file's directory,
    /// as the loader expands them. A relative entry is left out: the
    /// loader takes it from whatever directory the process runs in, so it
    /// provides nothing that can be counted on (and checking it here would
    /// look in ours).
    pub fn search_dirs(&self, file: &Path) -> Vec<PathBuf> {
        let origin = file.parent().unwrap_or(Path::new("/"));
        self.search
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| {
                let rest = e
                    .strip_prefix("$ORIGIN")
                    .or_else(|| e.strip_prefix("${ORIGIN}"));
                match rest {
                    Some(rest) => PathBuf::from(format!("{}{rest}", origin.display())),
                    None => PathBuf::from(e),
                }
            })
            .filter(|d| d.is_absolute())
            .collect()
    }
}

/// Whether `bytes` start like an ELF file: cheap, to skip the rest.
pub fn looks_like_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// Read the dynamic section of the ELF file `bytes`. `Ok(None)`: an ELF
/// file with no dynamic section (a static binary, an object file).
pub fn read(bytes: &[u8]) -> Result<Option<Dynamic>, goblin::error::Error> {
    let elf = goblin::elf::Elf::parse(bytes)?;
    if elf.dynamic.is_none() {
        return Ok(None);
    }
    // The loader ignores DT_RPATH when DT_RUNPATH is present.
    let raw = if elf.runpaths.is_empty() {
        &elf.rpaths
    } else {
        &elf.runpaths
    };
    Ok(Some(Dynamic {
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        search: raw
            .iter()
            .flat_map(|r| r.split(':'))
            .map(str::to_string)
            .collect(),
        interpreter: elf.interpreter.map(PathBuf::from),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_the_files_directory() {
        let d = Dynamic {
            needed: vec![],
            search: vec![
                "$ORIGIN/../pkg.libs".into(),
                "${ORIGIN}".into(),
                "/gnu/store/x-zlib/lib".into(),
                "".into(),
                "lib".into(),
            ],
            interpreter: None,
        };
        assert_eq!(
            d.search_dirs(Path::new("/p/site/pkg/_x.so")),
            [
                PathBuf::from("/p/site/pkg/../pkg.libs"),
                PathBuf::from("/p/site/pkg"),
                PathBuf::from("/gnu/store/x-zlib/lib"),
            ]
        );
    }

    #[test]
    fn reads_this_test_binary() {
        let me = std::env::current_exe().unwrap();
        let bytes = std::fs::read(me).unwrap();
        let d = read(&bytes).unwrap().expect("dynamically linked");
        assert!(d.needed.iter().any(|n| n.starts_with("libc.so")), "{d:?}");
        assert!(d.interpreter.is_some(), "{d:?}");
    }

    #[test]
    fn not_elf_is_an_error() {
        assert!(read(b"#!/bin/sh\n").is_err());
        assert!(!looks_like_elf(b"#!/bin/sh\n"));
    }
}
