"""Old idioms and argument checks that real training scripts still contain, and what the library
answers: deprecated spellings (size_average=, reduce=, verbose= on a scheduler, clip_grad_norm
without the underscore, nn.init functions without it, torch.meshgrid without indexing=, the .grad of
a non-leaf, a scheduler's get_lr() outside step, an LSTM whose dropout has no layer to follow, an
implicit-dim nn.Softmax), and module constructors given impossible settings (padding='same' with a
stride, channels not divisible by groups, a padding_idx outside the table, a DataLoader given both
a sampler and shuffle). Each case prints the exception's and warnings' types in its label, so the
test compares them with torch's (the messages are each library's own).
"""

import copy
import warnings


def main(torch):
    nn, F = torch.nn, torch.nn.functional

    def attempt(name, fn):
        before = torch.is_warn_always_enabled()
        torch.set_warn_always(True)  # torch's once-per-process warnings each time, as if first in the process
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn()
                outcome = "ok"
            except Exception as e:  # noqa: BLE001 - the type is what is compared
                outcome = type(e).__name__
            finally:
                torch.set_warn_always(before)
        kinds = sorted({w.category.__name__ for w in caught})
        print(f"{name}: {outcome} {' '.join(kinds) or 'silent'} {1.0:.15e}")

    lin = nn.Linear(3, 2)
    x = torch.ones(4, 3)

    def nonleaf_grad():
        a = torch.ones(2, requires_grad=True)
        b = a * 2
        b.sum().backward()
        return b.grad

    def get_lr_outside_step():
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        torch.optim.lr_scheduler.StepLR(opt, 1).get_lr()

    def deepcopy_nonleaf():
        a = torch.ones(2, requires_grad=True)
        copy.deepcopy(a * 2)

    def overlapping_group():
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        opt.add_param_group({"params": [lin.weight]})

    def hook_on_no_grad_tensor():
        torch.ones(2).register_hook(lambda g: g)

    def no_grad_without_call():
        with torch.no_grad:
            pass

    def state_dict_positional():
        lin.state_dict(None, "prefix.")

    cases = {
        "loss with size_average": lambda: nn.CrossEntropyLoss(size_average=True),
        "loss with reduce": lambda: nn.MSELoss(reduce=False),
        "functional loss with reduce": lambda: F.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1]), reduce=False),
        "scheduler verbose": lambda: torch.optim.lr_scheduler.StepLR(torch.optim.SGD(lin.parameters(), lr=0.1), 1,
                                                                     verbose=True),
        "plateau verbose": lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(
            torch.optim.SGD(lin.parameters(), lr=0.1), verbose=True),
        "get_lr outside step": get_lr_outside_step,
        "clip_grad_norm without underscore": lambda: nn.utils.clip_grad_norm(lin.parameters(), 1.0),
        "init without underscore": lambda: nn.init.kaiming_normal(torch.empty(2, 3)),
        "init xavier_uniform without underscore": lambda: nn.init.xavier_uniform(torch.empty(2, 3)),
        "meshgrid without indexing": lambda: torch.meshgrid(torch.arange(2), torch.arange(3)),
        "grad of a non-leaf": nonleaf_grad,
        "lstm dropout with one layer": lambda: nn.LSTM(3, 4, dropout=0.5),
        "gru dropout out of range": lambda: nn.GRU(3, 4, dropout=1.5),
        "softmax module without dim": lambda: nn.Softmax()(x),
        "log softmax module without dim": lambda: nn.LogSoftmax()(x),
        "conv same padding with a stride": lambda: nn.Conv2d(3, 8, 3, padding="same", stride=2),
        "conv unknown padding string": lambda: nn.Conv2d(3, 8, 3, padding="full"),
        "conv channels not divisible by groups": lambda: nn.Conv2d(3, 8, 3, groups=2),
        "conv of a bad padding mode": lambda: nn.Conv2d(3, 8, 3, padding_mode="mirror"),
        "embedding padding_idx outside": lambda: nn.Embedding(5, 2, padding_idx=6),
        "dataloader sampler and shuffle": lambda: torch.utils.data.DataLoader(
            [1, 2, 3], sampler=torch.utils.data.SequentialSampler([1, 2, 3]), shuffle=True),
        "dataloader batch_sampler and batch_size": lambda: torch.utils.data.DataLoader(
            [1, 2, 3], batch_sampler=[[0, 1], [2]], batch_size=2),
        "dataloader drop_last without batching": lambda: torch.utils.data.DataLoader(
            [1, 2, 3], batch_size=None, drop_last=True),
        "random_split fractions over one": lambda: torch.utils.data.random_split(range(10), [0.5, 0.6]),
        "deepcopy of a non-leaf": deepcopy_nonleaf,
        "parameter already in a group": overlapping_group,
        "hook on a tensor without grad": hook_on_no_grad_tensor,
        "no_grad without the call": no_grad_without_call,
        "state_dict positional arguments": state_dict_positional,
        "eval with an argument": lambda: lin.eval(True),
        "train with a non-bool": lambda: lin.train("yes"),
        "sequential of a non-module": lambda: nn.Sequential(1),
        "module dict of a non-module": lambda: nn.ModuleDict({"a": 1}),
        "module list extend of a non-iterable": lambda: nn.ModuleList().extend(nn.ReLU()),
        "mean of an integer tensor": lambda: torch.ones(2, dtype=torch.int64).mean(),
        "sum over a repeated dim": lambda: x.sum(dim=(0, 0)),
        "cat of nothing": lambda: torch.cat([]),
        "stack of nothing": lambda: torch.stack([]),
        "view with two inferred dims": lambda: x.view(-1, -1),
        "argmax over a dim out of range": lambda: x.argmax(dim=5),
        "linear of an integer input": lambda: lin(torch.ones(4, 3, dtype=torch.int64)),
        "in-place add of another shape": lambda: torch.zeros(2).add_(torch.zeros(3)),
        "in-place result that would broadcast": lambda: torch.zeros(3).add_(torch.zeros(2, 3)),
        "one_hot of a float tensor": lambda: F.one_hot(torch.tensor([1.0]), 3),
        "multinomial without replacement of too many": lambda: torch.multinomial(torch.ones(3), 5),
        "randperm of a negative count": lambda: torch.randperm(-1),
        "manual_seed too large": lambda: torch.manual_seed(2 ** 64),
        "gru input of two dims batch_first": lambda: nn.GRU(3, 4, batch_first=True)(torch.ones(2, 3, 3, 1)),
        "chain_matmul": lambda: torch.chain_matmul(torch.eye(2), torch.eye(2)),
        "lu": lambda: torch.lu(torch.eye(2)),
        "norm of a string p": lambda: torch.norm(x, p="fro", dim=1),
        "set_default_tensor_type": lambda: _restore_default(torch),
        "list of ndarrays to tensor": lambda: _from_ndarrays(torch),
        "weight_norm old utility": lambda: nn.utils.weight_norm(nn.Linear(2, 2)),
        "cpu amp autocast old path": lambda: torch.cpu.amp.autocast(),
    }
    for name, fn in cases.items():
        attempt(name, fn)


def _restore_default(torch):
    torch.set_default_tensor_type(torch.DoubleTensor)
    torch.set_default_tensor_type(torch.FloatTensor)


def _from_ndarrays(torch):
    import numpy as np

    return torch.tensor([np.ones(2), np.zeros(2)])


if __name__ == "__main__":
    from _run import script
    script(main)
