#!/usr/bin/env bash
# A uv project (`[pip] uv-project = true`) of 20 offline wheels, built from
# its uv.lock into an empty keyed venv (uv's cache warm), against what a
# user types by hand for the same venv: `uv venv` then `uv sync --frozen`.
# The same for a member of a uv workspace, built from the root's uv.lock
# (pyenv-guix also finds the root and reads its files, as uv does).
#
#   bench/uvproject.sh       (needs hyperfine and uv: apt-get install hyperfine; pip install uv)
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
ln -s "$work/project/wheels" "$work/ws/wheels"
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
hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/sync.json" \
  -n pyenv-guix --prepare "rm -rf '$venv_link' '$venv_link'.g*" "'$pg' prefix '$work/project'" \
  -n uv-sync-by-hand --prepare "rm -rf '$work/by-hand'" \
  "cd '$work/project' && uv venv --quiet --python /usr/bin/python3 '$work/by-hand' && UV_PROJECT_ENVIRONMENT='$work/by-hand' uv sync --quiet --frozen" \
  -n pyenv-guix-member --prepare "rm -rf '$member_link' '$member_link'.g*" "'$pg' prefix '$member'" \
  -n member-by-hand --prepare "rm -rf '$work/by-hand'" \
  "cd '$member' && uv venv --quiet --python /usr/bin/python3 '$work/by-hand' && UV_PROJECT_ENVIRONMENT='$work/by-hand' uv sync --quiet --frozen" \
  >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, sys
m = {r["command"]: r["mean"] * 1e3 for r in json.load(open(f"{sys.argv[1]}/sync.json"))["results"]}
target = 1.1
met = True
for title, ours, theirs in [
    ("cold venv of a 20-wheel uv project, from uv.lock", "pyenv-guix", "uv-sync-by-hand"),
    ("the same project as a workspace member, from the root's uv.lock", "pyenv-guix-member", "member-by-hand"),
]:
    ratio = m[ours] / m[theirs]
    met = met and ratio <= target
    print(title)
    print(f"  {'uv venv + uv sync --frozen':<32} {m[theirs]:8.1f} ms")
    print(f"  {'pyenv-guix, uv-project':<32} {m[ours]:8.1f} ms  {ratio:5.3f}x  (target {target}x)")
print("targets met" if met else "TARGET MISSED")
PY
