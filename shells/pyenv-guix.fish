# pyenv-guix hook for fish. Put in ~/.config/fish/config.fish:  pyenv-guix hook fish | source

set -g __pyenv_guix_bin @PYENV_GUIX@
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
set -gx PYENV_GUIX_HOOK "fish:$fish_pid:$__pyenv_guix_bin"

# Nothing can have changed since the last check: the same directory, and no
# watched path (the binary said which) newer than the check's mark. Builtins
# only: most prompts start no process at all.
function __pyenv_guix_unchanged
    set -q __pyenv_guix_mark[1]; or return 1
    test -f "$__pyenv_guix_mark[1]"; or return 1
    test "$PWD" = "$__pyenv_guix_checked[1]"; or return 1
    for __pyenv_guix_path in $__pyenv_guix_watch
        if test "$__pyenv_guix_path" -nt "$__pyenv_guix_mark[1]"
            return 1
        end
    end
    return 0
end

function __pyenv_guix_hook --on-event fish_prompt
    # Keep $status for whatever runs after us (the prompt shows it).
    set -l __pyenv_guix_status $status
    if __pyenv_guix_unchanged
        return $__pyenv_guix_status
    end
    set -l __pyenv_guix_args export fish --shell-pid $fish_pid
    # A new shell may have inherited stale variables: its first prompt re-checks.
    set -q __pyenv_guix_started; or set -a __pyenv_guix_args --first-prompt
    # A new directory since the last prompt: a build stopped with Ctrl-C is
    # tried again. Noted first, so that Ctrl-C cannot skip it.
    if test "$__pyenv_guix_pwd" != "$PWD"
        set -a __pyenv_guix_args --entered
    end
    set -g __pyenv_guix_pwd $PWD
    # Gone binary: stay quiet. Failed or interrupted run: apply nothing.
    if test -x "$__pyenv_guix_bin"
        set -l __pyenv_guix_snippet ("$__pyenv_guix_bin" $__pyenv_guix_args | string collect)
        if test $pipestatus[1] -eq 0
            set -g __pyenv_guix_started 1
            eval $__pyenv_guix_snippet
        end
    end
    return $__pyenv_guix_status
end

function __pyenv_guix_on_pwd --on-variable PWD
    __pyenv_guix_hook
end
