#!/usr/bin/env bash
# A locked project (pylock.toml, 20 offline wheels) built from an empty
# prefix with warm caches, against the same lock installed by hand, in
# one run:
#  - pyenv-guix, installer uv, against `uv pip sync pylock.toml --prefix`;
#  - pyenv-guix, installer pip, against `pip install --prefix --no-deps
#    --require-hashes` of the lock's files, as pip takes a lock by hand.
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
# Interleaved, not one command's runs after another's (as hyperfine
# does): on a shared machine a burst of load then falls on every
# command of a round alike, instead of on one command's whole sample.
# Each round runs the four in a rotating order, each after its
# preparation (untimed), after one round of warm-up.
cat >"$work/commands.json" <<JSON
[
  ["pyenv-guix-uv", "rm -rf '$uv_link' '$uv_link'.g*", ["$pg", "prefix", "$work/uv"]],
  ["uv-by-hand", "rm -rf '$work/uv-by-hand'",
   ["$uv", "pip", "sync", "--quiet", "--python", "/usr/bin/python3", "--prefix", "$work/uv-by-hand", "--no-index", "--find-links", "$work/wheels", "$lock"]],
  ["pyenv-guix-pip", "rm -rf '$pip_link' '$pip_link'.g*", ["$pg", "prefix", "$work/pip"]],
  ["pip-by-hand", "rm -rf '$work/pip-by-hand'",
   ["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--prefix", "$work/pip-by-hand", "--ignore-installed", "--no-warn-script-location", "--no-index", "--no-deps", "--require-hashes", "-r", "$work/hashed.txt"]]
]
JSON

python3 - "$work" "$runs" <<'PY'
import json, statistics, subprocess, sys, time
work, runs = sys.argv[1], int(sys.argv[2])
commands = json.load(open(f"{work}/commands.json"))
times = {name: [] for name, _, _ in commands}
for round in range(runs + 1):
    shift = round % len(commands)
    for name, prepare, argv in commands[shift:] + commands[:shift]:
        subprocess.run(["sh", "-c", prepare], check=True)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round:
            times[name].append((time.perf_counter() - start) * 1e3)
m = {c: statistics.mean(t) for c, t in times.items()}
med = {c: statistics.median(t) for c, t in times.items()}
ok = True
print(f"locked build of 20 wheels from an empty prefix, warm caches, {runs} interleaved rounds")
print(f"  {'':<34} {'mean':>8} {'± sd':>7} {'median':>8} {'min':>7}")
def row(label, c):
    t = times[c]
    print(f"  {label:<34} {m[c]:8.1f} {statistics.stdev(t) if len(t) > 1 else 0:7.1f} {med[c]:8.1f} {min(t):7.1f} ms")
for ours, hand, label, target in (
    ("pyenv-guix-uv", "uv-by-hand", "uv pip sync pylock.toml by hand", 1.1),
    ("pyenv-guix-pip", "pip-by-hand", "pip --require-hashes by hand", 1.1),
):
    ratio = m[ours] / m[hand]
    ok &= ratio <= target
    row(label, hand)
    row(ours, ours)
    print(f"  {'':<34} {ratio:5.3f}x of means, {med[ours] / med[hand]:5.3f}x of medians (target {target}x, of means)")
print(f"  pyenv-guix-uv against pip by hand: {m['pyenv-guix-uv'] / m['pip-by-hand']:5.3f}x")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
