"""Writing a wheel: its RECORD (every file's SHA-256 and size) and the zip,
shared by make_wheel.py and make_ext_wheel.py."""
import base64
import hashlib
import os
import zipfile


def write(outdir, filename, dist_info, files, extra_rows=(), executables=(), dirs=(), unrecorded=()):
    """Zip `files` (path -> str or bytes) with their RECORD into
    OUTDIR/FILENAME and return its path. Shared objects, and the paths in
    `executables`, are executable in the zip, as a wheel built by a real
    backend has them. `extra_rows` go into the RECORD as they are, naming
    what the wheel does not hold; `dirs` are directory entries (`PATH/`)
    of the zip; the paths in `unrecorded` are left out of the RECORD."""
    files = {p: (d.encode() if isinstance(d, str) else d) for p, d in files.items()}
    record = []
    for path, data in files.items():
        if path in unrecorded:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(data)}")
    record.extend(extra_rows)
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    os.makedirs(outdir, exist_ok=True)
    wheel = os.path.join(outdir, filename)
    with zipfile.ZipFile(wheel, "w") as z:
        for path in dirs:
            info = zipfile.ZipInfo(path.rstrip("/") + "/")
            info.external_attr = 0o40755 << 16
            z.writestr(info, b"")
        for path, data in files.items():
            info = zipfile.ZipInfo(path)
            # Large files deflated: a test's wheel of zeros stays small.
            if len(data) > 1 << 20:
                info.compress_type = zipfile.ZIP_DEFLATED
            shared = path.endswith(".so") or ".so." in path
            info.external_attr = (0o755 if shared else 0o644) << 16
            if path in executables:
                # A regular file's type too: pip makes a file executable
                # only when the zip says it is a regular one.
                info.external_attr = 0o100755 << 16
            z.writestr(info, data)
    return wheel
