# shellcheck shell=bash
# Sourced by the bench scripts: checks the tools and builds the binary.
# PG=/path/to/pyenv-guix measures another build instead.

for tool in hyperfine direnv python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install hyperfine direnv)" >&2; exit 1; }
done

# The binary as the README installs it: static, so no dynamic loader at each prompt.
if [[ -n ${PG:-} ]]; then
  pg=$PG
else
  host=$(rustc -vV | sed -n 's/^host: //p')
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --target "$host"
  pg=$PWD/target/$host/release/pyenv-guix
fi
echo "binary: $pg"

# A private home for both tools under $work, and the same project for both
# at $work/project: one variable, one PATH entry. Both allowed, both quiet.
# $work is the calling script's scratch directory.
# shellcheck disable=SC2154
equivalent_project() {
  export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache
  export PYENV_GUIX_DATA_DIR=$work/pg-data PYENV_GUIX_CACHE_DIR=$work/pg-cache
  mkdir -p "$HOME" "$work/project/bin"
  cat >"$work/project/.pyguix.toml" <<'TOML'
[env]
APP_MODE = "development"

[path]
PATH = ["bin"]
TOML
  cat >"$work/project/.envrc" <<'RC'
export APP_MODE=development
PATH_add bin
RC
  direnv allow "$work/project" 2>/dev/null
  "$pg" allow "$work/project" 2>/dev/null
  export PYENV_GUIX_LOG=quiet DIRENV_LOG_FORMAT=''
}

# uv as users install it (the pip package, else on PATH), into $uv.
find_uv() {
  uv=$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || command -v uv || true)
  [[ -x $uv ]] || { echo "bench: uv is not installed (pip install uv)" >&2; exit 1; }
}

# A scratch home in $work, removed on exit: Debian's Python found on PATH
# as users have it (not a shim), $uv beside it, pyenv-guix's places and
# pip's settings of its own, nothing of the caller's.
isolated_work() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/uv-bin"
  ln -s "$uv" "$work/uv-bin/uv"
  export PATH=$work/uv-bin:/usr/local/bin:/usr/bin:/bin
  export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache
  export PYENV_GUIX_DATA_DIR=$work/pg-data PYENV_GUIX_CACHE_DIR=$work/pg-cache PYENV_GUIX_LOG=quiet
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
  unset PIP_FIND_LINKS PYTHONPATH VIRTUAL_ENV UV_PROJECT_ENVIRONMENT UV_PYTHON
  mkdir -p "$HOME"
}

# Twenty small wheels with a script each in $1; $plain names them as pip's
# arguments, $reqs as a TOML list's items ("benchpkg1==1.0", ...).
twenty_wheels() {
  local i
  plain=
  mkdir -p "$1"
  for i in $(seq 1 20); do
    python3 tests/support/make_wheel.py "$1" "benchpkg$i" 1.0 --script "bench$i" >/dev/null
    plain+=" benchpkg$i==1.0"
  done
  # shellcheck disable=SC2086 # one word per requirement
  reqs=$(printf '"%s", ' $plain)
  reqs=${reqs%, }
}
