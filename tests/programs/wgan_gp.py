"""A WGAN with gradient penalty in the style of the well-known implementations: a critic of
Conv1d, LeakyReLU and InstanceNorm1d (no BatchNorm under a gradient penalty) and a generator of
ConvTranspose1d, the penalty ((||grad D(x_hat)||_2 - 1)^2) on random interpolates made with
requires_grad_(True) and differentiated by torch.autograd.grad(..., grad_outputs=torch.ones_like,
create_graph=True, retain_graph=True, only_inputs=True), n_critic critic steps per generator
step, Adam(betas=(0.0, 0.9)), the generator's weights averaged by
torch.optim.swa_utils.AveragedModel (an EMA) and the critic's forward recomputed in backward by
torch.utils.checkpoint.checkpoint(use_reentrant=False). Weights, noise and interpolation
coefficients come from NumPy, so torch and retrograd print the same numbers.
"""

import numpy as np

NZ, LENGTH = 6, 16


def main(torch, steps=4, batch=8, n_critic=3, lambda_gp=10.0):
    nn = torch.nn
    autograd = torch.autograd
    checkpoint = torch.utils.checkpoint.checkpoint

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(NZ, 8 * 4)
            self.net = nn.Sequential(nn.ReLU(), nn.ConvTranspose1d(8, 4, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose1d(4, 1, 4, 2, 1), nn.Tanh())

        def forward(self, z):
            return self.net(self.fc(z).view(-1, 8, 4))

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv1d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2),
                                          nn.Conv1d(4, 8, 4, 2, 1), nn.InstanceNorm1d(8, affine=True),
                                          nn.LeakyReLU(0.2))
            self.head = nn.Linear(8 * 4, 1)

        def forward(self, x):
            h = checkpoint(self.features, x, use_reentrant=False)
            return self.head(h.flatten(1))

    def compute_gradient_penalty(D, real_samples, fake_samples, alpha):
        interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
        d_interpolates = D(interpolates)
        fake = torch.ones_like(d_interpolates)
        gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates, grad_outputs=fake,
                                  create_graph=True, retain_graph=True, only_inputs=True)[0]
        gradients = gradients.view(gradients.size(0), -1)
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()

    rng = np.random.default_rng(0)
    generator, critic = Generator().double(), Critic().double()
    with torch.no_grad():
        for name, p in list(generator.named_parameters()) + list(critic.named_parameters()):
            if "features.3" in name:
                continue  # InstanceNorm's affine weight and bias keep ones and zeros
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
    ema = torch.optim.swa_utils.AveragedModel(
        generator, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.0, 0.9))
    optimizer_D = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.0, 0.9))

    t = np.linspace(0, 2 * np.pi, LENGTH)
    for step in range(steps):
        for _ in range(n_critic):
            phase = rng.uniform(0, 2 * np.pi, (batch, 1))
            real = torch.from_numpy(np.sin(t + phase)[:, None, :])
            z = torch.from_numpy(rng.normal(size=(batch, NZ)))
            alpha = torch.from_numpy(rng.random((batch, 1, 1)))
            optimizer_D.zero_grad()
            fake_imgs = generator(z).detach()
            real_validity, fake_validity = critic(real), critic(fake_imgs)
            gradient_penalty = compute_gradient_penalty(critic, real.data, fake_imgs.data, alpha)
            d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + lambda_gp * gradient_penalty
            d_loss.backward()
            optimizer_D.step()
        optimizer_G.zero_grad()
        z = torch.from_numpy(rng.normal(size=(batch, NZ)))
        g_loss = -torch.mean(critic(generator(z)))
        g_loss.backward()
        optimizer_G.step()
        ema.update_parameters(generator)
        print(f"step {step} d_loss {d_loss.item():.15e}")
        print(f"step {step} gradient penalty {gradient_penalty.item():.15e}")
        print(f"step {step} g_loss {g_loss.item():.15e}")

    with torch.no_grad():
        z = torch.from_numpy(rng.normal(size=(4, NZ)))
        print(f"ema samples mean {ema(z).mean().item():.15e}")
        print(f"generator samples mean {generator(z).mean().item():.15e}")
    print(f"ema updates {float(ema.n_averaged.item()):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
