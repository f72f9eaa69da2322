"""Module paths as torch's: after a bare ``import retrograd as torch``, every submodule that a bare
``import torch`` makes reachable (``torch.utils.checkpoint``, ``torch.optim.lr_scheduler``, lazily
``torch.onnx`` ...) is an attribute too, where retrograd has it; and every layer class retrograd
implements is importable from torch's file for it (``torch.nn.modules.activation.MultiheadAttention``,
``torch.nn.modules.linear.NonDynamicallyQuantizableLinear`` ...).

What torch reaches is recorded in tests/reference/torch_module_paths.json, so the bare install checks
the same paths; where torch is installed a test checks the record is still torch's.
``python -m tests.test_module_paths --record`` writes it again.
"""

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys

import pytest

import retrograd
from tests.helpers import requires_torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDED = os.path.join(ROOT, "tests", "reference", "torch_module_paths.json")

# Run in a fresh process: the public submodules a bare `import torch` reaches by attribute (first the
# ones already imported, then those a package's PEP 562 __getattr__ imports on access), and the
# public classes defined in each file of torch.nn.modules.
_TORCH_LAYOUT = r"""
import importlib, inspect, json, pkgutil, types, warnings
warnings.simplefilter("ignore")
import torch

def walk(start, lazy):
    found, stack = [], list(start)
    while stack:
        path, mod = stack.pop()
        names = set(dir(mod))
        if lazy and "__getattr__" in vars(mod) and hasattr(mod, "__path__"):
            names |= {m.name for m in pkgutil.iter_modules(mod.__path__)} - names
        for name in sorted(n for n in names if not n.startswith("_")):
            try:
                value = getattr(mod, name)
            except Exception:
                continue
            child = f"{path}.{name}"
            if isinstance(value, types.ModuleType) and value.__name__ == child and child not in seen:
                seen.add(child)
                found.append((child, value))
                stack.append((child, value))
    return found

seen = set()
eager = walk([("torch", torch)], lazy=False)
lazy = walk([("torch", torch)] + eager, lazy=True)
nn_modules = {}
for info in pkgutil.iter_modules(torch.nn.modules.__path__):
    if not info.name.startswith("_"):
        mod = importlib.import_module(f"torch.nn.modules.{info.name}")
        nn_modules[info.name] = sorted(n for n, v in vars(mod).items() if inspect.isclass(v)
                                       and v.__module__ == mod.__name__ and not n.startswith("_"))
print(json.dumps({"torch": torch.__version__, "submodules": sorted(p for p, _ in eager + lazy), "nn_modules": nn_modules},
                 indent=1, sort_keys=True))
"""

# Run in a fresh process after a bare `import retrograd`: which of torch's paths (as retrograd.*, on
# stdin) are not reachable by attribute although retrograd has the module.
_RETROGRAD_PROBE = r"""
import importlib, json, sys, types
import retrograd

def reach(path):
    obj = retrograd
    for part in path.split(".")[1:]:
        obj = getattr(obj, part, None)
    return isinstance(obj, types.ModuleType) and obj.__name__ == path

paths = json.load(sys.stdin)
unreached = [p for p in paths if not reach(p)]  # all attribute walks first, before any import below
missing = []
for path in unreached:
    try:
        importlib.import_module(path)
    except ModuleNotFoundError as e:
        if not path.startswith(e.name or "?"):
            missing.append(f"{path} (fails to import: {e!r})")
        continue
    missing.append(path)
print(json.dumps(missing))
"""


def _run(code, stdin=""):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def torch_layout():
    """What a bare ``import torch`` reaches (see _TORCH_LAYOUT), from a fresh process."""
    return _run(_TORCH_LAYOUT)


def _recorded():
    with open(RECORDED, encoding="utf-8") as f:
        return json.load(f)


RECORD = _recorded() if __name__ != "__main__" else {"submodules": [], "nn_modules": {}}  # --record writes it


