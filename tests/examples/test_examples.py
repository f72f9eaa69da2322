"""Each example of examples/ runs (reduced in size) in a fresh process and says what it should."""

import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, *args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def test_seed_walkthrough_prints_what_the_seed_says():
    out = _run("seed_walkthrough.py")
    lines = out.splitlines()
    for expected in ["tensor(28.)", "tensor(42.)", "tensor(14.)", "torch.Size([4, 3])", "torch.Size([4])",
                     "tensor([0., 1., 1.])", "weight torch.Size([1, 10])", "bias torch.Size([1])"]:
        assert expected in lines, expected
    assert re.search(r"^tensor\(\d+\.\d+, grad_fn=<MeanBackward0>\)$", out, re.M)
    assert "AttributeError: 'float' object has no attribute 'backward'" in out
    assert "a leaf Variable that requires grad is being used in an in-place operation" in out
    assert "modified by an inplace operation" in out
    assert "encoder.weight.grad is None: True" in out
    # every section of the document that has code, in order
    sections = re.findall(r"^### (.+)$", out, re.M)
    assert sections[:4] == ["Forward Pass", "A Manual Backpropagation Example", "Matrix Backpropagation",
                            "Backpropagation Through Activations"]
    assert len(sections) == 11


def test_manual_backward_matches_autograd():
    out = _run("manual_backward.py", "--batch", "8", "--hidden", "6")
    assert "all gradients match autograd" in out
    assert out.count(" match") >= 5 and "MISMATCH" not in out


def _losses(out):
    m = re.search(r"first loss ([\d.]+), last loss ([\d.]+)", out)
    assert m, out[-2000:]
    return float(m.group(1)), float(m.group(2))


def test_custom_function_passes_gradcheck_and_fits():
    out = _run("custom_function.py", "--steps", "200", "--points", "500")
    assert "gradcheck: True, gradgradcheck: True" in out
    first, last = _losses(out)
    assert last < first / 2


def test_polynomial_fit_loss_falls():
    out = _run("polynomial_fit.py", "--steps", "200", "--points", "500")
    first, last = _losses(out)
    assert last < first / 10


def _accuracy(out):
    m = re.search(r"^test accuracy ([\d.]+)% in", out, re.M)
    assert m, out[-2000:]
    return float(m.group(1))


def test_digits_mlp_learns():
    out = _run("digits_mlp.py", "--epochs", "8", "--subset", "400")
    assert _accuracy(out) > 50


def test_digits_cnn_learns_and_reloads():
    out = _run("digits_cnn.py", "--epochs", "2", "--subset", "400")
    assert _accuracy(out) > 50
    assert "reloaded model agrees: True" in out


def test_vae_elbo_rises_and_draws(tmp_path):
    png = tmp_path / "vae.png"
    out = _run("vae.py", "--epochs", "2", "--subset", "400", "--latent", "3", "--out", str(png))
    elbos = [float(v) for v in re.findall(r"test ELBO (\S+)", out)]
    assert len(elbos) == 3 and all(math.isfinite(v) for v in elbos), out
    assert elbos[-1] > elbos[0] + 5, out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out and not png.exists()
    else:
        assert png.stat().st_size > 1000


def test_per_sample_grads_match_a_loop_and_dp_sgd_learns():
    out = _run("per_sample_grads.py", "--epochs", "2", "--subset", "400", "--compare")
    m = re.search(r"max difference (\S+) \((\w+)\)", out)
    assert m and float(m.group(1)) <= 1e-6 and m.group(2) == "equal", out
    first, last = _losses(out)
    assert math.isfinite(last) and last < first - 0.1, out
    assert _accuracy(out) > 30
