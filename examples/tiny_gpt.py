"""A small GPT-style (decoder-only) transformer, trained as a character-level language model.

Each block is pre-norm: x = x + attention(LayerNorm(x)); x = x + MLP(LayerNorm(x)), with
causal self-attention through F.scaled_dot_product_attention(..., is_causal=True), learned
position embeddings, and a final LayerNorm before the vocabulary projection. It trains on
random windows of examples/data/tiny_text.txt.

    python examples/tiny_gpt.py --steps 300
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import argparse
import math
import os
import time

import numpy as np

import retrograd as torch
from retrograd import nn
from retrograd.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        # (B, T, C) -> (B, heads, T, head_dim)
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.out = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))  # residual connections keep the gradient path short
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class TinyGPT(nn.Module):
    def __init__(self, vocab, block_size, d_model=64, n_head=4, n_layer=2):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual outputs
            if name.endswith("proj.weight") or name.endswith("out.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def generate(model, stoi, itos, prompt="The ", length=120, temperature=0.8, seed=0):
    rng = np.random.default_rng(seed)
    model.eval()
    ids = [stoi[c] for c in prompt]
    with torch.no_grad():
        for _ in range(length):
            x = torch.tensor([ids[-model.block_size:]])
            logits = model(x)[0, -1] / temperature
            probs = F.softmax(logits, dim=-1).numpy().astype(np.float64)
            ids.append(int(rng.choice(len(probs), p=probs / probs.sum())))
    model.train()
    return "".join(itos[i] for i in ids)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--block", type=int, default=32, help="context length")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--sample", type=int, default=120, help="characters to generate at the end")
    p.add_argument("--text", default=os.path.join(HERE, "data", "tiny_text.txt"))
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = np.array([stoi[c] for c in text], dtype=np.int64)

    model = TinyGPT(len(chars), args.block, args.d_model, args.heads, args.layers)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    losses = []
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(data) - args.block - 1, size=args.batch)
        x = torch.tensor(np.stack([data[s:s + args.block] for s in starts]))
        y = torch.tensor(np.stack([data[s + 1:s + args.block + 1] for s in starts]))
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % args.log_every == 0 or step == 1:
            recent = np.mean(losses[-args.log_every:])
            print(f"step {step:5d}  loss {losses[-1]:.3f}  (mean of last {min(step, args.log_every)}: "
                  f"{recent:.3f})  {time.perf_counter() - t0:.1f}s", flush=True)
    if args.sample:
        print("sample:", repr(generate(model, stoi, itos, length=args.sample)))
    print(f"first loss {losses[0]:.3f}, last loss {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
