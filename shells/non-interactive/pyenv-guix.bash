# pyenv-guix for non-interactive bash (`bash -c`, scripts, coding agents):
# the environment of the project the command starts in. Set up once:
#   pyenv-guix hook bash --non-interactive > ~/.config/pyenv-guix/bash_env
#   export BASH_ENV=~/.config/pyenv-guix/bash_env   (in ~/.profile, or the agent's environment)
#
# bash reads it once, before the command. Outside a project it starts no
# process; it never writes to stdout (the command's output stays the
# command's); it waits for a build as long as PYENV_GUIX_WAIT allows.

# The shell reads this once; a shell the binary starts finds the mark
# set for that call alone (never exported beyond it, even under allexport).
if [[ $- != *i* && -z ${__pyenv_guix_ni_done:-} ]]; then
  # A manifest at or above $PWD, or a project's variables inherited to
  # undo: only then is the binary asked. Builtins only.
  __pyenv_guix_ni_dir=$PWD
  while [[ -n $__pyenv_guix_ni_dir && ! -f $__pyenv_guix_ni_dir/.pyguix.toml ]]; do
    __pyenv_guix_ni_dir=${__pyenv_guix_ni_dir%/*}
  done
  # The binary may be a shell script (Guix wraps programs in bash
  # scripts), and it may run others: they find the mark and skip this.
  if [[ -f $__pyenv_guix_ni_dir/.pyguix.toml || -n ${PYENV_GUIX_STATE:-} ]] &&
    [[ -x @PYENV_GUIX@ ]]; then
    if __pyenv_guix_ni_snippet=$(__pyenv_guix_ni_done=1 @PYENV_GUIX@ export bash --non-interactive </dev/null); then
      # Under `set -k` (SHELLOPTS passes it down) `export NAME=VALUE` would
      # print the whole environment: the snippet is read without it.
      if [[ $- == *k* ]]; then
        set +k
        eval "$__pyenv_guix_ni_snippet"
        set -k
      else
        eval "$__pyenv_guix_ni_snippet"
      fi
    elif [[ $? == 130 ]]; then
      # Ctrl-C while a build was waited for: the command stops, as Ctrl-C
      # stops it, whether or not bash took the signal as its own.
      trap - INT
      kill -INT $$
    fi
  fi
  unset __pyenv_guix_ni_dir __pyenv_guix_ni_snippet
fi
