#!/usr/bin/env bash
# The cost of a non-interactive `bash -c true` (what a coding agent or a
# CI step runs for each command) with pyenv-guix's BASH_ENV file, against
# direnv's script idiom in BASH_ENV (`eval "$(direnv export bash)"`), in the
# same run, each less the same `bash -c true` with an empty BASH_ENV:
#   outside   a directory with no project;
#   entering  in the project, nothing inherited: the project is loaded;
#   loaded    in the project, its environment inherited from the caller.
#
#   bench/noninteractive.sh    (needs hyperfine and direnv: apt-get install hyperfine direnv)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/common.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/outside"
equivalent_project
"$pg" hook bash --non-interactive >"$work/pg_env"
# direnv's script idiom, marked as ours is: direnv runs bash to read
# .envrc, and that bash reads BASH_ENV too; unmarked, it never ends.
# shellcheck disable=SC2016 # expanded by the bash that reads it
echo '[[ -n ${__direnv_ni:-} ]] || eval "$(__direnv_ni=1 direnv export bash)"' >"$work/direnv_env"
: >"$work/bare_env"

runs=${RUNS:-300}
bench() { # name, then the directory to run in; the environment is the caller's
  local name=$1 dir=$2
  (cd "$dir" && hyperfine -N --warmup 20 --runs "$runs" --style none \
    --export-json "$work/$name.json" \
    -n bare "env BASH_ENV=$work/bare_env bash -c true" \
    -n pyenv-guix "env BASH_ENV=$work/pg_env bash -c true" \
    -n direnv "env BASH_ENV=$work/direnv_env bash -c true" >/dev/null 2>&1)
}

bench outside "$work/outside"
bench entering "$work/project"
# Both tools' environments inherited, as from a shell where the project is
# loaded by both hooks.
(
  cd "$work/project"
  eval "$("$pg" export bash)"
  eval "$(direnv export bash 2>/dev/null)"
  bench loaded "$work/project"
)

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
print(f"{'case':<9} {'bare':>9} {'pyenv-guix':>12} {'direnv':>10} {'ratio (less bare)':>18}")
for case in ["outside", "entering", "loaded"]:
    res = {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{work}/{case}.json"))["results"]}
    bare, pg, de = res["bare"], res["pyenv-guix"], res["direnv"]
    extra_pg, extra_de = pg - bare, de - bare
    ratio = extra_pg / extra_de if extra_de > 0 else float("nan")
    print(f"{case:<9} {bare:>6.2f} ms {pg:>9.2f} ms {de:>7.2f} ms {ratio:>17.2f}x")
PY
