#!/usr/bin/env bash
# The cost of a prompt, in each real shell, as the shell runs its hooks:
# bash evaluates PROMPT_COMMAND, zsh calls precmd_functions (and chpwd_functions
# on cd), fish emits fish_prompt (and its PWD handlers on cd), nushell runs
# its pre_prompt hooks (and its env_change.PWD hooks on cd). pyenv-guix's
# hook against direnv's (direnv has none for nushell: there, pyenv-guix
# alone), in the same run, each less the same loop with no hook at all:
#   outside  a directory with no project, nothing changed;
#   loaded   inside a loaded project, nothing changed;
#   cd       one cd into the built project and one back out, with a prompt after each.
#
#   bench/prompt.sh            (needs hyperfine and direnv, zsh, fish and nu: apt-get install hyperfine direnv zsh fish; npm install nushell)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/common.sh
for tool in zsh fish nu; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

equivalent_project
mkdir -p "$work/outside"
prompts=${PROMPTS:-1000}
cycles=${CYCLES:-200}

# One script per shell, tool and case: the hook line, the case's loop
# between two clock readings, the time per prompt (or per cd cycle) in ns.
write() { # shell tool case
  local sh=$1 tool=$2 case=$3 hook prompt loop n
  case $tool in
    bare) hook=":" ;;
    pyenv-guix) hook="eval \"\$('$pg' hook $sh)\"" ;;
    direnv) hook="eval \"\$(direnv hook $sh)\"" ;;
  esac
  # shellcheck disable=SC2016 # expanded by the shell under test, not here
  case $sh in
    bash) prompt='eval "${PROMPT_COMMAND:-}"' ;;
    zsh) prompt='for f in $precmd_functions; do $f; done' ;;
    fish) prompt='emit fish_prompt' ;;
    nu) prompt='for h in $env.config.hooks.pre_prompt { do --env $h }' ;;
  esac
  [[ $sh == fish && $tool != bare ]] && hook="$tool hook fish | source"
  [[ $sh == fish && $tool == pyenv-guix ]] && hook="'$pg' hook fish | source"
  # nushell's `source` reads its file before the script runs.
  [[ $sh == nu && $tool == pyenv-guix ]] && "$pg" hook nu >"$work/hook.nu" && hook="source '$work/hook.nu'"
  [[ $sh == nu && $tool == bare ]] && hook="null"
  local pause="sleep 2.2"
  [[ $sh == nu ]] && pause="sleep 2200ms"
  if [[ $case == cd ]]; then
    n=$cycles
    [[ $sh == nu ]] && prompt="$prompt; for h in (\$env.config.hooks.env_change.PWD? | default []) { do --env \$h null \$env.PWD }"
    loop="cd '$work/project'; $prompt; cd '$work'; $prompt"
  else
    n=$prompts
    local dir=$work/outside
    [[ $case == loaded ]] && dir=$work/project
    # Past the two seconds the mark of a check is set back.
    hook="$hook; cd '$dir'; $prompt; $pause; $prompt"
    loop=$prompt
  fi
  local out=$work/$sh-$tool-$case
  if [[ $sh == nu ]]; then
    cat >"$out.nu" <<NU
$hook
let t0 = (date now)
for i in 1..$n { $loop }
\$"((((date now) - \$t0) / $n) | into int)\n" | save -a '$out.ns'
NU
  elif [[ $sh == fish ]]; then
    cat >"$out.fish" <<FISH
$hook
set t0 (date +%s%N)
for i in (seq $n); $loop; end
set t1 (date +%s%N)
math "(\$t1 - \$t0) / $n" >>'$out.ns'
FISH
  else
    cat >"$out.$sh" <<SH
$hook
t0=\$(date +%s%N)
for ((i = 0; i < $n; i++)); do $loop; done
t1=\$(date +%s%N)
echo \$(((t1 - t0) / $n)) >>'$out.ns'
SH
  fi
}

runs=${RUNS:-3}
for sh in bash zsh fish nu; do
  for case in outside loaded cd; do
    for tool in bare pyenv-guix direnv; do
      [[ $sh == nu && $tool == direnv ]] && continue
      write "$sh" "$tool" "$case"
      for ((r = 0; r < runs; r++)); do
        case $sh in
          bash) bash --norc --noprofile "$work/$sh-$tool-$case.bash" ;;
          zsh) zsh -f "$work/$sh-$tool-$case.zsh" ;;
          fish) fish --no-config "$work/$sh-$tool-$case.fish" ;;
          nu) nu --no-config-file "$work/$sh-$tool-$case.nu" ;;
        esac >/dev/null 2>&1
      done
    done
  done
done

python3 - "$work" <<'PY'
import statistics, sys
work = sys.argv[1]
def ns(sh, tool, case):
    with open(f"{work}/{sh}-{tool}-{case}.ns") as f:
        return statistics.median(float(x) for x in f.read().split())
ok = True
print(f"{'shell':<6}{'case':<9}{'direnv':>11}{'pyenv-guix':>13}{'ratio':>8}{'target':>8}")
for sh in ("bash", "zsh", "fish"):
    for case, target in (("outside", 0.05), ("loaded", 0.05), ("cd", 0.2)):
        bare = ns(sh, "bare", case)
        d = (ns(sh, "direnv", case) - bare) / 1e6
        p = (ns(sh, "pyenv-guix", case) - bare) / 1e6
        ratio = p / d
        ok &= ratio <= target
        print(f"{sh:<6}{case:<9}{d:>8.3f} ms{p:>10.3f} ms{ratio:>7.3f}x{target:>7.2f}x")
for case in ("outside", "loaded", "cd"):
    p = (ns("nu", "pyenv-guix", case) - ns("nu", "bare", case)) / 1e6
    print(f"{'nu':<6}{case:<9}{'-':>11}{p:>10.3f} ms   (no direnv hook; bare prompt {ns('nu', 'bare', case) / 1e6:.3f} ms)")
print("(outside, loaded: per prompt; cd: per cd in and out, a prompt after each)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
