"""The benchmark workloads, written once against the torch API and run with either
module (``t`` is ``retrograd`` or ``torch``). Each returns a Workload: a model, a
batch, a loss function, and (for ``mlp`` and ``deep``) the matmul FLOPs of one step."""

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Workload:
    model: object
    inputs: tuple
    target: object
    loss_fn: Callable
    step_flops: float = 0.0  # matmul FLOPs of forward + backward (for the BLAS floor)
    layer_sizes: list = field(default_factory=list)  # for the hand-written NumPy step


def _seeded(t):
    t.manual_seed(0)


def mlp(t):
    """Linear(784,512)-ReLU-Linear(512,512)-ReLU-Linear(512,10), batch 128, cross-entropy."""
    _seeded(t)
    nn = t.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x = t.randn(128, 784)
    y = t.randint(0, 10, (128,))
    sizes = [784, 512, 512, 10]
    flops = sum(3 * 2 * 128 * a * b for a, b in zip(sizes, sizes[1:]))
    return Workload(model, (x,), y, nn.CrossEntropyLoss(), flops, sizes)


def tiny(t):
    """Linear(2,16)-Tanh-Linear(16,16)-Tanh-Linear(16,1), batch 32, MSE (overhead-bound)."""
    _seeded(t)
    nn = t.nn
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    return Workload(model, (t.randn(32, 2),), t.randn(32, 1), nn.MSELoss())


def cnn(t):
    """Conv(1,16,3,p1)-ReLU-MaxPool2-Conv(16,32,3,p1)-ReLU-MaxPool2-Flatten-Linear(1568,10), batch 64."""
    _seeded(t)
    nn = t.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))
    return Workload(model, (t.randn(64, 1, 28, 28),), t.randint(0, 10, (64,)), nn.CrossEntropyLoss())


def transformer(t):
    """Token+position embeddings (vocab 1000, d 256, seq 128), 2 pre-LayerNorm blocks with causal
    4-head attention written with matmul/masked_fill/softmax, MLP 256-1024-256 GELU, batch 8."""
    _seeded(t)
    nn = t.nn
    vocab, d, seq, heads = 1000, 256, 128, 4

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, 4 * d)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(4 * d, d)

        def forward(self, x):
            b, s, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
            q = q.reshape(b, s, heads, d // heads).transpose(1, 2)
            k = k.reshape(b, s, heads, d // heads).transpose(1, 2)
            v = v.reshape(b, s, heads, d // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (d // heads) ** 0.5)
            mask = t.triu(t.ones(s, s, dtype=t.bool), diagonal=1)
            att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, d)
            x = x + self.proj(y)
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(seq, d)
            self.blocks = nn.Sequential(Block(), Block())
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            pos = t.arange(idx.shape[1])
            x = self.tok(idx) + self.pos(pos)
            return self.head(self.ln(self.blocks(x)))

    idx = t.randint(0, vocab, (8, seq + 1))
    ce = nn.CrossEntropyLoss()
    return Workload(GPT(), (idx[:, :-1],), idx[:, 1:],
                    lambda logits, y: ce(logits.reshape(-1, vocab), y.reshape(-1)))


def lstm(t):
    """nn.LSTM(64, 256, batch_first=True) over 64 steps, batch 32, MSE of Linear(256,1) on the last output."""
    _seeded(t)
    nn = t.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(64, 256, batch_first=True)
            self.head = nn.Linear(256, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Workload(Net(), (t.randn(32, 64, 64),), t.randn(32, 1), nn.MSELoss())


def deep(t, blocks=32, width=1024, batch=256):
    """32 blocks x = x + tanh(Linear(1024,1024)(x)), batch 256, loss mean(x^2). Each block is a
    module of an nn.Sequential, so that inspect.checkpoint_plan can checkpoint runs of blocks;
    the sizes are arguments so that tests can run it small."""
    _seeded(t)
    nn = t.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(width, width)

        def forward(self, x):
            return x + t.tanh(self.linear(x))

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(*(Block() for _ in range(blocks)))

        def forward(self, x):
            return self.layers(x)

    flops = blocks * 3 * 2 * batch * width * width
    return Workload(Deep(), (t.randn(batch, width),), None, lambda out, _: (out ** 2).mean(), flops)


def gpt2(t, layers=4, d=64, heads=4, ctx=16, batch=32, vocab=27):
    """A GPT-2-style character model written as nanoGPT-style programs write it: token+position
    embeddings (vocabulary 27, width 64, context 16), 4 pre-LayerNorm blocks with causal 4-head
    attention (mask by ``masked_fill(bias == 0, -inf)`` with a registered ``bias`` buffer), an MLP
    64-256-64 with the tanh GELU written out with ``torch.pow(x, 3.0)``, batch 32, cross-entropy."""
    import math

    _seeded(t)
    nn, F = t.nn, t.nn.functional

    def new_gelu(x):
        return 0.5 * x * (1.0 + t.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * t.pow(x, 3.0))))

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.register_buffer("bias", t.tril(t.ones(ctx, ctx)).view(1, 1, ctx, ctx))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(d, dim=2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(d, 4 * d)
            self.c_proj = nn.Linear(4 * d, d)

        def forward(self, x):
            return self.c_proj(new_gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(ctx, d)
            self.h = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            b, T = idx.size()
            pos = t.arange(0, T, dtype=t.long, device=idx.device).unsqueeze(0)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    idx = t.randint(0, vocab, (batch, ctx + 1))
    return Workload(GPT(), (idx[:, :-1],), idx[:, 1:],
                    lambda logits, y: F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1)))


def grucell(t, steps=16, batch=32, width=64):
    """A GRU cell written by hand from nn.Linear, torch.cat, F.sigmoid and F.tanh, stepped in a
    Python loop over 16 positions (batch 32, width 64), its hidden states stacked; MSE of a
    Linear(64,1) read-out of every position."""
    _seeded(t)
    nn, F = t.nn, t.nn.functional

    class GRUCell(nn.Module):
        def __init__(self):
            super().__init__()
            self.xh_to_z = nn.Linear(2 * width, width)
            self.xh_to_r = nn.Linear(2 * width, width)
            self.xh_to_hbar = nn.Linear(2 * width, width)

        def forward(self, xt, hprev):
            xh = t.cat([xt, hprev], dim=1)
            r = F.sigmoid(self.xh_to_r(xh))
            hbar = F.tanh(self.xh_to_hbar(t.cat([xt, r * hprev], dim=1)))
            z = F.sigmoid(self.xh_to_z(xh))
            return (1 - z) * hprev + z * hbar

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = GRUCell()
            self.start = nn.Parameter(t.zeros(1, width))
            self.head = nn.Linear(width, 1)

        def forward(self, x):
            h = self.start.expand(x.size(0), -1)
            hiddens = []
            for i in range(x.size(1)):
                h = self.cell(x[:, i, :], h)
                hiddens.append(h)
            return self.head(t.stack(hiddens, 1))

    return Workload(Net(), (t.randn(batch, steps, width),), t.randn(batch, steps, 1), nn.MSELoss())


WORKLOADS = {"mlp": mlp, "tiny": tiny, "cnn": cnn, "transformer": transformer, "lstm": lstm,
             "deep": deep, "gpt2": gpt2, "grucell": grucell, "opoverhead": None}
