"""The parts research code writes for itself, in a domain-adversarial (DANN) classifier: a
gradient reversal layer as a custom torch.autograd.Function (ctx attributes, view_as, None for the
non-tensor argument), a Lion-style optimizer subclassing torch.optim.Optimizer (defaults dict,
super().__init__, self.state per parameter, @torch.no_grad() step with an enable_grad closure,
the is_sparse check, group.setdefault in __setstate__), a warm-up/cosine scheduler subclassing
LRScheduler through get_lr, base_lrs and last_epoch, weight normalisation by
nn.utils.parametrizations.weight_norm, a frozen layer unfrozen by optimizer.add_param_group,
gradient scaling by Tensor.register_hook, clip_grad_value_, input saliency by torch.autograd.grad,
and the custom optimizer's and scheduler's state_dict round trip. Weights from NumPy, so torch and
retrograd print the same losses.
"""

import math

import numpy as np


def main(torch, steps=10):
    nn, F = torch.nn, torch.nn.functional
    Optimizer = torch.optim.Optimizer

    class GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.neg() * ctx.alpha, None

    def grad_reverse(x, alpha=1.0):
        return GradReverse.apply(x, alpha)

    class Lion(Optimizer):
        def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not all(0.0 <= beta < 1.0 for beta in betas):
                raise ValueError(f"Invalid betas: {betas}")
            defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay)
            super().__init__(params, defaults)

        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("weight_decay", 0.0)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    if grad.is_sparse:
                        raise RuntimeError("Lion does not support sparse gradients")
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    exp_avg = state["exp_avg"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    update = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)
                    p.add_(torch.tanh(update * 4.0), alpha=-group["lr"])  # a smooth sign
                    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)
            return loss

    class WarmupCosine(torch.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, warmup_steps, total_steps, min_ratio=0.1, last_epoch=-1):
            self.warmup_steps = warmup_steps
            self.total_steps = total_steps
            self.min_ratio = min_ratio
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            step = self.last_epoch
            if step < self.warmup_steps:
                factor = (step + 1) / self.warmup_steps
            else:
                progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
                factor = self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            return [base_lr * factor for base_lr in self.base_lrs]

    class DANN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU())
            self.classifier = nn.utils.parametrizations.weight_norm(nn.Linear(8, 2))
            self.discriminator = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))

        def forward(self, x, alpha=1.0):
            f = self.features(x)
            return self.classifier(f), self.discriminator(grad_reverse(f, alpha)).squeeze(-1)

    rng = np.random.default_rng(0)
    model = DANN().double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, 0.5, tuple(p.shape))))
    names = [n for n, _ in model.named_parameters()]
    assert "classifier.parametrizations.weight.original0" in names and "classifier.parametrizations.weight.original1" in names

    n = 32
    xs = rng.normal(0.0, 1.0, (n, 4))
    ys = (xs[:, 0] + xs[:, 1] > 0).astype(np.int64)
    xt = rng.normal(0.0, 1.0, (n, 4)) * 1.5 + 0.5  # the shifted target domain, without labels
    source, labels, target = torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(xt)
    domains = torch.cat([torch.zeros(n), torch.ones(n)]).double()

    for p in model.discriminator.parameters():
        p.requires_grad_(False)
    optimizer = Lion([p for p in model.parameters() if p.requires_grad], lr=0.01, weight_decay=0.01)
    scheduler = WarmupCosine(optimizer, warmup_steps=3, total_steps=steps)
    scale = {"features": 1.0}
    model.features[0].weight.register_hook(lambda grad: grad * scale["features"])

    for step in range(steps):
        if step == 2:  # the discriminator joins, with its own learning rate
            for p in model.discriminator.parameters():
                p.requires_grad_(True)
            optimizer.add_param_group({"params": list(model.discriminator.parameters()), "lr": 0.02})
            scheduler.base_lrs.append(0.02)
        scale["features"] = 0.5 if step % 2 else 1.0
        alpha = 2.0 / (1.0 + math.exp(-10 * step / steps)) - 1.0

        def closure():
            optimizer.zero_grad()
            class_logits, dom_source = model(source, alpha)
            _, dom_target = model(target, alpha)
            class_loss = F.cross_entropy(class_logits, labels)
            domain_loss = F.binary_cross_entropy_with_logits(torch.cat([dom_source, dom_target]), domains)
            loss = class_loss + domain_loss
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
            closure.parts = class_loss.item(), domain_loss.item()
            return loss

        loss = optimizer.step(closure)
        scheduler.step()
        print(f"step {step} loss {loss.item():.15e}")
        print(f"step {step} class loss {closure.parts[0]:.15e}")
        print(f"step {step} domain loss {closure.parts[1]:.15e}")
        print(f"step {step} lr {scheduler.get_last_lr()[0]:.15e}")

    # the reversal: the discriminator's gradient reaches the features negated and scaled
    f = model.features(source).detach().requires_grad_(True)
    plain, = torch.autograd.grad(model.discriminator(f).sum(), f)
    reversed_, = torch.autograd.grad(model.discriminator(grad_reverse(f, 0.3)).sum(), f)
    print(f"reversal is -0.3 times the gradient below 1e-12 {float((reversed_ + 0.3 * plain).abs().max() < 1e-12):.15e}")

    # saliency: the class score's gradient with respect to the inputs
    x = source[:4].clone().requires_grad_(True)
    logits, _ = model(x)
    score = logits.gather(1, labels[:4].unsqueeze(1)).sum()
    saliency, = torch.autograd.grad(score, x, retain_graph=False)
    print(f"saliency abs sum {saliency.abs().sum().item():.15e}")

    # weight norm: weight = g * v / |v| per output row
    param = model.classifier.parametrizations.weight
    g, v = param.original0, param.original1
    print(f"weight norm identity below 1e-12 {float((model.classifier.weight - g * v / v.norm(dim=1, keepdim=True)).abs().max() < 1e-12):.15e}")

    # the custom optimizer's and scheduler's state round trip
    state = optimizer.state_dict()
    assert len(state["param_groups"]) == 2 and state["param_groups"][1]["lr"] == scheduler.get_last_lr()[1]
    fresh = Lion(optimizer.param_groups[0]["params"], lr=0.5)
    fresh.add_param_group({"params": list(model.discriminator.parameters())})
    fresh.load_state_dict(state)
    assert [g["lr"] for g in fresh.param_groups] == scheduler.get_last_lr()
    for p in model.parameters():
        assert torch.equal(fresh.state[p]["exp_avg"], optimizer.state[p]["exp_avg"])
    exp_avg_sum = sum(float(s["exp_avg"].abs().sum()) for s in optimizer.state.values())
    print(f"lion exp_avg abs sum {exp_avg_sum:.15e}")
    print(f"scheduler last epoch {float(scheduler.state_dict()['last_epoch']):.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
