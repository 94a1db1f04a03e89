# pyenv-guix hook for xonsh. Put in ~/.xonshrc:  execx($(pyenv-guix hook xonsh))
# In a script:  execx($(pyenv-guix hook xonsh)); pyenv_guix_load()
#
# Plain Python. The binary prints data, one JSON array a line, which this
# applies itself: nothing it prints is ever run as code.


def __pyenv_guix_setup():
    import json
    import os
    import stat
    import subprocess

    from xonsh.built_ins import XSH
    from xonsh.events import events

    env = XSH.env

    # Python's own reading of bytes: \udcXX (surrogateescape) for a byte
    # that is not UTF-8, given back as that byte when xonsh starts a command.
    def native(text):
        return os.fsdecode(text.encode("utf-8", "surrogateescape"))

    binary = native(@PYENV_GUIX@)
    # The hook's own state lives here, out of the environment: nothing a
    # parent process passes can forge it.
    state = {"started": False, "pwd": None, "lists": {}}

    # To the shell's own stderr, past xonsh's wrapper of sys.stderr, which a
    # command's redirection may have closed when an event fires.
    def say(text):
        os.write(2, ("pyenv-guix: " + text + "\n").encode("utf-8", "surrogateescape"))

    # What xonsh would hand a command for `value` set as `name`: its own
    # variables have types (bool, int, list), and a *PATH or *DIRS one
    # is split at ':' and, with $EXPAND_ENV_VARS, has ~ and $NAME
    # expanded in each entry.
    def as_passed(name, value):
        validate = env.get_validator(name)
        kept = value if validate(value) else env.get_converter(name)(value)
        detype = env.get_detyper(name)
        return None if detype is None else detype(kept)

    # Whether xonsh hands commands exactly `value`. A `$` or `~` in a
    # *PATH or *DIRS value is never carried: what it expands to depends on
    # variables set later (the project's own among them).
    def carried(name, value):
        if name.endswith(("PATH", "DIRS")) and ("$" in value or "~" in value):
            return False
        try:
            return as_passed(name, value) == value
        except Exception:  # a typed variable's converter refused it
            return False

    # Reads what the binary printed: the changes, the hook's own lists, and
    # whether a change was refused (said here), which leaves the
    # environment as it was. None if it cannot be read at all.
    def read(text):
        changes, lists = [], {}
        for line in text.split("\n"):
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError as e:
                say("cannot read its answer ({}); nothing was changed".format(e))
                return None
            if item[0] == "set":
                changes.append((native(item[1]), native(item[2])))
            elif item[0] == "unset":
                changes.append((native(item[1]), None))
            elif item[0] == "list":
                lists[item[1]] = [native(i) for i in item[2]]
        for name, value in changes:
            if value is not None and not carried(name, value):
                say(
                    "xonsh cannot carry `{}`: it would pass its value to commands "
                    "changed (a variable xonsh types, or a *PATH/*DIRS one whose "
                    "~ or $ it expands); nothing of the project was changed".format(name)
                )
                return [], lists, True
        return changes, lists, False

    def apply(changes):
        for name, value in changes:
            if value is None:
                if name in env:
                    del env[name]
            else:
                env[name] = value

    # Runs the binary with xonsh's environment as a command would get it;
    # its output, or None when it failed, was stopped or is gone.
    def ask(args):
        if not os.access(binary, os.X_OK):
            return None
        try:
            child = subprocess.Popen(
                [binary] + args, stdout=subprocess.PIPE, env=env.detype()
            )
        except OSError:
            return None
        try:
            out, _ = child.communicate()
        except KeyboardInterrupt:
            # It saw the Ctrl-C too, and records that its build was stopped.
            child.wait()
            return None
        if child.returncode != 0:
            return None
        return out.decode("utf-8", "surrogateescape")

    # Nothing can have changed since the last check: the same directory,
    # and no watched path (the binary said which) newer than the check's
    # mark. os.stat in this process: most prompts start no process at all.
    def unchanged():
        lists = state["lists"]
        mark = lists.get("__pyenv_guix_mark")
        checked = lists.get("__pyenv_guix_checked")
        if not mark or not checked or env.get("PWD") != checked[0]:
            return False
        try:
            marked = os.stat(mark[0])
        except OSError:
            return False
        if not stat.S_ISREG(marked.st_mode):
            return False
        for path in lists.get("__pyenv_guix_watch", []):
            try:
                if os.stat(path).st_mtime_ns > marked.st_mtime_ns:
                    return False
            except OSError:
                pass
        return True

    def check():
        if unchanged():
            return
        args = ["export", "xonsh", "--shell-pid", str(os.getpid())]
        # A new shell may have inherited stale variables: its first check re-checks.
        if not state["started"]:
            args.append("--first-prompt")
        # A new directory since the last check: a build stopped with Ctrl-C
        # is tried again. Noted first, so that Ctrl-C cannot skip it.
        pwd = env.get("PWD")
        if state["pwd"] != pwd:
            args.append("--entered")
        state["pwd"] = pwd
        out = ask(args)
        if out is None:
            return
        answer = read(out)
        if answer is None:
            return
        changes, lists, refused = answer
        state["started"] = True
        if refused:
            # The project here is not loaded; the one left is still left.
            out = ask(args + ["--unload"])
            answer = None if out is None else read(out)
            if answer is None or answer[2]:
                return
            changes, lists, _ = answer
        # A refused answer still leaves its mark: the next prompt asks again
        # only when something changed, instead of repeating the refusal.
        apply(changes)
        state["lists"].update(lists)

    # Prompts and commands: the prompt shows the project's name; a command
    # typed ahead (xonsh's readline shell runs those without a prompt
    # event) still runs in its project's environment.
    def _pyenv_guix_hook(**kwargs):
        try:
            check()
        except Exception as e:  # the shell must go on whatever happens here
            say("the hook failed: {!r}".format(e))

    # The script idiom: the whole environment, waiting for its build. What
    # went wrong has been said, and stops the script; it returns nothing,
    # which xonsh would print.
    def pyenv_guix_load():
        out = ask(["export", "xonsh"])
        answer = None if out is None else read(out)
        if answer is None or answer[2]:
            raise SystemExit("pyenv-guix: the project's environment was not loaded")
        apply(answer[0])

    # For `pyenv-guix doctor`, a child of this shell: which shell set the
    # hook up, and which binary it calls. Set once here; a check sets nothing.
    env["PYENV_GUIX_HOOK"] = "xonsh:{}:{}".format(os.getpid(), binary)
    XSH.ctx["pyenv_guix_load"] = pyenv_guix_load
    # Once, however often this file is run: an earlier run's handlers go.
    hooks = (events.on_pre_prompt, events.on_precommand, events.on_chdir)
    for event in hooks:
        for handler in list(event):
            if getattr(handler, "__name__", "") == "_pyenv_guix_hook":
                event.discard(handler)
    if env.get("XONSH_INTERACTIVE"):
        for event in hooks:
            event(_pyenv_guix_hook)


__pyenv_guix_setup()
del __pyenv_guix_setup
