"""A denoising diffusion model (DDPM) in the style of the popular from-scratch implementations:
a linear beta schedule by torch.linspace, alphas_cumprod by torch.cumprod and its shifted copy by
F.pad(value=1.0), the schedule's tensors registered as buffers, an extract() helper that reads them
at each sample's timestep with gather and reshapes for broadcasting, a sinusoidal time embedding
(torch.exp of an arange, torch.cat of sin and cos), residual blocks of GroupNorm, SiLU and Conv2d
with the time embedding added through a Linear and [:, :, None, None], a tiny U-Net-ish
down / up path with a skip by torch.cat, the noise-prediction MSE loss, Adam with a LambdaLR
warm-up, an EMA copy of the model made by copy.deepcopy and updated by lerp_, and DDPM ancestral
sampling with the posterior variance clamped by clamp(min=1e-20) and its log. Timesteps and noise
come from NumPy, so torch and retrograd print the same numbers.
"""

import copy
import math

import numpy as np


def main(torch, steps=6, timesteps=50, batch=8, side=8, channels=8, ema_decay=0.9):
    nn, F = torch.nn, torch.nn.functional

    class SinusoidalPositionEmbeddings(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, time):
            half_dim = self.dim // 2
            embeddings = math.log(10000) / (half_dim - 1)
            embeddings = torch.exp(torch.arange(half_dim, device=time.device) * -embeddings)
            embeddings = time[:, None] * embeddings[None, :]
            return torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)

    class Block(nn.Module):
        def __init__(self, dim_in, dim_out, time_dim, groups=4):
            super().__init__()
            self.norm1 = nn.GroupNorm(groups, dim_in)
            self.conv1 = nn.Conv2d(dim_in, dim_out, 3, padding=1)
            self.time_mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, dim_out))
            self.norm2 = nn.GroupNorm(groups, dim_out)
            self.conv2 = nn.Conv2d(dim_out, dim_out, 3, padding=1)
            self.res_conv = nn.Conv2d(dim_in, dim_out, 1) if dim_in != dim_out else nn.Identity()

        def forward(self, x, t):
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.time_mlp(t)[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return h + self.res_conv(x)

    class TinyUnet(nn.Module):
        def __init__(self, dim=channels):
            super().__init__()
            time_dim = dim * 2
            self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(dim), nn.Linear(dim, time_dim),
                                          nn.GELU(), nn.Linear(time_dim, time_dim))
            self.init_conv = nn.Conv2d(1, dim, 3, padding=1)
            self.down = Block(dim, dim, time_dim)
            self.downsample = nn.Conv2d(dim, dim * 2, 4, stride=2, padding=1)
            self.mid = Block(dim * 2, dim * 2, time_dim)
            self.upsample = nn.ConvTranspose2d(dim * 2, dim, 4, stride=2, padding=1)
            self.up = Block(dim * 2, dim, time_dim)
            self.final_conv = nn.Conv2d(dim, 1, 1)

        def forward(self, x, time):
            t = self.time_mlp(time)
            x = self.init_conv(x)
            skip = self.down(x, t)
            h = self.mid(self.downsample(skip), t)
            h = self.up(torch.cat((self.upsample(h), skip), dim=1), t)
            return self.final_conv(h)

    class GaussianDiffusion(nn.Module):
        def __init__(self, model, timesteps):
            super().__init__()
            self.model = model
            self.num_timesteps = timesteps
            betas = torch.linspace(1e-4, 0.2, timesteps, dtype=torch.float64)
            alphas = 1.0 - betas
            alphas_cumprod = torch.cumprod(alphas, dim=0)
            alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
            self.register_buffer("betas", betas)
            self.register_buffer("alphas_cumprod", alphas_cumprod)
            self.register_buffer("sqrt_alphas_cumprod", torch.sqrt(alphas_cumprod))
            self.register_buffer("sqrt_one_minus_alphas_cumprod", torch.sqrt(1.0 - alphas_cumprod))
            self.register_buffer("sqrt_recip_alphas", torch.sqrt(1.0 / alphas))
            posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
            self.register_buffer("posterior_variance", posterior_variance)
            self.register_buffer("posterior_log_variance_clipped",
                                 torch.log(posterior_variance.clamp(min=1e-20)))

        @staticmethod
        def extract(a, t, x_shape):
            b, *_ = t.shape
            out = a.gather(-1, t)
            return out.reshape(b, *((1,) * (len(x_shape) - 1)))

        def q_sample(self, x_start, t, noise):
            return (self.extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                    + self.extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

        def p_losses(self, x_start, t, noise):
            x_noisy = self.q_sample(x_start, t, noise)
            predicted_noise = self.model(x_noisy, t.to(x_start.dtype))
            return F.mse_loss(noise, predicted_noise)

        @torch.no_grad()
        def p_sample(self, x, t_index, noise):
            t = torch.full((x.shape[0],), t_index, dtype=torch.long)
            betas_t = self.extract(self.betas, t, x.shape)
            sqrt_one_minus = self.extract(self.sqrt_one_minus_alphas_cumprod, t, x.shape)
            sqrt_recip = self.extract(self.sqrt_recip_alphas, t, x.shape)
            model_mean = sqrt_recip * (x - betas_t * self.model(x, t.double()) / sqrt_one_minus)
            if t_index == 0:
                return model_mean
            log_var = self.extract(self.posterior_log_variance_clipped, t, x.shape)
            return model_mean + (0.5 * log_var).exp() * noise

    rng = np.random.default_rng(0)
    diffusion = GaussianDiffusion(TinyUnet(), timesteps).double()
    with torch.no_grad():
        for name, p in diffusion.named_parameters():
            if "norm" in name:
                continue  # GroupNorm keeps its ones and zeros
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.25, tuple(p.shape))))
    assert "betas" in diffusion.state_dict() and len(list(diffusion.buffers())) == 7
    ema = copy.deepcopy(diffusion).eval().requires_grad_(False)

    # data: blobs on a dark background, scaled to [-1, 1]
    yy, xx = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    images = np.empty((32, 1, side, side))
    for i in range(len(images)):
        cy, cx = rng.uniform(2, side - 2, 2)
        images[i, 0] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 3.0) * 2 - 1
    data = torch.from_numpy(images)

    optimizer = torch.optim.Adam(diffusion.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 3))
    for step in range(steps):
        x_start = data[step * batch % len(data):][:batch]
        t = torch.from_numpy(rng.integers(0, timesteps, (batch,)))
        noise = torch.from_numpy(rng.standard_normal(x_start.shape))
        optimizer.zero_grad()
        loss = diffusion.p_losses(x_start, t, noise)
        loss.backward()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            for ema_p, p in zip(ema.parameters(), diffusion.parameters()):
                ema_p.lerp_(p, 1 - ema_decay)
        print(f"step {step} loss {loss.item():.15e}")
        print(f"step {step} lr {scheduler.get_last_lr()[0]:.15e}")

    print(f"alphas_cumprod last {diffusion.alphas_cumprod[-1].item():.15e}")
    print(f"posterior log variance first {diffusion.posterior_log_variance_clipped[0].item():.15e}")
    x = torch.from_numpy(rng.standard_normal((2, 1, side, side)))
    for i in reversed(range(0, timesteps, 5)):
        x = ema.p_sample(x, i, torch.from_numpy(rng.standard_normal(x.shape)))
    print(f"sample mean {x.mean().item():.15e}")
    print(f"sample std {x.std().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
