"""A RealNVP normalizing flow on two-moons-like data, in the style of the common from-scratch
implementations: affine coupling layers with alternating binary masks registered as buffers, scale
and translation nets (the scale through tanh and a learned nn.Parameter scale), the forward
pass returning z and the summed log-determinant, the inverse for sampling, the base distribution
a torch.distributions.MultivariateNormal(loc, scale_tril=...) whose log_prob gives the negative
log-likelihood, a batch-norm-free flow trained with Adam and clip_grad_norm_, the inverse checked
to undo the forward, the log-determinant checked against torch.autograd.functional.jacobian and
torch.linalg.slogdet, and the same density built from torch.distributions' own transforms
(TransformedDistribution of a Normal through AffineTransform and a ComposeTransform, Independent,
log_abs_det_jacobian, inv). Data from NumPy, so torch and retrograd print the same numbers.
"""

import math

import numpy as np


def main(torch, steps=8, dim=2, hidden=16, layers=4, batch=64):
    nn = torch.nn
    D = torch.distributions

    class Coupling(nn.Module):
        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.s = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, dim), nn.Tanh())
            self.t = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, dim))
            self.scale = nn.Parameter(torch.ones(1, dim))

        def forward(self, x):
            x_masked = x * self.mask
            s = self.s(x_masked) * self.scale * (1 - self.mask)
            t = self.t(x_masked) * (1 - self.mask)
            y = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
            return y, s.sum(dim=1)

        def inverse(self, y):
            y_masked = y * self.mask
            s = self.s(y_masked) * self.scale * (1 - self.mask)
            t = self.t(y_masked) * (1 - self.mask)
            return y_masked + (1 - self.mask) * (y - t) * torch.exp(-s)

    class RealNVP(nn.Module):
        def __init__(self):
            super().__init__()
            masks = [torch.tensor([i % 2, (i + 1) % 2], dtype=torch.float64) for i in range(layers)]
            self.couplings = nn.ModuleList([Coupling(m) for m in masks])
            self.register_buffer("loc", torch.zeros(dim, dtype=torch.float64))
            self.register_buffer("scale_tril", torch.eye(dim, dtype=torch.float64))

        @property
        def prior(self):
            return D.MultivariateNormal(self.loc, scale_tril=self.scale_tril)

        def forward(self, x):
            log_det = torch.zeros(x.shape[0], dtype=x.dtype)
            for coupling in self.couplings:
                x, ld = coupling(x)
                log_det = log_det + ld
            return x, log_det

        def inverse(self, z):
            for coupling in reversed(self.couplings):
                z = coupling.inverse(z)
            return z

        def log_prob(self, x):
            z, log_det = self(x)
            return self.prior.log_prob(z) + log_det

    rng = np.random.default_rng(0)
    n = 256
    theta = rng.uniform(0, math.pi, n)
    upper = rng.random(n) < 0.5
    points = np.stack([np.where(upper, np.cos(theta), 1 - np.cos(theta)),
                       np.where(upper, np.sin(theta), 0.5 - np.sin(theta))], axis=1)
    data = torch.from_numpy(points + rng.normal(0.0, 0.05, points.shape))
    data = (data - data.mean(0)) / data.std(0)

    flow = RealNVP().double()
    with torch.no_grad():
        for name, p in flow.named_parameters():
            if not name.endswith("scale"):
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-2)
    for step in range(steps):
        x = data[torch.from_numpy(rng.permutation(n)[:batch])]
        optimizer.zero_grad()
        loss = -flow.log_prob(x).mean()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
        optimizer.step()
        print(f"step {step} nll {loss.item():.15e}")
        print(f"step {step} grad norm {norm.item():.15e}")

    with torch.no_grad():
        print(f"full data nll {-flow.log_prob(data).mean().item():.15e}")
        z, log_det = flow(data[:16])
        back = flow.inverse(z)
        print(f"inverse undoes forward below 1e-12 {float((back - data[:16]).abs().max() < 1e-12):.15e}")
        z_draw = torch.from_numpy(rng.standard_normal((5, dim)))
        samples = flow.inverse(z_draw)
        print(f"sample mean {samples.mean().item():.15e}")
        print(f"prior entropy {flow.prior.entropy().item():.15e}")

    # the log-determinant against the Jacobian of the whole flow at one point
    point = data[3]
    jac = torch.autograd.functional.jacobian(lambda v: flow(v.unsqueeze(0))[0].squeeze(0), point)
    sign, logabsdet = torch.linalg.slogdet(jac)
    print(f"jacobian sign {sign.item():.15e}")
    print(f"slogdet minus log_det below 1e-10 {float(abs(logabsdet - log_det[3]).item() < 1e-10):.15e}")

    # an elementwise affine flow built from torch.distributions' transforms
    loc = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    log_scale = torch.tensor([0.2, -0.3], dtype=torch.float64, requires_grad=True)
    base = D.Independent(D.Normal(torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)), 1)
    transform = D.transforms.ComposeTransform([D.transforms.AffineTransform(loc, log_scale.exp()),
                                               D.transforms.TanhTransform(cache_size=1)])
    squashed = D.TransformedDistribution(base, [transform])
    y = torch.tanh(data[:8] * 0.5)
    lp = squashed.log_prob(y)
    lp.sum().backward()
    print(f"transformed log_prob sum {lp.sum().item():.15e}")
    print(f"loc grad {loc.grad.sum().item():.15e}")
    print(f"log_scale grad {log_scale.grad.sum().item():.15e}")
    x_inv = transform.inv(y)
    lad = transform.log_abs_det_jacobian(x_inv, y)
    assert tuple(lad.shape) == (8, dim) and squashed.event_shape == (dim,)
    print(f"log abs det jacobian sum {lad.sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
