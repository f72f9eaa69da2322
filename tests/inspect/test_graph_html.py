"""inspect.graph: the graph behind a loss as a self-contained HTML page. The structure, the
gradient norms along edges, source lines and layout are checked in Python; the page itself
in a real headless Chromium (skipped where /usr/bin/chromium is absent): its DOM after the
script ran (node count, a collapsed module, a node's panel), its console (no errors; a bad
request does show one), and a screenshot kept under $RETROGRAD_TEST_ARTIFACTS or tmp_path."""

import os
import re
import shutil
import subprocess
import urllib.parse

import numpy as np
import pytest

import retrograd as torch
from retrograd import inspect
from retrograd.inspect.graph_page import NO_SOURCE
from retrograd.inspect.memory import _nodes

nn = torch.nn


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 3))


def _loss(model, anomaly=False):
    x = torch.randn(5, 4)
    if anomaly:
        with torch.autograd.detect_anomaly():
            out = model(x)  # the line the page names
    else:
        out = model(x)
    return (out * out).mean()


def test_nodes_edges_and_modules_are_the_recorded_graph(tmp_path):
    model = _model()
    loss = _loss(model)
    g = inspect.graph(loss, tmp_path / "g.html", model=model)
    assert os.fspath(g) == str(tmp_path / "g.html") and os.path.getsize(g) > 0
    recorded = _nodes(loss)
    assert [n.name for n in g.nodes] == [n.name() for n in recorded]
    assert g.nodes[0].name == loss.grad_fn.name() == "MeanBackward0"
    assert len(g.edges) == sum(1 for n in recorded for fn, _ in n._next if fn is not None)
    leaves = {n.label: n for n in g.nodes if n.name.endswith("AccumulateGrad")}
    assert set(leaves) == {name for name, _ in model.named_parameters()}
    assert leaves["2.0.weight"].module == "2.0"
    groups = {gr.key: gr for gr in g.groups}
    assert set(groups) == {"0", "1", "2", "2.0", "2.1", "3"} and groups["2.0"].parent == "2"
    assert [g.nodes[i].name for i in groups["1"].nodes] == ["ReluBackward0"]
    # the edge from the first Linear's weight to its transpose carries the weight (8x4 float32)
    w = leaves["0.weight"]
    (edge,) = [e for e in g.edges if e.src == w.id]
    assert (edge.shape, edge.dtype, edge.bytes) == ((8, 4), "float32", 128)
    assert g.nodes[edge.dst].name == "TBackward0"
    relu = next(n for n in g.nodes if n.name == "ReluBackward0")
    assert [(s.shape, s.dtype, s.bytes, s.kind) for s in relu.saved] == [((5, 8), "float32", 160, "activation")]
    assert all(e.grad_norm is None for e in g.edges)


def test_without_a_model_modules_are_instances_by_class():
    model = _model()
    loss = _loss(model)
    g = inspect.graph(loss, os.devnull)
    assert {gr.key for gr in g.groups} == {"Linear", "Linear#2", "Linear#3", "ReLU", "Tanh"}
    assert all(gr.parent is None for gr in g.groups)


def test_a_parameter_its_module_did_not_use_goes_with_the_op_using_it(tmp_path):
    mha = nn.MultiheadAttention(8, 2)  # its forward uses out_proj.weight; out_proj never runs
    x = torch.randn(3, 1, 8)
    g = inspect.graph(mha(x, x, x)[0].sum(), tmp_path / "g.html", model=mha)
    leaves = {n.label: n for n in g.nodes if n.name.endswith("AccumulateGrad")}
    assert leaves["out_proj.weight"].module == "MultiheadAttention"
    assert "out_proj" not in {gr.key for gr in g.groups}


