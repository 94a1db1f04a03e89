"""A tiny package that the project puts on PYTHONPATH."""

import os


def greeting():
    return os.environ.get("HELLO_GREETING", "(HELLO_GREETING is not set)")
