//! `PYENV_GUIX_STATE`: what the next `export` needs to know about this one.
//!
//! Opaque to users, versioned, and cheap to read: the prompt's fast path
//! decodes it and compares file stamps, nothing more.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::envdiff::{Record, Records};

pub const VAR: &str = "PYENV_GUIX_STATE";
const MAGIC: &str = "pg2.";
/// The largest state written: far below the kernel's limit of 128 KiB for
/// one variable, leaving room for the rest of the environment.
pub const MAX_LEN: usize = 64 * 1024;
/// The most a state may inflate to.
const MAX_PAYLOAD: u64 = 4 << 20;

type Mac = hmac::Hmac<sha2::Sha256>;

/// What a file looked like: a change to any field means "look again".
/// All zero for a missing file. Carried as five numbers, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "[u64; 5]", into = "[u64; 5]")]
pub struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    /// Seconds and nanoseconds folded into one number.
    modified: u64,
    changed: u64,
}

impl From<[u64; 5]> for Stamp {
    fn from([device, inode, size, modified, changed]: [u64; 5]) -> Stamp {
        Stamp {
            device,
            inode,
            size,
            modified,
            changed,
        }
    }
}

impl From<Stamp> for [u64; 5] {
    fn from(s: Stamp) -> [u64; 5] {
        [s.device, s.inode, s.size, s.modified, s.changed]
    }
}

impl Stamp {
    /// The file `path` leads to, through symlinks.
    pub fn of(path: &Path) -> Stamp {
        Stamp::from_metadata(std::fs::metadata(path))
    }

    /// `path` itself, a symlink or not.
    pub fn of_link(path: &Path) -> Stamp {
        Stamp::from_metadata(std::fs::symlink_metadata(path))
    }

    fn from_metadata(meta: std::io::Result<std::fs::Metadata>) -> Stamp {
        match meta {
            Ok(m) => Stamp {
                device: m.dev(),
                inode: m.ino(),
                size: m.size(),
                modified: (m.mtime() as u64).wrapping_mul(1_000_000_000) ^ m.mtime_nsec() as u64,
                changed: (m.ctime() as u64).wrapping_mul(1_000_000_000) ^ m.ctime_nsec() as u64,
            },
            Err(_) => Stamp::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The manifest this state is about, as found from the shell's directory.
    pub manifest: PathBuf,
    /// Every file whose change calls for a full re-check.
    pub watched: Vec<(PathBuf, Stamp)>,
    /// The trusted content hash while loaded; `None` while blocked.
    pub loaded: Option<String>,
    pub records: Records,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "ignoring a PYENV_GUIX_STATE that this user's pyenv-guix did not write, or that was changed"
)]
pub struct Corrupt;

#[derive(Debug, thiserror::Error)]
#[error(
    "the project's environment would need a PYENV_GUIX_STATE of {0} bytes, over the {MAX_LEN} a shell can safely carry; shorten its values"
)]
pub struct TooLarge(pub usize);

impl State {
    pub fn watched_unchanged(&self) -> bool {
        self.watched.iter().all(|(p, s)| Stamp::of(p) == *s)
    }