def test_grads_are_the_norms_flowing_back_and_leave_grad_untouched(tmp_path):
    model = _model()
    loss = _loss(model)
    g = inspect.graph(loss, tmp_path / "g.html", model=model, grads=True)
    assert all(p.grad is None for p in model.parameters())
    assert all(e.grad_norm is not None for e in g.edges)
    loss.backward()  # the graph was retained
    by_label = {n.label: n.id for n in g.nodes}
    for name, p in model.named_parameters():
        (edge,) = [e for e in g.edges if e.src == by_label[name]]
        np.testing.assert_allclose(edge.grad_norm, np.linalg.norm(p.grad.numpy()), rtol=1e-6)
    page = (tmp_path / "g.html").read_text()
    assert "\u2207 norm" in page


def test_a_tensor_used_twice_has_an_edge_and_a_gradient_for_each_use(tmp_path):
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = torch.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * x * y).sum()  # x*x: two edges from x to one Mul, each carrying y * x back
    g = inspect.graph(loss, tmp_path / "g.html", grads=True)
    leaf_edges = {}
    for e in g.edges:
        if g.nodes[e.src].name.endswith("AccumulateGrad"):
            leaf_edges.setdefault(e.src, []).append(e)
    (x_edges,) = [es for es in leaf_edges.values() if len(es) == 2]
    (y_edges,) = [es for es in leaf_edges.values() if len(es) == 1]
    assert x_edges[0].dst == x_edges[1].dst and g.nodes[x_edges[0].dst].name == "MulBackward0"
    np.testing.assert_allclose([e.grad_norm for e in x_edges], [np.linalg.norm([3.0, -8.0])] * 2, rtol=1e-6)
    np.testing.assert_allclose(y_edges[0].grad_norm, np.linalg.norm([1.0, 4.0]), rtol=1e-6)


def test_source_lines_only_where_anomaly_mode_recorded_them(tmp_path):
    model = _model()
    loss = _loss(model, anomaly=True)
    g = inspect.graph(loss, tmp_path / "g.html", model=model)
    relu = next(n for n in g.nodes if n.name == "ReluBackward0")
    assert re.search(r"test_graph_html\.py:\d+ in _loss: out = model\(x\)", relu.source), relu.source
    assert "retrograd/nn/modules/activation.py" in relu.source
    assert g.nodes[0].source is None  # the mean was taken after the anomaly region
    assert NO_SOURCE in (tmp_path / "g.html").read_text()


def test_a_freed_graph_shows_no_saved_tensors_and_refuses_grads(tmp_path):
    model = _model()
    loss = _loss(model)
    loss.backward()
    g = inspect.graph(loss, tmp_path / "g.html")
    assert all(n.saved is None for n in g.nodes if not n.name.endswith("AccumulateGrad"))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        inspect.graph(loss, tmp_path / "g.html", grads=True)
    with pytest.raises(RuntimeError, match=r"must be a scalar.*got shape \[5, 3\]"):
        inspect.graph(_model()(torch.randn(5, 4)), tmp_path / "g.html", grads=True)
    with pytest.raises(RuntimeError, match="no recorded graph"):
        inspect.graph(torch.ones(2), tmp_path / "g.html")


def test_layout_is_layered_without_overlaps(tmp_path):
    model = _model()
    loss = _loss(model)
    g = inspect.graph(loss, tmp_path / "g.html", model=model)
    for e in g.edges:  # forward flows down: a producer sits above its user
        assert g.nodes[e.src].row < g.nodes[e.dst].row
    rows = {}
    for n in g.nodes:
        rows.setdefault(n.row, []).append(n)
    for row in rows.values():
        row.sort(key=lambda n: n.x)
        for a, b in zip(row, row[1:]):
            assert a.x + a.width / 2 < b.x - b.width / 2
    for gr in g.groups:  # each module's box holds its nodes
        x, y, w, h = gr.box
        for i in gr.nodes:
            n = g.nodes[i]
            assert x < n.x - n.width / 2 and n.x + n.width / 2 < x + w and y < n.y < y + h
    # modules are bands: a module's rows do not interleave with those of the next one
    last_row_0 = max(g.nodes[i].row for i in next(gr for gr in g.groups if gr.key == "0").nodes)
    assert last_row_0 < min(g.nodes[i].row for i in next(gr for gr in g.groups if gr.key == "3").nodes)


