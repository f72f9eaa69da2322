"""Fine-tuning a small pretrained CNN the way transfer-learning tutorials and feature-extraction
code do: the backbone's "pretrained" state loaded with load_state_dict(strict=False) (reporting
missing and unexpected keys), its parameters frozen, the head replaced, a parameter group per part
with a lower learning rate for the unfrozen last block; intermediate features taken by
register_forward_hook on named_modules() (a dict of activations, handles removed after), a forward
pre-hook with kwargs that rescales the input, a full backward hook recording gradient norms at a
layer, a global register_module_forward_hook counting calls; the middle of the network recomputed
by torch.utils.checkpoint.checkpoint_sequential(use_reentrant=False); stochastic weight averaging
(AveragedModel, SWALR, update_bn over a DataLoader) in the last epochs; Conv2d+BatchNorm2d fused
by nn.utils.fusion.fuse_conv_bn_eval (checked equal in eval mode); L1 unstructured pruning by
nn.utils.prune with the mask's sparsity, then prune.remove; and parameters_to_vector /
vector_to_parameters. Weights and data from NumPy, so torch and retrograd print the same numbers.
"""

import importlib

import numpy as np


def main(torch, epochs=4, swa_start=2, classes=3, batch=8):
    nn = torch.nn
    prune = importlib.import_module(f"{torch.__name__}.nn.utils.prune")  # import torch.nn.utils.prune as prune

    def backbone():
        return nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
            nn.Conv2d(6, 8, 3, padding=1, stride=2), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        )

    class Net(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.features = backbone()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, num_classes)

        def forward(self, x, checkpointed=False):
            if checkpointed:
                x = torch.utils.checkpoint.checkpoint_sequential(self.features, 3, x, use_reentrant=False)
            else:
                x = self.features(x)
            return self.fc(torch.flatten(self.pool(x), 1))

    rng = np.random.default_rng(0)
    pretrained = Net(10).double()
    with torch.no_grad():
        for p in pretrained.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape))))
        for m in pretrained.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.from_numpy(rng.normal(0.0, 0.1, m.num_features)))
                m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, m.num_features)))
    state = {k: v for k, v in pretrained.state_dict().items() if not k.startswith("fc.")}
    state["projection.weight"] = torch.zeros(2, 2, dtype=torch.float64)

    model = Net(classes).double()
    result = model.load_state_dict(state, strict=False)
    print(f"missing keys {' '.join(result.missing_keys)} {len(result.missing_keys):.15e}")
    print(f"unexpected keys {' '.join(result.unexpected_keys)} {len(result.unexpected_keys):.15e}")
    with torch.no_grad():
        model.fc.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.3, (classes, 8))))
        model.fc.bias.zero_()
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("fc.") or name.startswith("features.6") or name.startswith("features.7")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"trainable parameters {trainable:.15e}")

    n = 32
    images = rng.normal(0.0, 0.5, (n, 1, 8, 8))
    labels = np.arange(n) % classes
    for i, c in enumerate(labels):
        images[i, 0, :, 2 * c:2 * c + 3] += 1.5
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=False)

    # hooks: activations by name, an input rescaled by a pre-hook, gradient norms at one layer
    activations, grad_norms, calls = {}, [], {"n": 0}

    def save_activation(name):
        def hook(module, args, output):
            activations[name] = output.detach()
        return hook

    handles = [m.register_forward_hook(save_activation(name)) for name, m in model.named_modules()
               if isinstance(m, nn.ReLU)]

    def scale_input(module, args, kwargs):
        return (args[0] * 0.5,), kwargs

    pre = model.register_forward_pre_hook(scale_input, with_kwargs=True)
    back = model.features[6].register_full_backward_hook(
        lambda module, grad_input, grad_output: grad_norms.append(grad_output[0].norm().item()))
    counter = nn.modules.module.register_module_forward_hook(
        lambda module, args, output: calls.__setitem__("n", calls["n"] + 1))

    optimizer = torch.optim.SGD([
        {"params": model.fc.parameters(), "lr": 0.1},
        {"params": [p for n_, p in model.features.named_parameters() if p.requires_grad], "lr": 0.01},
    ], momentum=0.9)
    swa_model = torch.optim.swa_utils.AveragedModel(model)
    swa_scheduler = torch.optim.swa_utils.SWALR(optimizer, swa_lr=0.05, anneal_epochs=1, anneal_strategy="cos")
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for step, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            out = model(x, checkpointed=step % 2 == 1)
            loss = criterion(out, y)
            loss.backward()
            optimizer.step()
            total += loss.item()
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        print(f"epoch {epoch} loss {total / len(loader):.15e}")
        print(f"epoch {epoch} lrs {optimizer.param_groups[0]['lr']:.15e}")
    print(f"module forward calls {calls['n']:.15e}")
    print(f"backward hook calls {len(grad_norms):.15e}")
    print(f"backward hook grad norm sum {sum(grad_norms):.15e}")
    for name, act in sorted(activations.items()):
        print(f"activation {name} mean {act.mean().item():.15e}")
    for h in handles + [pre, back, counter]:
        h.remove()
    print(f"averaged models {swa_model.n_averaged.item():.15e}")

    torch.optim.swa_utils.update_bn(loader, swa_model)
    swa_model.eval()
    model.eval()
    with torch.no_grad():
        x, y = dataset.tensors
        swa_loss = criterion(swa_model(x), y)
        print(f"swa loss {swa_loss.item():.15e}")
        print(f"swa running mean sum {swa_model.module.features[1].running_mean.sum().item():.15e}")

        conv, bn = model.features[0], model.features[1]
        fused = nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
        ref = bn(conv(x))
        print(f"fused conv-bn equals conv then bn below 1e-12 {float((fused(x) - ref).abs().max() < 1e-12):.15e}")

    layer = model.features[3]
    prune.l1_unstructured(layer, name="weight", amount=0.3)
    assert hasattr(layer, "weight_orig") and hasattr(layer, "weight_mask")
    sparsity = float(torch.sum(layer.weight == 0)) / layer.weight.nelement()
    print(f"pruned sparsity {sparsity:.15e}")
    with torch.no_grad():
        print(f"pruned model loss {criterion(model(x), y).item():.15e}")
    prune.remove(layer, "weight")
    assert not hasattr(layer, "weight_orig") and isinstance(layer.weight, nn.Parameter)

    vec = nn.utils.parameters_to_vector(model.fc.parameters())
    nn.utils.vector_to_parameters(vec * 2, model.fc.parameters())
    print(f"fc vector norm {vec.norm().item():.15e}")
    print(f"fc weight after doubling sum {model.fc.weight.sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
