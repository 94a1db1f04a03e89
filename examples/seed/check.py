"""Run inside the project: where each part of the environment comes from."""
import os
import sys

import prov
import rapidjson

print("python   ", sys.executable)
print("rapidjson", os.path.dirname(rapidjson.__file__), "(from the Guix profile)")
print("prov     ", os.path.dirname(prov.__file__), "(from the pip prefix)")
print(rapidjson.dumps({"foo": 100, "bar": "baz"}))
