"""``python -m retrograd``: options, errors (one line, exit code 2), and a tiny run."""

import json
import os
import subprocess
import sys

import pytest

import retrograd
from retrograd.__main__ import main


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "retrograd", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_help_lists_every_option():
    proc = _run_cli("--help")
    assert proc.returncode == 0
    for option in ("--epochs", "--batch-size", "--lr", "--model", "--out", "--device", "--seed", "--help"):
        assert option in proc.stdout
    assert "{mlp,cnn}" in proc.stdout


def test_bad_option_in_a_fresh_process_is_one_line_and_exit_2():
    proc = _run_cli("--epochs", "0")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--epochs" in lines[0] and "positive" in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], ["--epochs", "positive integer", "'0'"]),
    (["--epochs", "two"], ["--epochs", "'two'"]),
    (["--epochs", "-3"], ["--epochs", "'-3'"]),
    (["--batch-size", "0"], ["--batch-size"]),
    (["--lr", "0"], ["--lr", "positive"]),
    (["--lr", "-0.1"], ["--lr"]),
    (["--lr", "nan"], ["--lr"]),
    (["--lr", "fast"], ["--lr", "'fast'"]),
    (["--model", "resnet"], ["--model", "'resnet'", "mlp", "cnn"]),
    (["--device", "tpu"], ["--device", "'tpu'", "cpu"]),
    (["--seed", "-1"], ["--seed"]),
    (["--subset", "0"], ["--subset"]),
    (["--subset", "5"], ["--subset", "at least 10"]),
    (["--frobnicate"], ["unrecognized arguments", "--frobnicate"]),
    (["extra"], ["unrecognized arguments", "extra"]),
])
def test_bad_options_exit_2_with_one_clear_line(args, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "error" in err
    for word in words:
        assert word in err


@pytest.mark.skipif(retrograd.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--device", "cuda"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--device" in err and "not available" in err and len(err.strip().splitlines()) == 1


def test_out_that_cannot_be_created_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(blocker / "sub")])
    assert exc.value.code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_tiny_run_checks_gradients_trains_and_writes_both_plots(model, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    args = ["--epochs", "1", "--subset", "120", "--batch-size", "32", "--model", model, "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "gradient check passed" in text
    assert "test accuracy:" in text
    for name in ("curves.png", "grad_norms.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == model and len(metrics["history"]["test_acc"]) == 1
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert all(len(v) == 3 for v in metrics["history"]["grad_norms"].values())  # 96 images / 32
    # retrograd.inspect on the demo's own model: the memory plan before training, the gradient flow after
    plan = text.split("memory plan of one training step (batch 32):\npredicted peak of the step: ", 1)[1]
    assert " during " in plan.splitlines()[0] and "activations" in plan.splitlines()[1]
    assert text.index("memory plan") < text.index("test accuracy:") < text.index("after training, gradient flow of")
    flow = text.split("after training, gradient flow of Sequential", 1)[1]
    assert "update/weight of one Adam step" in flow and ("no problem found" in flow or "problem(s):" in flow)
    page = (out / "graph.html").read_text()
    assert f"graph of one training step (ops by module, tensors and gradients on the edges): {out / 'graph.html'}" \
        in text
    assert page.count('<g class="node') >= 8 and "\u2207 norm" in page and "test_main.py" not in page
    assert "demo/diagnose.py:" in page and "retrograd/nn/modules/linear.py" in page  # the lines that made the ops


def test_runs_without_tqdm_and_matplotlib(tmp_path, capsys, monkeypatch):
    from retrograd.demo import plots, train

    monkeypatch.setattr(train, "_tqdm", lambda: None)
    monkeypatch.setattr(plots, "available", lambda: False)
    out = tmp_path / "out"
    assert main(["--epochs", "1", "--subset", "60", "--model", "mlp", "--no-gradcheck", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch 1/1:" in text and "img/s" in text
    assert "plots skipped" in text and "matplotlib" in text
    assert not os.path.exists(out / "curves.png")
    assert os.path.exists(out / "metrics.json")


def test_failed_gradient_check_stops_with_exit_1(tmp_path, capsys, monkeypatch):
    from retrograd.demo import gradcheck

    monkeypatch.setattr(gradcheck, "check_model", lambda *a, **k: (False, [("conv2d", False, 0.0)]))
    assert main(["--epochs", "1", "--subset", "60", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "gradient check FAILED" in captured.out and "conv2d FAILED" in captured.out


def test_data_split_is_seeded_and_80_20():
    from retrograd.demo import data

    x, y, xt, yt = data.load_split(seed=0)
    assert (len(y), len(yt)) == (1437, 360) and x.shape == (1437, 64) and xt.shape == (360, 64)
    assert x.dtype.name == "float32" and y.dtype.name == "int64"
    assert 0.0 <= x.min() and x.max() <= 1.0 and set(y.tolist()) == set(range(10))
    x2, y2, _, _ = data.load_split(seed=0)
    assert (x2 == x).all() and (y2 == y).all()
    _, y3, _, _ = data.load_split(seed=1)
    assert (y3 != y).any()
