"""A small Vision Transformer in the style of the popular from-scratch implementations: patches
cut two ways (a Conv2d with kernel = stride = patch, and F.unfold, checked equal), a cls_token
and pos_embedding nn.Parameter, torch.cat of the cls token expanded over the batch,
nn.TransformerEncoder of pre-norm GELU nn.TransformerEncoderLayer (batch_first), the head on the
cls position, AdamW with a LinearLR warm-up then CosineAnnealingLR joined by SequentialLR,
clip_grad_norm_, and accuracy by argmax. Weights from NumPy, so torch and retrograd print the
same losses.
"""

import numpy as np


def main(torch, steps=6, image=8, patch=4, dim=16, depth=2, heads=2, classes=3):
    nn, F = torch.nn, torch.nn.functional
    num_patches = (image // patch) ** 2

    class PatchEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, dim)

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = PatchEmbed()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embedding = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
            layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=2 * dim,
                                               dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, num_layers=depth,
                                                     enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)
            nn.init.trunc_normal_(self.pos_embedding, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)

        def forward(self, x):
            x = self.patch_embed(x)
            B = x.shape[0]
            cls_tokens = self.cls_token.expand(B, -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embedding
            x = self.transformer(x)
            x = self.norm(x)
            return self.head(x[:, 0])

    rng = np.random.default_rng(0)
    model = ViT().double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or ".norm1.weight" in name or ".norm2.weight" in name:
                continue  # LayerNorm weights keep their ones
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.2, tuple(p.shape))))

    n = 24
    y = torch.from_numpy(np.arange(n) % classes)
    x_np = rng.normal(0.0, 0.5, (n, 1, image, image))
    for i in range(n):  # class c: a bright quadrant c
        r, c = divmod(i % classes, 2)
        x_np[i, 0, r * 4:(r + 1) * 4, c * 4:(c + 1) * 4] += 1.0
    x = torch.from_numpy(x_np)

    # the patches of F.unfold are the conv's inputs: the same embedding by a matrix product
    cols = F.unfold(x, kernel_size=patch, stride=patch).transpose(1, 2)  # (B, N, patch*patch)
    w = model.patch_embed.proj.weight.reshape(dim, -1)
    by_unfold = cols @ w.t() + model.patch_embed.proj.bias
    by_conv = model.patch_embed(x)
    assert tuple(cols.shape) == (n, num_patches, patch * patch)
    print(f"unfold vs conv max difference below 1e-12 {float((by_unfold - by_conv).abs().max() < 1e-12):.15e}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - 2, eta_min=1e-4)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[2])
    criterion = nn.CrossEntropyLoss()
    for step in range(steps):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        acc = (logits.argmax(dim=-1) == y).float().mean()
        print(f"step {step} loss {loss.item():.15e}")
        print(f"step {step} grad norm {norm.item():.15e}")
        print(f"step {step} acc {acc.item():.15e}")
        print(f"step {step} lr {scheduler.get_last_lr()[0]:.15e}")
    model.eval()
    with torch.no_grad():
        probs = model(x).softmax(dim=-1)
    print(f"eval mean max prob {probs.max(dim=-1).values.mean().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
