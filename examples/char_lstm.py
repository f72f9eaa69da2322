"""A character-level LSTM language model, trained with truncated backpropagation through time.

The text (examples/data/tiny_text.txt) is cut into `--batch` parallel streams. Each step
trains on the next `--bptt` characters of every stream and carries the LSTM state into the
next step with ``detach()``: the state's values flow forward across chunks, its gradients
flow back at most `--bptt` steps (without the detach, the second backward would run into
the previous chunk's freed graph).

    python examples/char_lstm.py --steps 300
    (runs unchanged with `import torch` in place of `import retrograd as torch`)
"""

import argparse
import os
import time

import numpy as np

import retrograd as torch
from retrograd import nn
from retrograd.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed=32, hidden=128, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def sample(model, stoi, itos, prompt="The ", length=120, temperature=0.8, seed=0):
    """Generate text one character at a time, carrying the LSTM state."""
    rng = np.random.default_rng(seed)
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        x = torch.tensor([[stoi[c] for c in prompt]])
        logits, state = model(x)
        for _ in range(length):
            probs = F.softmax(logits[0, -1] / temperature, dim=-1).numpy().astype(np.float64)
            idx = int(rng.choice(len(probs), p=probs / probs.sum()))
            out.append(itos[idx])
            logits, state = model(torch.tensor([[idx]]), state)
    model.train()
    return "".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--bptt", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--sample", type=int, default=120, help="characters to generate at the end")
    p.add_argument("--text", default=os.path.join(HERE, "data", "tiny_text.txt"))
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = len(data) // args.batch
    streams = data[:n * args.batch].reshape(args.batch, n)  # (batch, n): one stream per row

    model = CharLSTM(len(chars), hidden=args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    state, pos = None, 0
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        if pos + args.bptt + 1 > n:  # back to the start of the streams: fresh state
            state, pos = None, 0
        x = streams[:, pos:pos + args.bptt]
        y = streams[:, pos + 1:pos + args.bptt + 1]
        pos += args.bptt
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)  # truncated BPTT: keep values, cut the graph
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
        print("sample:", repr(sample(model, stoi, itos, length=args.sample)))
    print(f"first loss {losses[0]:.3f}, last loss {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
