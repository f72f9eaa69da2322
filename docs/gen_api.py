"""Generate docs/api.md from retrograd's docstrings, and list public names without one.

    python docs/gen_api.py              # rewrite docs/api.md
    python docs/gen_api.py --check      # exit 1 (and list them) if a public name has no docstring

A public name is one a PyTorch user reaches: the names of ``retrograd``, of its public
namespaces (``retrograd.nn``, ``retrograd.nn.functional``, ``retrograd.optim`` ...), and
the public methods and properties of ``retrograd.Tensor``, when they are functions or
classes defined in retrograd (constants such as dtypes are listed, not required to have
docstrings). tests/test_docs.py fails when one has no docstring.
"""

import importlib
import inspect
import os
import re
import sys
import types

NAMESPACES = [
    "retrograd",
    "retrograd.autograd",
    "retrograd.autograd.functional",
    "retrograd.autograd.graph",
    "retrograd.func",
    "retrograd.nn",
    "retrograd.nn.functional",
    "retrograd.nn.init",
    "retrograd.nn.utils",
    "retrograd.nn.utils.rnn",
    "retrograd.nn.utils.parametrize",
    "retrograd.nn.utils.parametrizations",
    "retrograd.nn.utils.prune",
    "retrograd.nn.utils.stateless",
    "retrograd.optim",
    "retrograd.optim.lr_scheduler",
    "retrograd.optim.swa_utils",
    "retrograd.amp",
    "retrograd.backends",
    "retrograd.backends.cuda",
    "retrograd.backends.cudnn",
    "retrograd.backends.mps",
    "retrograd.cuda",
    "retrograd.accelerator",
    "retrograd.utils.data",
    "retrograd.utils.checkpoint",
    "retrograd.serialization",
    "retrograd.profiler",
    "retrograd.linalg",
    "retrograd.random",
    "retrograd.inspect",
    "retrograd.distributed",
    "retrograd.distributions",
    "retrograd.distributions.constraints",
    "retrograd.distributions.transforms",
    "retrograd.nn.parallel",
    "retrograd.futures",
    "retrograd.multiprocessing",
    "retrograd.onnx",
    "retrograd.compiler",
]

HERE = os.path.dirname(os.path.abspath(__file__))


def _own(obj):
    """Defined in retrograd (not NumPy's or the standard library's)."""
    module = getattr(obj, "__module__", None) or ""
    return module == "retrograd" or module.startswith("retrograd.")


def _documentable(obj):
    return (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)
            or isinstance(obj, (types.MethodType, property)) or callable(obj) and hasattr(obj, "__wrapped__"))


def _doc(obj):
    """The object's own docstring (not one inherited from a base class), stripped."""
    doc = obj.__doc__  # a property's is its doc= argument, else its getter's
    if inspect.isclass(obj) and "__doc__" not in vars(obj):
        doc = None
    return inspect.cleandoc(doc).strip() if isinstance(doc, str) and doc.strip() else ""


def _names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(set(names), key=lambda n: (n.lower(), n))


def namespace_entries(name):
    """``[(public name, object)]`` for one namespace: its functions and classes defined in
    retrograd, and (as plain values) its other public non-module attributes."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return []
    entries = []
    for attr in _names(module):
        obj = getattr(module, attr, None)
        if obj is None or isinstance(obj, types.ModuleType):
            continue
        if _documentable(obj) and not _own(obj):
            continue  # a re-exported third-party or builtin name
        entries.append((attr, obj))
    return entries


def tensor_entries():
    """``[(name, object)]`` of retrograd.Tensor's public methods and properties."""
    from retrograd import Tensor

    entries = []
    for attr in _names(Tensor):
        obj = inspect.getattr_static(Tensor, attr, None)
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if obj is None:
            continue
        entries.append((attr, obj))
    return entries


def all_entries():
    """``[(namespace, [(name, object)])]`` in the reference's order."""
    sections = [(ns, namespace_entries(ns)) for ns in NAMESPACES]
    sections.insert(1, ("retrograd.Tensor", tensor_entries()))
    return [(ns, entries) for ns, entries in sections if entries]


def undocumented(objects=False):
    """``["namespace.name", ...]`` for every public function, class, method or property
    without a docstring of its own (``[(name, object)]`` if ``objects``)."""
    missing = []
    for ns, entries in all_entries():
        for attr, obj in entries:
            if _documentable(obj) and not _doc(obj):
                missing.append((f"{ns}.{attr}", obj))
    return missing if objects else [name for name, _ in missing]


def _signature(obj):
    target = obj.fget if isinstance(obj, property) else obj
    if isinstance(obj, property):
        return ""
    try:
        sig = str(inspect.signature(target))
    except (TypeError, ValueError):
        return "(...)"
    sig = re.sub(r"<(?:function|built-in function) ([\w.]+)(?: at 0x[0-9a-f]+)?>", r"\1", sig)  # no addresses
    if inspect.isclass(obj) or sig.startswith("(self"):
        sig = sig.replace("(self, ", "(", 1).replace("(self)", "()", 1)
    return sig if len(sig) <= 100 else sig[:97] + "...)"


def _summary(obj):
    doc = _doc(obj)
    if not doc:
        return "*(undocumented)*"
    first = doc.split("\n\n")[0].replace("\n", " ")
    return first.replace("|", "\\|")


def _kind(obj):
    if isinstance(obj, property):
        return "property"
    if inspect.isclass(obj):
        return "class"
    if _documentable(obj):
        return "function"
    return "value"


def render():
    """The text of docs/api.md."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/gen_api.py` (do not edit by hand).",
        "Each entry gives the signature and the docstring's first paragraph; PyTorch's",
        "documentation describes the semantics, which retrograd follows (see",
        "[differences.md](differences.md) for where it does not).",
        "",
    ]
    sections = all_entries()
    lines.append("Namespaces: " + ", ".join(f"[`{ns}`](#{ns.replace('.', '').lower()})" for ns, _ in sections))
    lines.append("")
    for ns, entries in sections:
        lines += [f"## {ns}", ""]
        values = [(a, o) for a, o in entries if _kind(o) == "value"]
        for attr, obj in entries:
            kind = _kind(obj)
            if kind == "value":
                continue
            prefix = "class " if kind == "class" else ""
            suffix = " *(property)*" if kind == "property" else ""
            lines.append(f"- `{prefix}{attr}{_signature(obj)}`{suffix}: {_summary(obj)}")
        if values:
            shown = ", ".join(f"`{a}`" for a, _ in values)
            lines.append(f"- values: {shown}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        missing = undocumented()
        for name in missing:
            print(f"undocumented: {name}")
        print(f"{len(missing)} public name(s) without a docstring")
        return 1 if missing else 0
    path = os.path.join(HERE, "api.md")
    with open(path, "w") as f:
        f.write(render())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
