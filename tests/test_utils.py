import random

import numpy as np
import pytest
import torch

from recsys_lib.utils import Timer, get_device, progress, set_seed


def _draw():
    return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002


def test_set_seed_repeats_all_generators():
    rng1 = set_seed(123)
    a = _draw() + (rng1.random(),)
    rng2 = set_seed(123)
    b = _draw() + (rng2.random(),)
    assert a == b
    set_seed(124)
    assert _draw() != a[:3]


def test_set_seed_turns_on_deterministic_algorithms():
    set_seed(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory is False


@pytest.mark.parametrize("bad", [1.5, "1", None, True])
def test_set_seed_rejects_non_int(bad):
    with pytest.raises(TypeError, match="seed must be an int"):
        set_seed(bad)


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_set_seed_rejects_out_of_range(bad):
    with pytest.raises(ValueError, match="seed must be in"):
        set_seed(bad)


def test_set_seed_accepts_numpy_int():
    set_seed(np.int64(7))


def test_get_device_cpu_and_auto():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device("CPU").type == "cpu"
    assert get_device().type in {"cpu", "cuda", "mps"}


@pytest.mark.parametrize("bad", ["tpu", "", 3, None])
def test_get_device_unknown(bad):
    with pytest.raises(ValueError, match="unknown device"):
        get_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_get_device_cuda_missing():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        get_device("cuda")


def test_progress_yields_everything(capsys):
    assert list(progress(range(5), desc="x")) == [0, 1, 2, 3, 4]
    err = capsys.readouterr().err
    assert "x" in err and "5/5" in err


def test_progress_can_be_silenced(monkeypatch, capsys):
    monkeypatch.setenv("RECSYS_PROGRESS", "0")
    assert list(progress([1, 2])) == [1, 2]
    assert capsys.readouterr().err == ""


def test_progress_rejects_non_iterable():
    with pytest.raises(TypeError, match="needs an iterable"):
        progress(5)


def test_timer_accumulates():
    t = Timer()
    for _ in range(3):
        with t:
            sum(range(1000))
    assert t.count == 3
    assert t.seconds > 0
    assert t.mean == pytest.approx(t.seconds / 3)
    assert "count=3" in repr(t)


def test_timer_errors():
    t = Timer()
    with pytest.raises(ValueError, match="no block has been timed"):
        _ = t.mean
    with t, pytest.raises(RuntimeError, match="already running"):
        t.__enter__()
