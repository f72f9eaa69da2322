"""Run a program of this folder as a script: ``python tests/programs/regression.py retrograd``.

Each program is a function ``main(torch)`` written in plain torch idiom; the library it runs
under is the module passed in, so the same text runs under ``torch`` and ``retrograd``.
"""

import importlib
import sys


def script(main):
    name = sys.argv[1] if len(sys.argv) > 1 else "retrograd"
    main(importlib.import_module(name))
