"""A seeded generator of random programs for retrograd.compile, each a scenario for worlds.py.

``source(seed)`` writes a Python module: a small ``Net`` module, globals, and a function ``fn(x, y, idx, k,
s=2.0)`` made of random statements (elementwise and broadcasting ops, reductions with dims and keepdim,
views, in-place ops on views, indexing and index assignment, matmul/linear/conv, softmax/log_softmax/
layer_norm/dropout, cat/stack/split, where/masked_fill, comparisons, dtype casts, detach, no_grad blocks,
graph breaks, backward with retain_graph, ``.grad`` reads, optimizer steps) reading the module, globals,
a closure cell, a default argument and a list. Its ``scenario(compile, rec)`` calls the function
several times, changing between calls the inputs' values, the parameters (optimizer steps), shapes,
dtypes, ``requires_grad``, train/eval, and the Python state the function reads (globals, attributes, the
closure cell, defaults, list contents), replacing a parameter or its ``.data``, toggling
``requires_grad_``, adding hooks, mutating a buffer, reseeding. Each statement is kept only if it runs
eagerly on sample inputs, so most programs run. ``load(seed)`` writes the module to a file (so that
``inspect.getsource`` finds it, as graph breaks need) and imports it; each load is a fresh module, so the
eager and the compiled run do not share state."""

import atexit
import importlib.util
import os
import random
import shutil
import tempfile

import numpy as np

import retrograd

HEADER = '''\
import numpy as np
import retrograd as torch
from retrograd import nn
from tests.compile.program_fuzzer import after
F = nn.functional

G_SCALE = 1.5
G_LIST = [1.0, 2.0]
G_T = torch.full((4,), 0.5, dtype=torch.float64)
M = OPT = None


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.conv = nn.Conv1d(1, 2, 3)
        self.ln = nn.LayerNorm(4)
        self.drop = nn.Dropout(0.3)
        self.bn = nn.BatchNorm1d(4)
        self.emb = nn.Embedding(5, 4)
        self.gru = nn.GRUCell(4, 4)
        self.k2 = nn.Parameter(torch.ones(1, 1, 2, 2))
        self.register_buffer("buf", torch.ones(4))
        self.scale = 0.5
        self.t = torch.full((4,), 0.25)


class Cfg:
    def __init__(self):
        self.scale = 1.25
        self.items = [0.5, 2.0]
        self.d = {{"w": 0.75}}


CFG = Cfg()


def helper(t, c):
    return t * c.scale + c.items[-1]


def hook_double(mod, inputs, out):
    return out * 2


def make(cell):
    def fn(x, y, idx, k, s=2.0, *, cfg=None):
{body}
    def set_cell(v):
        nonlocal cell
        cell = v
    return fn, set_cell


class Stepper(nn.Module):  # the same statements as a module's forward (compiled as a module)
    def __init__(self, net, cell):
        super().__init__()
        self.net, self.cell = net, cell

    def forward(self, x, y, idx, k, s=2.0, *, cfg=None):
        M, cell = self.net, self.cell
{body}
'''

