# pyenv-guix for non-interactive zsh (`zsh -c`, scripts, coding agents):
# the environment of the project the command starts in. Set up once:
#   pyenv-guix hook zsh --non-interactive > ~/.config/pyenv-guix/zshenv
#   echo 'source ~/.config/pyenv-guix/zshenv' >> "${ZDOTDIR:-$HOME}/.zshenv"
#
# zsh reads .zshenv once, before the command (interactive shells too: they
# have the prompt hook, and this returns at once). Outside a project it
# starts no process; it never writes to stdout; it waits for a build as
# long as PYENV_GUIX_WAIT allows.

# The shell reads this once; a shell the binary starts finds the mark
# set for that call alone (never exported beyond it, even under allexport).
if [[ ! -o interactive && -z ${__pyenv_guix_ni_done:-} ]]; then
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
    if __pyenv_guix_ni_snippet=$(__pyenv_guix_ni_done=1 @PYENV_GUIX@ export zsh --non-interactive </dev/null); then
      eval "$__pyenv_guix_ni_snippet"
    elif (( $? == 130 )); then
      # Ctrl-C while a build was waited for: the command stops, as Ctrl-C
      # stops it, whether or not zsh took the signal as its own.
      trap - INT
      kill -INT $$
    fi
  fi
  unset __pyenv_guix_ni_dir __pyenv_guix_ni_snippet
fi
