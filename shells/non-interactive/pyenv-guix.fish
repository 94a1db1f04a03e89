# pyenv-guix for non-interactive fish (`fish -c`, scripts, coding agents):
# the environment of the project the command starts in. Set up once:
#   pyenv-guix hook fish --non-interactive > ~/.config/fish/conf.d/pyenv-guix-scripts.fish
#
# fish reads conf.d once, before the command (interactive shells too: they
# have the prompt hook, and this returns at once). Outside a project it
# starts no process; it never writes to stdout; it waits for a build as
# long as PYENV_GUIX_WAIT allows.

# fish reads this once; a shell the binary starts finds the mark set for
# that call alone.
if not status is-interactive; and not set -q __pyenv_guix_ni_done
    # A manifest at or above $PWD, or a project's variables inherited to
    # undo: only then is the binary asked. Builtins only.
    set -l __pyenv_guix_ni_dir $PWD
    while test -n "$__pyenv_guix_ni_dir"; and not test -f "$__pyenv_guix_ni_dir/.pyguix.toml"
        # One string, newlines and all (a bare substitution splits on them).
        set __pyenv_guix_ni_dir (string replace -r '/[^/]*$' '' -- $__pyenv_guix_ni_dir | string collect)
    end
    if test -f "$__pyenv_guix_ni_dir/.pyguix.toml"; or set -q PYENV_GUIX_STATE
        if test -x @PYENV_GUIX@
            # The binary may be a shell script (Guix wraps programs in bash
            # scripts), and it may run others: they find the mark and skip this.
            set -l __pyenv_guix_ni_snippet (__pyenv_guix_ni_done=1 @PYENV_GUIX@ export fish --non-interactive </dev/null | string collect)
            set -l __pyenv_guix_ni_status $pipestatus[1]
            if test $__pyenv_guix_ni_status -eq 0
                eval $__pyenv_guix_ni_snippet
            else if test $__pyenv_guix_ni_status -eq 130
                # Ctrl-C while a build was waited for: the command stops, as
                # Ctrl-C stops it. fish only cancels what runs on SIGINT, and
                # `exit` here ends this file alone: the process becomes one
                # that Ctrl-C stops.
                exec /bin/sh -c 'kill -INT $$'
            end
        end
    end
end
