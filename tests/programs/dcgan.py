"""A DCGAN in the style of the well-known example: a generator of ConvTranspose2d, BatchNorm2d
and ReLU ending in Tanh, a discriminator of Conv2d and LeakyReLU ending in Sigmoid, BCELoss on
labels made with torch.full, one Adam per network (betas=(0.5, 0.999)), the fake batch
.detach()ed for the discriminator's step. The weights are set by model.apply(weights_init) from
one NumPy stream and the noise is NumPy's, so torch and retrograd print the same losses.
"""

import numpy as np

NZ, NGF, NDF = 8, 12, 12


def main(torch, steps=8, batch=16):
    nn = torch.nn
    rng = np.random.default_rng(0)

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.copy_(torch.from_numpy(rng.normal(0.0, 0.2, tuple(m.weight.shape))))
        elif classname.find("BatchNorm") != -1:
            m.weight.data.copy_(torch.from_numpy(rng.normal(1.0, 0.02, tuple(m.weight.shape))))
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(NZ, NGF * 2, 4, 1, 0, bias=False),  # 1x1 -> 4x4
                nn.BatchNorm2d(NGF * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # -> 8x8
                nn.BatchNorm2d(NGF),
                nn.ReLU(True),
                nn.ConvTranspose2d(NGF, 1, 3, 1, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(1, NDF, 4, 2, 1, bias=False),  # 8x8 -> 4x4
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(NDF, NDF * 2, 3, 1, 1, bias=False),
                nn.BatchNorm2d(NDF * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(NDF * 2, 1, 4, 1, 0, bias=False),  # -> 1x1
                nn.Sigmoid(),
            )

        def forward(self, input):
            return self.main(input)

    netG = Generator().double()
    netG.apply(weights_init)
    netD = Discriminator().double()
    netD.apply(weights_init)

    # "real" images: blurry diagonal strokes in [-1, 1]
    yy, xx = np.mgrid[0:8, 0:8]
    shifts = rng.integers(-3, 4, 64)
    real_data = np.stack([np.tanh(2.0 - np.abs(xx - yy - s)) for s in shifts])[:, None]

    criterion = nn.BCELoss()
    fixed_noise = torch.from_numpy(rng.normal(size=(4, NZ, 1, 1)))
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=0.002, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=0.002, betas=(0.5, 0.999))

    for i in range(steps):
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = torch.from_numpy(real_data[rng.integers(0, len(real_data), batch)])
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float64)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.from_numpy(rng.normal(size=(b_size, NZ, 1, 1)))
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        print(f"step {i} Loss_D {errD.item():.15e}")
        print(f"step {i} Loss_G {errG.item():.15e}")
        print(f"step {i} D(x) {D_x:.15e}")
        print(f"step {i} D(G(z)) {D_G_z1:.15e}")
        print(f"step {i} D(G(z)) after {D_G_z2:.15e}")

    netG.eval()
    with torch.no_grad():
        fake = netG(fixed_noise).detach().cpu()
    print(f"fixed-noise images {tuple(fake.shape)} mean {fake.mean().item():.15e}")
    print(f"fixed-noise images in (-1, 1) {bool(fake.abs().max() < 1)}")


if __name__ == "__main__":
    from _run import script
    script(main)
