//! Small file-system helpers shared by the modules.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Write whole or not at all: readers see the old file or the new one.
/// The temporary file has an unpredictable name and is created
/// exclusively in the target's directory, so a link planted there under
/// any name is never followed; a link at `path` itself is refused, not
/// replaced. A file replaced keeps its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_whole(path, bytes, true)
}

/// [`write_atomic`] without waiting for the disk: for a record of what is
/// in the cache beside files nobody synced either (what pip or uv wrote).
/// A power cut may leave it empty; it is then unreadable, and the thing
/// it describes is built again. About 1 to 2 ms less per build.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_whole(path, bytes, false)
}

fn write_whole(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let permissions = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link: pyenv-guix writes no file through a link",
                    path.display()
                ),
            ));
        }
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            // Given to open(2): the umask applies, as to any new file.
            std::fs::Permissions::from_mode(0o666)
        }
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pyenv-guix.")
        .suffix(".tmp")
        .permissions(permissions)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Write `path` (see `write_atomic`) only if it lies inside `root` as
/// resolved: no `..`, no directory on the way that is a link out of the
/// project, and not a link itself. A repository's content decides none of
/// where we write.
pub fn write_in_project(root: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    check_inside(root, path)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Checked again once the directories exist: none may be a link out.
    check_inside(root, path)?;
    write_atomic(path, bytes)
}

/// Whether `pyenv-guix` may write `path` for the project at `root`.
pub fn check_inside(root: &Path, path: &Path) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let refuse = |why: String| {
        Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("refusing to write {}: {why}", path.display()),
        ))
    };
    let root = std::fs::canonicalize(root)?;
    if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return refuse(format!("it is outside the project {}", root.display()));
    }
    // The nearest existing directory above the file, resolved.
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| std::fs::symlink_metadata(d).is_err()) {
        dir = d.parent();
    }
    let resolved = dir.map(std::fs::canonicalize).transpose()?;
    if !resolved.is_some_and(|d| d.starts_with(&root)) {
        return refuse(format!("it is outside the project {}", root.display()));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return refuse("it is a symbolic link".to_string());
    }
    Ok(())
}

/// Where `path`, which a project's file names relative to the project,
/// leads once every link and `..` is followed: only inside `root`
/// (resolved too). A path that leads out is refused, saying where it
/// leads, and nothing there is opened. What is returned has no link left
/// in it to read through.
pub fn resolve_inside(root: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let root = std::fs::canonicalize(root)?;
    let resolved = std::fs::canonicalize(path)?;
    if resolved.starts_with(&root) {
        return Ok(resolved);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "it leads to {}, outside the project {}",
            resolved.display(),
            root.display()
        ),
    ))
}

/// Whether `rel`, a path relative to a directory `depth` levels below a
/// project's root, stays inside the root by its words alone (its `..`
/// climb no higher than the root). Links are `resolve_inside`'s to follow.
pub fn stays_inside(depth: usize, rel: &Path) -> bool {
    use std::path::Component;
    let mut depth = depth;
    for c in rel.components() {
        match c {
            Component::ParentDir if depth == 0 => return false,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Create (or empty) a file of pyenv-guix's own, readable by the user
/// alone, never through a link put in its place.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` as a shell would find it: a path (relative to `dir`) if it has a
/// slash, else the first executable of that name on `path`. Only an
/// executable file is found. Empty and relative entries are skipped: they
/// would mean the directory we run in, a project's content, never trusted
/// as a program.
pub fn find_program(name: &OsStr, path: Option<&OsStr>, dir: &Path) -> Option<PathBuf> {
    if name.as_bytes().contains(&b'/') {
        let p = dir.join(name);
        return is_executable(&p).then_some(p);
    }
    path?
        .as_bytes()
        .split(|&b| b == b':')
        .filter(|entry| entry.first() == Some(&b'/'))
        .map(|entry| Path::new(OsStr::from_bytes(entry)).join(name))
        .find(|p| is_executable(p))
}

/// Whether the file at `path` starts with `#!`: a script (a pyenv shim, say),
/// which may run a different program each time.
pub fn is_script(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"#!")
}

/// `text` with each `%XX` decoded, as pip (urllib's `unquote`) decodes a
/// `file:` URL's path: a `%` not followed by two hexadecimal digits stays
/// as it is, and `false` says there was one, for a reader that refuses it.
pub fn percent_decode(text: &str) -> (Vec<u8>, bool) {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut well_formed = true;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = (bytes.get(i + 1..i + 3))
                .and_then(|p| std::str::from_utf8(p).ok())
                .and_then(|p| u8::from_str_radix(p, 16).ok());
            if let Some(b) = pair {
                out.push(b);
                i += 3;
                continue;
            }
            well_formed = false;
        }
        out.push(bytes[i]);
        i += 1;
    }
    (out, well_formed)
}

