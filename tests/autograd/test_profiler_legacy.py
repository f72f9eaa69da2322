"""retrograd.autograd.profiler (torch.autograd.profiler): the older API over the same recorder."""

import pytest

import retrograd


def test_legacy_profile_records_and_prints():
    x = retrograd.ones(3, requires_grad=True)
    with retrograd.autograd.profiler.profile(record_shapes=True, profile_memory=True) as prof:
        with retrograd.autograd.profiler.record_function("fwd"):
            y = (x * 2).sum()
        y.backward()
    keys = [e.key for e in prof.key_averages()]
    assert keys[:3] == ["fwd", "aten::mul", "aten::sum"]
    assert "autograd::engine::evaluate_function: MulBackward0" in keys
    grouped = prof.key_averages(group_by_input_shape=True)
    assert next(e for e in grouped if e.key == "aten::mul").input_shapes == [[3], []]
    lines = prof.table(sort_by="self_cpu_time_total").splitlines()
    assert lines[1].split()[:3] == ["Name", "Self", "CPU"] and "CPU Mem" in lines[1]
    assert str(prof) == prof.function_events.table()
    assert prof.self_cpu_time_total == pytest.approx(prof.total_average().self_cpu_time_total)
    assert isinstance(prof.function_events, retrograd.autograd.profiler_util.EventList)


def test_legacy_profile_disabled_records_nothing():
    with retrograd.autograd.profiler.profile(enabled=False) as prof:
        retrograd.ones(2) * 2
    with pytest.raises(RuntimeError, match="didn't finish"):
        prof.table()


def test_legacy_profile_unsupported_arguments():
    with pytest.raises(NotImplementedError, match="use_cpu"):
        retrograd.autograd.profiler.profile(use_cpu=False)
    with pytest.raises(NotImplementedError, match="use_device"):
        retrograd.autograd.profiler.profile(use_device="xpu")


def test_legacy_profile_takes_a_device_name_not_a_device():
    """torch 2.13 warns 'The cuda is not a valid device option.' for use_device=torch.device('cuda')
    and profiles no device (a device is not the string 'cuda')."""
    for device in (retrograd.device("cuda"), retrograd.device("cpu")):
        with pytest.warns(UserWarning, match=f"The {device} is not a valid device option"):
            prof = retrograd.autograd.profiler.profile(use_device=device)
        assert retrograd.profiler.ProfilerActivity.CUDA not in prof._profile.activities
    with pytest.warns(UserWarning, match="CUDA kernels are not timed"):
        retrograd.autograd.profiler.profile(use_cuda=True)
