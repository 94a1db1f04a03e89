#!/usr/bin/env bash
# A uv project (`[pip] uv-project = true`) of 20 offline wheels, built from
# its uv.lock into an empty keyed venv (uv's cache warm), against what a
# user types by hand for the same venv: `uv venv` then `uv sync --frozen`.
#
#   bench/uvproject.sh       (needs hyperfine and uv: apt-get install hyperfine; pip install uv)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source bench/common.sh

uv=$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || command -v uv || true)
[[ -x $uv ]] || { echo "bench: uv is not installed (pip install uv)" >&2; exit 1; }
# A pyenv shim runs pyenv on each call: measure uv itself.
uv=$(readlink -f "$(pyenv which uv 2>/dev/null || echo "$uv")")
echo "uv: $uv ($("$uv" --version))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/uv-bin" "$work/project/wheels"
ln -s "$uv" "$work/uv-bin/uv"
export PATH=$work/uv-bin:/usr/local/bin:/usr/bin:/bin
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache
export PYENV_GUIX_DATA_DIR=$work/pg-data PYENV_GUIX_CACHE_DIR=$work/pg-cache PYENV_GUIX_LOG=quiet
unset PYTHONPATH VIRTUAL_ENV UV_PROJECT_ENVIRONMENT UV_PYTHON
mkdir -p "$HOME"
deps=
for i in $(seq 1 20); do
  python3 "$repo/tests/support/make_wheel.py" "$work/project/wheels" "benchpkg$i" 1.0 --script "bench$i" >/dev/null
  deps+="\"benchpkg$i==1.0\", "
done
cat >"$work/project/pyproject.toml" <<TOML
[project]
name = "bench"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = [${deps%, }]

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

runs=${BUILD_RUNS:-10}
hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/sync.json" \
  -n pyenv-guix --prepare "rm -rf '$venv_link' '$venv_link'.g*" "'$pg' prefix '$work/project'" \
  -n uv-sync-by-hand --prepare "rm -rf '$work/by-hand'" \
  "cd '$work/project' && uv venv --quiet --python /usr/bin/python3 '$work/by-hand' && UV_PROJECT_ENVIRONMENT='$work/by-hand' uv sync --quiet --frozen" \
  >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, sys
m = {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{sys.argv[1]}/sync.json"))["results"]}
ratio = m["pyenv-guix"] / m["uv-sync-by-hand"]
target = 1.1
print("cold venv of a 20-wheel uv project, from uv.lock")
print(f"  {'uv venv + uv sync --frozen':<32} {m['uv-sync-by-hand']:8.1f} ms")
print(f"  {'pyenv-guix, uv-project':<32} {m['pyenv-guix']:8.1f} ms  {ratio:5.3f}x  (target {target}x)")
print("target met" if ratio <= target else "TARGET MISSED")
PY
