"""Run inside the project: where each part of the environment comes from."""
import os
import sys

import prov
import rapidjson


def origin(module):
    prefix = os.environ.get("PYENV_GUIX_PREFIX")
    where = os.path.dirname(module.__file__)
    if prefix and where.startswith(os.path.realpath(prefix).rsplit(".g", 1)[0]):
        return where, "(from the pip prefix)"
    return where, "(from the Guix profile)"


print("python   ", sys.executable)
print("rapidjson", *origin(rapidjson))
print("prov     ", *origin(prov))
print(rapidjson.dumps({"foo": 100, "bar": "baz"}))
