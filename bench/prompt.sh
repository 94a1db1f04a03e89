#!/usr/bin/env bash
# The cost of a prompt, in each real shell, as the shell runs its hooks:
# bash evaluates PROMPT_COMMAND, zsh calls precmd_functions (and chpwd_functions
# on cd), fish emits fish_prompt (and its PWD handlers on cd), xonsh fires
# on_precommand and on_pre_prompt (and on_chdir on cd) as its interactive
# shell does for a command line, tcsh runs the precmd alias (and cwdcmd on
# cd), elvish calls $edit:before-readline (a stand-in: a script has no line
# editor; after-chdir runs on cd), nushell runs its pre_prompt hooks (and its
# env_change.PWD hooks on cd) as its REPL does. pyenv-guix's hook against
# direnv's, in the same run (xonsh, nushell: direnv has no hook for them, so
# against no hook), each less the same loop with no hook at all:
#   outside  a directory with no project, nothing changed;
#   loaded   inside a loaded project, nothing changed;
#   cd       one cd into the built project and one back out, with a prompt after each.
#
#   bench/prompt.sh            (needs hyperfine and direnv, zsh, fish, xonsh, tcsh, elvish and nu: apt-get install hyperfine direnv zsh fish xonsh tcsh elvish; npm install nushell)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source bench/common.sh
for tool in zsh fish xonsh tcsh elvish nu; do
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
    xonsh) prompt='prompt()' ;; # written by xonsh_script
    tcsh) prompt='precmd' ;;
    elvish) prompt='for f $edit:before-readline { $f }' ;;
    nu) prompt='for h in $env.config.hooks.pre_prompt { do --env $h }' ;;
  esac
  [[ $sh == fish && $tool != bare ]] && hook="$tool hook fish | source"
  [[ $sh == fish && $tool == pyenv-guix ]] && hook="'$pg' hook fish | source"
  if [[ $sh == elvish ]]; then
    hook="var edit: = (ns [&before-readline=[]])"
    [[ $tool == pyenv-guix ]] && hook+="; eval ('$pg' hook elvish | slurp)"
    # direnv 2.32's hook says `except`, which elvish 0.19 no longer takes: `catch`.
    [[ $tool == direnv ]] && hook+="; use str; eval (str:replace '} except ' '} catch ' (direnv hook elvish | slurp))"
  fi
  # tcsh: no hook is an empty precmd; ours is sourced from a file.
  [[ $sh == tcsh && $tool == bare ]] && hook="alias precmd ''"
  [[ $sh == tcsh && $tool == pyenv-guix ]] && hook="'$pg' hook tcsh >! '$work/hook.tcsh'; source '$work/hook.tcsh'"
  [[ $sh == tcsh && $tool == direnv ]] && hook="eval \"\`direnv hook tcsh\`\""
  # nushell: `source` reads its file before the script runs.
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
  if [[ $sh == xonsh ]]; then
    xonsh_script "$tool" "$case" "$out"
  elif [[ $sh == nu ]]; then
    cat >"$out.nu" <<NU
$hook
let t0 = (date now)
for i in 1..$n { $loop }
\$"((((date now) - \$t0) / $n) | into int)\n" | save -a '$out.ns'
NU
  elif [[ $sh == elvish ]]; then
    cat >"$out.elvish" <<ELVISH
$hook
var t0 = (date +%s%N)
for i [(range $n)] { $loop }
var t1 = (date +%s%N)
echo (/ (inexact-num (- \$t1 \$t0)) $n) >>'$out.ns'
ELVISH
  elif [[ $sh == tcsh ]]; then
    cat >"$out.tcsh" <<TCSH
$hook
set t0 = \`date +%s%N\`
@ i = 0
while ( \$i < $n )
$loop
@ i++
end
set t1 = \`date +%s%N\`
echo "\$t0 \$t1" | awk '{ print int((\$2 - \$1) / $n) }' >>'$out.ns'
TCSH
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

# xonsh's is Python: the clock is Python's, and the events are fired as
# its prompt_toolkit shell fires them (a script is not interactive: the
# hook registers its events only for an interactive shell).
xonsh_script() { # tool case out
  local hook=pass n=$prompts dir=$work/outside loop="prompt()" setup
  [[ $1 == pyenv-guix ]] && hook="\$XONSH_INTERACTIVE = True; execx(\$('$pg' hook xonsh))"
  [[ $2 == loaded ]] && dir=$work/project
  setup="cd '$dir'; prompt(); time.sleep(2.2); prompt()"
  if [[ $2 == cd ]]; then
    n=$cycles setup=pass
    loop="into('$work/project'); into('$work')"
  fi
  cat >"$3.xsh" <<XSH
import os, time
from xonsh.events import events
$hook
def prompt():
    events.on_precommand.fire(cmd="true\n")
    events.on_pre_prompt.fire()
def into(new):
    old = os.getcwd()
    cd @(new)
    events.on_chdir.fire(olddir=old, newdir=new)
    prompt()
$setup
t0 = time.perf_counter_ns()
for i in range($n):
    $loop
open('$3.ns', 'a').write(str((time.perf_counter_ns() - t0) // $n) + "\n")
XSH
}

runs=${RUNS:-3}
for sh in bash zsh fish tcsh elvish xonsh nu; do
  for case in outside loaded cd; do
    for tool in bare pyenv-guix direnv; do
      [[ ($sh == xonsh || $sh == nu) && $tool == direnv ]] && continue
      write "$sh" "$tool" "$case"
      for ((r = 0; r < runs; r++)); do
        case $sh in
          bash) bash --norc --noprofile "$work/$sh-$tool-$case.bash" ;;
          zsh) zsh -f "$work/$sh-$tool-$case.zsh" ;;
          fish) fish --no-config "$work/$sh-$tool-$case.fish" ;;
          xonsh) xonsh --no-rc "$work/$sh-$tool-$case.xsh" ;;
          tcsh) tcsh -f "$work/$sh-$tool-$case.tcsh" ;;
          elvish) elvish -norc "$work/$sh-$tool-$case.elvish" ;;
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
print(f"{'shell':<7}{'case':<9}{'direnv':>11}{'pyenv-guix':>13}{'ratio':>8}{'target':>8}")
for sh in ("bash", "zsh", "fish", "tcsh", "elvish"):
    for case, target in (("outside", 0.05), ("loaded", 0.05), ("cd", 0.2)):
        bare = ns(sh, "bare", case)
        d = (ns(sh, "direnv", case) - bare) / 1e6
        p = (ns(sh, "pyenv-guix", case) - bare) / 1e6
        ratio = p / d
        ok &= ratio <= target
        print(f"{sh:<7}{case:<9}{d:>8.3f} ms{p:>10.3f} ms{ratio:>7.3f}x{target:>7.2f}x")
for sh in ("xonsh", "nu"):
    for case in ("outside", "loaded", "cd"):
        bare = ns(sh, "bare", case)
        p = (ns(sh, "pyenv-guix", case) - bare) / 1e6
        print(f"{sh:<7}{case:<9}{'no hook':>11}{p:>10.3f} ms  (over {bare / 1e6:.3f} ms with no hook)")
print("(outside, loaded: per prompt; cd: per cd in and out, a prompt after each)")
print("all targets met" if ok else "SOME TARGETS MISSED")
PY
