"""The demo's training run: data, gradient check, training loop with progress, evaluation,
plots. Written as a PyTorch user would write it, with ``import retrograd as torch``."""

import json
import math
import os
import sys
import time


import retrograd as torch
from retrograd import nn
from retrograd.torch_version import RETROGRAD_VERSION
from retrograd.utils.data import DataLoader, TensorDataset

from . import data, diagnose, models


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def layer_names(model):
    """``{parameter name: layer label}``, e.g. ``{"0.weight": "0 Conv2d", ...}``."""
    modules = dict(model.named_modules())
    names = {}
    for pname, _ in model.named_parameters():
        prefix = pname.rpartition(".")[0]
        names[pname] = f"{prefix} {type(modules[prefix]).__name__}" if prefix else pname
    return names


def grad_norms(model, names):
    """The L2 norm of each layer's gradient (all its parameters together)."""
    sq = {}
    for pname, p in model.named_parameters():
        if p.grad is not None:
            layer = names[pname]
            sq[layer] = sq.get(layer, 0.0) + float((p.grad * p.grad).sum().item())
    return {layer: math.sqrt(v) for layer, v in sq.items()}


def evaluate(model, x, y, loss_fn, batch_size=512):
    """``(mean loss, accuracy)`` of ``model`` on tensors ``x``, ``y`` (no graph recorded)."""
    model.eval()
    total_loss, correct = 0.0, 0
    y_np = y.cpu().numpy()
    with torch.no_grad():
        for start in range(0, len(y_np), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            pred = logits.cpu().numpy().argmax(axis=1)
            correct += int((pred == y_np[start:start + batch_size]).sum())
    model.train()
    return total_loss / len(y_np), correct / len(y_np)


def run(args):
    """Train and report as ``python -m retrograd`` does; returns the exit status."""
    out = print
    x_train, y_train, x_test, y_test = data.load_split(seed=args.seed, subset=args.subset)
    out(f"retrograd {RETROGRAD_VERSION}: {args.model} on the UCI 8x8 digits "
        f"({len(y_train)} train / {len(y_test)} test images), device {args.device}, "
        f"seed {args.seed}")

    torch.manual_seed(args.seed)
    model = models.build(args.model)
    n_params = sum(p.numel() for p in model.parameters())
    out(f"model: {n_params:,} parameters\n{model}")

    if args.gradcheck:
        from .gradcheck import check_model, verdict

        ok, results = check_model(model, x_train, y_train)
        out(verdict(ok, results))
        if not ok:
            out("stopping: training with wrong gradients would be meaningless", file=sys.stderr)
            return 1

    device = args.device
    model.to(device)

    def to_tensors(x, y):
        return (torch.from_numpy(x.reshape(-1, *data.IMAGE_SHAPE)).to(device),
                torch.from_numpy(y).to(device))

    xt, yt = to_tensors(x_train, y_train)
    xv, yv = to_tensors(x_test, y_test)
    loader = DataLoader(TensorDataset(xt, yt), batch_size=args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(args.seed))
    loss_fn = nn.CrossEntropyLoss()

    def make_optimizer(params):
        return torch.optim.Adam(params, lr=args.lr)

    optimizer = make_optimizer(model.parameters())
    names = layer_names(model)
    xb, yb = xt[:args.batch_size], yt[:args.batch_size]
    if device.type == "cpu":  # the plan follows NumPy's allocations (tracemalloc)
        out(f"memory plan of one training step (batch {len(yb)}):\n"
            f"{diagnose.memory_plan(model, loss_fn, make_optimizer, xb, yb)}")
    page = diagnose.graph_page(model, loss_fn, xb, yb, args.out)
    out(f"graph of one training step (ops by module, tensors and gradients on the edges): {page}")
    history = {"step_loss": [], "grad_norms": {label: [] for label in dict.fromkeys(names.values())},
               "epoch": [], "train_loss": [], "test_loss": [], "test_acc": [], "epoch_seconds": []}

    tqdm = _tqdm()
    if tqdm is None:
        out("(no progress bar: install tqdm for one; printing a line per epoch)")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        bar = (tqdm(total=len(y_train), desc=f"epoch {epoch}/{args.epochs}", unit="img",
                    leave=True, dynamic_ncols=True) if tqdm else None)
        running, seen = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            for label, norm in grad_norms(model, names).items():
                history["grad_norms"][label].append(norm)
            optimizer.step()

            value = loss.item()
            history["step_loss"].append(value)
            running += value * len(yb)
            seen += len(yb)
            if bar is not None:
                bar.set_postfix(loss=f"{running / seen:.4f}", refresh=False)
                bar.update(len(yb))
        train_loss = running / max(seen, 1)
        test_loss, test_acc = evaluate(model, xv, yv, loss_fn)
        seconds = time.perf_counter() - t0
        for key, value in (("epoch", epoch), ("train_loss", train_loss), ("test_loss", test_loss),
                           ("test_acc", test_acc), ("epoch_seconds", seconds)):
            history[key].append(value)
        if bar is not None:
            bar.set_postfix(loss=f"{train_loss:.4f}", test_acc=f"{100 * test_acc:.1f}%")
            bar.close()
        else:
            out(f"epoch {epoch}/{args.epochs}: loss {train_loss:.4f}, test loss {test_loss:.4f}, "
                f"test accuracy {100 * test_acc:.1f}%, {seen / seconds:,.0f} img/s")
    elapsed = time.perf_counter() - start

    final_acc = history["test_acc"][-1]
    n_correct = round(final_acc * len(y_test))
    out(f"test accuracy: {100 * final_acc:.2f}% ({n_correct}/{len(y_test)}) after {args.epochs} "
        f"epoch(s), {elapsed:.1f}s of training")
    out(f"after training, {diagnose.gradient_flow(model, loss_fn, optimizer, xb, yb)}")
    _write_outputs(args, history, final_acc, elapsed)
    return 0


def _write_outputs(args, history, final_acc, elapsed):
    from . import plots

    metrics = {"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
               "seed": args.seed, "device": str(args.device), "test_accuracy": final_acc,
               "train_seconds": elapsed, "history": history}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    if not plots.available():
        print(f"plots skipped: they need matplotlib (pip install matplotlib, or pip install -e \".[demo]\"); "
              f"metrics written to {os.path.join(args.out, 'metrics.json')}")
        return
    written = [plots.plot_curves(history, os.path.join(args.out, "curves.png")),
               plots.plot_grad_norms(history, os.path.join(args.out, "grad_norms.png"))]
    print(f"wrote {', '.join(written)} and {os.path.join(args.out, 'metrics.json')}")
