#!/usr/bin/env bash
# A locked project (pylock.toml, 20 offline wheels) built from an empty
# prefix with warm caches, against the same lock installed by hand, in
# one run:
#  - pyenv-guix, installer uv, against `uv pip sync pylock.toml --prefix`,
#    as uv runs by default (its files hard links to its cache's), and with
#    UV_LINK_MODE=copy (each file the prefix's own: shared with uv's cache
#    no more than pyenv-guix's, which are links to its read-only pool);
#  - pyenv-guix, installer pip, against `pip install --prefix --no-deps
#    --require-hashes` of the lock's files, as pip takes a lock by hand.
# pyenv-guix lays a locked prefix out from its pool when uv installed
# every package before (warm: its records kept, `pip::replay`); the build
# of a lock none of whose packages it recorded, where uv runs, is timed
# too, with no target.
#
#   BUILD_RUNS=10 bench/lock.sh       (needs uv: pip install uv)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

find_uv
echo "uv: $uv ($("$uv" --version))"
isolated_work
twenty_wheels "$work/wheels"

for installer in uv pip; do
  mkdir -p "$work/$installer"
  cat >"$work/$installer/.pyguix.toml" <<TOML
[python]
interpreter = "/usr/bin/python3"

[pip]
packages = [$reqs]
installer = "$installer"
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
  "$pg" allow "$work/$installer" 2>/dev/null
  (cd "$work/$installer" && "$pg" lock 2>/dev/null)
done
# Each project is locked by its installer; the by-hand runs take uv's
# lock (the same 20 files and hashes).
lock=$work/uv/pylock.toml
# pip takes no pylock.toml: the lock's files, by path, with their hashes.
python3 - "$lock" >"$work/hashed.txt" <<'PY'
import sys, tomllib, pathlib
lock = pathlib.Path(sys.argv[1])
for p in tomllib.load(open(lock, "rb"))["packages"]:
    w = p["wheels"][0]
    where = w.get("path") or w["url"].removeprefix("file://")
    print(f"{lock.parent / where} --hash=sha256:{w['hashes']['sha256']}")
PY
uv_link=$("$pg" prefix "$work/uv"); uv_link=${uv_link%.g*}
pip_link=$("$pg" prefix "$work/pip"); pip_link=${pip_link%.g*}

runs=${BUILD_RUNS:-10}
# Timed round by round by bench/interleaved.py.
cat >"$work/commands.json" <<JSON
[
  ["pyenv-guix-uv", "rm -rf '$uv_link' '$uv_link'.g*", ["$pg", "prefix", "$work/uv"]],
  ["pyenv-guix-uv-runs-uv", "rm -rf '$uv_link' '$uv_link'.g* '$PYENV_GUIX_CACHE_DIR/installs'", ["$pg", "prefix", "$work/uv"]],
  ["uv-by-hand", "rm -rf '$work/uv-by-hand'",
   ["$uv", "pip", "sync", "--quiet", "--python", "/usr/bin/python3", "--prefix", "$work/uv-by-hand", "--no-index", "--find-links", "$work/wheels", "$lock"]],
  ["uv-copied-by-hand", "rm -rf '$work/uv-by-hand'",
   ["env", "UV_LINK_MODE=copy", "$uv", "pip", "sync", "--quiet", "--python", "/usr/bin/python3", "--prefix", "$work/uv-by-hand", "--no-index", "--find-links", "$work/wheels", "$lock"]],
  ["pyenv-guix-pip", "rm -rf '$pip_link' '$pip_link'.g*", ["$pg", "prefix", "$work/pip"]],
  ["pip-by-hand", "rm -rf '$work/pip-by-hand'",
   ["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--prefix", "$work/pip-by-hand", "--ignore-installed", "--no-warn-script-location", "--no-index", "--no-deps", "--require-hashes", "-r", "$work/hashed.txt"]]
]
JSON

python3 bench/interleaved.py "$work/commands.json" "$runs" \
  "locked build of 20 wheels from an empty prefix, warm caches" \
  "uv-by-hand:pyenv-guix-uv:uv pip sync pylock.toml by hand" \
  "uv-copied-by-hand:pyenv-guix-uv:the same, UV_LINK_MODE=copy" \
  "~uv-by-hand:pyenv-guix-uv-runs-uv:the same; none recorded, uv runs" \
  "pip-by-hand:pyenv-guix-pip:pip --require-hashes by hand"
