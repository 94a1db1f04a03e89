# pyenv-guix hook for tcsh. Put in ~/.tcshrc:
#   pyenv-guix hook tcsh >! ~/.pyenv-guix.tcsh; source ~/.pyenv-guix.tcsh
#
# Sourced from a file, never eval'd: tcsh's `eval "`...`"` joins lines with
# spaces (no if/endif or foreach then, and no value holding a newline) and
# garbles some byte sequences. A check's answer goes through a file too, and
# arrives byte for byte: `source` carries every byte but NUL.

set __pyenv_guix_bin = @PYENV_GUIX@
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
setenv PYENV_GUIX_HOOK "tcsh:$$":$__pyenv_guix_bin:q

# A private folder of this shell's, made once (the only processes the hook
# starts outside a check, here at start): the prompt's code, and the file a
# check's answer is written to, then sourced, then emptied (it holds the
# project's values). tcsh runs nothing at exit: the folder stays behind.
if ( ! $?__pyenv_guix_dir ) then
  set __pyenv_guix_dir = "`\mktemp -d -t pyenv-guix-tcsh.XXXXXXXXXX`"
endif
if ( ! $?__pyenv_guix_pwd ) set __pyenv_guix_pwd = ""

# The prompt's code is in files of its own because an alias cannot hold it:
# at an interactive prompt, tcsh looks for an alias's endif or end in what
# the user types next. Their lines are read at every prompt: no comments
# there, they are here. (An end line is the quoted word as written: tcsh
# compares it so.)
#
# prompt.tcsh: nothing can have changed since the last check: the same
# directory, and no watched path (the binary said which) newer than the
# check's mark. Builtins only: most prompts start no process. tcsh's -M
# gives whole seconds; the mark is two seconds behind its check, so what
# the check did not see has a later second than the mark's, and "later" is
# exact. The path is quoted: -M would take it as a pattern.
\cat >! "$__pyenv_guix_dir/prompt.tcsh" << 'PYENV_GUIX_END'
set __pyenv_guix_same = 0
if ( $?__pyenv_guix_mark && $?__pyenv_guix_checked ) then
  if ( -f "$__pyenv_guix_mark" && "$cwd" == "$__pyenv_guix_checked" ) then
    @ __pyenv_guix_since = -M "$__pyenv_guix_mark"
    set __pyenv_guix_same = 1
    foreach __pyenv_guix_path ( $__pyenv_guix_watch:q )
      if ( -M "$__pyenv_guix_path" > $__pyenv_guix_since ) set __pyenv_guix_same = 0
    end
  endif
endif
if ( $__pyenv_guix_same == 0 ) source "$__pyenv_guix_dir/check.tcsh"
'PYENV_GUIX_END'

# check.tcsh: the check. A gone binary stays quiet; a failed or interrupted
# run applies nothing. A new shell may have inherited stale variables: its
# first prompt re-checks. A new directory since the last check: a build
# stopped with Ctrl-C is tried again (noted first, so that Ctrl-C cannot
# skip it).
\cat >! "$__pyenv_guix_dir/check.tcsh" << 'PYENV_GUIX_END'
if ( -x "$__pyenv_guix_bin" ) then
  set __pyenv_guix_args = ( export tcsh --shell-pid $$ )
  if ( $?__pyenv_guix_started == 0 ) set __pyenv_guix_args = ( $__pyenv_guix_args --first-prompt )
  if ( "$__pyenv_guix_pwd" != "$cwd" ) set __pyenv_guix_args = ( $__pyenv_guix_args --entered )
  set __pyenv_guix_pwd = "$cwd"
  "$__pyenv_guix_bin" $__pyenv_guix_args >! "$__pyenv_guix_dir/answer"
  if ( $status == 0 ) then
    set __pyenv_guix_started = 1
    source "$__pyenv_guix_dir/answer"
  endif
  echo -n >! "$__pyenv_guix_dir/answer"
endif
'PYENV_GUIX_END'

# $status is kept for the prompt (%?). A folder removed under a long-lived
# shell (a cleaner of /tmp) leaves the hook off, not an error at each prompt.
alias __pyenv_guix_hook 'set __pyenv_guix_status = $status; if ( -r "$__pyenv_guix_dir/prompt.tcsh" ) source "$__pyenv_guix_dir/prompt.tcsh"; set status = $__pyenv_guix_status'

# Run first at each prompt and after each cd, however often this file is
# sourced, before whatever the user's precmd and cwdcmd already do.
if ( "`alias precmd`" !~ *__pyenv_guix_hook* ) alias precmd "__pyenv_guix_hook; `alias precmd`"
if ( "`alias cwdcmd`" !~ *__pyenv_guix_hook* ) alias cwdcmd "__pyenv_guix_hook; `alias cwdcmd`"