# statements: {n} the new variable, {a} {b} float tensors, {d} a dim, {kd} keepdim
EXPRESSIONS = [
    "{a} + {b}", "{a} * {b}", "{a} - {b}", "{a} / ({b}.abs() + 1)", "torch.tanh({a})", "torch.sigmoid({a})",
    "{a}.relu()", "{a}.exp().clamp(max=10)", "{a} ** 2", "{a}.abs()", "torch.maximum({a}, {b})", "F.gelu({a})",
    "{a} * G_SCALE", "{a} * M.scale", "{a} + M.t", "{a} * s", "{a} * k", "{a} + cell", "{a} * G_LIST[0]",
    "{a} + G_T", "{a} * M.buf", "{a} + {a}.sum({d}, keepdim=True)", "{a} - {b}.mean()",
    "{a}.sum({d}, keepdim={kd})", "{a}.mean({d})", "{a}.amax({d}, keepdim={kd})", "{a}.var({d})", "{a}.norm()",
    "{a}.max({d}).values", "{a}.logsumexp({d})", "{a}.sum()", "{a}.prod({d})", "{a}.cumsum({d})",
    "{a}.t()", "{a}.reshape(-1)", "{a}.unsqueeze(0)", "{a}.transpose(0, 1)", "{a}[:, 1:3]", "{a}[::2]",
    "{a}[idx]", "{a}[0]", "{a}.view(-1, 2)", "{a}.flip(0)", "{a}[..., None] * {b}[:, None]",
    "{a} @ {b}.t()", "M.lin({a})", "F.linear({a}, M.lin.weight)", "M.conv({a}.reshape({a}.shape[0], 1, -1))",
    "F.softmax({a}, {d})", "F.log_softmax({a}, {d})", "F.layer_norm({a}, ({a}.shape[-1],))", "M.ln({a})",
    "F.dropout({a}, 0.3, training=M.training)", "M.drop({a})",
    "torch.cat([{a}, {b}], {d})", "torch.stack([{a}, {b}])", "{a}.split(2, {d})[0]", "{a}.chunk(2, -1)[1]",
    "torch.where({a} > {b}, {a}, {b})", "{a}.masked_fill({b} < 0, 0.0)", "({a} > 0).to({a}.dtype) * {b}",
    "({a} == {b}).sum()", "{a}.float()", "{a}.double()", "{a}.to(torch.float32).to({a}.dtype)",
    "{a}.long()", "idx.to({a}.dtype)", "{a}.detach()", "{a}.detach() * {b}", "{a}.clone()",
    "{a}.gather(1, idx[:, None].clamp(max=1).expand(-1, 2))", "{a}.sort({d}).values",
    "F.mse_loss({a}, {b})", "{a}.argmax({d})", "torch.zeros_like({a}) + {b}",
    "{a} * cfg.scale", "{a} * cfg.items[0]", "{a} + cfg.d['w']", "helper({a}, cfg)", "M.bn({a})", "M.emb(idx) * {a}[:2]",
    "M.gru({a})", "M.gru({a}, {b})", "F.conv2d({a}.reshape(1, 1, {a}.shape[0], -1), M.k2)", "F.elu({a})",
    "torch.clamp({a}, min=-0.5, max=s)", "{a}.pow(s)", "F.leaky_relu({a}, cell)", "{a}.square().sqrt()",
]
STATEMENTS = [
    "{n} = {a} * 1\n{n}[:, 0] = {b}[:, 1]",
    "{n} = {a}.clone()\n{n}[0].mul_(2)",
    "{n} = {a} + 0\n{n}.add_({b})",
    "{n} = {a} * 1\n{n}.relu_()",
    "{n} = {a} * 1\n{n}[idx] = 0.0",
    "{n} = {a}.clone()\n{n}.masked_fill_({b} > 0, 0.5)",
    "{n} = {a} * 1\n{n}.t().mul_(2)",
    "{n} = {a} * 1\n{n}[:, 1:] += {b}[:, :1]",
    "with torch.no_grad():\n    {n} = {a} * 2",
    "with torch.no_grad():\n    M.buf.mul_(1.01)\n{n} = {a} * M.buf",
    "if {a}.sum() > 0:\n    {n} = {a} * 2\nelse:\n    {n} = {b} - 1",
    "{n} = {a} * {a}.sum().item()",
    "{n} = {a} * len({a}.tolist())",
    "if k > 2:\n    {n} = {a} + 1\nelse:\n    {n} = {a} - 1",
    "{n} = {a}.sum()\n{n}.backward(retain_graph=True)",
    "{n} = x.grad * 1 if x.grad is not None else x * 0",
    "{n} = M.lin.weight.grad.sum() * {a} if M.lin.weight.grad is not None else {a} * 1",
    "OPT.step()\n{n} = {a} * 1",
    "OPT.zero_grad()\n{n} = {a} * 1",
    "{n} = {a}.sum()\n{n}.backward()\nOPT.step()",
    "G_LIST.append(1.0)\n{n} = {a} * G_LIST[-1]",
    "M.scale = M.scale + 0.5\n{n} = {a} * M.scale",
    "with torch.no_grad():\n    y.add_(1.0)\n{n} = {a} * y",
    "y.data.mul_(0.5)\n{n} = {a} + y",
    "{n} = {a}.view(-1)\n{n}.mul_(2)",
    "{n} = torch.randn_like({a}) * {a}",
    "{n} = {a} * torch.rand(1, dtype={a}.dtype)",
    "{n} = F.dropout({a}, 0.5, training=True)",
    "{n} = {a}.detach()\n{n}.add_(1.0)",
    "{n} = {a}.exp()\n{n}.retain_grad()",
]
EVENTS = [
    "OPT.step()\nOPT.zero_grad()", "B = 5", "B = 3", "M.float()\ndt = torch.float32", "M.double()\ndt = torch.float64",
    "yrg = not yrg", "M.train()", "M.eval()", "G_SCALE = {v}", "G_LIST[0] = {v}",
    "G_T = torch.full((4,), {v}, dtype=torch.float64)", "G_T.add_(1.0)", "M.scale = {v}",
    "M.t = torch.full((4,), {v}, dtype=dt)", "set_cell({v})", "fn.__defaults__ = ({v},)", "k = {i}",
    "M.lin.weight = nn.Parameter(torch.full((4, 4), {v}, dtype=dt))", "M.lin.weight.data = M.lin.weight.data * {v}",
    "M.lin.bias.requires_grad_(not M.lin.bias.requires_grad)", "M.lin.register_forward_hook(hook_double)",
    "M.lin.weight.register_hook(lambda g: g * 2)", "with torch.no_grad():\n    M.buf.add_(1.0)",
    "M.buf[0] = {v}", "torch.manual_seed({i})", "grad_mode = not grad_mode", "alias = not alias",
    "M.lin.weight.requires_grad_(not M.lin.weight.requires_grad)", "G_LIST.append({v})", "M.drop.p = 0.6",
    "M.ln.eps = 0.1", "M.lin = nn.Linear(4, 4).to(dt)", "M.t.mul_(2.0)", "mutate = not mutate",
    "M.ln.weight.data.fill_({v})", "M.conv.weight = nn.Parameter(M.conv.weight.detach() * 2)",
    "CFG.scale = {v}", "CFG.items[0] = {v}", "CFG.d['w'] = {v}", "CFG = Cfg()", "CFG.items.append({v})",
    "M.bn.momentum = 0.5", "M.gru.weight_hh.data.mul_(0.5)",
]
TRAINING = ["loss = {a}.pow(2).mean() + M.lin(x).sum() * 0.01", "OPT.zero_grad()", "loss.backward()", "OPT.step()",
            "return loss"]


