"""Run one scenario twice, eagerly and with its functions compiled, and compare what a user could observe.

A scenario is a function ``scenario(compile, rec)``: it builds its module, parameters, optimizer and Python
state, wraps the functions it calls with ``compile`` (the identity for the eager run, ``retrograd.compile``
for the other), calls them, changes things between calls, and hands what it sees to ``rec``: outputs
(values, dtype, shape, ``requires_grad``, whether there is a ``grad_fn``), tensors' state (also ``.grad``
and the version counter), Python values, and the exception type a call raised (``rec.call``). Each record
also holds the global generator's state, so dropout's draws are compared. Both runs start from
``manual_seed(0)``; ``compare`` names the first record where they differ."""

import numpy as np

import retrograd


class Recorder:
    def __init__(self):
        self.records = []

    def __call__(self, obj, label=""):
        """Record ``obj`` (a tensor, a number, or tuples/lists/dicts of them): values, metadata."""
        self.records.append((label, _describe(obj, state=False), _rng()))
        return obj

    def state(self, *tensors, label="state"):
        """Record tensors' values, ``.grad`` and version counters (inputs, parameters, buffers)."""
        self.records.append((label, [_describe(t, state=True) for t in tensors], _rng()))

    def call(self, fn, *args, label="call", **kwargs):
        """Call fn; record its result, or the type of the exception it raised (then return None)."""
        try:
            out = fn(*args, **kwargs)
        except Exception as e:  # (the type is what is compared: torch's exception types)
            self.records.append((label, ("raised", type(e).__name__), _rng()))
            return None
        return self(out, label)


def _rng():
    return retrograd.get_rng_state().numpy().tobytes()


def _describe(obj, state):
    if isinstance(obj, retrograd.Tensor):
        d = {"dtype": str(obj.dtype), "shape": tuple(obj.shape), "requires_grad": obj.requires_grad,
             "grad_fn": obj.grad_fn is not None, "value": obj.detach().numpy().copy()}
        if state:
            d["version"] = obj._version
            g = obj._grad  # (not .grad: it warns for a non-leaf)
            d["grad"] = None if g is None else g.numpy().copy()
        return d
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, [_describe(o, state) for o in obj])
    if isinstance(obj, dict):
        return ("dict", [(k, _describe(v, state)) for k, v in obj.items()])
    if isinstance(obj, (bool, int, float, str, type(None))):
        return (type(obj).__name__, obj)
    return ("object", type(obj).__name__)


def run(scenario, compiled):
    """The records of one run of ``scenario``, eager or compiled."""
    retrograd.compiler.reset()
    retrograd.manual_seed(0)
    rec = Recorder()
    compile_ = retrograd.compile if compiled else (lambda fn=None, **kwargs: fn if fn is not None else (lambda f: f))
    try:
        scenario(compile_, rec)
    except Exception as e:  # (an exception outside rec.call: compared as a record too)
        rec.records.append(("scenario", ("raised", type(e).__name__, str(e)[:200]), _rng()))
    finally:
        retrograd.compiler.reset()
    return rec.records


def differences(scenario, rtol=1e-7, atol=1e-10):
    """The first difference between the eager and the compiled run of ``scenario`` (a string), or None."""
    eager, compiled = run(scenario, False), run(scenario, True)
    if eager and eager[-1][0] == "scenario":  # (the scenario itself is broken: nothing was compared after that)
        return f"the eager run of the scenario raised {eager[-1][1][1:]}"
    for i, (a, b) in enumerate(zip(eager, compiled)):
        where = f"record {i} ({a[0]})"
        why = _diff(a[1], b[1], rtol, atol)
        if why is not None:
            return f"{where}: {why}"
        if a[2] != b[2]:
            return f"{where}: the random number generator's state differs"
    if len(eager) != len(compiled):
        return f"eager made {len(eager)} records, compiled {len(compiled)}: {(eager + compiled)[min(len(eager), len(compiled))][:2]}"
    return None


def _diff(a, b, rtol, atol, path=""):
    if type(a) is not type(b):
        return f"{path}: {a!r:.200} vs {b!r:.200}"
    if isinstance(a, dict):
        for k in a:
            if k in ("value", "grad"):
                x, y = a[k], b[k]
                if (x is None) != (y is None):
                    return f"{path}.{k}: {x!r:.100} vs {y!r:.100}"
                if x is not None and not _close(x, y, rtol, atol):
                    return f"{path}.{k}: eager {x!r:.300}, compiled {y!r:.300}"
            elif a[k] != b[k]:
                return f"{path}.{k}: eager {a[k]!r}, compiled {b[k]!r}"
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            why = _diff(x, y, rtol, atol, f"{path}[{i}]")
            if why is not None:
                return why
        return None
    if isinstance(a, tuple):
        if len(a) != len(b) or a[0] != b[0]:
            return f"{path}: eager {a!r:.200}, compiled {b!r:.200}"
        return _diff(list(a[1:]), list(b[1:]), rtol, atol, path)
    if a != b and not (isinstance(a, float) and isinstance(b, float) and np.isclose(a, b, rtol, atol, equal_nan=True)):
        return f"{path}: eager {a!r}, compiled {b!r}"
    return None


def _close(x, y, rtol, atol):
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind in "fc":
        if x.dtype.itemsize < 8:
            rtol, atol = max(rtol, 1e-5), max(atol, 1e-6)
        return bool(np.allclose(x, y, rtol, atol, equal_nan=True))
    return bool(np.array_equal(x, y))