def test_the_page_loads_nothing(tmp_path):
    model = _model()
    g = inspect.graph(_loss(model), tmp_path / "g.html", model=model, grads=True)
    page = open(g.path, encoding="utf-8").read()
    assert re.findall(r"https?://[^\"'\s<]*", page) == ["http://www.w3.org/2000/svg"] * page.count("w3.org/2000/svg")
    assert not re.search(r"(?<![-\w])(src|href)\s*=", page)  # data-src= is an edge's end
    assert "default-src 'none'" in page  # the page's policy blocks any load the browser might try


# ------------------------------------------------------------------ in a real browser

CHROMIUM = shutil.which("chromium")
browser = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")


def _chromium(tmp_path, url, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done, console


def _artifacts(tmp_path):
    folder = os.environ.get("RETROGRAD_TEST_ARTIFACTS")
    folder = os.path.join(folder, "graph_html") if folder else str(tmp_path / "artifacts")
    os.makedirs(folder, exist_ok=True)
    return folder


@browser
def test_chromium_renders_collapses_and_opens_a_node(tmp_path):
    model = _model()
    with torch.autograd.detect_anomaly():
        loss = _loss(model)
    g = inspect.graph(loss, tmp_path / "graph.html", model=model, grads=True)
    relu = next(n for n in g.nodes if n.name == "ReluBackward0")
    folded = sum(len(gr.nodes) for gr in g.groups if gr.key in ("2", "2.0", "2.1"))
    state = "collapse=" + urllib.parse.quote("2") + f"&open={relu.id}"
    url = f"file://{tmp_path / 'graph.html'}#{state}"
    done, console = _chromium(tmp_path, url, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert console == []
    assert re.search(r'<body[^>]*data-ready="yes"', dom), "the page's script did not finish"
    assert re.search(r'<div id="errors" hidden=""></div>', dom), "the page reported errors"
    tags = re.findall(r'<g class="node[^"]*" data-id="\d+"[^>]*>', dom)
    assert len(tags) == len(g.nodes)
    hidden = [t for t in tags if ' hidden=""' in t]
    assert len(hidden) == folded == 5
    assert re.search(rf'data-visible-nodes="{len(g.nodes) - folded}"', dom)
    assert "\u25b8 2  (5 ops)" in dom  # the folded module's title
    height = float(re.search(r'<svg id="graph"[^>]* height="([\d.]+)"', dom).group(1))
    assert height < g.height - 2 * 84  # what lay below the folded module moved up
    panel = re.search(r'<div id="panel">(.*?)</div>\s*<script', dom, re.S).group(1)
    assert "ReluBackward0" in panel and "5×8" in panel and "160 B" in panel and "activation" in panel
    assert re.search(r'<code id="source">[^<]*test_graph_html\.py:\d+', panel)
    shot = os.path.join(_artifacts(tmp_path), "graph.png")
    done, console = _chromium(tmp_path, url, f"--screenshot={shot}", "--window-size=1280,900",
                              "--hide-scrollbars")
    assert done.returncode == 0 and console == []
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@browser
def test_chromium_reports_the_pages_errors(tmp_path):
    # the checks above can fail: a bad request in the hash makes the script throw, and the
    # error shows both on the console and in the page
    g = inspect.graph(_loss(_model()), tmp_path / "graph.html")
    done, console = _chromium(tmp_path, f"file://{g.path}#collapse=nowhere", "--dump-dom")
    assert any("no module group" in line for line in console), done.stderr[-2000:]
    assert re.search(r'<div id="errors">error: [^<]*no module group', done.stdout)
