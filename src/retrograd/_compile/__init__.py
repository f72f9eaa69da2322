"""retrograd.compile's machinery, one concern per file: guards.py (when a graph may stand for a
call), capture.py (recording a call's ops through Function.apply's hook), graph_break.py (what
ends a capture, Unsupported), replay.py (the flat forward and backward under one graph node),
compiled.py (the compiled callable: cache, recompiles), resume.py (a function split at its graph breaks, so
capture resumes after them). The API is retrograd/compiler.py."""
