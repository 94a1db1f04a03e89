#!/usr/bin/env bash
# A uv project (`[pip] uv-project = true`) of 20 offline wheels, built from
# its uv.lock into an empty keyed venv (uv's cache warm), against what a
# user types by hand for the same venv: `uv venv` then `uv sync --frozen`.
# The same for a member of a uv workspace, built from the root's uv.lock
# (pyenv-guix also finds the root and reads its files, as uv does). uv by
# hand links its cache's files into the venv; with UV_LINK_MODE=copy each
# is the venv's own, shared with uv's cache no more than pyenv-guix's,
# which are links to its read-only pool (README, "Files uv links are
# shared read-only").
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
# $2: uv's link mode, empty for its default; $3: how uv sync takes the
# lock (--frozen, or --locked: checked against pyproject.toml first).
by_hand() {
  echo "cd '$1' && uv venv --quiet --python /usr/bin/python3 '$work/by-hand' && ${2:+UV_LINK_MODE=$2 }UV_PROJECT_ENVIRONMENT='$work/by-hand' uv sync --quiet ${3:---frozen}"
}
# What uv lock --check said, kept with the key: removed, a build is a new
# key's first, which asks uv (README, "A uv.lock behind pyproject.toml").
checked=${venv_link%/prefixes/*}/logs/$(basename "$venv_link").uv-lock
[ -f "$checked" ] || { echo "no $checked: the build kept no answer of uv lock --check" >&2; exit 1; }
# Timed round by round by bench/interleaved.py.
cat >"$work/commands.json" <<JSON
[
  ["pyenv-guix", "rm -rf '$venv_link' '$venv_link'.g*", ["$pg", "prefix", "$work/project"]],
  ["by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$work/project" "")"]],
  ["copied-by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$work/project" copy)"]],
  ["pyenv-guix-checking", "rm -rf '$venv_link' '$venv_link'.g* '$checked'", ["$pg", "prefix", "$work/project"]],
  ["locked-by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$work/project" "" --locked)"]],
  ["pyenv-guix-member", "rm -rf '$member_link' '$member_link'.g*", ["$pg", "prefix", "$member"]],
  ["member-by-hand", "rm -rf '$work/by-hand'", ["sh", "-c", "$(by_hand "$member" "")"]]
]
JSON

python3 bench/interleaved.py "$work/commands.json" "$runs" \
  "cold venv of a 20-wheel uv project from uv.lock, warm uv cache" \
  "by-hand:pyenv-guix:uv venv + uv sync --frozen" \
  "copied-by-hand:pyenv-guix:the same, UV_LINK_MODE=copy" \
  "locked-by-hand:pyenv-guix-checking:uv sync --locked; a new key (uv lock --check)" \
  "member-by-hand:pyenv-guix-member:the same in a workspace member"
