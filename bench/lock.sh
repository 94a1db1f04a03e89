#!/usr/bin/env bash
# A locked project (pylock.toml, 20 offline wheels) built from an empty
# prefix with warm caches, against the same lock installed by hand, in
# one run:
#  - pyenv-guix, installer uv, against `uv pip sync pylock.toml --prefix`;
#  - pyenv-guix, installer pip, against `pip install --prefix --no-deps
#    --require-hashes` of the lock's files, as pip takes a lock by hand.
#
#   bench/lock.sh       (needs hyperfine and uv: apt-get install hyperfine; pip install uv)
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
hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/lock.json" \
  -n pyenv-guix-uv --prepare "rm -rf '$uv_link' '$uv_link'.g*" "'$pg' prefix '$work/uv'" \
  -n uv-by-hand --prepare "rm -rf '$work/uv-by-hand'" \
  "'$uv' pip sync --quiet --python /usr/bin/python3 --prefix '$work/uv-by-hand' --no-index --find-links '$work/wheels' '$lock'" \
  -n pyenv-guix-pip --prepare "rm -rf '$pip_link' '$pip_link'.g*" "'$pg' prefix '$work/pip'" \
  -n pip-by-hand --prepare "rm -rf '$work/pip-by-hand'" \
  "/usr/bin/python3 -m pip install --quiet --prefix '$work/pip-by-hand' --ignore-installed --no-warn-script-location --no-index --no-deps --require-hashes -r '$work/hashed.txt'" \
  >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, sys
m = {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{sys.argv[1]}/lock.json"))["results"]}
ok = True
print("locked build of 20 wheels from an empty prefix, warm caches")
for ours, hand, label, target in (
    ("pyenv-guix-uv", "uv-by-hand", "uv pip sync pylock.toml by hand", 1.1),
    ("pyenv-guix-pip", "pip-by-hand", "pip --require-hashes by hand", 1.1),
):
    ratio = m[ours] / m[hand]
    ok &= ratio <= target
    print(f"  {label:<34} {m[hand]:8.1f} ms")
    print(f"  {ours:<34} {m[ours]:8.1f} ms  {ratio:5.3f}x  (target {target}x)")
print(f"  pyenv-guix-uv against pip by hand: {m['pyenv-guix-uv'] / m['pip-by-hand']:5.3f}x")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
