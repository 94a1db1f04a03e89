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
