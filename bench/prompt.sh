#!/usr/bin/env bash
# The cost of a prompt, in each real shell, as the shell runs its hooks:
# bash evaluates PROMPT_COMMAND, zsh calls precmd_functions (and chpwd_functions
# on cd), fish emits fish_prompt (and its PWD handlers on cd), elvish calls
# $edit:before-readline (a stand-in: a script has no line editor; after-chdir
# runs on cd). pyenv-guix's
# hook against direnv's, in the same run, each less the same loop with no
# hook at all:
#   outside  a directory with no project, nothing changed;
#   loaded   inside a loaded project, nothing changed;
#   cd       one cd into the built project and one back out, with a prompt after each.
#
#   bench/prompt.sh            (needs hyperfine and direnv, zsh, fish and elvish: apt-get install hyperfine direnv zsh fish elvish)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/common.sh
for tool in zsh fish elvish; do
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
    elvish) prompt='for f $edit:before-readline { $f }' ;;
  esac
  [[ $sh == fish && $tool != bare ]] && hook="$tool hook fish | source"
  [[ $sh == fish && $tool == pyenv-guix ]] && hook="'$pg' hook fish | source"
  if [[ $sh == elvish ]]; then
    hook="var edit: = (ns [&before-readline=[]])"
    [[ $tool == pyenv-guix ]] && hook+="; eval ('$pg' hook elvish | slurp)"
    # direnv 2.32's hook says `except`, which elvish 0.19 no longer takes: `catch`.
    [[ $tool == direnv ]] && hook+="; use str; eval (str:replace '} except ' '} catch ' (direnv hook elvish | slurp))"
  fi
  if [[ $case == cd ]]; then
    n=$cycles
    loop="cd '$work/project'; $prompt; cd '$work'; $prompt"
  else
    n=$prompts
    local dir=$work/outside
    [[ $case == loaded ]] && dir=$work/project
    # Past the two seconds the mark of a check is set back.
    hook="$hook; cd '$dir'; $prompt; sleep 2.2; $prompt"
    loop=$prompt
  fi
  local out=$work/$sh-$tool-$case
  if [[ $sh == elvish ]]; then
    cat >"$out.elvish" <<ELVISH
$hook
var t0 = (date +%s%N)
for i [(range $n)] { $loop }
var t1 = (date +%s%N)
echo (/ (inexact-num (- \$t1 \$t0)) $n) >>'$out.ns'
ELVISH
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
for sh in bash zsh fish elvish; do
  for case in outside loaded cd; do
    for tool in bare pyenv-guix direnv; do
      write "$sh" "$tool" "$case"
      for ((r = 0; r < runs; r++)); do
        case $sh in
          bash) bash --norc --noprofile "$work/$sh-$tool-$case.bash" ;;
          zsh) zsh -f "$work/$sh-$tool-$case.zsh" ;;
          fish) fish --no-config "$work/$sh-$tool-$case.fish" ;;
          elvish) elvish -norc "$work/$sh-$tool-$case.elvish" ;;
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
print(f"{'shell':<7}{'case':<9}{'direnv':>11}{'pyenv-guix':>13}{'ratio':>8}{'target':>8}")
for sh in ("bash", "zsh", "fish", "elvish"):
    for case, target in (("outside", 0.05), ("loaded", 0.05), ("cd", 0.2)):
        bare = ns(sh, "bare", case)
        d = (ns(sh, "direnv", case) - bare) / 1e6
        p = (ns(sh, "pyenv-guix", case) - bare) / 1e6
        ratio = p / d
        ok &= ratio <= target
        print(f"{sh:<7}{case:<9}{d:>8.3f} ms{p:>10.3f} ms{ratio:>7.3f}x{target:>7.2f}x")
print("(outside, loaded: per prompt; cd: per cd in and out, a prompt after each)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