    /// Compressed, then authenticated with the user's `key` (a MAC over
    /// the text), so that a state nobody but this user's pyenv-guix wrote
    /// is never acted on.
    pub fn encode(&self, key: &[u8]) -> Result<OsString, TooLarge> {
        let mut w = Writer(Vec::new());
        w.bytes(self.manifest.as_os_str().as_bytes());
        w.num(self.watched.len() as u64);
        for (path, stamp) in &self.watched {
            w.bytes(path.as_os_str().as_bytes());
            for n in <[u64; 5]>::from(*stamp) {
                w.num(n);
            }
        }
        w.bytes(self.loaded.as_deref().unwrap_or("").as_bytes());
        w.num(self.records.len() as u64);
        for (name, record) in &self.records {
            w.bytes(name.as_bytes());
            match record {
                Record::Scalar { before, set } => {
                    w.num(0);
                    w.opt(before.as_ref());
                    w.bytes(set.as_bytes());
                }
                Record::List {
                    before_unset,
                    prepended,
                    appended,
                } => {
                    w.num(1 + u64::from(*before_unset));
                    w.list(prepended);
                    w.list(appended);
                }
            }
        }
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        let packed = std::io::Write::write_all(&mut z, &w.0)
            .and_then(|()| z.finish())
            .unwrap_or_default();
        let body = format!("{MAGIC}{}", B64.encode(packed));
        let text = format!("{body}.{}", B64.encode(mac(key, &body)));
        if text.len() > MAX_LEN {
            return Err(TooLarge(text.len()));
        }
        Ok(OsString::from(text))
    }

    /// How many bytes of `PYENV_GUIX_STATE` a state holding `records` (and
    /// nothing the user had before) takes: what `allow` weighs a project's
    /// variables by, since the state must remember every one of them.
    pub fn carried(manifest: &Path, records: Records) -> usize {
        let state = State {
            manifest: manifest.to_path_buf(),
            watched: Vec::new(),
            loaded: Some("0".repeat(64)),
            records,
        };
        match state.encode(&[0; 32]) {
            Ok(text) => text.len(),
            Err(TooLarge(n)) => n,
        }
    }

    /// The state in `raw` if this user's pyenv-guix wrote it, unchanged,
    /// and every variable name in it is one a snippet may carry.
    pub fn decode(raw: &OsString, key: &[u8]) -> Result<State, Corrupt> {
        use hmac::Mac as _;
        let (body, tag) = split(raw)?;
        let tag = B64.decode(tag).map_err(|_| Corrupt)?;
        let mut m = <Mac as hmac::KeyInit>::new_from_slice(key).map_err(|_| Corrupt)?;
        m.update(body.as_bytes());
        m.verify_slice(&tag).map_err(|_| Corrupt)?;
        State::parse(body)
    }

    /// The state in `raw` read without its key: what it claims, which no
    /// one vouches for. Only for taking off what a project added once the
    /// key that signed it is gone (see `envdiff::salvage`).
    pub fn decode_unauthenticated(raw: &OsString) -> Result<State, Corrupt> {
        State::parse(split(raw)?.0)
    }

    fn parse(body: &str) -> Result<State, Corrupt> {
        use std::io::Read;
        let packed = B64
            .decode(body.strip_prefix(MAGIC).ok_or(Corrupt)?)
            .map_err(|_| Corrupt)?;
        let mut data = Vec::new();
        flate2::read::DeflateDecoder::new(packed.as_slice())
            .take(MAX_PAYLOAD)
            .read_to_end(&mut data)
            .map_err(|_| Corrupt)?;
        let mut r = Reader(&data);
        let manifest = PathBuf::from(r.os()?);
        let mut watched = Vec::new();
        for _ in 0..r.num()? {
            let path = PathBuf::from(r.os()?);
            let mut stamp = [0; 5];
            for n in &mut stamp {
                *n = r.num()?;
            }
            watched.push((path, Stamp::from(stamp)));
        }
        let loaded = String::from_utf8(r.bytes()?.to_vec()).map_err(|_| Corrupt)?;
        let loaded = (!loaded.is_empty()).then_some(loaded);
        let mut records = Vec::new();
        for _ in 0..r.num()? {
            let name = String::from_utf8(r.bytes()?.to_vec()).map_err(|_| Corrupt)?;
            if !crate::shells::snippet_name(&name) {
                return Err(Corrupt);
            }
            let record = match r.num()? {
                0 => Record::Scalar {
                    before: r.opt()?,
                    set: r.os()?,
                },
                k @ (1 | 2) => Record::List {
                    before_unset: k == 2,
                    prepended: r.list()?,
                    appended: r.list()?,
                },
                _ => return Err(Corrupt),
            };
            records.push((name, record));
        }
        if !r.0.is_empty() {
            return Err(Corrupt);
        }
        Ok(State {
            manifest,
            watched,
            loaded,
            records,
        })
    }
}

