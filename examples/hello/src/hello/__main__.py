import os
import sys

import hello

print(hello.greeting())
print("hello imported from", os.path.dirname(hello.__file__))
print("python", sys.version.split()[0], "at", sys.executable)
