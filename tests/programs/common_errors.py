"""The mistakes real training scripts make, and what the library answers: each case runs a
common slip (a shape mismatch in a Linear, backward twice through a freed graph, an in-place
change to a tensor saved for backward, .numpy() of a tensor that requires grad, an Embedding
index out of range, a strict load_state_dict with a missing key, a ragged list to torch.tensor,
MSELoss of broadcastable shapes, softmax without dim, ...) and prints the exception's or warning's
type in the label, so the test compares the types with torch's (the messages are each library's
own). Every case runs under both libraries; where none is raised the label says so.
"""

import io
import warnings


def main(torch):
    nn, F = torch.nn, torch.nn.functional

    def attempt(name, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn()
                outcome = "ok"
            except Exception as e:  # noqa: BLE001 - the type is what is compared
                outcome = type(e).__name__.lstrip("_")  # (torch.linalg.LinAlgError is named _LinAlgError)
        kinds = sorted({w.category.__name__ for w in caught})
        print(f"{name}: {outcome} {' '.join(kinds) or 'silent'} {1.0:.15e}")

    x = torch.ones(4, 3)
    lin = nn.Linear(5, 2)

    def backward_twice():
        a = torch.ones(3, requires_grad=True)
        y = (a.exp() * 2).sum()
        y.backward()
        y.backward()

    def modified_saved():
        a = torch.ones(3, requires_grad=True)
        b = a * 2
        c = b.exp()
        c.add_(1)  # exp's output is saved for its backward
        c.sum().backward()

    def leaf_in_place():
        w = torch.ones(3, requires_grad=True)
        w += 1

    def strict_load():
        m = nn.Linear(2, 2)
        m.load_state_dict({"weight": torch.zeros(2, 2)})

    def wrong_shape_load():
        m = nn.Linear(2, 2)
        m.load_state_dict({"weight": torch.zeros(3, 2), "bias": torch.zeros(2)})

    def assign_tensor_to_parameter():
        m = nn.Linear(2, 2)
        m.weight = torch.zeros(2, 2)

    def non_scalar_backward():
        a = torch.ones(3, requires_grad=True)
        (a * 2).backward()

    def no_grad_backward():
        a = torch.ones(3, requires_grad=True)
        with torch.no_grad():
            y = (a * 2).sum()
        y.backward()

    def collate_ragged():
        loader = torch.utils.data.DataLoader([torch.ones(2), torch.ones(3)], batch_size=2)
        next(iter(loader))

    def bad_buffer_name():
        m = nn.Module()
        m.register_buffer("a.b", torch.ones(1))

    def missing_attribute():
        nn.Linear(2, 2).weights

    def load_missing_file():
        torch.load("/nonexistent/checkpoint.pt", weights_only=True)

    def int_requires_grad():
        torch.tensor([1, 2, 3], requires_grad=True)

    def save_to_buffer():
        buf = io.BytesIO()
        torch.save({"w": torch.ones(2)}, buf)
        buf.seek(0)
        torch.load(buf, weights_only=True)

    cases = {
        "linear shape mismatch": lambda: lin(x),
        "matmul shape mismatch": lambda: x @ torch.ones(4, 2),
        "cat shape mismatch": lambda: torch.cat([x, torch.ones(4, 2)], dim=0),
        "view of a non-contiguous tensor": lambda: x.t().view(12),
        "reshape to a wrong size": lambda: x.reshape(5, -1),
        "item of many elements": lambda: x.item(),
        "bool of many elements": lambda: bool(x > 0),
        "numpy of a tensor requiring grad": lambda: lin.weight.numpy(),
        "backward twice": backward_twice,
        "in-place change of a saved tensor": modified_saved,
        "in-place on a leaf requiring grad": leaf_in_place,
        "backward of a non-scalar": non_scalar_backward,
        "backward of a no_grad result": no_grad_backward,
        "integer tensor requiring grad": int_requires_grad,
        "embedding index out of range": lambda: nn.Embedding(5, 2)(torch.tensor([5])),
        "embedding of float indices": lambda: nn.Embedding(5, 2)(torch.tensor([1.0])),
        "cross entropy target out of range": lambda: F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])),
        "cross entropy float target of another shape": lambda: F.cross_entropy(torch.zeros(2, 3), torch.zeros(2)),
        "nll loss of a 1-d target batch mismatch": lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1, 2])),
        "bce of inputs outside 0..1": lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])),
        "bce target of another shape": lambda: F.binary_cross_entropy(torch.tensor([0.5, 0.5]),
                                                                      torch.tensor([[1.0, 0.0]])),
        "mse of broadcastable shapes": lambda: F.mse_loss(torch.zeros(4, 1), torch.zeros(4)),
        "l1 of broadcastable shapes": lambda: F.l1_loss(torch.zeros(4, 1), torch.zeros(4)),
        "softmax without dim": lambda: F.softmax(x),
        "log_softmax without dim": lambda: F.log_softmax(x),
        "dropout probability above 1": lambda: nn.Dropout(1.5),
        "optimizer of no parameters": lambda: torch.optim.SGD([], lr=0.1),
        "optimizer of a negative learning rate": lambda: torch.optim.Adam(lin.parameters(), lr=-1.0),
        "optimizer given a tensor, not an iterable": lambda: torch.optim.SGD(lin.weight, lr=0.1),
        "strict load with a missing key": strict_load,
        "load with a wrong shape": wrong_shape_load,
        "a plain tensor assigned to a parameter": assign_tensor_to_parameter,
        "default collate of ragged tensors": collate_ragged,
        "buffer name with a dot": bad_buffer_name,
        "missing module attribute": missing_attribute,
        "load of a missing file": load_missing_file,
        "save and load through a buffer": save_to_buffer,
        "ragged nested list": lambda: torch.tensor([[1, 2], [3]]),
        "max pool kernel larger than the input": lambda: F.max_pool2d(torch.ones(1, 1, 2, 2), 3),
        "conv2d of a 2-d input": lambda: nn.Conv2d(1, 1, 3)(torch.ones(5, 5)),
        "conv2d channel mismatch": lambda: nn.Conv2d(3, 1, 3)(torch.ones(1, 1, 5, 5)),
        "batch norm of one value per channel": lambda: nn.BatchNorm1d(3)(torch.ones(1, 3)),
        "lstm input of the wrong size": lambda: nn.LSTM(3, 2)(torch.ones(4, 1, 2)),
        "index out of range": lambda: x[4],
        "gather index of another rank": lambda: x.gather(1, torch.tensor([0, 1])),
        "scatter of a float index": lambda: torch.zeros(3).scatter_(0, torch.tensor([0.0]), 1.0),
        "expand to a smaller size": lambda: x.expand(2, 3),
        "argmax of an empty tensor": lambda: torch.empty(0).argmax(),
        "clip_grad_norm_ of nan gradients": lambda: _nan_clip(torch, nn),
        "one_hot of a negative class": lambda: F.one_hot(torch.tensor([-1]), 3),
        "multinomial of negative weights": lambda: torch.multinomial(torch.tensor([-1.0, 2.0]), 1),
        "randint with low above high": lambda: torch.randint(5, 2, (3,)),
        "arange with a zero step": lambda: torch.arange(0, 5, 0),
        "linspace of a negative count": lambda: torch.linspace(0, 1, -1),
        "normal of a negative std": lambda: torch.normal(0.0, -1.0, (2,)),
        "pad_sequence of mismatched trailing dims": lambda: nn.utils.rnn.pad_sequence([torch.ones(2, 3),
                                                                                       torch.ones(2, 4)]),
        "pack_padded_sequence of unsorted lengths": lambda: nn.utils.rnn.pack_padded_sequence(
            torch.ones(3, 2, 1), torch.tensor([1, 3])),
        "step lr of a non-optimizer": lambda: torch.optim.lr_scheduler.StepLR(lin, 1),
        "interpolate with size and scale factor": lambda: F.interpolate(torch.ones(1, 1, 4), size=8, scale_factor=2.0),
        "linear of a float size": lambda: nn.Linear(2.5, 3),
        "stack of different shapes": lambda: torch.stack([torch.ones(2), torch.ones(3)]),
        "zeros of a negative size": lambda: torch.zeros(-1),
        "chunk into zero chunks": lambda: x.chunk(0),
        "squeeze of a dim out of range": lambda: x.squeeze(3),
        "transpose of a dim out of range": lambda: x.transpose(0, 2),
        "sum over a dim out of range": lambda: x.sum(2),
        "eye of a negative size": lambda: torch.eye(-1),
        "narrow past the end": lambda: x.narrow(0, 3, 2),
        "T of a 3-d tensor": lambda: _warning_each_time(torch, lambda: torch.ones(2, 3, 4).T),
        "T of a 0-d tensor": lambda: _warning_each_time(torch, lambda: torch.ones(()).T),
        "pad by more than the size": lambda: F.pad(torch.ones(1, 1, 2), (3, 3), mode="reflect"),
        "functional upsample": lambda: F.upsample(torch.ones(1, 1, 4), scale_factor=2),
        "tensor of a tensor": lambda: torch.tensor(torch.ones(2)),
        "torch range": lambda: torch.range(0, 3),
        "scheduler step before optimizer step": lambda: _scheduler_first(torch, lin),
        "scheduler step with an epoch": lambda: _scheduler_epoch(torch, lin),
        "dataloader of negative workers": lambda: torch.utils.data.DataLoader([1, 2], num_workers=-1),
        "dataloader of batch size 0": lambda: torch.utils.data.DataLoader([1, 2], batch_size=0),
        "random_split of wrong lengths": lambda: torch.utils.data.random_split(range(10), [3, 3]),
        "subset index out of range": lambda: torch.utils.data.Subset(list(range(3)), [5])[0],
        "optimizer state of other groups": lambda: _load_other_groups(torch, nn),
        "clip_grad_norm_ of no parameters": lambda: nn.utils.clip_grad_norm_([], 1.0),
        "sequential index out of range": lambda: nn.Sequential(nn.ReLU())[3],
        "module list append of a non-module": lambda: nn.ModuleList().append(3),
        "parameter of an integer tensor": lambda: nn.Parameter(torch.tensor([1, 2])),
        "cross entropy int32 target": lambda: F.cross_entropy(torch.zeros(2, 3),
                                                              torch.tensor([0, 1], dtype=torch.int32)),
        "nll loss float target": lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0.0, 1.0])),
        "backward of a tensor without grad": lambda: torch.ones(2).sum().backward(),
        "grad of an unused input": lambda: _unused_grad(torch),
        "in-place on a view of a leaf": lambda: _view_of_leaf(torch),
        "resize of a leaf requiring grad": lambda: torch.ones(2, requires_grad=True).resize_(3),
        "gru hidden of the wrong shape": lambda: nn.GRU(3, 2)(torch.ones(4, 1, 3), torch.zeros(1, 2, 2)),
        "attention heads not dividing the width": lambda: nn.MultiheadAttention(5, 2),
        "encoder layer heads not dividing the width": lambda: nn.TransformerEncoderLayer(5, 2),
        "manual_seed of a string": lambda: torch.manual_seed("a"),
        "tensor of a string": lambda: torch.tensor("abc"),
        "unfold with a step of 0": lambda: torch.arange(6.0).unfold(0, 2, 0),
        "topk larger than the size": lambda: torch.ones(3).topk(4),
        "kthvalue out of range": lambda: torch.ones(3).kthvalue(4),
        "repeat with fewer dims": lambda: x.repeat(2),
        "permute with a repeated dim": lambda: x.permute(0, 0),
        "flatten with start after end": lambda: torch.ones(2, 3, 4).flatten(2, 1),
        "index_select of a float index": lambda: x.index_select(0, torch.tensor([0.0])),
        "masked_fill with a float mask": lambda: x.masked_fill(torch.ones(4, 3), 0.0),
        "where of a float condition": lambda: torch.where(torch.ones(2), torch.ones(2), torch.zeros(2)),
        "cdist of different widths": lambda: torch.cdist(torch.ones(2, 3), torch.ones(2, 4)),
        "cholesky of a non-positive matrix": lambda: torch.linalg.cholesky(-torch.eye(2)),
        "inverse of a singular matrix": lambda: torch.linalg.inv(torch.zeros(2, 2)),
        "solve of mismatched shapes": lambda: torch.linalg.solve(torch.eye(2), torch.ones(3)),
        "categorical of negative probs": lambda: torch.distributions.Categorical(probs=torch.tensor([-0.5, 1.5]),
                                                                                   validate_args=True),
        "normal of a negative scale": lambda: torch.distributions.Normal(0.0, -1.0, validate_args=True),
        "log_prob outside the support": lambda: torch.distributions.Bernoulli(0.5, validate_args=True).log_prob(
            torch.tensor(2.0)),
    }
    for name, fn in cases.items():
        attempt(name, fn)


def _warning_each_time(torch, fn):
    """fn() with torch's once-per-process warnings given every time (as if first in the process)."""
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        fn()
    finally:
        torch.set_warn_always(before)


def _scheduler_first(torch, lin):
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    torch.optim.lr_scheduler.StepLR(opt, 1).step()


def _scheduler_epoch(torch, lin):
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    opt.step()
    sched.step(1)


def _load_other_groups(torch, nn):
    a = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    b = torch.optim.SGD([{"params": [nn.Parameter(torch.ones(1))]}, {"params": [nn.Parameter(torch.ones(1))]}], lr=0.1)
    a.load_state_dict(b.state_dict())


def _unused_grad(torch):
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    torch.autograd.grad((a * 2).sum(), [a, b])


def _view_of_leaf(torch):
    a = torch.ones(4, requires_grad=True)
    a[:2].mul_(2)


def _nan_clip(torch, nn):
    p = nn.Parameter(torch.ones(2))
    p.grad = torch.tensor([float("nan"), 1.0])
    return nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


if __name__ == "__main__":
    from _run import script
    script(main)
