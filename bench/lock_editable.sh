#!/usr/bin/env bash
# A locked project that installs itself editable (`-e .`, pylock.toml's
# editable directory) and 20 offline wheels, built from an empty prefix
# with warm caches, against the same two steps by hand, in one run:
#  - pyenv-guix, installer uv, against `uv pip sync pylock.toml --prefix`
#    then `uv pip install --no-deps -e .`;
#  - pyenv-guix, installer pip, against `pip install --no-deps
#    --require-hashes` of the lock's files then `pip install --no-deps -e .`.
#
#   BUILD_RUNS=10 bench/lock_editable.sh       (needs uv: pip install uv)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

find_uv
echo "uv: $uv ($("$uv" --version))"
isolated_work
twenty_wheels "$work/wheels"

for installer in uv pip; do
  p=$work/$installer
  mkdir -p "$p/src/benchapp"
  echo "VALUE = 1" >"$p/src/benchapp/__init__.py"
  # A build backend in the project: nothing to fetch to build it.
  sed -n '/^const BACKEND/,/^"#;/p' tests/lock.rs | sed '1d;$d' >"$p/backend.py"
  sed -i 's/"webthing"/"benchapp"/; s/Requires-Dist: beta>=1\\n/Requires-Dist: benchpkg1\\n/' "$p/backend.py"
  printf '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n[project]\nname = "benchapp"\nversion = "0.1"\n' >"$p/pyproject.toml"
  # shellcheck disable=SC2086 # one word per requirement
  { echo "-e ."; printf '%s\n' $plain; } >"$p/requirements.txt"
  cat >"$p/.pyguix.toml" <<TOML
[python]
interpreter = "/usr/bin/python3"

[pip]
requirements = ["requirements.txt"]
installer = "$installer"
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
  "$pg" allow "$p" 2>/dev/null
  (cd "$p" && "$pg" lock 2>/dev/null)
done
lock=$work/uv/pylock.toml
python3 - "$lock" >"$work/hashed.txt" <<'PY'
import sys, tomllib, pathlib
lock = pathlib.Path(sys.argv[1])
for p in tomllib.load(open(lock, "rb"))["packages"]:
    if "wheels" not in p:
        continue
    w = p["wheels"][0]
    where = w.get("path") or w["url"].removeprefix("file://")
    print(f"{lock.parent / where} --hash=sha256:{w['hashes']['sha256']}")
PY
# uv's sync takes the lock's files only: the editable entry goes by hand.
python3 - "$lock" >"$work/files-only.toml" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
print(re.sub(r'\[\[packages\]\]\nname = "benchapp"\ndirectory = [^\n]*\n', "", text))
PY
mkdir -p "$work/sync" && cp "$work/files-only.toml" "$work/sync/pylock.toml"
uv_link=$("$pg" prefix "$work/uv"); uv_link=${uv_link%.g*}
pip_link=$("$pg" prefix "$work/pip"); pip_link=${pip_link%.g*}

runs=${BUILD_RUNS:-10}
cat >"$work/commands.json" <<JSON
[
  ["pyenv-guix-uv", "rm -rf '$uv_link' '$uv_link'.g*", [["$pg", "prefix", "$work/uv"]]],
  ["uv-by-hand", "rm -rf '$work/uv-by-hand'",
   [["$uv", "pip", "sync", "--quiet", "--python", "/usr/bin/python3", "--prefix", "$work/uv-by-hand", "--no-index", "--find-links", "$work/wheels", "$work/sync/pylock.toml"],
    ["$uv", "pip", "install", "--quiet", "--python", "/usr/bin/python3", "--prefix", "$work/uv-by-hand", "--no-index", "--find-links", "$work/wheels", "--no-deps", "--config-settings", "editable_mode=compat", "-e", "$work/uv"]]],
  ["pyenv-guix-pip", "rm -rf '$pip_link' '$pip_link'.g*", [["$pg", "prefix", "$work/pip"]]],
  ["pip-by-hand", "rm -rf '$work/pip-by-hand'",
   [["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--prefix", "$work/pip-by-hand", "--ignore-installed", "--no-warn-script-location", "--no-index", "--no-deps", "--require-hashes", "-r", "$work/hashed.txt"],
    ["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--prefix", "$work/pip-by-hand", "--ignore-installed", "--no-warn-script-location", "--no-index", "--find-links", "$work/wheels", "--no-deps", "--config-settings", "editable_mode=compat", "-e", "$work/pip"]]]
]
JSON

python3 bench/interleaved.py "$work/commands.json" "$runs" \
  "locked editable project and 20 wheels from an empty prefix, warm caches" \
  "uv-by-hand:pyenv-guix-uv:uv sync + install -e by hand" \
  "pip-by-hand:pyenv-guix-pip:pip hashes + install -e by hand"
