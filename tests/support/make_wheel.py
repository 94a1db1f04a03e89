#!/usr/bin/env python3
"""Build a minimal wheel for the tests: the module, METADATA, WHEEL, RECORD,
and entry_points.txt when it has console scripts. No network, no build tools.

    make_wheel.py OUTDIR NAME VERSION [--script CMD] [--requires REQ]... [--origin TEXT]
        [--data BYTES] [--record-row ROW]... [--file PATH=TEXT]... [--exec PATH=TEXT]...
        [--zeros PATH=BYTES]... [--dir PATH]... [--unrecorded PATH=TEXT]...

A script CMD runs NAME's main(), which prints "NAME VERSION". The module's
ORIGIN is TEXT (default "wheel"): two wheels of one name and version can
hold different code. --data adds NAME/data.bin, BYTES bytes that follow
from NAME and ORIGIN (a large file that compresses as little as a
library does). Each ROW goes into the RECORD as it is, as a hostile
wheel's would. --file and --exec add a file of the wheel's at PATH (in
the wheel: `NAME-VERSION.data/data/...` lands in the prefix itself),
holding TEXT (`\\n` a newline), executable with --exec; --zeros one of
BYTES zero bytes (deflated in the wheel); --dir an empty directory of
the zip; --unrecorded a file at PATH that the RECORD does not name.
"""
import argparse
import hashlib

import wheelfile

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("name")
parser.add_argument("version")
parser.add_argument("--script", action="append", default=[])
parser.add_argument("--requires", action="append", default=[])
parser.add_argument("--origin", default="wheel")
parser.add_argument("--data", type=int)
parser.add_argument("--record-row", action="append", default=[])
parser.add_argument("--file", action="append", default=[])
parser.add_argument("--exec", action="append", default=[])
parser.add_argument("--zeros", action="append", default=[])
parser.add_argument("--dir", action="append", default=[])
parser.add_argument("--unrecorded", action="append", default=[])
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
if args.data:
    seed = f"{args.name} {args.origin}".encode()
    files[f"{module}/data.bin"] = hashlib.shake_256(seed).digest(args.data)
for given in args.file + args.exec:
    path, text = given.split("=", 1)
    files[path] = text.replace("\\n", "\n")
for given in args.unrecorded:
    path, text = given.split("=", 1)
    files[path] = text.replace("\\n", "\n")
for given in args.zeros:
    path, size = given.split("=", 1)
    files[path] = bytes(int(size))
if args.script:
    files[f"{dist_info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
        f"{s} = {module}:main\n" for s in args.script
    )

wheel = f"{module}-{args.version}-py3-none-any.whl"
executables = [given.split("=", 1)[0] for given in args.exec]
unrecorded = [given.split("=", 1)[0] for given in args.unrecorded]
print(wheelfile.write(args.outdir, wheel, dist_info, files, args.record_row, executables, args.dir, unrecorded))
