"""The documentation stays true: public names have docstrings, the README's feature table
matches the code, the code blocks of README.md and docs/ run, and relative links resolve."""

import importlib
import os
import re
import subprocess
import sys
import textwrap

import pytest

try:
    import torch
except ImportError:  # the comparisons with torch's node names are skipped
    torch = None

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


def _qualified_names(text):
    """The names written as `torch.<name>` or `retrograd.<name>` (dotted identifiers only)."""
    return re.findall(r"`((?:torch|retrograd)(?:\.\w+)+)`", text)


def _resolve_qualified(name):
    return _resolve(name.split(".", 1)[1])


def _differences():
    """{section title: [bullet text, whitespace-joined]} of docs/differences.md's top-level bullets."""
    sections = {}
    for chunk in _read("docs", "differences.md").split("\n## ")[1:]:
        title, body = chunk.split("\n", 1)
        sections[title.strip()] = [" ".join(b.split()) for b in re.split(r"\n- ", "\n" + body)[1:]]
    return sections


def _not_implemented():
    """[(names the bullet starts with, the rest)] of the "Not implemented" section."""
    out = []
    for bullet in _differences()["Not implemented"]:
        lead = re.match(r"((?:`[^`]+`,? )*`[^`]+`): ", bullet)
        assert lead, f"a 'Not implemented' bullet starts with the backticked names it says are missing: {bullet!r}"
        out.append((re.findall(r"`([^`]+)`", lead.group(1)), bullet[lead.end():]))
    return out


def test_differences_not_implemented_names_are_missing():
    names = [n for lead, _ in _not_implemented() for n in lead]
    assert len(names) >= 20
    wrong = [n for n in names if not n.startswith("torch.")]
    assert not wrong, f"write the missing names as torch.<name>: {wrong}"
    present = [n for n in names if _resolve_qualified(n) is not None]
    assert not present, f"docs/differences.md says these are not implemented, but they exist now (update it): {present}"


def test_differences_names_the_rest_of_the_page_uses_exist():
    text = _read("docs", "differences.md")
    for lead, _ in _not_implemented():
        for name in lead:
            text = text.replace(f"`{name}`", "", 1)
    names = _qualified_names(text)
    assert len(names) >= 10
    missing = sorted({n for n in names if _resolve_qualified(n) is None})
    assert not missing, f"docs/differences.md uses these as existing names, but retrograd has none of them: {missing}"


