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
