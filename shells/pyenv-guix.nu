# pyenv-guix hook for nushell. Put in config.nu (nushell reads its autoload
# directory after config.nu, so the hook written here runs from this start on):
#   mkdir $nu.user-autoload-dirs.0; pyenv-guix hook nu | save -f ($nu.user-autoload-dirs.0 | path join pyenv-guix.nu)
#
# nushell cannot evaluate code it is given: `pyenv-guix export nu` answers
# with data, one JSON object per line, `{"NAME":"value"}` to set, null to
# unset, and the hook's own `__pyenv_guix_…` lists; the hook applies it.

# The hook's state is a record: nushell gives its children only the
# variables whose values are strings, so none of this leaves the shell.
# Sourced again, it keeps what it knew.
$env.__pyenv_guix = ($env.__pyenv_guix? | default {} | upsert bin @PYENV_GUIX@)
# For `pyenv-guix doctor`, a child of this shell: which shell set the hook
# up, and which binary it calls. Set once here; a prompt sets nothing.
$env.PYENV_GUIX_HOOK = $"nu:($nu.pid):($env.__pyenv_guix.bin)"

# Nothing can have changed since the last check: the same directory, and no
# watched path (the binary said which) newer than the check's mark. `ls`
# and `path` are nushell's own commands: most prompts start no process.
def __pyenv_guix_unchanged []: nothing -> bool {
    let st = $env.__pyenv_guix
    let mark = $st.mark?.0?
    if $mark == null or $st.checked?.0? != $env.PWD or ($mark | path type) != file {
        return false
    }
    let since = (ls -D $mark).0.modified
    # A watched path that is a symlink counts by what it points at.
    let there = ($st.watch? | default [] | where {|p| $p | path exists } | path expand)
    $there == [] or not (ls -D ...$there | any {|f| $f.modified > $since })
}

# Set and unset what the binary answered. PATH comes as a list (nushell's
# own form of it); a variable the user converts (ENV_CONVERSIONS) is given
# in its converted form, as nushell does with what it inherits.
def --env __pyenv_guix_apply [answer: string] {
    let got = ($answer | from json --objects | into record)
    let convert = ($env.ENV_CONVERSIONS? | default {})
    mut set = {}
    mut unset = []
    mut own = {}
    for name in ($got | columns) {
        let value = ($got | get $name)
        if ($name | str starts-with __pyenv_guix_) {
            $own = ($own | insert ($name | str substring 13..) $value)
        } else if $value == null {
            $unset = ($unset | append $name)
        } else if ($value | describe) == string and ($convert | get -o $name | get -o from_string) != null {
            $set = ($set | insert $name (do ($convert | get $name | get from_string) $value))
        } else {
            $set = ($set | insert $name $value)
        }
    }
    load-env $set
    if $unset != [] {
        hide-env --ignore-errors ...$unset
    }
    $env.__pyenv_guix = ($env.__pyenv_guix | merge $own)
}

def --env __pyenv_guix_hook [] {
    if (__pyenv_guix_unchanged) {
        return
    }
    # Keep the last command's status for the prompt that shows it.
    let status = $env.LAST_EXIT_CODE? | default 0
    let st = $env.__pyenv_guix
    mut args = ["export" "nu" "--shell-pid" ($nu.pid | into string)]
    # A new shell may have inherited stale variables: its first prompt re-checks.
    if not ($st.started? | default false) {
        $args = ($args | append "--first-prompt")
    }
    # A new directory since the last prompt: a build stopped with Ctrl-C is
    # tried again. Noted first, so that Ctrl-C cannot skip it.
    if $st.pwd? != $env.PWD {
        $args = ($args | append "--entered")
    }
    $env.__pyenv_guix.pwd = $env.PWD
    # Gone binary: stay quiet. Failed, refused or interrupted run: apply nothing.
    if ($st.bin | path type) == file {
        let args = $args
        # Its output assigned: a status other than 0 is then an error, caught.
        let run = try {
            let answer = (^$st.bin ...$args)
            {answer: ($answer | default "")}
        } catch {
            null
        }
        if $run != null {
            $env.__pyenv_guix.started = true
            __pyenv_guix_apply $run.answer
        }
    }
    $env.LAST_EXIT_CODE = $status
}

# At each prompt, and on a change of directory (which nushell notes at the
# same point, before the next prompt: the second call finds nothing changed).
# Sourced again, the hooks are replaced, not added twice.
$env.config.hooks.pre_prompt = (
    $env.config.hooks.pre_prompt? | default []
    | where {|h| ($h | describe) != closure or not (view source $h | str contains __pyenv_guix_hook) }
    | append {|| __pyenv_guix_hook }
)
$env.config.hooks.env_change.PWD = (
    $env.config.hooks.env_change.PWD? | default []
    | where {|h| ($h | describe) != closure or not (view source $h | str contains __pyenv_guix_hook) }
    | append {|before, after| __pyenv_guix_hook }
)
