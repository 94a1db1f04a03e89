#!/usr/bin/env bash
# The cost of a prompt at which nothing changed, in a real interactive bash
# inside a loaded project: pyenv-guix's hook against direnv's, in the same
# run, each less a bash with no hook at all.
#
#   bench/prompt.sh            (needs hyperfine and direnv: apt-get install hyperfine direnv)
#
# Each run of bash answers PROMPTS prompts; the per-prompt figure is the
# difference from the bare bash, divided by PROMPTS.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/common.sh

equivalent_project

prompts=${PROMPTS:-300}
script() { # the hook line, then: cd in, settle, and answer $prompts prompts
  {
    echo "$1"
    echo "cd '$work/project'"
    # Past the two seconds the mark of a check is set back.
    echo "sleep 2.2"
    for ((i = 0; i < prompts; i++)); do echo ":"; done
  } >"$work/$2.in"
}
script ":" bare
script "eval \"\$('$pg' hook bash)\"" pyenv-guix
script "eval \"\$(direnv hook bash)\"" direnv

cd "$work"
# Interactive bash reads the prompts from stdin, as a user types them.
run() { hyperfine --warmup 1 --runs "${RUNS:-10}" --style none --export-json "$work/$1.json" \
  -n "$1" "bash --norc --noprofile -i < $work/$1.in" >/dev/null 2>&1; }
run bare
run pyenv-guix
run direnv

python3 - "$work" "$prompts" <<'PY'
import json, sys
work, prompts = sys.argv[1], int(sys.argv[2])
mean = {n: json.load(open(f"{work}/{n}.json"))["results"][0]["mean"] for n in ["bare", "pyenv-guix", "direnv"]}
per = {n: (mean[n] - mean["bare"]) / prompts * 1e3 for n in ["pyenv-guix", "direnv"]}
print(f"a prompt with nothing changed, in bash, over {prompts} prompts")
print(f"  direnv hook        {per['direnv']:8.3f} ms")
print(f"  pyenv-guix hook    {per['pyenv-guix']:8.3f} ms  {per['pyenv-guix'] / per['direnv']:.3f}x  (target 0.10x)")
print("target met" if per["pyenv-guix"] <= 0.1 * per["direnv"] else "TARGET MISSED")
PY