def body(seed):
    """The function's statements (a list of source lines, indented once) for ``seed``."""
    r = random.Random(seed)
    env = _sample_env()
    floats = ["x", "y"]
    lines = []
    n_statements = r.randint(3, 9)
    for i in range(n_statements * 4):
        if len(lines) >= n_statements:
            break
        name = f"v{i}"
        a, b = r.choice(floats), r.choice(floats)
        fill = dict(n=name, a=a, b=b, d=r.choice([0, 1, -1]), kd=r.choice([True, False]))
        if r.random() < 0.3:
            text = r.choice(STATEMENTS).format(**fill)
        else:
            text = f"{name} = " + r.choice(EXPRESSIONS).format(**fill)
        trial = dict(env)
        try:
            exec(text, env["__globals__"], trial)
        except Exception:
            continue
        value = trial.get(name)
        env.update(trial)
        lines.append(text)
        if isinstance(value, retrograd.Tensor) and value.dtype.is_floating_point and value.dim() >= 1:
            floats.append(name)
    names = [n for n in env if n.startswith("v") and isinstance(env[n], retrograd.Tensor)]
    if not names:
        names = ["x"]
    if r.random() < 0.25:  # a whole training step: zero_grad, loss, backward, step
        text = "\n".join(TRAINING).format(a=r.choice(floats))
        try:
            exec(text.replace("return loss", "pass"), env["__globals__"], dict(env))
            return lines + [text]
        except Exception:
            pass
    returned = r.sample(names, min(len(names), r.randint(1, 3)))
    if r.random() < 0.2:
        returned.append("k")
    lines.append("return " + ", ".join(returned) + ("," if len(returned) == 1 else ""))
    return lines


