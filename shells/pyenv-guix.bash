# pyenv-guix hook for bash. Put in ~/.bashrc:  eval "$(pyenv-guix hook bash)"

__pyenv_guix_bin=@PYENV_GUIX@
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
export PYENV_GUIX_HOOK="bash:$$:$__pyenv_guix_bin"

# Nothing can have changed since the last check: the same directory, and no
# watched path (the binary said which) newer than the check's mark. Builtins
# only: most prompts start no process at all.
__pyenv_guix_unchanged() {
  [[ -n ${__pyenv_guix_mark:-} && -f $__pyenv_guix_mark &&
    $PWD == "${__pyenv_guix_checked:-}" ]] || return 1
  local __pyenv_guix_path
  # The snippet the binary printed sets __pyenv_guix_watch.
  # shellcheck disable=SC2154
  for __pyenv_guix_path in ${__pyenv_guix_watch[@]+"${__pyenv_guix_watch[@]}"}; do
    if [[ $__pyenv_guix_path -nt $__pyenv_guix_mark ]]; then
      return 1
    fi
  done
  return 0
}

__pyenv_guix_check() {
  local __pyenv_guix_snippet
  local -a __pyenv_guix_args=(export bash --shell-pid "$$")
  # A new shell may have inherited stale variables: its first prompt re-checks.
  if [[ -z ${__pyenv_guix_started:-} ]]; then
    __pyenv_guix_args+=(--first-prompt)
  fi
  # A new directory since the last prompt: a build stopped with Ctrl-C is
  # tried again. Noted first, so that Ctrl-C cannot skip it.
  if [[ ${__pyenv_guix_pwd:-} != "$PWD" ]]; then
    __pyenv_guix_args+=(--entered)
  fi
  __pyenv_guix_pwd=$PWD
  # Gone binary: stay quiet. Failed or interrupted run: apply nothing.
  if [[ -x $__pyenv_guix_bin ]] &&
    __pyenv_guix_snippet=$("$__pyenv_guix_bin" "${__pyenv_guix_args[@]}"); then
    __pyenv_guix_started=1
    eval "$__pyenv_guix_snippet"
  fi
}

__pyenv_guix_hook() {
  # Keep $? for whatever runs after us (the prompt shows it).
  local __pyenv_guix_status=$?
  if ! __pyenv_guix_unchanged; then
    __pyenv_guix_check
  fi
  # Under `set -e` a non-zero return would end the shell: $? is kept only
  # without it.
  if [[ $- == *e* ]]; then
    return 0
  fi
  return "$__pyenv_guix_status"
}

# Add the hook once, first, however often this file is sourced.
if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
  __pyenv_guix_found=
  for __pyenv_guix_cmd in "${PROMPT_COMMAND[@]}"; do
    if [[ $__pyenv_guix_cmd == __pyenv_guix_hook ]]; then
      __pyenv_guix_found=1
    fi
  done
  if [[ -z $__pyenv_guix_found ]]; then
    PROMPT_COMMAND=(__pyenv_guix_hook "${PROMPT_COMMAND[@]}")
  fi
  unset __pyenv_guix_found __pyenv_guix_cmd
else
  # In this branch PROMPT_COMMAND is a plain string, not the array above.
  # shellcheck disable=SC2128,SC2178
  case ";${PROMPT_COMMAND:-};" in
    *";__pyenv_guix_hook;"*) ;;
    *) PROMPT_COMMAND="__pyenv_guix_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
  esac
fi
