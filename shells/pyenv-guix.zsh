# pyenv-guix hook for zsh. Put in ~/.zshrc:  eval "$(pyenv-guix hook zsh)"

typeset -g __pyenv_guix_bin=@PYENV_GUIX@
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
export PYENV_GUIX_HOOK="zsh:$$:$__pyenv_guix_bin"

# Nothing can have changed since the last check: the same directory, and no
# watched path (the binary said which) newer than the check's mark. Builtins
# only: most prompts start no process at all.
__pyenv_guix_unchanged() {
  [[ -n ${__pyenv_guix_mark:-} && -f $__pyenv_guix_mark &&
    $PWD == "${__pyenv_guix_checked:-}" ]] || return 1
  local __pyenv_guix_path
  for __pyenv_guix_path in "${(@)__pyenv_guix_watch}"; do
    if [[ $__pyenv_guix_path -nt $__pyenv_guix_mark ]]; then
      return 1
    fi
  done
  return 0
}

__pyenv_guix_check() {
  local __pyenv_guix_snippet
  local -a __pyenv_guix_args
  __pyenv_guix_args=(export zsh --shell-pid $$)
  # A new shell may have inherited stale variables: its first prompt re-checks.
  if (( ! ${+__pyenv_guix_started} )); then
    __pyenv_guix_args+=(--first-prompt)
  fi
  # A new directory since the last prompt: a build stopped with Ctrl-C is
  # tried again. Noted first, so that Ctrl-C cannot skip it.
  if [[ ${__pyenv_guix_pwd:-} != "$PWD" ]]; then
    __pyenv_guix_args+=(--entered)
  fi
  typeset -g __pyenv_guix_pwd=$PWD
  # Gone binary: stay quiet. Failed or interrupted run: apply nothing.
  if [[ -x $__pyenv_guix_bin ]] &&
    __pyenv_guix_snippet=$("$__pyenv_guix_bin" "${__pyenv_guix_args[@]}"); then
    typeset -g __pyenv_guix_started=1
    eval "$__pyenv_guix_snippet"
  fi
}

__pyenv_guix_hook() {
  # Keep $? for whatever runs after us (the prompt shows it).
  local __pyenv_guix_status=$?
  if ! __pyenv_guix_unchanged; then
    __pyenv_guix_check
  fi
  # Under err_exit or err_return a non-zero return would end the shell or
  # the caller: $? is kept only without them.
  if [[ -o err_exit || -o err_return ]]; then
    return 0
  fi
  return $__pyenv_guix_status
}

# add-zsh-hook adds each function once, however often this file is sourced.
autoload -Uz add-zsh-hook
add-zsh-hook precmd __pyenv_guix_hook
add-zsh-hook chpwd __pyenv_guix_hook
