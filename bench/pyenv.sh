#!/usr/bin/env bash
# Entering a built project on a pyenv machine, with ratios, in one run:
#  1. its interpreter a pyenv shim (`python3` found on PATH in shims/);
#  2. the same Python named by its absolute path;
#  3. the shim, with `installer = "auto"` and a `uv` shim that the chosen
#     version lacks (another version has uv, as `pyenv rehash` makes it);
#  4. direnv's `layout python python3` with its venv made, the same shim.
# The target: a shim costs what an absolute interpreter costs. Medians:
# the machine may be shared, and a mean takes every other job's spikes.
#
#   bench/pyenv.sh       (needs hyperfine, direnv and pyenv with a Python:
#                         apt-get install hyperfine direnv; PYENV_ROOT or ~/.pyenv)
#   BEFORE=/path/to/older/pyenv-guix bench/pyenv.sh
#                        also times that build on the shim projects
#
# The machine's pyenv is only read: a pyenv root of the bench's own links
# to its installed versions and gets its own shims (`pyenv rehash`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh

real=${PYENV_ROOT:-$HOME/.pyenv}
[[ -x $real/libexec/pyenv ]] || { echo "bench: pyenv is not installed (no $real/libexec/pyenv)" >&2; exit 1; }
version=$(find "$real/versions" -mindepth 1 -maxdepth 1 -name '3.*' -printf '%f\n' | sort -V | tail -1)
[[ -n $version ]] || { echo "bench: pyenv has no Python 3 installed" >&2; exit 1; }
echo "pyenv: $real, Python $version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/pyenv
mkdir -p "$root/versions/uv-home/bin" "$work/wheels"
ln -s "$real/versions/$version" "$root/versions/$version"
printf '#!/bin/sh\nexit 1\n' >"$root/versions/uv-home/bin/uv"
chmod +x "$root/versions/uv-home/bin/uv"
echo "$version" >"$root/version"
PYENV_ROOT=$root "$real/libexec/pyenv" rehash
[[ -x $root/shims/python3 && -x $root/shims/uv ]] || { echo "bench: pyenv rehash made no shims" >&2; exit 1; }
absolute=$(PYENV_ROOT=$root "$real/libexec/pyenv" which python3)

export PYENV_ROOT=$root PATH=$root/shims:/usr/local/bin:/usr/bin:/bin
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache
export PYENV_GUIX_DATA_DIR=$work/pg-data PYENV_GUIX_CACHE_DIR=$work/pg-cache PYENV_GUIX_LOG=quiet
export PYENV_GUIX_BUILD=foreground DIRENV_LOG_FORMAT='' PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
unset PIP_FIND_LINKS PYTHONPATH VIRTUAL_ENV PYENV_VERSION
mkdir -p "$HOME"
plain=
for i in 1 2 3 4 5 6; do
  python3 "$repo/tests/support/make_wheel.py" "$work/wheels" "benchpkg$i" 1.0 --script "bench$i" >/dev/null
  plain+=" benchpkg$i==1.0"
done
# shellcheck disable=SC2086 # one word per requirement
reqs=$(printf '"%s", ' $plain)
reqs=${reqs%, }

project() { # name, interpreter, installer
  mkdir -p "$work/$1"
  cat >"$work/$1/.pyguix.toml" <<TOML
[python]
interpreter = "$2"

[pip]
packages = [$reqs]
installer = "$3"
options = ["--no-index", "--find-links", "$work/wheels"]
TOML
  "$pg" allow "$work/$1" 2>/dev/null
  (cd "$work/$1" && "$pg" export bash >/dev/null 2>&1)
}
project shim python3 pip
project absolute "$absolute" pip
project auto python3 auto
mkdir -p "$work/direnv"
echo 'layout python python3' >"$work/direnv/.envrc"
direnv allow "$work/direnv" 2>/dev/null
(cd "$work/direnv" && direnv export bash >/dev/null 2>&1)   # makes .direnv/python-3.x

runs=${RUNS:-200}
enter() { # name, command: each timed in its own directory, no shell between
  (cd "$work/$1" && hyperfine -N --warmup 20 --runs "$runs" --style none \
    --export-json "$work/enter-$1.json" -n "$1" "$2" >/dev/null 2>&1)
}
enter shim "$pg export bash"
enter absolute "$pg export bash"
enter auto "$pg export bash"
enter direnv "direnv export bash"
if [[ -n ${BEFORE:-} ]]; then
  # Its own caches: an older build's entries are not this one's.
  PYENV_GUIX_CACHE_DIR=$work/before-cache PYENV_GUIX_DATA_DIR=$work/before-data \
    bash -c 'for p in "$@"; do "$0" allow "$p" && (cd "$p" && "$0" export bash); done' \
    "$BEFORE" "$work/shim" "$work/auto" >/dev/null 2>&1
  export PYENV_GUIX_CACHE_DIR=$work/before-cache PYENV_GUIX_DATA_DIR=$work/before-data
  (cd "$work/shim" && hyperfine -N --warmup 5 --runs "${BEFORE_RUNS:-30}" --style none \
    --export-json "$work/enter-before-shim.json" -n before-shim "$BEFORE export bash" >/dev/null 2>&1)
  (cd "$work/auto" && hyperfine -N --warmup 5 --runs "${BEFORE_RUNS:-30}" --style none \
    --export-json "$work/enter-before-auto.json" -n before-auto "$BEFORE export bash" >/dev/null 2>&1)
fi

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
import os
e = {}
for name in ("shim", "absolute", "auto", "direnv", "before-shim", "before-auto"):
    path = f"{work}/enter-{name}.json"
    if os.path.exists(path):
        e[name] = json.load(open(path))["results"][0]["median"] * 1e3
d, a = e["direnv"], e["absolute"]
print("entering a built project on a pyenv machine (medians)")
print(f"  direnv, layout python python3 (shim)   {d:8.2f} ms")
labels = {
    "absolute": "pyenv-guix, absolute interpreter",
    "shim": "pyenv-guix, pyenv shim",
    "auto": "pyenv-guix, shim, installer auto",
}
ok = True
for name in ("absolute", "shim", "auto"):
    vs_abs = e[name] / a
    if name != "absolute":
        ok &= vs_abs <= 1.25
    print(f"  {labels[name]:<38} {e[name]:8.2f} ms  {e[name] / d:6.3f}x direnv  {vs_abs:5.2f}x absolute")
for name, label in (("before-shim", "BEFORE, pyenv shim"), ("before-auto", "BEFORE, shim, installer auto")):
    if name in e:
        print(f"  {label:<38} {e[name]:8.2f} ms  {e[name] / d:6.3f}x direnv  {e[name] / a:5.2f}x absolute")
print("target: a shim costs what an absolute interpreter costs (within 1.25x):",
      "met" if ok else "MISSED")
PY
