//! pip behind a TLS-inspecting proxy: the index is reached over HTTPS with
//! a certificate only the user's own CA vouches for. The CA the user gave
//! pip (pip.conf's `cert`, or `PIP_CERT`) reaches pip and the isolated
//! environment pip builds an editable project in. A real HTTPS index on
//! loopback, a CA and certificate made here by openssl.

mod support;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{Run, Sandbox};

/// The index server, stopped when the test ends.
struct Index(Child);

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .succeeds();
}

/// A CA, and a certificate for 127.0.0.1 it signed, in `dir`.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=inspecting proxy CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(dir.join("san"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san",
        ],
    );
}

/// Serve `root` over HTTPS on a free loopback port; returns the server and
/// its port. Each request it serves is a line of `tls/requests.log`.
fn serve(root: &Path, tls: &Path) -> (Index, u16) {
    let script = "import http.server, ssl, functools, sys\n\
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n\
        httpd = http.server.HTTPServer(('127.0.0.1', 0), handler)\n\
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
        ctx.load_cert_chain(sys.argv[2] + '/server.pem', sys.argv[2] + '/server.key')\n\
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)\n\
        print(httpd.server_address[1], flush=True)\n\
        httpd.serve_forever()\n";
    let mut child = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(root)
        .arg(tls)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tls.join("requests.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server's port");
    (Index(child), port)
}

