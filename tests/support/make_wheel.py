#!/usr/bin/env python3
"""Build a minimal wheel for the tests: the module, METADATA, WHEEL, RECORD,
and entry_points.txt when it has console scripts. No network, no build tools.

    make_wheel.py OUTDIR NAME VERSION [--script CMD] [--requires REQ]... [--origin TEXT]

A script CMD runs NAME's main(), which prints "NAME VERSION". The module's
ORIGIN is TEXT (default "wheel"): two wheels of one name and version can
hold different code.
"""
import argparse
import base64
import hashlib
import os
import zipfile

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("name")
parser.add_argument("version")
parser.add_argument("--script", action="append", default=[])
parser.add_argument("--requires", action="append", default=[])
parser.add_argument("--origin", default="wheel")
args = parser.parse_args()

module = args.name.replace("-", "_")
dist_info = f"{module}-{args.version}.dist-info"
files = {
    f"{module}/__init__.py": (
        f'__version__ = "{args.version}"\nORIGIN = {args.origin!r}\n\n\n'
        f'def main():\n    print("{args.name} {args.version}")\n'
    ),
    f"{dist_info}/METADATA": (
        f"Metadata-Version: 2.1\nName: {args.name}\nVersion: {args.version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in args.requires)
    ),
    f"{dist_info}/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: pyenv-guix-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n"
    ),
}
if args.script:
    files[f"{dist_info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
        f"{s} = {module}:main\n" for s in args.script
    )

record = []
for path, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    record.append(f"{path},sha256={digest.decode()},{len(data)}")
record.append(f"{dist_info}/RECORD,,")
files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"

os.makedirs(args.outdir, exist_ok=True)
wheel = os.path.join(args.outdir, f"{module}-{args.version}-py3-none-any.whl")
with zipfile.ZipFile(wheel, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
print(wheel)
