# pyenv-guix hook for elvish. Put in ~/.config/elvish/rc.elv:  eval (pyenv-guix hook elvish | slurp)
#
# Elvish (0.19) has no builtin that reads a file's time. Whether a watched
# path changed since the last check is asked of `test`, one small process
# at a prompt; pyenv-guix itself runs only when something did, or on cd.

use path
use str

var bin = @PYENV_GUIX@
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
set-env PYENV_GUIX_HOOK 'elvish:'$pid':'$bin

# What the last check left: the paths it watches, its mark, the directory.
var watch = []
var mark = []
var checked = []
var last-pwd = ''
var started = $false
# `test`, found once on the PATH the shell started with: a project's
# directories come first on PATH later.
var test = ''
try { set test = (search-external test) } catch { }

# Nothing can have changed since the last check: the same directory, and no
# watched path (the binary said which) newer than the check's mark.
fn unchanged {
  if (or (==s $test '') (== (count $mark) 0) (== (count $checked) 0)) {
    put $false
  } elif (or (!=s $checked[0] $pwd) (not (path:is-regular $mark[0]))) {
    put $false
  } else {
    var args = []
    for p $watch {
      if (!= (count $args) 0) {
        set args = [$@args -o]
      }
      set args = [$@args $p -nt $mark[0]]
    }
    if (== (count $args) 0) {
      put $true
    } else {
      # test exits 0 if one is newer, 1 if none is, 2 on an error.
      try {
        $test $@args
        put $false
      } catch e {
        put (and (has-key $e[reason] exit-status) (== $e[reason][exit-status] 1))
      }
    }
  }
}

fn check {
  var args = [export elvish --shell-pid $pid]
  # A new shell may have inherited stale variables: its first prompt re-checks.
  if (not $started) {
    set args = [$@args --first-prompt]
  }
  # A new directory since the last prompt: a build stopped with Ctrl-C is
  # tried again. Noted first, so that Ctrl-C cannot skip it.
  if (!=s $last-pwd $pwd) {
    set args = [$@args --entered]
  }
  set last-pwd = $pwd
  # Gone binary: stay quiet. Failed or interrupted run: apply nothing.
  if (path:is-regular $bin) {
    var snippet = $nil
    try {
      set snippet = ($bin $@args | slurp)
    } catch { }
    if (not-eq $snippet $nil) {
      set started = $true
      # In a namespace of its own: the snippet's lists are read back from it.
      eval $snippet &ns=(ns [&]) &on-end={|ns|
        if (has-key $ns __pyenv_guix_watch) {
          set watch = $ns[__pyenv_guix_watch]
        }
        if (has-key $ns __pyenv_guix_mark) {
          set mark = $ns[__pyenv_guix_mark]
        }
        if (has-key $ns __pyenv_guix_checked) {
          set checked = $ns[__pyenv_guix_checked]
        }
      }
    }
  }
}

fn __pyenv_guix_hook {
  if (not (unchanged)) {
    check
  }
}

# Added once, first, however often this file is evaluated: the hook an
# earlier evaluation added (its closure names __pyenv_guix_hook) is replaced.
fn others {|hooks|
  each {|h|
    var ours = $false
    try {
      set ours = (str:contains $h[def] __pyenv_guix_hook)
    } catch { }
    if (not $ours) {
      put $h
    }
  } $hooks
}
set edit:before-readline = [{|| __pyenv_guix_hook } (others $edit:before-readline)]
set after-chdir = [{|dir| __pyenv_guix_hook } (others $after-chdir)]
