#!/usr/bin/env bash
# While a 60-second build runs, how long after `cd` into the project does the
# next command typed start? In real interactive bash and zsh reading what is
# typed from stdin, with the hook installed. Target: under 1 s.
#
#   bench/slow-build.sh        (needs hyperfine and direnv for common.sh; zsh)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work=$(mktemp -d)
source bench/common.sh
cleanup() {
  # The build goes on in the background: stop it with the rest.
  pkill -f "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export PATH=/usr/local/bin:/usr/bin:/bin
export HOME=$work/home PYENV_GUIX_DATA_DIR=$work/data PYENV_GUIX_CACHE_DIR=$work/cache
unset PYENV_GUIX_BUILD PYENV_GUIX_STATE
mkdir -p "$HOME" "$work/wheels"
python3 "$repo/tests/support/make_wheel.py" "$work/wheels" slowpkg 1.0 >/dev/null
# A Python whose `pip install` takes 60 s: a venv with a .pth that sleeps then.
/usr/bin/python3 -m venv --without-pip --system-site-packages "$work/py"
site=$(echo "$work"/py/lib/python3*/site-packages)
echo "import sys, time; ('install' in sys.argv and '--dry-run' not in sys.argv) and time.sleep(60)" >"$site/slow.pth"

result=()
for sh in bash zsh; do
  project=$work/project-$sh
  # Spelt differently in each shell: each meets a build of its own.
  req=slowpkg
  [[ $sh == zsh ]] && req=slowpkg==1.0
  mkdir -p "$project"
  cat >"$project/.pyguix.toml" <<TOML
[python]
interpreter = "$work/py/bin/python3"

[pip]
packages = ["$req"]
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
  "$pg" allow "$project" 2>/dev/null
  # shellcheck disable=SC2016 # expanded by the shell under test
  case $sh in
    bash)
      start='t0=$EPOCHREALTIME' stop='t1=$EPOCHREALTIME'
      elapsed='$(( (${t1/./} - ${t0/./}) / 1000 ))'
      shell=(bash --norc --noprofile -i)
      ;;
    zsh)
      start='zmodload zsh/datetime; t0=$EPOCHREALTIME' stop='t1=$EPOCHREALTIME'
      elapsed='$(( (t1 - t0) * 1000 ))'
      shell=(zsh -f -i)
      ;;
  esac
  # One line at a time, as typed: the prompt (and the hook) runs between them.
  "${shell[@]}" >"$work/$sh.out" 2>&1 <<TYPED || true
eval "\$('$pg' hook $sh)"
$start
cd '$project'
$stop
echo "elapsed $elapsed ms"
TYPED
  ms=$(sed -n 's/.*elapsed \([0-9]*\)[0-9.]* ms.*/\1/p' "$work/$sh.out" | tail -n 1)
  building=$(grep -c 'building it in the background' "$work/$sh.out" || true)
  result+=("$sh $ms $building")
done

ok=1
echo "while a 60-second build runs, from cd to the next command"
for r in "${result[@]}"; do
  read -r sh ms building <<<"$r"
  echo "  $sh: ${ms} ms (build started in the background: $([[ $building -ge 1 ]] && echo yes || echo no))  (target 1000 ms)"
  [[ -n $ms && $ms -lt 1000 && $building -ge 1 ]] || ok=0
done
((ok)) && echo "target met" || echo "TARGET MISSED"