/// An editable project whose build needs `alpha` from the index: pip
/// fetches it into the isolated build environment. Its in-tree backend
/// makes the editable wheel itself, with no build tool.
fn editable_project(s: &Sandbox, name: &str, port: u16) {
    s.write(
        &format!("{name}/pyproject.toml"),
        "[build-system]\nrequires = [\"alpha\"]\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"mine\"\nversion = \"0.1\"\n",
    );
    s.write(
        &format!("{name}/src/mine/__init__.py"),
        "HELLO = 'from the source tree'\n",
    );
    s.write(
        &format!("{name}/backend.py"),
        r#"import base64, hashlib, os, zipfile

def get_requires_for_build_editable(config_settings=None):
    return []

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    import alpha  # reached the build environment through the proxy
    name = "mine-0.1-py3-none-any.whl"
    files = {
        "mine.pth": os.path.abspath("src") + "\n",
        "mine-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: mine\nVersion: 0.1\n",
        "mine-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
            z.writestr(path, data)
        record.append("mine-0.1.dist-info/RECORD,,")
        z.writestr("mine-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return name
"#,
    );
    s.write(
        &format!("{name}/.pyguix.toml"),
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nmode = \"venv\"\neditable = [\".\"]\noptions = [\"--index-url\", \"https://127.0.0.1:{port}/simple\"]\n"
        ),
    );
    s.allow(name);
}

fn index(s: &Sandbox) -> std::path::PathBuf {
    let files = s.wheel_into("index/files", "alpha", "1.0", &[]);
    let _ = files;
    s.write(
        "index/simple/alpha/index.html",
        "<html><body><a href=\"../../files/alpha-1.0-py3-none-any.whl\">alpha-1.0-py3-none-any.whl</a></body></html>\n",
    );
    s.path("index")
}

fn imports_mine(s: &Sandbox, project: &str, extra: &[(&str, &Path)]) -> (bool, String) {
    let mut c = s.command(
        &[
            "exec",
            "--",
            "python3",
            "-c",
            "import mine; print(mine.HELLO)",
        ],
        &s.path(project),
    );
    for (k, v) in extra {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("source tree"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_ca_the_user_gave_pip_reaches_the_editable_build() {
    let s = Sandbox::new();
    let tls = s.path("tls");
    certificates(&tls);
    let (_server, port) = serve(&index(&s), &tls);

    // Without the CA, pip cannot reach the index: the proxy is real.
    editable_project(&s, "none", port);
    let (built, err) = imports_mine(&s, "none", &[]);
    assert!(!built, "built without the proxy's CA:\n{err}");
    assert!(err.contains("CERTIFICATE_VERIFY_FAILED"), "{err}");

    // The CA in the user's pip.conf.
    s.write(
        "home/.config/pip/pip.conf",
        &format!("[global]\ncert = {}\n", tls.join("ca.pem").display()),
    );
    editable_project(&s, "conf", port);
    let (built, err) = imports_mine(&s, "conf", &[]);
    assert!(built, "with pip.conf's cert:\n{err}");
    std::fs::remove_file(s.path("home/.config/pip/pip.conf")).unwrap();

    // The CA in PIP_CERT.
    editable_project(&s, "env", port);
    let ca = tls.join("ca.pem");
    let (built, err) = imports_mine(&s, "env", &[("PIP_CERT", &ca)]);
    assert!(built, "with PIP_CERT:\n{err}");
}

/// A locked package: name, version, and each file's (URL, sha256).
type Locked = (String, String, Vec<(String, String)>);

/// The lock's packages, sorted.
fn locked(lock: &Path) -> Vec<Locked> {
    let text = std::fs::read_to_string(lock).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut out = Vec::new();
    for p in doc["packages"].as_array().unwrap() {
        let files = p["wheels"]
            .as_array()
            .unwrap_or_else(|| panic!("{text}"))
            .iter()
            .map(|w| {
                let url = w.get("url").and_then(|u| u.as_str());
                let url = url.unwrap_or_else(|| panic!("a wheel without a URL: {text}"));
                (
                    url.to_string(),
                    w["hashes"]["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.push((
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
            files,
        ));
    }
    out.sort();
    out
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An index of `alpha` 1.0 (a script; needs beta) and `beta` 2.0, as
/// `simple/NAME/` pages linking to `files/`.
fn locking_index(s: &Sandbox) -> std::path::PathBuf {
    s.wheel_into(
        "index/files",
        "alpha",
        "1.0",
        &["--script", "alpha", "--requires", "beta>=1"],
    );
    s.wheel_into("index/files", "beta", "2.0", &[]);
    for (name, file) in [
        ("alpha", "alpha-1.0-py3-none-any.whl"),
        ("beta", "beta-2.0-py3-none-any.whl"),
    ] {
        s.write(
            &format!("index/simple/{name}/index.html"),
            &format!("<html><body><a href=\"../../files/{file}\">{file}</a></body></html>\n"),
        );
    }
    s.path("index")
}

/// How the user gives the proxy's CA: pip.conf's `cert` (pip's way, which
/// pyenv-guix also gives uv), or `SSL_CERT_FILE` (uv's way).
#[derive(Clone, Copy, PartialEq)]
enum Ca {
    None,
    PipConf,
    SslCertFile,
}

/// The sandbox's environment as another machine's: its own HOME, cache
/// and data directories, `path`, and the CA in `tls` given as `ca` says.
fn machine(
    s: &Sandbox,
    name: &str,
    path: &std::ffi::OsStr,
    ca: Ca,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let home = s.path(&format!("{name}/home"));
    std::fs::create_dir_all(&home).unwrap();
    let pem = s.path("tls/ca.pem");
    if ca == Ca::PipConf {
        s.write(
            &format!("{name}/home/.config/pip/pip.conf"),
            &format!("[global]\ncert = {}\n", pem.display()),
        );
    }
    let mut env = s.env();
    if ca == Ca::SslCertFile {
        env.push(("SSL_CERT_FILE".into(), pem.into()));
    }
    for (k, v) in env.iter_mut() {
        let here = |d: &str| s.path(&format!("{name}/{d}")).into_os_string();
        match k.to_str() {
            Some("PATH") => *v = path.to_os_string(),
            Some("HOME") => *v = home.clone().into(),
            Some("XDG_CONFIG_HOME") => *v = home.join(".config").into(),
            Some("XDG_DATA_HOME") => *v = home.join(".local/share").into(),
            Some("PYENV_GUIX_CACHE_DIR") => *v = here("cache"),
            Some("PYENV_GUIX_DATA_DIR") => *v = here("data"),
            _ => {}
        }
    }
    env
}

/// `lock` through the HTTPS index with the CA the user gave as `ca` says:
/// the lock names each wheel by its https URL and sha256. On another
/// machine (fresh caches, the CA given the same way) the locked build
/// fetches them through the index, checked; a wheel swapped on the index
/// after locking fails the next machine's build, naming the wheel, and
/// nothing is activated.
fn lock_through_the_index(installer: &str, ca: Ca) {
    let s = Sandbox::new();
    let path = match installer {
        "uv" => match s.uv_dir() {
            Some(uv) => format!("{}:{}", uv.display(), support::system_path()),
            None => return,
        },
        _ => support::system_path().to_string(),
    };
    let path = std::ffi::OsStr::new(&path);
    let tls = s.path("tls");
    certificates(&tls);
    let (_server, port) = serve(&locking_index(&s), &tls);
    let url = format!("https://127.0.0.1:{port}");
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\nrequirements = [\"requirements.txt\"]\ninstaller = {installer:?}\n# the company's index, behind the proxy\noptions = [\"--index-url\", \"{url}/simple\"]\n"
        ),
    );
    s.write(
        "p/requirements.txt",
        "# the app\n-c constraints.txt\nalpha>=1\n",
    );
    s.write("p/constraints.txt", "beta<3\n");
    let p = s.path("p");

    // No CA: the index cannot be reached, and nothing is written.
    let env = machine(&s, "a", path, Ca::None);
    s.ok_with(&env, &p, &["allow"]);
    let (ok, _, err) = s.run_with(&env, &p, &["lock"]);
    assert!(!ok, "locked without the proxy's CA:\n{err}");
    let refused = match installer {
        "pip" => "CERTIFICATE_VERIFY_FAILED".to_string(),
        _ => format!("Failed to fetch: {url}/simple/alpha/"),
    };
    assert!(err.contains(&refused), "{err}");
    assert!(!p.join("pylock.toml").exists());

    let env = machine(&s, "a", path, ca);
    let (_, said) = s.ok_with(&env, &p, &["lock"]);
    assert!(said.contains(&format!("with {installer}")), "{said}");
    let files = s.path("index/files");
    let wheel = |n: &str| (format!("{url}/files/{n}"), sha256(&files.join(n)));
    assert_eq!(
        locked(&p.join("pylock.toml")),
        [
            (
                "alpha".into(),
                "1.0".into(),
                vec![wheel("alpha-1.0-py3-none-any.whl")]
            ),
            (
                "beta".into(),
                "2.0".into(),
                vec![wheel("beta-2.0-py3-none-any.whl")]
            ),
        ]
    );
    s.ok_with(&env, &p, &["lock", "--check"]);

    // Another machine: nothing cached, every wheel fetched through the index.
    let requests = tls.join("requests.log");
    let before = std::fs::read_to_string(&requests).unwrap().len();
    let env = machine(&s, "b", path, ca);
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["prefix"]);
    let served = std::fs::read_to_string(&requests).unwrap()[before..].to_string();
    for file in ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"] {
        assert!(
            served.contains(&format!("GET /files/{file}")),
            "{file} not fetched:\n{served}"
        );
    }
    // A locked build resolves nothing: no index page was read.
    assert!(!served.contains("GET /simple/"), "{served}");
    let (out, _) = s.ok_with(&env, &p, &["exec", "--", "alpha"]);
    assert_eq!(out, "alpha 1.0\n");

    // The index serves other bytes under beta's name: the next machine's
    // build fails, naming the wheel, and activates nothing.
    s.wheel_into("index/files", "beta", "2.0", &["--origin", "swapped"]);
    let env = machine(&s, "c", path, ca);
    s.ok_with(&env, &p, &["allow"]);
    let (ok, _, err) = s.run_with(&env, &p, &["prefix"]);
    assert!(!ok, "built from a swapped wheel:\n{err}");
    assert!(err.contains("beta-2.0-py3-none-any.whl"), "{err}");
    let (ok, _, err) = s.run_with(&env, &p, &["exec", "--", "python3", "-c", "import beta"]);
    assert!(!ok, "{err}");
    let built: Vec<_> = std::fs::read_dir(s.path("c/cache/prefixes"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !built.iter().any(|n| n.to_string_lossy().len() == 64),
        "{built:?}"
    );
}

#[test]
fn a_lock_by_pip_through_the_https_index_is_built_through_it_checked() {
    lock_through_the_index("pip", Ca::PipConf);
}

#[test]
fn a_lock_by_uv_with_ssl_cert_file_through_the_https_index_is_built_through_it_checked() {
    lock_through_the_index("uv", Ca::SslCertFile);
}

/// pip.conf's CA reaches a build by uv (install/uv.rs gives it as
/// SSL_CERT_FILE): it must reach `lock` by uv too.
#[test]
fn a_lock_by_uv_with_pip_confs_ca_through_the_https_index_is_built_through_it_checked() {
    lock_through_the_index("uv", Ca::PipConf);
}

/// Found by an attack pass: one lock, its files at their URLs for one
/// project and in another's own directory (the same bytes), was one
/// prefix key, but uv says where a package installed by its URL came from
/// (`direct_url.json`) and of one found here says nothing: two prefixes.
#[test]
fn a_lock_installed_from_its_urls_or_from_files_here_is_two_keys() {
    let s = Sandbox::new();
    let Some(uv) = s.uv_dir() else { return };
    let path = format!("{}:{}", uv.display(), support::system_path());
    let path = std::ffi::OsStr::new(&path);
    let tls = s.path("tls");
    certificates(&tls);
    let index = locking_index(&s);
    let (_server, port) = serve(&index, &tls);
    let url = format!("https://127.0.0.1:{port}");
    let env = machine(&s, "a", path, Ca::SslCertFile);
    s.write(
        "p/.pyguix.toml",
        &format!(
            "[python]\ninterpreter = \"/usr/bin/python3\"\n\n[pip]\npackages = [\"alpha\"]\ninstaller = \"uv\"\noptions = [\"--index-url\", \"{url}/simple\"]\n"
        ),
    );
    let p = s.path("p");
    s.ok_with(&env, &p, &["allow"]);
    s.ok_with(&env, &p, &["lock"]);
    // q: the same lock, and the same files in a directory of its own.
    let manifest = std::fs::read_to_string(p.join(".pyguix.toml")).unwrap();
    s.write(
        "q/.pyguix.toml",
        &manifest.replace("options = [", "options = [\"--find-links\", \"wheels\", "),
    );
    std::fs::create_dir_all(s.path("q/wheels")).unwrap();
    for w in ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"] {
        std::fs::hard_link(index.join("files").join(w), s.path("q/wheels").join(w)).unwrap();
    }
    std::fs::copy(p.join("pylock.toml"), s.path("q/pylock.toml")).unwrap();
    let q = s.path("q");
    s.ok_with(&env, &q, &["allow"]);
    let (from_urls, _) = s.ok_with(&env, &p, &["prefix"]);
    let (from_here, _) = s.ok_with(&env, &q, &["prefix"]);
    assert_ne!(from_urls, from_here);
    let direct_url = |prefix: &str| {
        let site = Path::new(prefix.trim()).join("lib/python3.11/site-packages");
        site.join("alpha-1.0.dist-info/direct_url.json").exists()
    };
    assert!(direct_url(&from_urls) && !direct_url(&from_here));
}
