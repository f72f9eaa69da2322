"""The CUDA generator (src/retrograd/_philox.py): Philox4x32-10 against Random123's known answers,
the transforms to floats/normals/integers run in NumPy (the same expressions CuPy runs), the
16-byte (seed, offset) state of torch.cuda.get_rng_state, and on a GPU the kernel against NumPy."""

import numpy as np
import pytest

import retrograd as R
from retrograd import _philox, random as R_random
from tests.helpers import gpu_cupy

# Random123's known-answer vectors for philox4x32-10: counter, key -> block
KNOWN = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
         ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
         ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
          (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]


@pytest.mark.parametrize("counter, key, expected", KNOWN)
def test_philox4x32_10_gives_random123s_known_answers(counter, key, expected):
    block = _philox.philox4x32([np.array([c]) for c in counter], key)
    assert tuple(int(w[0]) for w in block) == expected


def test_element_i_of_a_draw_is_the_block_of_counter_i_offset():
    seed, offset = 0x0123456789ABCDEF, 2**32 + 5
    words = _philox.blocks(np, 3, seed, offset)
    for i in range(3):
        block = _philox.philox4x32([np.array([v]) for v in (i, 0, 5, 1)], (0x89ABCDEF, 0x01234567))
        assert words[i].tolist() == [int(w[0]) for w in block]


def stream(seed=7, offset=0):
    return _philox.DeviceStream(seed, offset, xp=np)  # the device arithmetic, run by NumPy


def test_uniforms_lie_in_unit_interval_with_the_right_moments():
    for dtype in (np.float32, np.float64):
        u = stream().random((200, 100), dtype=dtype)
        assert u.dtype == dtype and u.shape == (200, 100)
        assert u.min() >= 0 and u.max() < 1
        assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.003


def test_float32_uniforms_are_multiples_of_2_to_the_minus_24():
    u = stream().random(1000, dtype=np.float32).astype(np.float64) * 2**24
    assert np.array_equal(u, np.round(u))


def test_normals_have_mean_0_and_variance_1():
    z = stream().standard_normal((20000,), dtype=np.float32)
    assert z.dtype == np.float32 and np.isfinite(z).all()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert abs((np.abs(z) < 1).mean() - 0.6827) < 0.015  # the normal's mass within one sigma


def test_integers_cover_the_range_endpoint_and_negative_bounds():
    k = stream().integers(-3, 4, size=5000)
    assert k.dtype == np.int64 and set(k.tolist()) == set(range(-3, 4))
    assert set(stream().integers(0, 2, size=500, endpoint=True).tolist()) == {0, 1, 2}
    wide = stream().integers(-2**63, 2**63 - 1, size=1000, endpoint=True)  # the full 64-bit range
    assert (wide < 0).mean() == pytest.approx(0.5, abs=0.1)
    with pytest.raises(ValueError, match="high <= low"):
        stream().integers(3, 3)


def test_permutation_is_a_permutation_and_a_scalar_draw_is_0d():
    p = stream().permutation(100)
    assert sorted(p.tolist()) == list(range(100)) and p.tolist() != list(range(100))
    assert stream().random().shape == () and stream().standard_normal(None).shape == ()


def test_derived_distributions():
    s = stream()
    assert s.uniform(2, 3, size=100).min() >= 2
    assert abs(s.normal(5.0, 0.1, size=4000).mean() - 5) < 0.01
    assert s.exponential(2.0, size=4000).mean() == pytest.approx(2.0, rel=0.1)
    assert (s.lognormal(0.0, 0.5, size=100) > 0).all()
    assert np.median(s.standard_cauchy(size=4001)) == pytest.approx(0, abs=0.1)
    g = s.geometric(0.25, size=4000)
    assert g.min() >= 1 and g.mean() == pytest.approx(4.0, rel=0.1)


def test_each_draw_advances_the_offset_and_the_state_reproduces_it():
    s = stream(11)
    first = s.random(5)
    assert s.offset == 1 and not np.array_equal(first, s.random(5))
    s.bit_generator.state = {"seed": 11, "offset": 0}
    assert np.array_equal(s.random(5), first)


def test_host_draws_are_keyed_by_seed_and_offset():
    s = stream(3)
    a = s.poisson(np.array([1.0, 50.0]))
    assert isinstance(a, np.ndarray) and s.offset == 1
    assert np.array_equal(stream(3).poisson(np.array([1.0, 50.0])), a)
    with pytest.raises(AttributeError, match="no_such"):
        s.no_such_distribution  # noqa: B018


def test_cuda_generator_state_is_torchs_16_bytes_seed_then_offset():
    g = R.Generator(device="cuda")
    g.manual_seed(2**40 + 3)
    g._rng.offset = 9
    state = g.get_state()
    assert state.dtype == R.uint8 and tuple(state.shape) == (16,)
    assert np.frombuffer(bytes(state.tolist()), dtype="<u8").tolist() == [2**40 + 3, 9]
    other = R.Generator(device="cuda").set_state(state)
    assert (other.initial_seed(), other._rng.offset) == (2**40 + 3, 9)
    with pytest.raises(RuntimeError, match="wrong size"):
        other.set_state(R.zeros(8, dtype=R.uint8))