/// Lower-case hex of `bytes`: how hashes are written everywhere.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A path as key text, every byte kept: not UTF-8 bytes are escaped, never
/// replaced (two roots must never read alike).
pub fn exact(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().escape_ascii().to_string()
}

/// The bytes `hex` wrote, if `text` is lower-case hex of whole bytes.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2)?;
            pair.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                .then(|| u8::from_str_radix(pair, 16).ok())
                .flatten()
        })
        .collect()
}

/// Open `path` for reading only if it is a regular file of at most `limit`
/// bytes. It is opened without blocking, so a FIFO or a device put where a
/// file should be is an error, never a hang.
pub fn open_regular(path: &Path, limit: u64) -> std::io::Result<std::fs::File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    // /proc and /sys files say they are regular and empty, and hold what
    // the kernel makes up when read (`/proc/self/environ`: our secrets,
    // which an error quoting a line would then print).
    if is_kernel_made(&f) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a file the kernel makes (/proc, /sys), not one on a disk",
        ));
    }
    if meta.len() > limit {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(f)
}

fn is_kernel_made(f: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    const SYSFS_MAGIC: i64 = 0x6265_6572;
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs writes a statfs into the buffer it is given, and
    // the fd is open for as long as `f` is.
    if unsafe { libc::fstatfs(f.as_raw_fd(), fs.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs succeeded, so it filled the buffer.
    // f_type's type differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let kind = unsafe { fs.assume_init() }.f_type as i64;
    kind == PROC_SUPER_MAGIC || kind == SYSFS_MAGIC
}

/// The whole of a regular file of at most `limit` bytes (see `open_regular`).
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = open_regular(path, limit)?;
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// Paths in our JSON records, byte for byte: as a string when they are
/// UTF-8 (what older records hold), else as `{"hex": …}` of their bytes.
/// serde's own `PathBuf` refuses the rest, and a record that cannot be
/// written means a build redone at every entry.
pub mod paths {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes { hex: String },
    }

    fn to_repr(p: &std::path::Path) -> Repr {
        match p.to_str() {
            Some(s) => Repr::Text(s.to_string()),
            None => Repr::Bytes {
                hex: super::hex(p.as_os_str().as_bytes()),
            },
        }
    }

    fn from_repr<E: serde::de::Error>(r: Repr) -> Result<PathBuf, E> {
        match r {
            Repr::Text(s) => Ok(PathBuf::from(s)),
            Repr::Bytes { hex } => super::unhex(&hex)
                .map(|b| PathBuf::from(OsString::from_vec(b)))
                .ok_or_else(|| E::custom("a path's hex is not hex")),
        }
    }

    /// A field of paths: `Vec<PathBuf>` or `Option<PathBuf>`.
    pub trait Paths: Sized {
        fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
        fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
    }

    impl Paths for Vec<PathBuf> {
        fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.iter()
                .map(|p| to_repr(p))
                .collect::<Vec<_>>()
                .serialize(s)
        }
        fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Vec::<Repr>::deserialize(d)?
                .into_iter()
                .map(from_repr)
                .collect()
        }
    }

    impl Paths for Option<PathBuf> {
        fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.as_deref().map(to_repr).serialize(s)
        }
        fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Option::<Repr>::deserialize(d)?.map(from_repr).transpose()
        }
    }

    pub fn serialize<T: Paths, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        value.ser(s)
    }

    pub fn deserialize<'de, T: Paths, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::de(d)
    }
}

#[cfg(test)]
mod tests {
    use super::{hex, percent_decode, unhex};

    #[test]
    fn percent_decode_decodes_bytes_and_says_what_it_could_not() {
        assert_eq!(percent_decode("/a%20b/%ff"), (b"/a b/\xff".to_vec(), true));
        assert_eq!(percent_decode("/a%2"), (b"/a%2".to_vec(), false));
        assert_eq!(percent_decode("%zz%41"), (b"%zzA".to_vec(), false));
        assert_eq!(percent_decode("%é"), ("%é".as_bytes().to_vec(), false));
    }

    #[test]
    fn unhex_reads_what_hex_wrote_and_nothing_else() {
        let bytes = b"/usr/bin:\n\xff\x00:/a b";
        assert_eq!(unhex(&hex(bytes)).as_deref(), Some(&bytes[..]));
        for bad in ["a", "0g", "AB", "+1", "é0"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }
}
