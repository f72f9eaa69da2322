"""A variational autoencoder in the style of the PyTorch examples' VAE on binarised images:
an encoder to mu and logvar, the reparameterisation trick (std = exp(0.5 * logvar), eps drawn
with randn_like or handed in), a sigmoid decoder through nn.Unflatten, the loss
F.binary_cross_entropy(reduction='sum') plus the closed-form KL term, which the program checks
against torch.distributions (kl_divergence of Normal against the standard Normal, and
Independent(Normal, 1) / Bernoulli(logits=...) log_prob giving the same ELBO), a KL weight
annealed by hand, Adam with StepLR over a DataLoader of a TensorDataset, an importance-weighted
log-likelihood estimate with torch.logsumexp, and samples from the prior. The noise comes from
NumPy, so torch and retrograd print the same losses.
"""

import math

import numpy as np


def main(torch, epochs=3, batch_size=16, side=6, latent=3):
    nn, F = torch.nn, torch.nn.functional
    D = torch.distributions
    pixels = side * side

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 24), nn.ReLU())
            self.fc_mu = nn.Linear(24, latent)
            self.fc_logvar = nn.Linear(24, latent)
            self.decoder = nn.Sequential(nn.Linear(latent, 24), nn.ReLU(), nn.Linear(24, pixels),
                                         nn.Unflatten(1, (1, side, side)))

        def encode(self, x):
            h = self.encoder(x)
            return self.fc_mu(h), self.fc_logvar(h)

        def reparameterize(self, mu, logvar, eps=None):
            std = torch.exp(0.5 * logvar)
            if eps is None:
                eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            return torch.sigmoid(self.decoder(z))

        def forward(self, x, eps=None):
            mu, logvar = self.encode(x)
            z = self.reparameterize(mu, logvar, eps)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar, beta=1.0):
        BCE = F.binary_cross_entropy(recon_x.view(-1, pixels), x.view(-1, pixels), reduction="sum")
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + beta * KLD, BCE, KLD

    rng = np.random.default_rng(0)
    n = 64
    bars = np.zeros((n, 1, side, side))
    for i in range(n):  # a horizontal or a vertical bar, with flipped pixels
        k = int(rng.integers(0, side))
        if i % 2:
            bars[i, 0, k, :] = 1.0
        else:
            bars[i, 0, :, k] = 1.0
    bars = np.abs(bars - (rng.random(bars.shape) < 0.05))
    images = torch.from_numpy(bars)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=batch_size,
                                         shuffle=False)

    model = VAE().double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    steps_total = epochs * len(loader)
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        train_loss = 0.0
        for batch_idx, (data,) in enumerate(loader):
            eps = torch.from_numpy(rng.standard_normal((data.size(0), latent)))
            beta = min(1.0, (step + 1) / (steps_total / 2))  # KL annealing
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data, eps)
            loss, bce, kld = loss_function(recon_batch, data, mu, logvar, beta)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            step += 1
            print(f"epoch {epoch} batch {batch_idx} loss {loss.item() / len(data):.15e}")
        scheduler.step()
        print(f"epoch {epoch} average loss {train_loss / len(loader.dataset):.15e}")
        print(f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.15e}")

    # the closed forms against torch.distributions
    model.eval()
    with torch.no_grad():
        x = images[:8]
        eps = torch.from_numpy(rng.standard_normal((8, latent)))
        recon, mu, logvar = model(x, eps)
        _, bce, kld = loss_function(recon, x, mu, logvar)
        std = torch.exp(0.5 * logvar)
        q = D.Normal(mu, std)
        prior = D.Normal(torch.zeros_like(mu), torch.ones_like(std))
        kl = D.kl_divergence(q, prior).sum()
        print(f"closed-form kl {kld.item():.15e}")
        print(f"distributions kl {kl.item():.15e}")
        logits = model.decoder(mu + eps * std).view(-1, pixels)
        likelihood = D.Independent(D.Bernoulli(logits=logits), 1)
        log_px = likelihood.log_prob(x.view(-1, pixels)).sum()
        print(f"bernoulli log likelihood {log_px.item():.15e}")
        print(f"bce with logits {F.binary_cross_entropy_with_logits(logits, x.view(-1, pixels), reduction='sum').item():.15e}")
        z = mu + eps * std
        log_q = D.Independent(q, 1).log_prob(z)
        log_p = D.Independent(prior, 1).log_prob(z)
        assert tuple(log_q.shape) == (8,) and q.batch_shape == (8, latent)
        print(f"single-sample elbo {(likelihood.log_prob(x.view(-1, pixels)) + log_p - log_q).mean().item():.15e}")

        # importance-weighted estimate of log p(x), K samples each
        K = 10
        eps_k = torch.from_numpy(rng.standard_normal((K, 8, latent)))
        z_k = mu.unsqueeze(0) + eps_k * std.unsqueeze(0)  # (K, 8, latent)
        logits_k = model.decoder(z_k.reshape(K * 8, latent)).view(K, 8, pixels)
        log_w = (D.Bernoulli(logits=logits_k).log_prob(x.view(1, 8, pixels).expand(K, -1, -1)).sum(-1)
                 + D.Normal(0.0, 1.0).log_prob(z_k).sum(-1) - q.log_prob(z_k).sum(-1))
        iwae = (torch.logsumexp(log_w, dim=0) - math.log(K)).mean()
        print(f"iwae log likelihood {iwae.item():.15e}")

        # the random stream is each library's own: shapes and ranges only
        torch.manual_seed(0)
        sample = model.decode(torch.randn(4, latent, dtype=torch.float64))
        assert tuple(sample.shape) == (4, 1, side, side) and 0 < sample.min() and sample.max() < 1
        drawn = model.reparameterize(mu, logvar)
        assert drawn.shape == mu.shape and not torch.equal(drawn, mu)
    rsampled = D.Normal(mu.requires_grad_(), std).rsample()
    assert rsampled.grad_fn is not None


if __name__ == "__main__":
    from _run import script
    script(main)
