"""``python -m retrograd`` (or the ``retrograd`` command): train a small CNN on the 8x8
digits that ship with the package, after checking its gradients, and plot the run; along the
way, show what ``retrograd.inspect`` sees of it (memory plan, graph page, gradient flow).

Everything runs offline on NumPy; tqdm (progress bar) and matplotlib (plots) are optional
(``pip install -e ".[demo]"``). Bad options exit with code 2 and a one-line message.
"""

import argparse
import os
import sys

DEFAULTS = {
    "epochs": 15,
    "batch_size": 32,
    "lr": 3e-3,
    "model": "cnn",
    "out": "retrograd-out",
    "device": "cpu",
    "seed": 0,
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its error as one line (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _subset(text):
    value = _positive_int(text)
    if value < 10:
        raise argparse.ArgumentTypeError(f"expected at least 10 images (some to train on, some to test), got {text!r}")
    return value


def _prog():
    argv0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m retrograd" if argv0 in ("__main__.py", "-m", "-c", "") else "retrograd"


def build_parser():
    """The command-line interface of the demo."""
    d = DEFAULTS
    parser = _Parser(
        prog=_prog(),
        description=(
            "Train a small convolutional network (or an MLP) on the 8x8 handwritten digits "
            "shipped with retrograd (UCI, 1,797 images, seeded 80/20 train/test split). "
            "Before training it checks the gradients of each layer type against finite "
            "differences in float64 and prints the memory plan of one training step, and writes "
            "the graph of one step (graph.html); after training it prints the test accuracy and "
            "the gradient-flow diagnosis, and writes a loss/accuracy curve and a per-layer "
            "gradient-norm plot (PNG) to --out."),
        epilog="Progress bar: needs tqdm; plots: need matplotlib (pip install -e \".[demo]\").",
    )
    parser.add_argument("--epochs", type=_positive_int, default=d["epochs"], metavar="N",
                        help="passes over the 1,437 training images (default: %(default)s)")
    parser.add_argument("--batch-size", type=_positive_int, default=d["batch_size"], metavar="N",
                        help="images per optimizer step (default: %(default)s)")
    parser.add_argument("--lr", type=_positive_float, default=d["lr"], metavar="LR",
                        help="learning rate of the Adam optimizer (default: %(default)s)")
    parser.add_argument("--model", choices=("mlp", "cnn"), default=d["model"],
                        help="cnn: two 3x3 conv + max-pool blocks and a linear classifier; "
                             "mlp: one hidden layer of 128 units (default: %(default)s)")
    parser.add_argument("--out", default=d["out"], metavar="DIR",
                        help="folder for the plots and metrics.json (created if missing) (default: %(default)s)")
    parser.add_argument("--device", default=d["device"],
                        help="cpu, or cuda / cuda:N (needs CuPy and a GPU) (default: %(default)s)")
    parser.add_argument("--seed", type=_seed, default=d["seed"],
                        help="seeds the split, the initial weights and the shuffling (default: %(default)s)")
    parser.add_argument("--subset", type=_subset, default=None, metavar="N",
                        help="use only N (>= 10) of the 1,797 images (for a quick smoke run)")
    parser.add_argument("--no-gradcheck", dest="gradcheck", action="store_false",
                        help="skip the gradient check before training")
    return parser


def _check_device(parser, text):
    import retrograd

    try:
        dev = retrograd.device(text)
    except (RuntimeError, ValueError):
        parser.error(f"argument --device: unknown device {text!r} (expected cpu, cuda or cuda:N)")
    if dev.type == "cuda":
        if not retrograd.cuda.is_available():
            parser.error(f"argument --device: {text!r} is not available here "
                         "(CUDA needs CuPy and a GPU); use --device cpu")
        count = retrograd.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            parser.error(f"argument --device: {text!r} does not exist ({count} CUDA device(s))")
    return dev


def _check_out(parser, path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        parser.error(f"argument --out: cannot create {path!r}: {exc.strerror or exc}")
    if not os.access(path, os.W_OK):
        parser.error(f"argument --out: {path!r} is not writable")
    return path


def main(argv=None):
    """Entry point of ``python -m retrograd`` and of the ``retrograd`` command; returns
    the exit status (0: trained; 1: the gradient check failed; 2: bad options)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.device = _check_device(parser, args.device)
    args.out = _check_out(parser, args.out)

    from .demo.train import run

    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
