"""Mixed-precision training as the automatic-mixed-precision recipe writes it, on the CPU: a float32
MLP whose forward runs under torch.autocast(device_type="cpu", dtype=torch.bfloat16) (the Linear
outputs bfloat16, the loss float32 as autocast's float32 list makes it), a torch.amp.GradScaler
("cpu") scaling the loss, scaler.unscale_ before clip_grad_norm_, scaler.step and scaler.update
with the scale printed, an overflow injected by a non-finite gradient that makes the scaler skip
the step and halve its scale (the parameters unchanged), the scaler's state_dict, autocast nested
with enabled=False for a float32 island, @torch.autocast as a decorator, the dtypes autocast
gives matmul, softmax, layer_norm and addition of mixed dtypes, and a float16 model's loss by
.half() on the CPU. Weights and data from NumPy, so torch and retrograd print the same numbers.
The LayerNorm has no affine parameters: torch's CPU kernel sums their gradients of a bfloat16 or
float16 input in that dtype per thread, so torch's own numbers would change with its thread count
(docs/differences.md).
"""

import numpy as np


def main(torch, steps=6, features=8, hidden=16, classes=3, batch=16):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(features, hidden)
            self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
            self.fc2 = nn.Linear(hidden, classes)

        def forward(self, x):
            return self.fc2(F.gelu(self.norm(self.fc1(x))))

    rng = np.random.default_rng(0)
    model = Net()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.startswith("norm"):
                p.copy_(torch.from_numpy(rng.normal(0.0, 0.4, tuple(p.shape)).astype(np.float32)))
    x = torch.from_numpy(rng.normal(size=(batch, features)).astype(np.float32))
    y = torch.from_numpy(np.arange(batch) % classes)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
    for step in range(steps):
        optimizer.zero_grad()
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            output = model(x)
            assert output.dtype == torch.bfloat16
            loss = F.cross_entropy(output, y)
            assert loss.dtype == torch.float32
        scaler.scale(loss).backward()
        assert model.fc1.weight.grad.dtype == torch.float32
        if step == 3:  # an overflow: the scaler skips this step and halves its scale
            model.fc2.bias.grad[0] = float("inf")
        before = model.fc1.weight.detach().clone()
        scaler.unscale_(optimizer)
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        skipped = torch.equal(before, model.fc1.weight)
        print(f"step {step} loss {loss.item():.15e}")
        print(f"step {step} grad norm {norm.item():.15e}")
        print(f"step {step} scale {scaler.get_scale():.15e}")
        print(f"step {step} skipped {float(skipped):.15e}")
    state = scaler.state_dict()
    print(f"scaler state scale {state['scale']:.15e}")
    print(f"scaler state growth tracker {state['_growth_tracker']:.15e}")

    with torch.autocast("cpu", dtype=torch.bfloat16):
        a = model.fc1(x)
        with torch.autocast("cpu", enabled=False):
            b = model.fc1(x)  # float32 inside
            mixed = a + b
        probs = torch.softmax(a, dim=-1)
        mm = torch.mm(x, model.fc1.weight.t())
        normed = F.layer_norm(a, (hidden,))
        print(f"autocast dtypes {' '.join(str(t.dtype).split('.')[-1] for t in (a, b, mixed, probs, mm, normed))} "
              f"{float(torch.is_autocast_enabled('cpu')):.15e}")
        print(f"bfloat16 linear vs float32 max difference {(a.float() - b).abs().max().item():.15e}")
        print(f"bfloat16 linear sum {a.float().sum().item():.15e}")

    @torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    def predict(inputs):
        return model(inputs)

    out = predict(x)
    print(f"decorated output {str(out.dtype).split('.')[-1]} {out.float().sum().item():.15e}")
    print(f"autocast off after the region {float(torch.is_autocast_enabled('cpu')):.15e}")

    half = Net().half()
    half.load_state_dict({k: v.half() for k, v in model.state_dict().items()})
    h_out = half(x.half())
    h_loss = F.cross_entropy(h_out.float(), y)
    h_loss.backward()
    print(f"half model loss {h_loss.item():.15e}")
    print(f"half fc1 grad dtype {str(half.fc1.weight.grad.dtype).split('.')[-1]} "
          f"{half.fc1.weight.grad.float().abs().sum().item():.15e}")


if __name__ == "__main__":
    from _run import script
    script(main)
