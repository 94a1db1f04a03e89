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
/// its port.
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
        .stderr(Stdio::null())
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
