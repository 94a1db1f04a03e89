#!/usr/bin/env python3
"""Build a binary wheel for the tests: a package NAME whose extension
module NAME._native is compiled here (C, or C++ with --cxx), tagged as a
manylinux wheel the way auditwheel leaves one. No network.

    make_ext_wheel.py OUTDIR NAME VERSION [--cxx] [--openmp] [--link LIB]...
        [--bundle] [--libdir DIR] [--script CMD] [--tag PLATFORM]

--cxx      the module uses the C++ standard library: NEEDED libstdc++.so.6
--openmp   a parallel loop: NEEDED libgomp.so.1
--link z   a call into LIB (z: zlib's crc32; any other name: a function
           LIB_answer() from lib<LIB>.so in --libdir, made by the test)
--bundle   the module calls into a library of the wheel's own, shipped in
           NAME.libs/ and found through RUNPATH $ORIGIN/../NAME.libs
--script   a console script CMD that imports the module and prints run()

NAME.run() returns one line naming each part that ran, so a test sees
that the code behind every library was reached, not only loaded.
The module is built for the stable ABI (abi3), so any CPython 3.7+ loads
it, whichever Python the test runs.
"""
import argparse
import os
import subprocess
import sysconfig
import tempfile

import wheelfile

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("name")
parser.add_argument("version")
parser.add_argument("--cxx", action="store_true")
parser.add_argument("--openmp", action="store_true")
parser.add_argument("--link", action="append", default=[])
parser.add_argument("--bundle", action="store_true")
parser.add_argument("--libdir")
parser.add_argument("--script", action="append", default=[])
parser.add_argument("--tag", default="manylinux_2_28_x86_64")
args = parser.parse_args()

module = args.name.replace("-", "_")
dist_info = f"{module}-{args.version}.dist-info"
libs_dir = f"{module}.libs"

decls, parts = [], []
if args.cxx:
    decls.append(
        "#include <sstream>\n#include <vector>\n"
        "static std::string cxx_part() {\n"
        "  std::vector<int> v{1, 2, 3}; std::ostringstream s;\n"
        "  s << \" c++:\" << v.size(); return s.str();\n}\n"
    )
    parts.append("out += cxx_part();")
if args.openmp:
    decls.append(
        "#include <omp.h>\n"
        "static long omp_part(void) {\n"
        "  long sum = 0;\n"
        "  #pragma omp parallel for reduction(+:sum)\n"
        "  for (long i = 1; i <= 100; i++) sum += i;\n"
        "  return sum + 0 * omp_get_max_threads();\n}\n"
    )
    parts.append('out += " omp:" + std::to_string(omp_part());' if args.cxx else
                 'n += snprintf(buf + n, sizeof buf - n, " omp:%ld", omp_part());')
for lib in args.link:
    if lib == "z":
        decls.append("#include <zlib.h>\n")
        call = 'crc32(0L, (const Bytef *)"abc", 3)'
        fmt = "z:%lx"
    else:
        decls.append(f'extern "C" long {lib}_answer(void);\n' if args.cxx
                     else f"long {lib}_answer(void);\n")
        call = f"{lib}_answer()"
        fmt = f"{lib}:%ld"
    parts.append(
        f'{{ char b[64]; snprintf(b, sizeof b, " {fmt}", (long){call}); out += b; }}'
        if args.cxx else
        f'n += snprintf(buf + n, sizeof buf - n, " {fmt}", (long){call});'
    )
if args.bundle:
    decls.append(f'extern "C" long {module}_helper(void);\n' if args.cxx
                 else f"long {module}_helper(void);\n")
    parts.append(
        f'{{ char b[64]; snprintf(b, sizeof b, " bundled:%ld", {module}_helper()); out += b; }}'
        if args.cxx else
        f'n += snprintf(buf + n, sizeof buf - n, " bundled:%ld", {module}_helper());'
    )

if args.cxx:
    body = "std::string out = \"ok\";\n" + "\n".join(parts) + \
        "\nreturn PyUnicode_FromString(out.c_str());"
else:
    body = "char buf[256]; int n = snprintf(buf, sizeof buf, \"ok\");\n" + \
        "\n".join(parts) + "\n(void)n; return PyUnicode_FromString(buf);"
ext = "extern \"C\" " if args.cxx else ""
source = f"""#define Py_LIMITED_API 0x03070000
#include <Python.h>
#include <stdio.h>
{''.join(decls)}
{"#include <string>" if args.cxx else ""}
static PyObject *run(PyObject *self, PyObject *unused) {{
{body}
}}
static PyMethodDef methods[] = {{{{"run", run, METH_NOARGS, NULL}}, {{NULL, NULL, 0, NULL}}}};
static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods}};
{ext}PyMODINIT_FUNC PyInit__native(void) {{ return PyModule_Create(&def); }}
"""

files = {
    f"{module}/__init__.py": (
        f'__version__ = "{args.version}"\nfrom ._native import run\n\n\n'
        "def main():\n    print(run())\n"
    ),
    f"{dist_info}/METADATA": (
        f"Metadata-Version: 2.1\nName: {args.name}\nVersion: {args.version}\n"
    ),
    f"{dist_info}/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: pyenv-guix-tests\n"
        f"Root-Is-Purelib: false\nTag: cp37-abi3-{args.tag}\n"
    ),
}
if args.script:
    files[f"{dist_info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
        f"{s} = {module}:main\n" for s in args.script
    )

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "native.cpp" if args.cxx else "native.c")
    with open(src, "w") as f:
        f.write(source)
    cmd = ["g++" if args.cxx else "gcc", "-shared", "-fPIC", "-O1",
           "-I", sysconfig.get_paths()["include"], src]
    if args.openmp:
        cmd.append("-fopenmp")
    if args.bundle:
        # auditwheel renames a bundled library with a hash of its content;
        # a fixed suffix stands for it.
        bundled_name = f"lib{module}helper-5f2e1c3a.so.1"
        hsrc = os.path.join(tmp, "helper.c")
        with open(hsrc, "w") as f:
            f.write(f"long {module}_helper(void) {{ return 42; }}\n")
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{bundled_name}",
                        "-o", os.path.join(tmp, bundled_name), hsrc], check=True)
        with open(os.path.join(tmp, bundled_name), "rb") as f:
            files[f"{libs_dir}/{bundled_name}"] = f.read()
        cmd += [os.path.join(tmp, bundled_name), f"-Wl,-rpath,$ORIGIN/../{libs_dir}"]
    if args.libdir:
        cmd += ["-L", args.libdir]
    # After the sources, so that --as-needed linkers keep them.
    cmd += [f"-l{lib}" for lib in args.link]
    so = os.path.join(tmp, "_native.abi3.so")
    cmd += ["-o", so]
    subprocess.run(cmd, check=True)
    with open(so, "rb") as f:
        files[f"{module}/_native.abi3.so"] = f.read()

wheel = wheelfile.write(
    args.outdir, f"{module}-{args.version}-cp37-abi3-{args.tag}.whl", dist_info, files
)
print(wheel)