/// A state's body and its tag.
fn split(raw: &OsString) -> Result<(&str, &str), Corrupt> {
    let text = raw.to_str().ok_or(Corrupt)?;
    if text.len() > MAX_LEN {
        return Err(Corrupt);
    }
    text.rsplit_once('.').ok_or(Corrupt)
}

fn mac(key: &[u8], body: &str) -> Vec<u8> {
    use hmac::Mac as _;
    // HMAC takes a key of any length: this cannot fail.
    let mut m = <Mac as hmac::KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(body.as_bytes());
    m.finalize().into_bytes().to_vec()
}

struct Writer(Vec<u8>);

impl Writer {
    fn num(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.num(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn opt(&mut self, v: Option<&OsString>) {
        match v {
            Some(v) => {
                self.num(1);
                self.bytes(v.as_bytes());
            }
            None => self.num(0),
        }
    }
    fn list(&mut self, items: &[OsString]) {
        self.num(items.len() as u64);
        for i in items {
            self.bytes(i.as_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Corrupt> {
        if self.0.len() < n {
            return Err(Corrupt);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn num(&mut self) -> Result<u64, Corrupt> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| Corrupt)?))
    }
    fn bytes(&mut self) -> Result<&'a [u8], Corrupt> {
        let n = usize::try_from(self.num()?).map_err(|_| Corrupt)?;
        self.take(n)
    }
    fn os(&mut self) -> Result<OsString, Corrupt> {
        Ok(OsString::from_vec(self.bytes()?.to_vec()))
    }
    fn opt(&mut self) -> Result<Option<OsString>, Corrupt> {
        match self.num()? {
            0 => Ok(None),
            1 => Ok(Some(self.os()?)),
            _ => Err(Corrupt),
        }
    }
    fn list(&mut self) -> Result<Vec<OsString>, Corrupt> {
        let n = self.num()?;
        if n > self.0.len() as u64 {
            return Err(Corrupt);
        }
        (0..n).map(|_| self.os()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_garbage() {
        let s = State {
            manifest: PathBuf::from(OsString::from_vec(b"/p/\xff/.pyguix.toml".to_vec())),
            watched: vec![(PathBuf::from("/p/x"), Stamp::from([1, 2, 3, 4, 5]))],
            loaded: Some("abc".into()),
            records: vec![
                (
                    "A".into(),
                    Record::Scalar {
                        before: None,
                        set: OsString::from_vec(b"\n\x01'".to_vec()),
                    },
                ),
                (
                    "PATH".into(),
                    Record::List {
                        before_unset: true,
                        prepended: vec!["/a".into()],
                        appended: vec![],
                    },
                ),
            ],
        };
        let key = [7u8; 32];
        let raw = s.encode(&key).unwrap();
        assert_eq!(State::decode(&raw, &key).unwrap(), s);
        assert!(State::decode(&raw, &[8u8; 32]).is_err(), "another key");
        for bad in ["", "pg2.", "pg0.AAAA", "pg2.!!", "pg2.AAAA.AAAA", "hello"] {
            assert!(State::decode(&OsString::from(bad), &key).is_err(), "{bad}");
        }
        let mut cut = raw.clone().into_string().unwrap();
        cut.truncate(cut.len() - 3);
        assert!(State::decode(&OsString::from(cut), &key).is_err());
        // A name no snippet may carry, even with a valid MAC.
        let mut evil = s.clone();
        evil.records[0].0 = "X;touch /tmp/x;Y".into();
        let raw = evil.encode(&key).unwrap();
        assert!(State::decode(&raw, &key).is_err());
    }
}
