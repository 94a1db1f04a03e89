#!/usr/bin/env bash
# Cold builds with `[pip] installer = "uv"`, against pip by hand, on 20
# offline wheels (the installers' own caches warm on both sides):
#  1. a prefix-mode project, against `pip install --prefix` by hand;
#  2. a venv-mode project, against `python -m venv` plus its pip by hand.
#
#   bench/installer.sh       (needs hyperfine and uv: apt-get install hyperfine; pip install uv)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

find_uv
echo "uv: $uv ($("$uv" --version))"
isolated_work
twenty_wheels "$work/wheels"

for mode in prefix venv; do
  mkdir -p "$work/$mode"
  cat >"$work/$mode/.pyguix.toml" <<TOML
[pip]
packages = [$reqs]
mode = "$mode"
installer = "uv"
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
  "$pg" allow "$work/$mode" 2>/dev/null
done
prefix_dir=$("$pg" prefix "$work/prefix")
venv_dir=$("$pg" prefix "$work/venv")
prefix_link=${prefix_dir%.g*}
venv_link=${venv_dir%.g*}

runs=${BUILD_RUNS:-10}
hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/prefix.json" \
  -n pyenv-guix-uv --prepare "rm -rf '$prefix_link' '$prefix_link'.g*" "'$pg' prefix '$work/prefix'" \
  -n pip-by-hand --prepare "rm -rf '$work/by-hand'" \
  "python3 -m pip install --quiet --prefix '$work/by-hand' --ignore-installed --no-warn-script-location --no-index --find-links '$work/wheels' $plain" \
  >/dev/null 2>&1
hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/venv.json" \
  -n pyenv-guix-uv --prepare "rm -rf '$venv_link' '$venv_link'.g*" "'$pg' prefix '$work/venv'" \
  -n venv-and-pip-by-hand --prepare "rm -rf '$work/venv-by-hand'" \
  "python3 -m venv '$work/venv-by-hand' && '$work/venv-by-hand/bin/python' -m pip install --quiet --no-index --find-links '$work/wheels' $plain" \
  >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def means(name):
    return {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{work}/{name}.json"))["results"]}
ok = True
for name, hand, label, target in (
    ("prefix", "pip-by-hand", "pip install --prefix by hand", 0.2),
    ("venv", "venv-and-pip-by-hand", "python -m venv + pip by hand", 0.1),
):
    m = means(name)
    ratio = m["pyenv-guix-uv"] / m[hand]
    ok &= ratio <= target
    print(f"cold build of 20 wheels, {name} mode")
    print(f"  {label:<32} {m[hand]:8.1f} ms")
    print(f"  {'pyenv-guix, installer uv':<32} {m['pyenv-guix-uv']:8.1f} ms  {ratio:5.3f}x  (target {target}x)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
