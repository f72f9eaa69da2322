"""A small U-Net segmenter in the style of the popular implementation: DoubleConv blocks
(Conv2d-BatchNorm2d-ReLU twice), Down by MaxPool2d, Up by ConvTranspose2d or by bilinear
nn.Upsample(align_corners=True), the skip joined by F.pad to the skip's size and torch.cat on
channels, a 1x1 OutConv; the loss BCEWithLogitsLoss plus a Dice loss written by hand on
F.sigmoid; masks resized by F.interpolate(mode="nearest"); RMSprop (momentum, weight decay,
foreach) under ReduceLROnPlateau("max") on the validation Dice; clip_grad_norm_. Weights from
NumPy, so torch and retrograd print the same numbers.
"""

import numpy as np


def main(torch, epochs=4, bilinear_runs=(False, True)):
    nn, F = torch.nn, torch.nn.functional

    class DoubleConv(nn.Module):
        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            if not mid_channels:
                mid_channels = out_channels
            self.double_conv = nn.Sequential(
                nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True))

        def forward(self, x):
            return self.double_conv(x)

    class Down(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

        def forward(self, x):
            return self.maxpool_conv(x)

    class Up(nn.Module):
        def __init__(self, in_channels, out_channels, bilinear):
            super().__init__()
            if bilinear:
                self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
                self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
            else:
                self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
                self.conv = DoubleConv(in_channels, out_channels)

        def forward(self, x1, x2):
            x1 = self.up(x1)
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]
            x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            x = torch.cat([x2, x1], dim=1)
            return self.conv(x)

    class UNet(nn.Module):
        def __init__(self, n_channels, n_classes, bilinear):
            super().__init__()
            factor = 2 if bilinear else 1
            self.inc = DoubleConv(n_channels, 4)
            self.down1 = Down(4, 8)
            self.down2 = Down(8, 16 // factor)
            self.up1 = Up(16, 8 // factor, bilinear)
            self.up2 = Up(8, 4, bilinear)
            self.outc = nn.Conv2d(4, n_classes, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x = self.up1(x3, x2)
            x = self.up2(x, x1)
            return self.outc(x)

    def dice_coeff(input, target, epsilon=1e-6):
        sum_dim = (-1, -2, -3)
        inter = 2 * (input * target).sum(dim=sum_dim)
        sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
        sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
        dice = (inter + epsilon) / (sets_sum + epsilon)
        return dice.mean()

    rng = np.random.default_rng(0)
    # images 10x10 (odd after pooling: 10 -> 5 -> 2, so the skips need F.pad) with a bright
    # disc; the masks are made at 20x20 and brought down by F.interpolate
    n, size = 12, 10
    yy, xx = np.mgrid[0:2 * size, 0:2 * size] / 2.0
    centres = rng.uniform(3, 7, (n, 2))
    radii = rng.uniform(1.5, 3.0, n)
    big_masks = np.stack([((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) for (cy, cx), r
                          in zip(centres, radii)]).astype(np.float64)[:, None]
    masks = F.interpolate(torch.from_numpy(big_masks), size=(size, size), mode="nearest")
    images = masks + torch.from_numpy(rng.normal(0.0, 0.4, (n, 1, size, size)))
    train_x, train_y, val_x, val_y = images[:8], masks[:8], images[8:], masks[8:]

    for bilinear in bilinear_runs:
        label = "bilinear" if bilinear else "transposed"
        model = UNet(1, 1, bilinear).double()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() > 1:
                    p.copy_(torch.from_numpy(rng.normal(0.0, 0.3, tuple(p.shape))))
                elif "bias" in name and "double_conv" not in name:
                    nn.init.zeros_(p)  # the conv biases; BatchNorm keeps ones and zeros
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, weight_decay=1e-8,
                                        momentum=0.9, foreach=True)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", patience=0)
        criterion = nn.BCEWithLogitsLoss()
        for epoch in range(epochs):
            model.train()
            for b in range(0, len(train_x), 4):
                images_b, true_masks = train_x[b:b + 4], train_y[b:b + 4]
                masks_pred = model(images_b)
                loss = criterion(masks_pred, true_masks)
                loss += 1 - dice_coeff(F.sigmoid(masks_pred), true_masks)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                print(f"{label} epoch {epoch} batch {b // 4} loss {loss.item():.15e}")
            model.eval()
            with torch.no_grad():
                pred = (F.sigmoid(model(val_x)) > 0.5).float().double()
                val_score = dice_coeff(pred, val_y)
            scheduler.step(val_score)
            print(f"{label} epoch {epoch} val dice {val_score.item():.15e}")
            print(f"{label} epoch {epoch} lr {optimizer.param_groups[0]['lr']:.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
