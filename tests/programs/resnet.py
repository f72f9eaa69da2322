"""A small ResNet in the style of the well-known CIFAR training scripts: BasicBlocks of
conv3x3-BatchNorm2d-ReLU with an identity or 1x1-conv shortcut added in place (out += ...),
kaiming_normal_ initialisation by isinstance over model.modules() (then replaced from NumPy so
both libraries start equal), AdaptiveAvgPool2d and torch.flatten, SGD with nesterov momentum
and weight decay under OneCycleLR stepped per batch, CrossEntropyLoss with label smoothing, a
random horizontal flip by torch.flip on a NumPy mask, and accuracy from outputs.max(1) under
no_grad in eval mode. Then a second run of CosineAnnealingLR per epoch. Torch and retrograd
print the same losses, rates and accuracies.
"""

import numpy as np


def main(torch, epochs=2, batch=16):
    nn, F = torch.nn, torch.nn.functional

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride,
                              bias=False),
                    nn.BatchNorm2d(self.expansion * planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            out = F.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, block, num_blocks, num_classes=3):
            super().__init__()
            self.in_planes = 8
            self.conv1 = nn.Conv2d(1, 8, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.layer1 = self._make_layer(block, 8, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 16, num_blocks[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.linear = nn.Linear(16 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _make_layer(self, block, planes, num_blocks, stride):
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for stride in strides:
                layers.append(block(self.in_planes, planes, stride))
                self.in_planes = planes * block.expansion
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer2(self.layer1(out))
            out = torch.flatten(self.avgpool(out), 1)
            return self.linear(out)

    rng = np.random.default_rng(0)
    # three classes of 8x8 images: a vertical bar, a horizontal bar, a diagonal, plus noise
    n = 48
    y_np = np.arange(n) % 3
    x_np = rng.normal(0.0, 0.3, (n, 1, 8, 8))
    for i, c in enumerate(y_np):
        col = rng.integers(1, 7)
        if c == 0:
            x_np[i, 0, :, col] += 1.0
        elif c == 1:
            x_np[i, 0, col, :] += 1.0
        else:
            x_np[i, 0] += np.eye(8)
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x_train, y_train, x_test, y_test = x_all[:32], y_all[:32], x_all[32:], y_all[32:]

    def build():
        model = ResNet(BasicBlock, [1, 1]).double()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "bn" in name or "shortcut.1" in name:
                    continue  # BatchNorm keeps the constant_ init
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.25, tuple(p.shape))))
        return model

    def test(model, label):
        model.eval()
        correct, total, test_loss = 0, 0, 0.0
        with torch.no_grad():
            outputs = model(x_test)
            test_loss += criterion(outputs, y_test).item()
            _, predicted = outputs.max(1)
            total += y_test.size(0)
            correct += predicted.eq(y_test).sum().item()
        print(f"{label} test loss {test_loss:.15e}")
        print(f"{label} test acc {100.0 * correct / total:.15e}")

    def train_epoch(model, optimizer, scheduler, label, per_batch):
        model.train()
        for b in range(0, len(x_train), batch):
            inputs, targets = x_train[b:b + batch], y_train[b:b + batch]
            flip = torch.from_numpy(rng.random(len(inputs)) < 0.5)
            inputs = torch.where(flip[:, None, None, None], torch.flip(inputs, dims=[3]), inputs)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            if per_batch:
                scheduler.step()
            print(f"{label} batch {b // batch} loss {loss.item():.15e}")
            print(f"{label} batch {b // batch} lr {scheduler.get_last_lr()[0]:.15e}")
        if not per_batch:
            scheduler.step()

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(x_train) // batch)
    for epoch in range(epochs):
        train_epoch(model, optimizer, scheduler, f"onecycle epoch {epoch}", per_batch=True)
        test(model, f"onecycle epoch {epoch}")
    print(f"onecycle momentum {optimizer.param_groups[0]['momentum']:.15e}")
    print(f"bn1 running var mean {model.bn1.running_var.mean().item():.15e}")
    print(f"bn1 batches tracked {float(model.bn1.num_batches_tracked.item()):.15e}")

    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=3)
    for epoch in range(3):
        train_epoch(model, optimizer, scheduler, f"cosine epoch {epoch}", per_batch=False)
        test(model, f"cosine epoch {epoch}")


if __name__ == "__main__":
    from _run import script
    script(main)
