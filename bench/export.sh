#!/usr/bin/env bash
# Time `pyenv-guix export bash` against `direnv export bash` on equivalent
# projects, in the same run, in three states, and print the ratios.
#
#   bench/export.sh            (needs hyperfine and direnv: apt-get install hyperfine direnv)
#
# Absolute times drift on shared machines; the ratios are what to compare.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/none"
equivalent_project

runs=${RUNS:-500}
bench() { # name, then the directory to run in
  local name=$1 dir=$2
  (cd "$dir" && hyperfine -N --warmup 50 --runs "$runs" --style none \
    --export-json "$work/$name.json" \
    -n pyenv-guix "$pg export bash" -n direnv "direnv export bash" >/dev/null 2>&1)
}

# 1. No project anywhere above $PWD.
bench none "$work/none"
# 2. Inside a loaded project, nothing changed: both have their state in the environment.
(
  cd "$work/project"
  eval "$("$pg" export bash)"
  eval "$(direnv export bash 2>/dev/null)"
  for cmd in "$pg" direnv; do
    if [[ -n $($cmd export bash 2>/dev/null) ]]; then
      echo "bench: $cmd export printed something in the loaded state" >&2
      exit 1
    fi
  done
  bench loaded "$work/project"
)
# 3. Entering the project: no state yet, the whole snippet is printed each time.
bench entering "$work/project"

peak() { (cd "$1" && /usr/bin/time -f %M "$pg" export bash 2>&1 >/dev/null | tail -n 1); }

python3 - "$work" "$(peak "$work/none")" "$(peak "$work/project")" <<'PY'
import json, sys
work, peak_none, peak_enter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
targets = {"none": 0.4, "loaded": 0.4, "entering": 0.1}
print(f"{'state':<10} {'pyenv-guix':>12} {'direnv':>10} {'ratio':>7} {'target':>7}")
ok = True
for state, target in targets.items():
    res = {r["command"]: r for r in json.load(open(f"{work}/{state}.json"))["results"]}
    pg, de = res["pyenv-guix"]["mean"] * 1e3, res["direnv"]["mean"] * 1e3
    ratio = pg / de
    ok &= ratio <= target
    print(f"{state:<10} {pg:>9.2f} ms {de:>7.2f} ms {ratio:>6.2f}x {target:>6.2f}x")
peak = max(peak_none, peak_enter)
print(f"peak memory of pyenv-guix export: {peak} KiB (target 4096 KiB)")
ok &= peak <= 4096
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
