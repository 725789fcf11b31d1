"""Tests of recsys_lib.apps._resample (the applications' bootstrap kernel)."""

import numpy as np
import pytest

from recsys_lib.apps._resample import bootstrap_distribution, percentile_interval


def test_one_draw_without_chunks():
    values = np.arange(7.0)
    boot = bootstrap_distribution(
        lambda idx: values[idx].mean(axis=1), 7, 50, np.random.default_rng(4)
    )
    idx = np.random.default_rng(4).integers(0, 7, size=(50, 7))
    np.testing.assert_array_equal(boot, values[idx].mean(axis=1))


def test_chunks_follow_the_stream_chunk_by_chunk():
    values = np.arange(10.0)
    boot = bootstrap_distribution(
        lambda idx: values[idx].mean(axis=1),
        10,
        23,
        np.random.default_rng(0),
        max_cells=50,  # 5 resamples per chunk
    )
    rng = np.random.default_rng(0)
    parts = [
        values[rng.integers(0, 10, size=(b, 10))].mean(axis=1) for b in (5,) * 4 + (3,)
    ]
    np.testing.assert_array_equal(boot, np.concatenate(parts))


def test_statistics_with_several_columns():
    boot = bootstrap_distribution(
        lambda idx: np.stack([idx.min(axis=1), idx.max(axis=1)], axis=1),
        4,
        9,
        np.random.default_rng(1),
        max_cells=8,
    )
    assert boot.shape == (9, 2) and (boot[:, 0] <= boot[:, 1]).all()


def test_bad_sizes_and_the_interval():
    with pytest.raises(ValueError, match="n >= 1"):
        bootstrap_distribution(lambda idx: idx, 0, 5, np.random.default_rng(0))
    lo, hi = percentile_interval(np.arange(101.0), 0.1)
    assert (lo, hi) == (5.0, 95.0)
