"""A variational autoencoder on the 8x8 digits shipped with retrograd, written as a
PyTorch user writes one: an encoder to a Normal posterior q(z|x), a reparameterized sample
(rsample), a decoder with a Bernoulli likelihood on pixel intensities in [0, 1], the KL
term against a standard Normal prior by kl_divergence, Adam. Prints the ELBO per epoch
(nats per image, higher is better) and writes a PNG of reconstructions and samples.

    python examples/vae.py [--epochs 30 --latent 4 --out vae.png --seed 0]
    (runs with `import torch` in place of `import retrograd as torch`; the data loader
    is retrograd's)
"""

import argparse
import time

import retrograd as torch
from retrograd import nn
from retrograd.demo.data import load_split
from retrograd.distributions import Normal, kl_divergence
from retrograd.nn import functional as F
from retrograd.utils.data import DataLoader, TensorDataset


class VAE(nn.Module):
    def __init__(self, latent=4, hidden=128, pixels=64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels))

    def posterior(self, x):
        mu, log_std = self.encoder(x).chunk(2, dim=1)
        return Normal(mu, log_std.exp())

    def forward(self, x):
        """The ELBO of each image of ``x`` (shape (batch,)) and the decoder's logits."""
        q = self.posterior(x)
        z = q.rsample()  # mu + std * eps: gradients flow to the encoder through the sample
        logits = self.decoder(z)
        log_likelihood = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        prior = Normal(torch.zeros_like(z), torch.ones_like(z))
        kl = kl_divergence(q, prior).sum(1)
        return log_likelihood - kl, logits


def elbo_of(model, x):
    with torch.no_grad():
        return model(x)[0].mean().item()


def save_picture(model, x, latent, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no picture (pip install matplotlib)")
        return
    with torch.no_grad():
        reconstructions = torch.sigmoid(model.decoder(model.posterior(x).mean))
        samples = torch.sigmoid(model.decoder(torch.randn(len(x), latent)))
    rows = [("input", x), ("reconstruction", reconstructions), ("sample", samples)]
    fig, axes = plt.subplots(len(rows), len(x), figsize=(len(x), len(rows) + 0.5))
    for r, (name, images) in enumerate(rows):
        for c in range(len(x)):
            ax = axes[r, c]
            ax.imshow(images[c].reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--latent", type=int, default=4, help="size of the latent code z")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subset", type=int, default=None, help="use only this many images")
    parser.add_argument("--out", default="vae.png", help="PNG of reconstructions and samples")
    args = parser.parse_args(argv)

    x_train, _, x_test, _ = load_split(seed=args.seed, subset=args.subset)
    x_train, x_test = torch.from_numpy(x_train), torch.from_numpy(x_test)
    torch.manual_seed(args.seed)
    loader = DataLoader(TensorDataset(x_train), batch_size=args.batch_size, shuffle=True)
    model = VAE(latent=args.latent)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    first = elbo_of(model, x_test)
    print(f"before training  test ELBO {first:.2f}")
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for (x,) in loader:
            optimizer.zero_grad()
            elbo, _ = model(x)
            loss = -elbo.mean()
            loss.backward()
            optimizer.step()
            total += -loss.item() * len(x)
        last = elbo_of(model, x_test)
        print(f"epoch {epoch + 1:2d}  train ELBO {total / len(x_train):.2f}  test ELBO {last:.2f}")
    print(f"first ELBO {first:.2f}, last ELBO {last:.2f} in {time.perf_counter() - start:.1f}s")
    save_picture(model, x_test[:10], args.latent, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
