#!/usr/bin/env bash
# Materialisation speed, with ratios:
#  1. entering a project whose pip prefix (and Guix profile) is built, against
#     direnv entering a `layout python3` project whose venv exists;
#  2. a cold build against running the same `pip install --prefix` by hand
#     on the same wheels.
#
#   bench/materialise.sh       (needs hyperfine and direnv: apt-get install hyperfine direnv)
#
# The Guix profile comes from the test stand-in (tests/guix-stand-in/guix):
# once built, entering reads PROFILE/etc/profile and runs no guix at all.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's Python, found on PATH as users have it (not a shim).
export PATH=/usr/local/bin:/usr/bin:/bin
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache
export PYENV_GUIX_DATA_DIR=$work/pg-data PYENV_GUIX_CACHE_DIR=$work/pg-cache PYENV_GUIX_LOG=quiet
export PYENV_GUIX_GUIX=$repo/tests/guix-stand-in/guix GUIX_STAND_IN_STORE=$work/gnu/store
export DIRENV_LOG_FORMAT='' PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
unset PIP_FIND_LINKS PYTHONPATH VIRTUAL_ENV
mkdir -p "$HOME" "$work/wheels"
for i in 1 2 3 4 5 6; do
  python3 "$repo/tests/support/make_wheel.py" "$work/wheels" "benchpkg$i" 1.0 --script "bench$i" >/dev/null
done
plain="benchpkg1==1.0 benchpkg2==1.0 benchpkg3==1.0 benchpkg4==1.0 benchpkg5==1.0 benchpkg6==1.0"
# shellcheck disable=SC2086 # one word per requirement
reqs=$(printf '"%s", ' $plain)
reqs=${reqs%, }

mkdir -p "$work/pip" "$work/guix" "$work/direnv"
cat >"$work/pip/.pyguix.toml" <<TOML
[pip]
packages = [$reqs]
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
cat >"$work/guix/.pyguix.toml" <<TOML
[guix]
packages = ["python", "python-rapidjson"]

[pip]
packages = [$reqs]
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
echo 'layout python3' >"$work/direnv/.envrc"
direnv allow "$work/direnv" 2>/dev/null
(cd "$work/direnv" && direnv export bash >/dev/null 2>&1)   # makes .direnv/python-3.x
for p in pip guix; do
  "$pg" allow "$work/$p" 2>/dev/null
  "$pg" prefix "$work/$p" >/dev/null 2>&1
done

runs=${RUNS:-200}
enter() { # name, directory, command: each timed in its own directory, no shell between
  (cd "$2" && hyperfine -N --warmup 20 --runs "$runs" --style none \
    --export-json "$work/enter-$1.json" -n "$1" "$3" >/dev/null 2>&1)
}
enter pip "$work/pip" "$pg export bash"
enter direnv-layout-python "$work/direnv" "direnv export bash"
enter guix "$work/guix" "$pg export bash"

# Cold build: remove the prefix (and the hand-made one) before each run.
key_dir=$("$pg" prefix "$work/pip")
hyperfine --warmup 1 --runs "${BUILD_RUNS:-10}" --style none --export-json "$work/build.json" \
  -n pyenv-guix --prepare "rm -rf '$key_dir'" "'$pg' prefix '$work/pip'" \
  -n pip-by-hand --prepare "rm -rf '$work/by-hand'" \
  "python3 -m pip install --quiet --prefix '$work/by-hand' --ignore-installed --no-warn-script-location --no-index --find-links '$work/wheels' $plain" \
  >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def means(name):
    return {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{work}/{name}.json"))["results"]}
e = {}
for name in ("pip", "direnv-layout-python", "guix"):
    e.update(means(f"enter-{name}"))
d = e["direnv-layout-python"]
print("entering a built project (no process started by pyenv-guix)")
print(f"  direnv, layout python3, venv exists {d:8.2f} ms")
ok = True
for name in ("pip", "guix"):
    ratio = e[name] / d
    ok &= ratio <= 0.05
    label = "pyenv-guix, pip prefix" if name == "pip" else "pyenv-guix, Guix profile + prefix"
    print(f"  {label:<35} {e[name]:8.2f} ms  {ratio:5.3f}x  (target 0.05x)")
b = means("build")
over = b["pyenv-guix"] / b["pip-by-hand"] - 1
ok &= over <= 0.10
print("cold build of the same six wheels")
print(f"  pip install --prefix by hand        {b['pip-by-hand']:8.1f} ms")
print(f"  pyenv-guix prefix                   {b['pyenv-guix']:8.1f} ms  overhead {over * 100:+.1f}%  (target +10%)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
