"""A nanoGPT-style character model and its training script: a GPTConfig dataclass, causal
self-attention by F.scaled_dot_product_attention(is_causal=True) next to the masked-softmax
fallback over a registered tril buffer (checked equal), nn.ModuleDict(wte, wpe, drop, h, ln_f),
weight tying of wte and lm_head, self.apply(_init_weights) and the scaled c_proj init,
configure_optimizers splitting decay / no-decay groups by p.dim() >= 2 into AdamW(betas,
fused checked through inspect.signature), a cosine learning rate with linear warm-up written into
param_groups by hand, gradient accumulation through a disabled GradScaler, clip_grad_norm_,
an estimate_loss under @torch.no_grad() and model.eval(), a checkpoint dict, crop_block_size,
and @torch.no_grad() generate with topk and torch.multinomial. The script sets
torch.backends.cuda.matmul.allow_tf32 and picks nullcontext() on the CPU, as nanoGPT does, and
one evaluation runs in float32 under torch.autocast(device_type='cpu', dtype=torch.bfloat16).
Weights from NumPy, so torch and retrograd print the same losses.
"""

import inspect
import io
import math
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import numpy as np

TEXT = ("first citizen: before we proceed any further, hear me speak. "
        "all: speak, speak. first citizen: you are all resolved rather to die than to famish? ")