def _node_name_ops(m):
    """How to call each op that the node-name bullets of docs/differences.md name, in module ``m``."""
    F = m.nn.functional
    x = m.linspace(-1.0, 1.0, 12).reshape(3, 4).requires_grad_()
    image = m.linspace(-1.0, 1.0, 16).reshape(1, 1, 4, 4).requires_grad_()
    zeros = m.zeros(3, 4)
    spd = x[:, :3].mT @ x[:, :3] + m.eye(3)  # symmetric positive definite, requires grad
    return {
        "F.linear": lambda: F.linear(x, m.ones(5, 4), m.ones(5)),
        "F.conv2d": lambda: F.conv2d(image, m.ones(1, 1, 3, 3)),
        "F.cross_entropy": lambda: F.cross_entropy(x, m.tensor([0, 1, 2])),
        "F.nll_loss": lambda: F.nll_loss(x, m.tensor([0, 1, 2])),
        "F.batch_norm": lambda: F.batch_norm(x, None, None, training=True),
        "F.layer_norm": lambda: F.layer_norm(x, (4,)),
        "F.group_norm": lambda: F.group_norm(x.reshape(1, 3, 4), 3),
        "F.mse_loss": lambda: F.mse_loss(x, zeros),
        "F.l1_loss": lambda: F.l1_loss(x, zeros),
        "F.smooth_l1_loss": lambda: F.smooth_l1_loss(x, zeros),
        "F.binary_cross_entropy": lambda: F.binary_cross_entropy(x.sigmoid(), zeros),
        "F.binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(x, zeros),
        "F.log_softmax": lambda: F.log_softmax(x, 1),
        "F.softmax": lambda: F.softmax(x, 1),
        "F.gelu": lambda: F.gelu(x),
        "nn.Embedding": lambda: m.nn.Embedding(5, 3)(m.tensor([1])),
        "F.embedding": lambda: F.embedding(m.tensor([1]), m.ones(5, 3, requires_grad=True)),
        "F.max_pool2d": lambda: F.max_pool2d(image, 2),
        "F.avg_pool2d": lambda: F.avg_pool2d(image, 2),
        "F.interpolate": lambda: F.interpolate(x[None], scale_factor=2),
        "F.pad": lambda: F.pad(x, (1, 1)),
        "F.scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(x[None], x[None], x[None]),
        "nn.LSTM": lambda: m.nn.LSTM(4, 2)(x[None])[0],
        # torch's top-level names (ops/calculus.py, indexing.py, functional_toplevel.py, ...)
        "torch.dist": lambda: m.dist(x, m.zeros(4)),
        "torch.combinations": lambda: m.combinations(x[0]),
        "torch.diagonal_scatter": lambda: m.diagonal_scatter(x, m.ones(3)),
        "torch.fill": lambda: m.fill(x, 1.0),
        "torch.trapezoid": lambda: m.trapezoid(x),
        "torch.renorm": lambda: m.renorm(x, 2, 0, 1.0),
        "torch.narrow_copy": lambda: m.narrow_copy(x, 1, 0, 2),
        "torch.constant_pad_nd": lambda: m.constant_pad_nd(x, [1, 1]),
        "torch.split_with_sizes": lambda: m.split_with_sizes(x, [1, 2])[0],
        "torch.unsafe_split": lambda: m.unsafe_split(x, 2)[0],
        "torch.instance_norm": lambda: m.instance_norm(x[None], None, None, None, None, True, 0.1, 1e-5, True),
        "torch.kl_div": lambda: m.kl_div(x, x.detach().exp()),
        "torch.binary_cross_entropy_with_logits": lambda: m.binary_cross_entropy_with_logits(x, zeros),
        "torch.cumulative_trapezoid": lambda: m.cumulative_trapezoid(x),
        "torch.gradient": lambda: m.gradient(x)[0],
        "torch.adjoint": lambda: m.adjoint(x),
        "torch.angle": lambda: m.angle(x),
        "torch.embedding": lambda: m.embedding(x, m.tensor([1, 2])),
        "torch.batch_norm": lambda: m.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, True),
        "torch.convolution": lambda: m.convolution(x[None], m.ones(2, 3, 2), None, [1], [0], [1], False, [0], 1),
        # torch.linalg's (ops computed from others record their last op's node)
        "torch.linalg.cholesky": lambda: m.linalg.cholesky(spd, upper=True),
        "torch.cholesky": lambda: m.cholesky(spd, upper=True),
        "torch.logdet": lambda: m.logdet(spd),
        "torch.cdist": lambda: m.cdist(x, x.detach() + 1),
        "torch.linalg.lstsq": lambda: m.linalg.lstsq(x, x).solution,
        "torch.linalg.lu": lambda: m.linalg.lu(spd)[1],
        "torch.linalg.cross": lambda: m.linalg.cross(x[:, :3], x.detach()[:, 1:]),
        "torch.linalg.multi_dot": lambda: m.linalg.multi_dot([x, x.mT]),
        "torch.chain_matmul": lambda: m.chain_matmul(x, x.mT),
        "torch.linalg.householder_product": lambda: m.linalg.householder_product(x.mT, x[0, :3]),
        "torch.linalg.cond": lambda: m.linalg.cond(spd),
        "torch.linalg.solve_triangular": lambda: m.linalg.solve_triangular(spd.triu(), x[:, :3], upper=True),
        "torch.triangular_solve": lambda: m.triangular_solve(x[:, :3], spd)[0],
        "torch.cholesky_solve": lambda: m.cholesky_solve(x[:, :3], spd.tril()),
        "torch.cholesky_inverse": lambda: m.cholesky_inverse(spd.tril()),
        "torch.linalg.lu_solve": lambda: m.linalg.lu_solve(*m.linalg.lu_factor(spd.detach()), x[:, :3]),
        "torch.linalg.matrix_norm": lambda: m.linalg.matrix_norm(x, "nuc"),
        "torch.trace": lambda: m.trace(spd),
        "torch.kron": lambda: m.kron(x, x),
        "torch.linalg.qr": lambda: m.linalg.qr(x).Q,
        "torch.linalg.svd": lambda: m.linalg.svd(x)[1],
        "torch.linalg.eigh": lambda: m.linalg.eigh(spd)[0],
        "torch.linalg.inv": lambda: m.linalg.inv(spd),
        "torch.linalg.det": lambda: m.linalg.det(spd),
        "torch.linalg.slogdet": lambda: m.linalg.slogdet(spd)[1],
        "torch.linalg.solve": lambda: m.linalg.solve(spd, x[:, :3]),
        "torch.linalg.pinv": lambda: m.linalg.pinv(x),
        "torch.linalg.vector_norm": lambda: m.linalg.vector_norm(x),
        "torch.linalg.lu_factor": lambda: m.linalg.lu_factor(spd)[0],
        "torch.linalg.matrix_exp": lambda: m.linalg.matrix_exp(spd),
        "torch.cholesky_lower": lambda: m.cholesky(spd),
    }


