"""The documentation stays true: public names have docstrings, the README's feature table
matches the code, the code blocks of README.md and docs/ run, and relative links resolve."""

import importlib
import os
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
sys.path.insert(0, DOCS)
import gen_api  # noqa: E402

sys.path.remove(DOCS)


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_every_public_name_has_a_docstring():
    missing = gen_api.undocumented()
    assert not missing, (
        f"{len(missing)} public name(s) without a docstring (write one: a line of what, the formula "
        "where there is one):\n  " + "\n  ".join(missing))


def test_api_reference_renders():
    text = gen_api.render()
    assert text.startswith("# API reference")
    for section in ("## retrograd\n", "## retrograd.Tensor\n", "## retrograd.nn\n", "## retrograd.optim\n"):
        assert section in text
    assert "- `class Linear(" in text


def _resolve(dotted):
    """The object at ``retrograd.<dotted>``, importing submodules as needed, or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(["retrograd"] + parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    obj = importlib.import_module("retrograd")
    for attr in parts:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def _feature_rows():
    text = _read("README.md")
    table = text.split("## `import retrograd as torch`: what is covered", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| area")]
    assert len(rows) >= 10
    out = []
    for row in rows:
        area = row.split("|")[1].strip()
        names = re.findall(r"`([A-Za-z_][\w.]*)`", row.split("|", 2)[2])
        out.append((area, names))
    return out


def test_readme_feature_table_is_true():
    missing, present = [], []
    for area, names in _feature_rows():
        negative = "not implemented" in area
        for name in names:
            exists = _resolve(name) is not None
            if negative and exists:
                present.append(name)
            elif not negative and not exists:
                missing.append(name)
    assert not missing, f"README lists these as supported, but retrograd has no such name: {missing}"
    assert not present, f"README lists these as not implemented, but they exist now (update it): {present}"


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", _read(path), re.S)


DOC_FILES = ["README.md", "docs/getting-started.md", "docs/autograd.md", "docs/custom-ops.md"]


def test_code_blocks_in_the_docs_run():
    blocks = [(path, i, code) for path in DOC_FILES for i, code in enumerate(_python_blocks(path))]
    assert len(blocks) >= 5
    runner = textwrap.dedent("""
        import json, sys, traceback
        failures = []
        for path, i, code in json.load(sys.stdin):
            try:
                exec(compile(code, f"{path} (python block {i})", "exec"), {"__name__": "__doc_block__"})
            except Exception:
                failures.append(traceback.format_exc(limit=3))
        print("\\n".join(failures))
        sys.exit(1 if failures else 0)
    """)
    import json

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), ROOT, env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", runner], input=json.dumps(blocks), capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("path", ["README.md"] + [f"docs/{n}" for n in sorted(os.listdir(DOCS)) if n.endswith(".md")])
def test_relative_links_resolve(path):
    base = os.path.dirname(os.path.join(ROOT, path))
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", _read(path)):
        assert os.path.exists(os.path.join(base, target)), f"{path}: broken link to {target}"
