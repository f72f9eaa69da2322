"""A spectrally normalised GAN in the style of the SN-GAN implementations, with the parametrization
tutorial's tools: a discriminator whose Linear and Conv1d layers are wrapped by
nn.utils.parametrizations.spectral_norm (the power iteration's u and v buffers set from NumPy, so
both libraries iterate from the same vectors), the hinge loss (F.relu(1 - d_real) and
F.relu(1 + d_fake)), two time-scale Adam (TTUR: different learning rates, betas=(0.0, 0.9)), the
weight's largest singular value checked near 1 by torch.linalg.matrix_norm(ord=2), parametrize's
cached() context, a custom parametrization (the tutorial's Symmetric, with right_inverse) registered
by nn.utils.parametrize.register_parametrization on a generator layer and assigned through
right_inverse, its original read from
parametrizations.weight.original, remove_parametrizations(leave_parametrized=True), and the
discriminator's state_dict keys (weight_orig-free: parametrizations.weight.original and
the _u/_v buffers). Noise from NumPy, so torch and retrograd print the same numbers.
"""

import numpy as np


def main(torch, steps=5, latent=4, length=12, batch=8):
    nn, F = torch.nn, torch.nn.functional
    P = nn.utils.parametrize
    SN = nn.utils.parametrizations.spectral_norm

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(latent, 16)
            self.mix = nn.Linear(16, 16, bias=False)
            self.out = nn.Linear(16, length)

        def forward(self, z):
            return torch.tanh(self.out(F.relu(self.mix(F.relu(self.fc(z))))))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = SN(nn.Conv1d(1, 4, 3, padding=1))
            self.fc1 = SN(nn.Linear(4 * length, 16))
            self.fc2 = SN(nn.Linear(16, 1))

        def forward(self, x):
            h = F.leaky_relu(self.conv(x.unsqueeze(1)), 0.1).flatten(1)
            return self.fc2(F.leaky_relu(self.fc1(h), 0.1)).squeeze(1)

    rng = np.random.default_rng(0)
    G, D = Generator().double(), Discriminator().double()
    P.register_parametrization(G.mix, "weight", Symmetric())
    with torch.no_grad():
        for name, p in list(G.named_parameters()) + list(D.named_parameters()):
            if not name.startswith("mix."):
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
        G.mix.weight = torch.from_numpy(rng.normal(0.0, 0.4, (16, 16)))  # set through right_inverse
        for module in (D.conv, D.fc1, D.fc2):
            sn = module.parametrizations.weight[0]
            u = torch.from_numpy(rng.normal(size=tuple(sn._u.shape)))
            v = torch.from_numpy(rng.normal(size=tuple(sn._v.shape)))
            sn._u.copy_(F.normalize(u, dim=0, eps=sn.eps))
            sn._v.copy_(F.normalize(v, dim=0, eps=sn.eps))
    W = G.mix.weight
    print(f"symmetric after the copy below 1e-15 {float((W - W.T).abs().max() < 1e-15):.15e}")
    original = G.mix.parametrizations.weight.original
    print(f"generator parametrized original is upper triangular {float(torch.equal(original, original.triu())):.15e}")
    keys = sorted(k for k in D.state_dict() if k.startswith("fc2."))
    print(f"discriminator fc2 state keys {' '.join(keys)} {len(keys):.15e}")

    t = np.linspace(0, 2 * np.pi, length)
    real_data = np.stack([np.sin(t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 0.9) for _ in range(64)])
    opt_d = torch.optim.Adam(D.parameters(), lr=4e-3, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    for step in range(steps):
        real = torch.from_numpy(real_data[rng.choice(64, batch, replace=False)])
        z = torch.from_numpy(rng.standard_normal((batch, latent)))
        fake = G(z)
        d_loss = F.relu(1.0 - D(real)).mean() + F.relu(1.0 + D(fake.detach())).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -D(G(z)).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        print(f"step {step} d hinge loss {d_loss.item():.15e}")
        print(f"step {step} g loss {g_loss.item():.15e}")

    D.eval()
    with torch.no_grad():
        sigma = torch.linalg.matrix_norm(D.fc1.weight, ord=2)
        print(f"fc1 spectral norm {sigma.item():.15e}")
        print(f"fc1 u norm {D.fc1.parametrizations.weight[0]._u.norm().item():.15e}")
        with P.cached():
            a = D.fc1.weight
            b = D.fc1.weight
            print(f"cached weight is one tensor {float(a is b):.15e}")
        real = torch.from_numpy(real_data[:8])
        print(f"eval discriminator mean {D(real).mean().item():.15e}")
    P.remove_parametrizations(G.mix, "weight", leave_parametrized=True)
    assert not P.is_parametrized(G.mix) and isinstance(G.mix.weight, nn.Parameter)
    print(f"generator mix weight after removal {G.mix.weight.sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
