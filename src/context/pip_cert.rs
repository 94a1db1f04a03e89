//! The one setting of the user's pip configuration that builds keep: the
//! CA bundle (`cert`). Builds read no pip configuration otherwise (it would
//! change what pip resolves without being in the key), but behind a
//! TLS-inspecting proxy pip reaches no index without the proxy's CA, and
//! the CA decides only whom pip trusts on the way, not what it installs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The `cert` pip would use for `pip install`, from the files pip reads in
/// the order it reads them (the last one wins; `[install]` over
/// `[global]` within a file), as the user set them before any project:
/// `user_var` reads the user's variables, `config_dir` is the user's
/// configuration directory.
pub fn cert(
    user_var: &dyn Fn(&str) -> Option<OsString>,
    config_dir: Option<PathBuf>,
) -> Option<OsString> {
    let mut found = None;
    for file in files(user_var, config_dir) {
        let Ok(bytes) = crate::fsutil::read_limited(&file, 1 << 20) else {
            continue;
        };
        if let Some(cert) = read_cert(&String::from_utf8_lossy(&bytes)) {
            found = Some(OsString::from(cert));
        }
    }
    found
}

/// pip's configuration files, global then user then `PIP_CONFIG_FILE`. A
/// virtual environment's own `pip.conf` is not read: it may be a project's.
fn files(user_var: &dyn Fn(&str) -> Option<OsString>, config_dir: Option<PathBuf>) -> Vec<PathBuf> {
    let config_file = user_var("PIP_CONFIG_FILE");
    if config_file.as_deref() == Some(std::ffi::OsStr::new("/dev/null")) {
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = user_var("XDG_CONFIG_DIRS")
        .map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![PathBuf::from("/etc/xdg")])
        .into_iter()
        .filter(|d| d.is_absolute())
        .map(|d| d.join("pip/pip.conf"))
        .collect();
    out.push(PathBuf::from("/etc/pip.conf"));
    if let Some(home) = user_var("HOME").map(PathBuf::from) {
        out.push(home.join(".pip/pip.conf"));
    }
    if let Some(config) = config_dir {
        out.push(config.join("pip/pip.conf"));
    }
    out.extend(config_file.map(PathBuf::from).filter(|p| p.is_absolute()));
    out
}

/// `cert` from `[install]`, else `[global]`, of an INI text as pip's
/// configparser reads it (`=` or `:`, `#`/`;` comment lines).
fn read_cert(text: &str) -> Option<String> {
    let mut section = String::new();
    let (mut global, mut install) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("cert") {
            continue;
        }
        let value = value.trim().to_string();
        if !Path::new(&value).is_absolute() {
            continue;
        }
        match section.as_str() {
            "global" => global = Some(value),
            "install" => install = Some(value),
            _ => {}
        }
    }
    install.or(global)
}

#[cfg(test)]
mod tests {
    use super::read_cert;

    #[test]
    fn cert_from_install_over_global() {
        let text = "[global]\nindex-url = https://example.org/simple\ncert = /etc/ssl/proxy.pem\n";
        assert_eq!(read_cert(text).as_deref(), Some("/etc/ssl/proxy.pem"));
        let text =
            "# mine\n[global]\ncert=/a.pem\n\n[install]\ncert : /b.pem\n[list]\ncert = /c.pem\n";
        assert_eq!(read_cert(text).as_deref(), Some("/b.pem"));
        assert_eq!(read_cert("[global]\ncert = relative.pem\n"), None);
        assert_eq!(read_cert("[freeze]\ncert = /x.pem\n"), None);
    }
}
