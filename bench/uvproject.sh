#!/usr/bin/env bash
# A uv project (`[pip] uv-project = true`) of 20 offline wheels, built from
# its uv.lock into an empty keyed venv (uv's cache warm), against what a
# user types by hand for the same venv: `uv venv` then `uv sync --frozen`.
# The same for a member of a uv workspace, built from the root's uv.lock
# (pyenv-guix also finds the root and reads its files, as uv does).
#
#   bench/uvproject.sh       (needs uv: pip install uv; BUILD_RUNS=N rounds, 10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

find_uv
# A pyenv shim runs pyenv on each call: measure uv itself.
uv=$(readlink -f "$(pyenv which uv 2>/dev/null || echo "$uv")")
echo "uv: $uv ($("$uv" --version))"
isolated_work
twenty_wheels "$work/project/wheels"
cat >"$work/project/pyproject.toml" <<TOML
[project]
name = "bench"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = [$reqs]

[tool.uv]
package = false
no-index = true
find-links = ["wheels"]
TOML
cat >"$work/project/.pyguix.toml" <<'TOML'
[python]
interpreter = "/usr/bin/python3"

[pip]
mode = "venv"
uv-project = true
TOML
(cd "$work/project" && uv lock --quiet --python /usr/bin/python3)
"$pg" allow "$work/project" 2>/dev/null
venv_dir=$("$pg" prefix "$work/project")
venv_link=${venv_dir%.g*}

# The workspace: its root holds the wheels and the one uv.lock; the member
# packages/app is the pyenv-guix project.
member=$work/ws/packages/app
mkdir -p "$member"
cp -r "$work/project/wheels" "$work/ws/wheels"
cat >"$work/ws/pyproject.toml" <<'TOML'
[project]
name = "ws"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = []

[tool.uv]
package = false
no-index = true
find-links = ["wheels"]

[tool.uv.workspace]
members = ["packages/*"]
TOML
cat >"$member/pyproject.toml" <<TOML
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = [$reqs]

[tool.uv]
package = false
TOML
cp "$work/project/.pyguix.toml" "$member/"
(cd "$work/ws" && uv lock --quiet --python /usr/bin/python3)
"$pg" allow "$member" 2>/dev/null
member_dir=$("$pg" prefix "$member")
member_link=${member_dir%.g*}

runs=${BUILD_RUNS:-10}
by_hand() {
  echo "cd '$1' && uv venv --quiet --python /usr/bin/python3 '$work/by-hand' && UV_PROJECT_ENVIRONMENT='$work/by-hand' uv sync --quiet --frozen"
}
# Interleaved as in bench/lock.sh (hyperfine runs one command's sample
# after another's, and a burst of load on this shared machine then falls
# on one of them): each round runs the four in a rotating order, each
# after its untimed preparation, after one round of warm-up.
cat >"$work/commands.json" <<JSON
[
  ["pyenv-guix", "rm -rf '$venv_link' '$venv_link'.g*", ["$pg", "prefix", "$work/project"]],
  ["by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$work/project")"]],
  ["pyenv-guix-member", "rm -rf '$member_link' '$member_link'.g*", ["$pg", "prefix", "$member"]],
  ["member-by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$member")"]]
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
target = 1.1
ok = True
print(f"cold venv of a 20-wheel uv project from uv.lock, warm uv cache, {runs} interleaved rounds")
print(f"  {'':<34} {'mean':>8} {'median':>8} {'min':>7}")
def row(label, c):
    print(f"  {label:<34} {m[c]:8.1f} {med[c]:8.1f} {min(times[c]):7.1f} ms")
for ours, hand, label in (
    ("pyenv-guix", "by-hand", "uv venv + uv sync --frozen"),
    ("pyenv-guix-member", "member-by-hand", "the same in a workspace member"),
):
    ratio = m[ours] / m[hand]
    ok &= ratio <= target
    row(label, hand)
    row(ours, ours)
    print(f"  {'':<34} {ratio:5.3f}x of means, {med[ours] / med[hand]:5.3f}x of medians (target {target}x, of means)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