def main(torch, max_iters=8, eval_iters=2):
    nn, F = torch.nn, torch.nn.functional

    @dataclass
    class GPTConfig:
        block_size: int = 8
        vocab_size: int = 32
        n_layer: int = 2
        n_head: int = 2
        n_embd: int = 16
        dropout: float = 0.0
        bias: bool = True

    class LayerNorm(nn.Module):
        """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

        def __init__(self, ndim, bias):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, input):
            return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.attn_dropout = nn.Dropout(config.dropout)
            self.resid_dropout = nn.Dropout(config.dropout)
            self.n_head = config.n_head
            self.n_embd = config.n_embd
            self.dropout = config.dropout
            self.flash = hasattr(torch.nn.functional, "scaled_dot_product_attention")
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))

        def forward(self, x, use_flash=True):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            if self.flash and use_flash:
                y = torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0,
                    is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
                att = F.softmax(att, dim=-1)
                att = self.attn_dropout(att)
                y = att @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def get_num_params(self, non_embedding=True):
            n_params = sum(p.numel() for p in self.parameters())
            if non_embedding:
                n_params -= self.transformer.wpe.weight.numel()
            return n_params

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            device = idx.device
            b, t = idx.size()
            assert t <= self.config.block_size, f"Cannot forward sequence of length {t}"
            pos = torch.arange(0, t, dtype=torch.long, device=device)
            tok_emb = self.transformer.wte(idx)
            pos_emb = self.transformer.wpe(pos)
            x = self.transformer.drop(tok_emb + pos_emb)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=-1)
            else:
                logits = self.lm_head(x[:, [-1], :])  # only the last position
                loss = None
            return logits, loss

        def crop_block_size(self, block_size):
            assert block_size <= self.config.block_size
            self.config.block_size = block_size
            self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])
            for block in self.transformer.h:
                if hasattr(block.attn, "bias"):
                    block.attn.bias = block.attn.bias[:, :, :block_size, :block_size]

        def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
            param_dict = {pn: p for pn, p in self.named_parameters()}
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {"params": decay_params, "weight_decay": weight_decay},
                {"params": nodecay_params, "weight_decay": 0.0},
            ]
            num_decay_params = sum(p.numel() for p in decay_params)
            num_nodecay_params = sum(p.numel() for p in nodecay_params)
            print(f"num decayed parameter tensors {float(len(decay_params)):.15e}")
            print(f"num decayed parameters {float(num_decay_params):.15e}")
            print(f"num non-decayed parameters {float(num_nodecay_params):.15e}")
            fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type == "cuda"
            extra_args = dict(fused=True) if use_fused else dict()
            optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
            assert optimizer.defaults["fused"] is None
            return optimizer

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
            for _ in range(max_new_tokens):
                idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    # -- the training script --
    device = "cpu"
    device_type = "cuda" if "cuda" in device else "cpu"
    dtype = "bfloat16"
    torch.manual_seed(1337)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    ctx = nullcontext() if device_type == "cpu" else torch.amp.autocast(device_type=device_type, dtype=ptdtype)

    chars = sorted(set(TEXT))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    encode = lambda s: [stoi[c] for c in s]  # noqa: E731
    decode = lambda l: "".join([itos[i] for i in l])  # noqa: E731
    data = np.array(encode(TEXT), dtype=np.uint16)
    n = int(0.8 * len(data))
    train_data, val_data = data[:n], data[n:]

    config = GPTConfig(vocab_size=len(chars))
    block_size, batch_size = config.block_size, 4
    model_args = asdict(config)
    rng = np.random.default_rng(0)

    def get_batch(split):
        data = train_data if split == "train" else val_data
        ix = rng.integers(0, len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64)) for i in ix])
        return x.to(device), y.to(device)

    model = GPT(config)
    assert model.transformer.wte.weight is model.lm_head.weight
    print(f"number of parameters {float(model.get_num_params()):.15e}")
    model.to(torch.float64)
    init = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                continue
            p.copy_(torch.from_numpy(init.normal(0.0, 0.2, tuple(p.shape))))

    # the fused kernel and the masked-softmax fallback agree
    xb, _ = get_batch("train")
    h0 = model.transformer.wte(xb) + model.transformer.wpe(torch.arange(block_size))
    attn = model.transformer.h[0].attn
    gap = (attn(h0) - attn(h0, use_flash=False)).abs().max()
    print(f"sdpa vs masked softmax below 1e-12 {float(gap < 1e-12):.15e}")

    learning_rate, min_lr, warmup_iters, lr_decay_iters = 6e-3, 6e-4, 3, max_iters
    gradient_accumulation_steps, grad_clip = 2, 1.0
    scaler = torch.amp.GradScaler("cpu", enabled=(dtype == "float16"))
    optimizer = model.configure_optimizers(0.1, learning_rate, (0.9, 0.95), device_type)

    def get_lr(it):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters, dtype=torch.float64)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    best_val_loss, checkpoint = 1e9, None
    X, Y = get_batch("train")
    for iter_num in range(max_iters):
        lr = get_lr(iter_num)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        if iter_num % 4 == 0:
            losses = estimate_loss()
            print(f"iter {iter_num} train loss {losses['train']:.15e}")
            print(f"iter {iter_num} val loss {losses['val']:.15e}")
            if losses["val"] < best_val_loss:
                best_val_loss = losses["val"]
                checkpoint = {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "model_args": model_args,
                    "iter_num": iter_num,
                    "best_val_loss": best_val_loss,
                }
        for micro_step in range(gradient_accumulation_steps):
            with ctx:
                logits, loss = model(X, Y)
                loss = loss / gradient_accumulation_steps
            X, Y = get_batch("train")
            scaler.scale(loss).backward()
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lossf = loss.item() * gradient_accumulation_steps
        print(f"iter {iter_num} loss {lossf:.15e}")
        print(f"iter {iter_num} grad norm {norm.item():.15e}")
        print(f"iter {iter_num} lr {lr:.15e}")

    # the checkpoint round trip, as train.py's 'resume' reads it
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, map_location=device, weights_only=False)
    resumed = GPT(GPTConfig(**checkpoint["model_args"])).to(torch.float64)
    state_dict = checkpoint["model"]
    unwanted_prefix = "_orig_mod."
    for k, v in list(state_dict.items()):
        if k.startswith(unwanted_prefix):
            state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
    resumed.load_state_dict(state_dict)
    assert "transformer.h.0.attn.bias" in state_dict  # a persistent buffer
    print(f"checkpoint iter {float(checkpoint['iter_num']):.15e}")
    print(f"checkpoint best val loss {float(checkpoint['best_val_loss']):.15e}")

    # an evaluation in float32 under CPU autocast to bfloat16
    model32 = GPT(config)
    model32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    model32.eval()
    X, Y = get_batch("val")
    math_kernel = torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH)  # float32 inside, one rounding
    with torch.no_grad(), torch.autocast(device_type="cpu", dtype=torch.bfloat16), math_kernel:
        logits, _ = model32(X, Y)
        _, loss = model32(X, Y)
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    print(f"autocast bf16 val loss {loss.item():.15e}")

    # generate: greedy (top_k=1) is the same under both; top_k=4 draws from the random stream
    resumed.crop_block_size(6)
    resumed.eval()
    start = torch.tensor([encode("first ")], dtype=torch.long)
    greedy = resumed.generate(start, max_new_tokens=10, top_k=1)
    print(f"greedy token sum {float(greedy.sum().item()):.15e}")
    sampled = resumed.generate(start, max_new_tokens=10, temperature=0.8, top_k=4)
    assert sampled.shape == (1, 16) and sampled[0, :6].tolist() == start[0].tolist()
    print("sample " + repr(decode(sampled[0].tolist())))


if __name__ == "__main__":
    from _run import script
    script(main)
