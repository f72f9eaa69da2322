"""The demo's plots (matplotlib, Agg backend, written as PNG files)."""


def available():
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _smooth(values, window):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot_curves(history, path):
    """Training loss per step (and its moving average), test loss per epoch, and test
    accuracy per epoch; returns ``path``."""
    plt = _pyplot()
    steps = history["step_loss"]
    epochs = history["epoch"]
    per_epoch = len(steps) / max(len(epochs), 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    x = [(i + 1) / per_epoch for i in range(len(steps))]
    ax_loss.plot(x, steps, color="tab:blue", alpha=0.3, linewidth=0.8, label="train (per step)")
    ax_loss.plot(x, _smooth(steps, max(1, int(per_epoch // 4))), color="tab:blue", label="train (moving avg)")
    ax_loss.plot(epochs, history["test_loss"], "o-", color="tab:orange", label="test")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_title("loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    acc = [100 * a for a in history["test_acc"]]
    ax_acc.plot(epochs, acc, "o-", color="tab:green")
    ax_acc.axhline(97, color="gray", linestyle="--", linewidth=0.8)
    for e, a in zip(epochs[-1:], acc[-1:]):
        ax_acc.annotate(f"{a:.1f}%", (e, a), textcoords="offset points", xytext=(0, -14), ha="center")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title("test accuracy")
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_grad_norms(history, path):
    """The L2 norm of each layer's gradient at every step (log scale): where gradients
    shrink or grow as they flow back from the loss; returns ``path``."""
    plt = _pyplot()
    norms = history["grad_norms"]
    steps = history["step_loss"]
    per_epoch = len(steps) / max(len(history["epoch"]), 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    window = max(1, int(per_epoch // 4))
    for i, (label, values) in enumerate(norms.items()):
        if values:
            color = f"C{i % 10}"
            x = [(j + 1) / per_epoch for j in range(len(values))]
            ax.plot(x, values, color=color, alpha=0.25, linewidth=0.7)
            ax.plot(x, _smooth(values, window), color=color, linewidth=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient L2 norm (weights + bias)")
    ax.set_title("per-layer gradient norms (faint: every step; solid: moving average)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