@requires_torch
def test_the_record_is_torchs_layout():
    assert torch_layout() == RECORD, "torch's module layout changed: run `python -m tests.test_module_paths --record`"


def test_torchs_submodules_are_reachable_after_a_bare_import():
    paths = ["retrograd" + p[len("torch"):] for p in RECORD["submodules"]]
    missing = _run(_RETROGRAD_PROBE, json.dumps(paths))
    assert not missing, ("after a bare `import torch` these are attributes, but after `import retrograd` "
                         "they need an import of their own (import them in their package's __init__.py, or "
                         f"add them to retrograd._lazy.SUBMODULES where importing them is slow): {missing}")


def test_a_submodule_is_imported_on_first_access():
    code = ("import sys, retrograd; before = 'retrograd.utils.checkpoint' in sys.modules; "
            "f = retrograd.utils.checkpoint.checkpoint; import json; print(json.dumps([before, f.__name__]))")
    assert _run(code) == [False, "checkpoint"]  # lazily, so `import retrograd` stays fast


def test_a_missing_submodule_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'retrograd' has no attribute 'no_such_module'"):
        retrograd.no_such_module  # noqa: B018
    assert not hasattr(retrograd.utils, "tensorboard_")


def test_the_lazy_submodule_names_are_torchs():
    from retrograd._lazy import SUBMODULES

    names = [f"torch{package[len('retrograd'):]}.{name}" for package, names in SUBMODULES.items() for name in names]
    assert not [n for n in names if n not in RECORD["submodules"]], "list only what a bare `import torch` reaches"


def _implemented_classes():
    """{name: class} of the public classes in retrograd.nn and in each file of retrograd.nn.modules."""
    found = {n: v for n, v in vars(retrograd.nn).items() if inspect.isclass(v) and not n.startswith("_")}
    for info in pkgutil.iter_modules(retrograd.nn.modules.__path__):
        mod = importlib.import_module(f"retrograd.nn.modules.{info.name}")
        found.update({n: v for n, v in vars(mod).items() if inspect.isclass(v) and not n.startswith("_")
                      and v.__module__.startswith("retrograd.")})
    return found


@pytest.mark.parametrize("file", sorted(f for f, classes in RECORD["nn_modules"].items() if classes))
def test_implemented_layers_import_from_torchs_file(file):
    implemented = _implemented_classes()
    wanted = [c for c in RECORD["nn_modules"][file] if c in implemented]
    if not wanted:
        pytest.skip(f"retrograd implements none of torch.nn.modules.{file}'s classes")
    try:
        mod = importlib.import_module(f"retrograd.nn.modules.{file}")
    except ModuleNotFoundError:
        pytest.fail(f"retrograd.nn.modules.{file} does not exist; torch.nn.modules.{file} holds {wanted}")
    missing = [c for c in wanted if getattr(mod, c, None) is not implemented[c]]
    assert not missing, f"retrograd implements {missing} but retrograd.nn.modules.{file} does not hold them"


def test_non_dynamically_quantizable_linear_is_multihead_attentions_out_proj():
    from retrograd.nn.modules.linear import Linear, NonDynamicallyQuantizableLinear

    layer = NonDynamicallyQuantizableLinear(3, 2, bias=False)
    assert isinstance(layer, Linear) and layer.weight.shape == (2, 3) and layer.bias is None
    assert repr(layer) == "NonDynamicallyQuantizableLinear(in_features=3, out_features=2, bias=False)"
    assert type(retrograd.nn.MultiheadAttention(4, 2).out_proj) is NonDynamicallyQuantizableLinear
    assert not hasattr(retrograd.nn, "NonDynamicallyQuantizableLinear")  # as torch.nn


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(__doc__)
    layout = torch_layout()
    with open(RECORDED, "w", encoding="utf-8") as f:
        f.write(json.dumps(layout, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORDED}: {len(layout['submodules'])} submodules, {len(layout['nn_modules'])} nn.modules files")