def _node_name_bullets():
    """{op: (retrograd's node name, [PyTorch's])} from the "Node names that differ" section."""
    out = {}
    for bullet in _differences()["Node names that differ"]:
        parts = re.match(r"`([\w.]+)`: `(\w+)`.*\(PyTorch: (.*)\)$", bullet)
        assert parts, f"a node-name bullet reads '`op`: `OurBackward0` ... (PyTorch: `TheirBackward0` ...)': {bullet!r}"
        out[parts.group(1)] = (parts.group(2), re.findall(r"`(\w+Backward\d*)`", parts.group(3)))
    return out


def test_differences_node_names_are_the_recorded_ones():
    ops = _node_name_ops(importlib.import_module("retrograd"))
    torch_ops = _node_name_ops(torch) if torch is not None else {}
    wrong = []
    for op, (ours, theirs) in _node_name_bullets().items():
        assert op in ops, f"add how to call {op} to _node_name_ops in tests/test_docs.py"
        got = ops[op]().grad_fn.name()
        if got != ours or ours in theirs:
            wrong.append(f"{op}: retrograd records {got}, the page says {ours} (PyTorch: {theirs})")
        if torch is not None and torch_ops[op]().grad_fn.name() not in theirs:
            wrong.append(f"{op}: PyTorch records {torch_ops[op]().grad_fn.name()}, the page says {theirs}")
    assert not wrong, "docs/differences.md's node names are not the code's:\n  " + "\n  ".join(wrong)


@pytest.mark.skipif(torch is None, reason="compares with torch's node names")
def test_node_names_not_on_the_page_are_torchs():
    listed = _node_name_bullets()
    ops, torch_ops = _node_name_ops(importlib.import_module("retrograd")), _node_name_ops(torch)
    differ = [f"{op}: {ops[op]().grad_fn.name()} (PyTorch: {torch_ops[op]().grad_fn.name()})"
              for op in ops if op not in listed and ops[op]().grad_fn.name() != torch_ops[op]().grad_fn.name()]
    assert not differ, f"add these to docs/differences.md's 'Node names that differ': {differ}"


def test_api_reference_is_regenerated():
    code = f"import sys; sys.path.insert(0, {DOCS!r}); import gen_api; sys.stdout.write(gen_api.render())"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == _read("docs", "api.md"), "docs/api.md is stale: run `python docs/gen_api.py` and commit it"


def test_the_cited_founding_document_is_in_the_repository():
    cited = []
    for folder in ("", "docs", "examples", "tests"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            path = os.path.join(folder, name)
            if name.endswith((".md", ".py")) and name != "test_docs.py":
                cited += [(path, target) for target in re.findall(r"[\w./-]*backpropagation\.md", _read(path))]
    assert len(cited) >= 5
    lost = [(path, target) for path, target in cited if not (os.path.isfile(os.path.join(ROOT, target))
            or os.path.isfile(os.path.join(ROOT, os.path.dirname(path), target)))]
    assert not lost, f"these cite a backpropagation.md the repository does not hold (cite docs/backpropagation.md): {lost}"


def test_license_is_the_one_pyproject_names():
    license_ = re.search(r'^license = \{text = "(\w+)"\}', _read("pyproject.toml"), re.M).group(1)
    assert _read("LICENSE").startswith(f"{license_} License\n")


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", _read(path), re.S)


DOC_FILES = ["README.md", "docs/getting-started.md", "docs/autograd.md", "docs/custom-ops.md", "docs/inspect.md"]


def test_code_blocks_in_the_docs_run(tmp_path):
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
                          text=True, env=env, cwd=tmp_path, timeout=120)  # files the blocks write land there
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("path", ["README.md"] + [f"docs/{n}" for n in sorted(os.listdir(DOCS)) if n.endswith(".md")])
def test_relative_links_resolve(path):
    base = os.path.dirname(os.path.join(ROOT, path))
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", _read(path)):
        assert os.path.exists(os.path.join(base, target)), f"{path}: broken link to {target}"