def _sample_env():
    """Sample inputs for trying statements out: the header's globals and fn's arguments."""
    g = {}
    exec(HEADER.format(body="        pass"), g)
    retrograd.manual_seed(0)
    g["M"] = g["Net"]().double()
    g["OPT"] = retrograd.optim.SGD(g["M"].parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    env = {"x": retrograd.tensor(rng.normal(size=(3, 4)), requires_grad=True),
           "y": retrograd.tensor(rng.normal(size=(3, 4))), "idx": retrograd.tensor([0, 2]), "k": 2, "s": 2.0,
           "cfg": g["CFG"],
           "cell": 0.75, "__globals__": g}
    return env


def scenario_source(seed):
    """The scenario function: calls of fn (compiled by ``compile``) and the events between them."""
    r = random.Random(seed * 7919 + 1)
    module = r.random() < 0.3  # the statements as a module's forward, the module compiled
    out = ["def scenario(compile, rec):",
           "    global M, OPT, G_SCALE, G_T, CFG",
           f"    rng = np.random.default_rng({seed})",
           "    M = Net().double()",
           "    OPT = torch.optim.SGD(M.parameters(), lr=0.1, momentum=0.5)" if r.random() < 0.6 else
           "    OPT = torch.optim.Adam(M.parameters(), lr=0.05, weight_decay=0.01)",
           "    fn, set_cell = make(0.75)",
           "    c = compile(fn)",
           "    B, dt, yrg, k, grad_mode, alias, mutate = 3, torch.float64, False, 2, True, False, "
           f"{r.random() < 0.3}",
           "    x = y = None"]
    if module:
        out += ["    stepper = Stepper(M, 0.75)",
                "    c = compile(stepper)",
                "    set_cell = lambda v: setattr(stepper, 'cell', v)"]
    for call in range(r.randint(3, 7)):
        out += ["    if x is None:",
                "        x = torch.tensor(rng.normal(size=(B, 4)), dtype=dt, requires_grad=True)",
                "    y = torch.tensor(rng.normal(size=(B, 4)), dtype=dt, requires_grad=yrg)",
                "    idx = torch.tensor(rng.integers(0, B, size=2))",
                "    with torch.set_grad_enabled(grad_mode):",
                "        out = rec.call(c, x, x if alias else y, idx, k, cfg=CFG)",
                "    after(rec, out, x, y, M, mutate)"]
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            text = r.choice(EVENTS).format(v=round(r.uniform(-2, 2), 2), i=r.randint(1, 5))
            if text.startswith(("M.", "with", "torch.", "OPT")):  # (one that may raise: recorded, as the calls are)
                text = "try:\n" + "".join("    " + line + "\n" for line in text.splitlines()) + \
                       "except Exception as e:\n    rec(type(e).__name__, label='event')"
            out += ["    " + line for line in text.splitlines()]
        if r.random() < 0.5:
            out.append("    x = None")
    return out


def source(seed):
    """The whole module of program ``seed``."""
    lines = ["        " + line for text in body(seed) for line in text.splitlines()]
    return HEADER.format(body="\n".join(lines)) + "\n\n" + "\n".join(scenario_source(seed)) + "\n"


def after(rec, out, x, y, m, mutate=False):
    """After a call: (with ``mutate``, the first output changed in place), backward of the float outputs that
    require grad (each times a fixed weight), then the state of the inputs, parameters and buffers."""
    if out is not None:
        flat = out if isinstance(out, tuple) else (out,)
        if mutate and isinstance(flat[0], retrograd.Tensor) and flat[0].dtype.is_floating_point:
            rec.call(flat[0].mul_, 2.0, label="mutate")
            rec(flat, label="after mutate")
        total = None
        try:
            for o in flat:
                if isinstance(o, retrograd.Tensor) and o.requires_grad and o.dtype.is_floating_point:
                    w = retrograd.linspace(-1, 1, o.numel(), dtype=o.dtype).reshape(o.shape)
                    term = (o * w).sum()
                    total = term if total is None else total + term
        except RuntimeError as e:  # (a view made under no_grad whose base was changed in place: torch's error)
            rec(("raised", type(e).__name__), label="loss")
            total = None
        if total is not None:
            try:
                total.backward()
                rec(None, label="backward")
            except RuntimeError as e:
                # (the .grad that the nodes before the failing one accumulated differ: eager runs each op's node,
                # the replay the graph's one node; docs/compile.md) the raise is compared, then those are dropped
                # ("a second time": a known difference, docs/compile.md; test_fuzz_compiled.main counts it apart)
                rec(("raised", type(e).__name__, *(["second time"] if "a second time" in str(e) else [])),
                    label="backward")
                for t in (x, y, *m.parameters()):
                    t.grad = None
    rec.state(x, y, *m.parameters(), *m.buffers())


_directory = []  # (made at the first load; removed at exit)
_loads = [0]


def load(seed, text=None):
    """(a fresh module holding program ``seed`` or the source ``text``, imported from a file; the file)."""
    if not _directory:
        _directory.append(tempfile.mkdtemp(prefix="retrograd_fuzz_"))
        atexit.register(shutil.rmtree, _directory[0], True)
    _loads[0] += 1
    path = os.path.join(_directory[0], f"program_{seed}_{_loads[0]}.py")
    with open(path, "w") as f:
        f.write(source(seed) if text is None else text)
    spec = importlib.util.spec_from_file_location(f"retrograd_fuzz_{seed}_{_loads[0]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


def scenario(seed, text=None):
    """A scenario for worlds.py running program ``seed``: each run loads a fresh copy of the module."""
    def run(compile, rec):
        module, path = load(seed, text)
        try:
            module.scenario(compile, rec)
        finally:
            os.remove(path)
    return run
