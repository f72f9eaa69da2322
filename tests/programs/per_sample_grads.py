"""Per-sample gradients and model ensembling with torch.func, as the PyTorch tutorials write them,
put to work in a DP-SGD-style training loop: the parameters detached into a dict for
functional_call, compute_loss over one sample made a batch by unsqueeze(0), vmap(grad(compute_loss),
in_dims=(None, None, 0, 0)) checked against a Python loop of autograd.grad, each sample's gradient
clipped to a norm and the sum noised (the noise from NumPy) before it is written into p.grad for
SGD; grad_and_value with has_aux; an ensemble of models stacked by stack_module_state and run by
vmap over a base model's functional_call (in_dims=(0, 0, None); the tutorial's copy on the meta
device is a plain copy here: retrograd has no meta device); per-sample Jacobians by jacrev and the
Hessian of a small loss by hessian, checked against torch.autograd.functional; jvp and vjp
checked against each other; and a model with BatchNorm made functional by
replace_all_batch_norm_modules_. Data and noise from NumPy, so torch and retrograd print the same
numbers.
"""

import copy

import numpy as np


def main(torch, steps=4, batch=12, features=5, hidden=8, classes=3, max_norm=1.0, noise_multiplier=0.5):
    nn, F = torch.nn, torch.nn.functional
    functional_call, grad, grad_and_value = torch.func.functional_call, torch.func.grad, torch.func.grad_and_value
    hessian, jacrev, jvp, vjp = torch.func.hessian, torch.func.jacrev, torch.func.jvp, torch.func.vjp
    vmap = torch.func.vmap
    replace_all_batch_norm_modules_ = torch.func.replace_all_batch_norm_modules_
    stack_module_state = torch.func.stack_module_state

    class SimpleMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(features, hidden)
            self.fc2 = nn.Linear(hidden, classes)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    def set_weights(model, rng):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.5, tuple(p.shape))))
        return model

    rng = np.random.default_rng(0)
    data = torch.from_numpy(rng.normal(size=(batch, features)))
    targets = torch.from_numpy(rng.integers(0, classes, batch))
    model = set_weights(SimpleMLP().double(), rng)

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = functional_call(model, (params, buffers), (batch,))
        return F.cross_entropy(predictions, targets)

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))

    # the loop the vmap replaces
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    per_sample = ft_compute_sample_grad(params, buffers, data, targets)
    looped = []
    for i in range(batch):
        loss = F.cross_entropy(model(data[i:i + 1]), targets[i:i + 1])
        looped.append(torch.autograd.grad(loss, list(model.parameters())))
    worst = max((per_sample[name] - torch.stack([g[j] for g in looped])).abs().max().item()
                for j, name in enumerate(params))
    assert per_sample["fc1.weight"].shape == (batch, hidden, features)
    print(f"vmap grad vs loop below 1e-12 {float(worst < 1e-12):.15e}")

    # DP-SGD: clip each sample's gradient, sum, add noise, average
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(steps):
        params = {k: v.detach() for k, v in model.named_parameters()}
        grads = ft_compute_sample_grad(params, buffers, data, targets)
        norms = torch.stack([g.reshape(batch, -1).norm(2, dim=1) for g in grads.values()], dim=1).norm(2, dim=1)
        factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        optimizer.zero_grad(set_to_none=True)
        for name, p in model.named_parameters():
            clipped = torch.einsum("i,i...->...", factor, grads[name])
            noise = torch.from_numpy(rng.normal(0.0, noise_multiplier * max_norm, tuple(p.shape)))
            p.grad = (clipped + noise) / batch
        optimizer.step()
        with torch.no_grad():
            loss = F.cross_entropy(model(data), targets)
        print(f"step {step} loss {loss.item():.15e}")
        print(f"step {step} mean per-sample norm {norms.mean().item():.15e}")
        print(f"step {step} clipped fraction {(norms > max_norm).double().mean().item():.15e}")

    # grad_and_value with an auxiliary output
    def loss_and_logits(params, x, y):
        logits = functional_call(model, params, (x,))
        return F.cross_entropy(logits, y), logits

    params = dict(model.named_parameters())
    g, (value, logits) = grad_and_value(loss_and_logits, has_aux=True)(params, data, targets)
    assert set(g) == set(params) and logits.shape == (batch, classes)
    print(f"grad_and_value loss {value.item():.15e}")
    print(f"grad_and_value fc2 bias grad sum of squares {g['fc2.bias'].pow(2).sum().item():.15e}")

    # an ensemble: stacked states, one vmapped call
    models = [set_weights(SimpleMLP().double(), rng) for _ in range(3)]
    ens_params, ens_buffers = stack_module_state(models)
    base_model = copy.deepcopy(models[0])  # the tutorial moves it .to("meta"): retrograd has no meta device

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    ensemble_out = vmap(fmodel, in_dims=(0, 0, None))(ens_params, ens_buffers, data)
    looped_out = torch.stack([m(data) for m in models])
    assert ensemble_out.shape == (3, batch, classes)
    print(f"ensemble vs loop below 1e-12 {float((ensemble_out - looped_out).abs().max() < 1e-12):.15e}")
    print(f"ensemble mean logit {ensemble_out.mean().item():.15e}")

    # per-sample Jacobians of the outputs with respect to the inputs
    def predict(x):
        return model(x)

    jac = vmap(jacrev(predict))(data)
    assert jac.shape == (batch, classes, features)
    ref = torch.autograd.functional.jacobian(predict, data[2])
    print(f"jacrev vs autograd.functional below 1e-12 {float((jac[2] - ref).abs().max() < 1e-12):.15e}")
    print(f"jacobian sum {jac.sum().item():.15e}")

    # the Hessian of a smooth loss in the inputs
    def smooth(x):
        return torch.tanh(model.fc1(x)).pow(2).sum()

    h = hessian(smooth)(data[0])
    h_ref = torch.autograd.functional.hessian(smooth, data[0])
    print(f"hessian vs autograd.functional below 1e-12 {float((h - h_ref).abs().max() < 1e-12):.15e}")
    print(f"hessian trace {torch.trace(h).item():.15e}")

    # jvp and vjp: <u, J v> both ways
    v = torch.from_numpy(rng.normal(size=features))
    u = torch.from_numpy(rng.normal(size=classes))
    _, jv = jvp(predict, (data[0],), (v,))
    _, vjp_fn = vjp(predict, data[0])
    (uj,) = vjp_fn(u)
    print(f"u.Jv equals uJ.v below 1e-12 {float(abs(u @ jv - uj @ v) < 1e-12):.15e}")
    print(f"u.Jv {(u @ jv).item():.15e}")

    # BatchNorm under vmap: stop its running statistics first
    bn_model = nn.Sequential(nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                             nn.Linear(hidden, classes)).double()
    set_weights(bn_model, rng)
    replace_all_batch_norm_modules_(bn_model)
    assert bn_model[1].running_mean is None and not bn_model[1].track_running_stats

    def bn_loss(params, x, y):
        return F.cross_entropy(functional_call(bn_model, params, (x,)), y)

    bn_params = {k: v.detach() for k, v in bn_model.named_parameters()}
    chunks = vmap(grad(bn_loss), in_dims=(None, 0, 0))(bn_params, data.view(3, 4, features), targets.view(3, 4))
    print(f"per-chunk batchnorm grad sum {chunks['1.weight'].sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
