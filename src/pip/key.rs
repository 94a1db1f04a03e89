//! A prefix's key: the hash of a versioned, canonical text of everything
//! that decides what the installer puts there. It is made once per build
//! and carried, text and hash, to the build, the layout and the state.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::install::Choice;
use super::scan::Scan;
use super::{Pip, PipMode, Unreadable};
use crate::fsutil::{exact, hex};
use crate::interpreter::Facts;
use crate::libraries::MissingLibraries;

/// Everything that decides a prefix's content.
pub struct PrefixInputs<'a> {
    pub facts: &'a Facts,
    /// The Guix profile's store path, when there is one: what pip installs
    /// depends on what Guix provides.
    pub profile: Option<&'a Path>,
    pub pip: &'a Pip,
    /// What pip reads, by content.
    pub scan: &'a Scan,
    /// The project root: pip runs there, and it is part of the key when
    /// the prefix is the project's own (a source tree, an editable install).
    pub root: &'a Path,
    /// pip or uv.
    pub installer: &'a Choice,
    /// The project's name: a venv's prompt, in its pyvenv.cfg.
    pub prompt: &'a str,
    /// Which Guix, when the interpreter is a Guix store item: the libraries
    /// binary wheels get from Guix are that Guix's (a different `gcc:lib`
    /// is a different environment).
    pub guix: Option<&'a str>,
    /// Builds the profile of those libraries.
    pub library_profile: Option<crate::libraries::BuildProfile<'a>>,
}

impl PrefixInputs<'_> {
    /// The key: a versioned, canonical text of the inputs, and its hash.
    /// Requirement order and spacing do not matter; option order does.
    pub fn key(&self) -> Result<Key, Unreadable> {
        let mut lines = vec!["pyenv-guix prefix 5".to_string(), self.facts.identity()];
        // The path the installer runs it by: the scripts it writes start
        // with it, and a venv's `python` leads to it (`/usr/bin/python3`
        // and `/usr/bin/python3.11` are one interpreter, two prefixes).
        lines.push(format!("command {}", exact(self.facts.command())));
        match self.profile {
            Some(p) => lines.push(format!("profile {}", exact(p))),
            None => lines.push("profile none".to_string()),
        }
        lines.push(format!("mode {}", self.pip.mode));
        lines.push(format!(
            "system-site-packages {}",
            self.pip.system_site_packages
        ));
        lines.push(self.installer.key_line());
        if let Some(guix) = self.guix {
            lines.push(format!("libraries from {guix}"));
            if self.pip.missing_libraries == MissingLibraries::Warn {
                lines.push("missing libraries warn".to_string());
            }
        }
        if self.pip.mode == PipMode::Venv {
            lines.push(format!("prompt {:?}", self.prompt));
        }
        // A locked prefix is what the lock says, however it was asked for.
        match &self.scan.lock {
            Some(lock) => {
                lines.extend(lock.key_lines());
                for (p, url) in self.scan.by_url(lock) {
                    let name = super::reqfile::normal_name(&p.name);
                    lines.push(format!("{} {name} {url:?}", super::lock::BY_URL_LINE));
                }
            }
            None => lines.extend(self.scan.key_lines(self.root)?),
        }
        // A uv project's venv is what its pyproject.toml and uv.lock say.
        lines.extend(self.scan.uv_key_lines()?);
        let text = lines.join("\n") + "\n";
        Ok(Key {
            hash: hex(&Sha256::digest(text.as_bytes())),
            text,
        })
    }
}

/// A prefix's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The name of the prefix in the cache: `text`'s SHA-256.
    pub hash: String,
    /// What the key is made of, for whoever looks into the cache.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::pip::install::uv::Uv;

    fn facts() -> Facts {
        Facts {
            path: "/usr/bin/python3".into(),
            executable: "/usr/bin/python3.11".into(),
            version: "3.11.2 (main)".into(),
            version_short: "3.11".into(),
            implementation: "cpython-311".into(),
            platform: "linux-x86_64".into(),
            store_item: None,
            script: false,
        }
    }

    #[test]
    fn key_ignores_requirement_order_and_spacing_but_not_the_rest() {
        let f = facts();
        let root = Path::new("/nowhere");
        let pip = Choice::pip(None);
        let uv = |id: &str| Choice {
            tool: Box::new(Uv {
                path: PathBuf::from("/bin/uv"),
                id: id.to_string(),
            }),
            instead: None,
        };
        let key_of = |facts: &Facts,
                      packages: &str,
                      mode: &str,
                      profile: Option<&Path>,
                      installer: &Choice| {
            let text = format!("[pip]\nmode = {mode:?}\npackages = [{packages}]\n");
            let m = crate::manifest::parse(Path::new("m"), text.as_bytes()).unwrap();
            let project = crate::manifest::Project {
                manifest_path: root.join(".pyguix.toml"),
                root: root.to_path_buf(),
                bytes: text.into_bytes(),
                manifest: m,
            };
            let scan = project.scan();
            let m = &project.manifest;
            PrefixInputs {
                facts,
                profile,
                pip: &m.pip,
                scan: &scan,
                root,
                installer,
                prompt: "p",
                guix: None,
                library_profile: None,
            }
            .key()
            .expect("every input is readable")
            .hash
        };
        let key_by = |packages: &str, mode: &str, profile: Option<&Path>, installer: &Choice| {
            key_of(&f, packages, mode, profile, installer)
        };
        let key = |packages: &str, mode: &str, profile: Option<&Path>| {
            key_by(packages, mode, profile, &pip)
        };
        let a = key("\"prov == 1.5.3\", \"six\"", "prefix", None);
        assert_eq!(a, key("\"six\", \"prov==1.5.3\"", "prefix", None));
        assert_ne!(a, key("\"six\", \"prov==1.5.3\"", "venv", None));
        assert_ne!(
            a,
            key(
                "\"six\", \"prov==1.5.3\"",
                "prefix",
                Some(Path::new("/gnu/store/x-profile"))
            )
        );
        assert_eq!(a.len(), 64);
        let by_uv = key_by("\"six\", \"prov==1.5.3\"", "prefix", None, &uv("1"));
        assert_ne!(a, by_uv);
        assert_ne!(
            by_uv,
            key_by("\"six\", \"prov==1.5.3\"", "prefix", None, &uv("2"))
        );
        // One interpreter by two paths: the scripts name the path.
        let mut other = facts();
        other.path = "/usr/bin/python3.11".into();
        assert_ne!(
            key_of(&f, "\"six\"", "prefix", None, &pip),
            key_of(&other, "\"six\"", "prefix", None, &pip)
        );
    }
}
