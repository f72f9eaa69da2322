"""Exact Gaussian-process regression written from scratch the way GPyTorch-free tutorials do: an
RBF-plus-periodic kernel on torch.cdist distances, hyperparameters kept unconstrained and mapped by
torch.distributions.transform_to(constraints.positive) (and biject_to for the noise, with
constraints.greater_than), Gamma and HalfCauchy priors by log_prob, the negative log marginal
likelihood through torch.linalg.cholesky (jitter added to diagonal().add_ by an in-place view),
torch.cholesky_solve and the log-determinant from the Cholesky diagonal, checked against
MultivariateNormal(scale_tril=L).log_prob and torch.linalg.slogdet; trained with LBFGS
(line_search_fn="strong_wolfe") through a closure, then Adam; the predictive mean and variance by
torch.linalg.solve_triangular, diag_embed and the variance clamped by clamp_min; a posterior
sample path through LowRankMultivariateNormal-free reparameterisation (L z with NumPy z); the KL
divergence between two MultivariateNormals against the closed form; and eigvalsh of the kernel
matrix. Data from NumPy, so torch and retrograd print the same numbers.
"""

import math

import numpy as np


def main(torch, lbfgs_steps=3, adam_steps=4, n=24):
    nn = torch.nn
    D = torch.distributions
    constraints = D.constraints

    rng = np.random.default_rng(0)
    x_np = np.sort(rng.uniform(-3, 3, n))
    y_np = np.sin(2 * x_np) + 0.3 * x_np + rng.normal(0.0, 0.1, n)
    train_x = torch.from_numpy(x_np).unsqueeze(-1)
    train_y = torch.from_numpy(y_np)
    test_x = torch.linspace(-3.5, 3.5, 9, dtype=torch.float64).unsqueeze(-1)

    class ExactGP(nn.Module):
        def __init__(self):
            super().__init__()
            self.raw_lengthscale = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
            self.raw_outputscale = nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
            self.raw_period = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
            self.raw_noise = nn.Parameter(torch.tensor(-2.0, dtype=torch.float64))
            self.mean_constant = nn.Parameter(torch.zeros((), dtype=torch.float64))
            self.positive = D.transform_to(constraints.positive)
            self.noise_map = D.biject_to(constraints.greater_than(1e-4))

        @property
        def lengthscale(self):
            return self.positive(self.raw_lengthscale)

        @property
        def outputscale(self):
            return self.positive(self.raw_outputscale)

        @property
        def period(self):
            return self.positive(self.raw_period)

        @property
        def noise(self):
            return self.noise_map(self.raw_noise)

        def kernel(self, a, b):
            dist = torch.cdist(a, b)
            rbf = torch.exp(-0.5 * (dist / self.lengthscale).pow(2))
            periodic = torch.exp(-2 * torch.sin(math.pi * dist / self.period).pow(2))
            return self.outputscale * (rbf + 0.5 * periodic)

        def prior_log_prob(self):
            return (D.Gamma(3.0, 6.0).log_prob(self.lengthscale) + D.HalfCauchy(1.0).log_prob(self.outputscale)
                    + D.Gamma(2.0, 1.0).log_prob(self.period))

        def train_covariance(self):
            K = self.kernel(train_x, train_x)
            K = K + self.noise * torch.eye(n, dtype=K.dtype)
            return K

        def neg_mll(self):
            K = self.train_covariance()
            L = torch.linalg.cholesky(K)
            r = (train_y - self.mean_constant).unsqueeze(-1)
            alpha = torch.cholesky_solve(r, L)
            logdet = 2 * torch.log(torch.diagonal(L)).sum()
            mll = -0.5 * (r * alpha).sum() - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)
            return -(mll + self.prior_log_prob()) / n, L

        def predict(self, x):
            K = self.train_covariance()
            L = torch.linalg.cholesky(K)
            Ks = self.kernel(train_x, x)
            A = torch.linalg.solve_triangular(L, Ks, upper=False)
            v = torch.linalg.solve_triangular(L, (train_y - self.mean_constant).unsqueeze(-1), upper=False)
            mean = self.mean_constant + (A.transpose(-1, -2) @ v).squeeze(-1)
            cov = self.kernel(x, x) - A.transpose(-1, -2) @ A
            var = torch.diagonal(cov).clamp_min(1e-12)
            return mean, cov, var

    gp = ExactGP()
    with torch.no_grad():
        loss, L = gp.neg_mll()
        mvn = D.MultivariateNormal(gp.mean_constant.expand(n), scale_tril=L)
        by_dist = -(mvn.log_prob(train_y) + gp.prior_log_prob()) / n
        sign, logabsdet = torch.linalg.slogdet(gp.train_covariance())
        print(f"initial loss {loss.item():.15e}")
        print(f"cholesky vs MultivariateNormal below 1e-12 {float(abs(loss - by_dist) < 1e-12):.15e}")
        print(f"slogdet vs cholesky below 1e-10 {float(abs(logabsdet - 2 * L.diagonal().log().sum()) < 1e-10):.15e}")

    optimizer = torch.optim.LBFGS(gp.parameters(), lr=0.5, max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss, _ = gp.neg_mll()
        loss.backward()
        return loss

    for step in range(lbfgs_steps):
        loss = optimizer.step(closure)
        print(f"lbfgs step {step} loss {loss.item():.15e}")
    adam = torch.optim.Adam(gp.parameters(), lr=0.05)
    for step in range(adam_steps):
        adam.zero_grad()
        loss, _ = gp.neg_mll()
        loss.backward()
        adam.step()
        print(f"adam step {step} loss {loss.item():.15e}")
    for name in ("lengthscale", "outputscale", "period", "noise"):
        print(f"{name} {getattr(gp, name).item():.15e}")
    print(f"noise inverse map recovers the raw value below 1e-12 "
          f"{float(abs(gp.noise_map.inv(gp.noise) - gp.raw_noise) < 1e-12):.15e}")

    with torch.no_grad():
        mean, cov, var = gp.predict(test_x)
        print(f"predictive mean sum {mean.sum().item():.15e}")
        print(f"predictive variance sum {var.sum().item():.15e}")
        jittered = cov.clone()
        jittered.diagonal().add_(1e-8)
        Lp = torch.linalg.cholesky(jittered)
        z = torch.from_numpy(rng.standard_normal(9))
        path = mean + Lp @ z
        print(f"posterior sample path sum {path.sum().item():.15e}")
        eig = torch.linalg.eigvalsh(gp.kernel(train_x, train_x))
        print(f"kernel eigenvalues min positive {float(eig.min() > -1e-10):.15e}")
        print(f"kernel eigenvalues max {eig.max().item():.15e}")

        p = D.MultivariateNormal(mean, covariance_matrix=jittered)
        q = D.MultivariateNormal(torch.zeros(9, dtype=torch.float64), scale_tril=torch.diag_embed(var.sqrt() + 1.0))
        kl = D.kl_divergence(p, q)
        Sq = q.covariance_matrix
        closed = 0.5 * (torch.trace(torch.linalg.solve(Sq, jittered)) + (mean @ torch.linalg.solve(Sq, mean)) - 9
                        + torch.logdet(Sq) - torch.logdet(jittered))
        print(f"mvn kl {kl.item():.15e}")
        print(f"mvn kl vs closed form below 1e-8 {float(abs(kl - closed) < 1e-8):.15e}")
        print(f"mvn entropy {p.entropy().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