def test_manual_seed_and_fork_rng_reach_the_cuda_stream():
    R.manual_seed(123)
    assert (R_random.cuda_generator._rng.seed, R_random.cuda_generator._rng.offset) == (123, 0)
    R_random.cuda_generator._rng.offset = 4
    with R_random.fork_rng():
        R_random.cuda_generator._rng.offset = 40
    assert R_random.cuda_generator._rng.offset == 4
    R.cuda.manual_seed_all(8)
    assert R_random.cuda_generator._rng.seed == 8 and R.initial_seed() == 123


def test_host_rng_is_the_cpu_stream_or_a_host_philox_for_cuda():
    R.manual_seed(1)
    assert R_random._host_rng() is R_random.default_generator._rng
    cuda_rng = R_random._host_rng(None, "cuda")
    assert isinstance(cuda_rng, np.random.Generator) and R_random.cuda_generator._rng.offset == 1


# ------------------------------------------------------------------------------ on a GPU


def test_the_cuda_kernel_computes_numpys_blocks():
    cupy = gpu_cupy()
    for n, seed, offset in ((1, 0, 0), (1000, 2**64 - 1, 2**40 + 7), (2**20 + 3, 12345, 3)):
        assert np.array_equal(cupy.asnumpy(_philox.blocks(cupy, n, seed, offset)),
                              _philox.blocks(np, n, seed, offset))


def test_randn_rand_randint_and_dropout_are_drawn_on_the_device():
    cupy = gpu_cupy()
    R.manual_seed(5)
    x = R.randn(64, 32, device="cuda")
    assert isinstance(x._data, cupy.ndarray)
    np.testing.assert_allclose(x.cpu().numpy(), stream(5).standard_normal((64, 32), np.float32), rtol=1e-6)
    u = R.rand(1000, device="cuda", dtype=R.float64)
    np.testing.assert_array_equal(u.cpu().numpy(), stream(5, 1).random(1000))
    k = R.randint(0, 10, (100,), device="cuda")
    np.testing.assert_array_equal(k.cpu().numpy(), stream(5, 2).integers(0, 10, size=100))
    state = R.cuda.get_rng_state()
    a = R.nn.functional.dropout(R.ones(1000, device="cuda"), 0.5)
    R.cuda.set_rng_state(state)
    b = R.nn.functional.dropout(R.ones(1000, device="cuda"), 0.5)
    assert R.equal(a, b) and 400 < int((a == 0).sum()) < 600
    w = R.empty(50, 50, device="cuda")
    R.nn.init.normal_(w)
    R.nn.init.uniform_(w, -1, 1)
    w.normal_()
    assert isinstance(w._data, cupy.ndarray)


# ------------------------------------------------------------- on the strict CuPy stand-in


@pytest.fixture
def strict():
    strict_device = pytest.importorskip("strict_device")  # tests/strict_device.py
    with strict_device.installed():
        yield strict_device


def test_draws_on_the_stand_in_are_the_kernels_numbers_with_no_host_round_trip(strict):
    R.manual_seed(5)
    x = R.randn(64, 32, device="cuda")
    assert isinstance(x._data, strict.cupy.ndarray)
    np.testing.assert_array_equal(x._data.get(), stream(5).standard_normal((64, 32), np.float32))
    np.testing.assert_array_equal(R.rand(100, device="cuda", dtype=R.float64)._data.get(), stream(5, 1).random(100))
    np.testing.assert_array_equal(R.randint(0, 10, (100,), device="cuda")._data.get(),
                                  stream(5, 2).integers(0, 10, size=100))
    assert sorted(R.randperm(50, device="cuda")._data.get().tolist()) == list(range(50))
    state = R.cuda.get_rng_state()
    strict.syncs.clear()  # (the checks above copied to the host)
    a = R.nn.functional.dropout(R.ones(1000, device="cuda"), 0.5)
    w = R.empty(20, 30, device="cuda")
    R.nn.init.normal_(w)
    R.nn.init.uniform_(w, -1, 1)
    w.normal_().uniform_().exponential_()
    assert not strict.syncs, strict.syncs  # every draw stayed on the device
    R.cuda.set_rng_state(state)
    assert R.equal(a, R.nn.functional.dropout(R.ones(1000, device="cuda"), 0.5))
    assert 400 < int((a == 0).sum()) < 600


def test_host_side_samplers_on_the_stand_in(strict):
    R.manual_seed(9)
    p = R.full((200,), 0.3, device="cuda")
    assert R.bernoulli(p).device.type == "cuda"
    assert R.multinomial(R.ones(4, device="cuda"), 2).device.type == "cuda"
    assert R.normal(R.zeros(3, device="cuda"), R.ones(3, device="cuda")).device.type == "cuda"
    assert R.poisson(R.ones(5, device="cuda")).device.type == "cuda"
    assert R_random.cuda_generator._rng.offset == 4
