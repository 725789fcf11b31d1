import numpy as np
import pytest
from scipy import stats

from recsys_lib.eval import (
    bootstrap_ci,
    bootstrap_distribution,
    bootstrap_statistic,
    paired_bootstrap_test,
    percentile_interval,
    summarize_over_seeds,
)


def test_bootstrap_ci_contains_mean_and_shrinks():
    rng = np.random.default_rng(0)
    small = rng.random(100)
    large = rng.random(5000)
    ci_small = bootstrap_ci(small, seed=1)
    ci_large = bootstrap_ci(large, seed=1)
    for values, ci in ((small, ci_small), (large, ci_large)):
        assert ci.low < ci.mean < ci.high and ci.mean == pytest.approx(values.mean())
    assert (ci_large.high - ci_large.low) < (ci_small.high - ci_small.low) / 4
    assert bootstrap_ci(small, seed=1) == ci_small  # seeded
    # about the normal-theory width: 2 * 1.96 * sd / sqrt(n)
    width = 2 * 1.96 * large.std() / np.sqrt(large.size)
    assert ci_large.high - ci_large.low == pytest.approx(width, rel=0.15)


def test_paired_test_detects_a_real_difference():
    rng = np.random.default_rng(0)
    a = rng.random(500)
    b = a - 0.03 + 0.05 * rng.normal(size=500)
    test = paired_bootstrap_test(a, b, n_boot=2000, seed=0)
    assert test.mean_diff == pytest.approx((a - b).mean())
    assert test.low < test.mean_diff < test.high and test.low > 0
    assert test.p_value < 0.01 and test.n == 500


def test_paired_test_does_not_invent_a_difference():
    rng = np.random.default_rng(1)
    a = rng.random(500)
    same = paired_bootstrap_test(a, a.copy(), n_boot=500)
    assert same.mean_diff == 0.0 and same.p_value == 1.0
    noise = rng.normal(scale=0.05, size=250)
    b = a + np.concatenate([noise, -noise])  # zero-mean differences
    null = paired_bootstrap_test(a, b, n_boot=2000, seed=0)
    assert null.p_value > 0.5 and null.low < 0 < null.high


def test_summarize_over_seeds_matches_scipy():
    values = [0.31, 0.33, 0.30, 0.34, 0.32]
    s = summarize_over_seeds(values)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert s.mean == pytest.approx(0.32) and s.std == pytest.approx(
        np.std(values, ddof=1)
    )
    assert (s.low, s.high) == pytest.approx((low, high)) and s.n == 5


def test_uncertainty_bad_input():
    with pytest.raises(ValueError, match="at least 1"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="nan"):
        bootstrap_ci([0.1, np.nan])
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci([0.1, 0.2], alpha=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([0.1, 0.2], n_boot=0)
    with pytest.raises(ValueError, match="aligned by user"):
        paired_bootstrap_test([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValueError, match="at least 2"):
        summarize_over_seeds([0.3])


# ------------------------------------------------------------ same numbers as before
def test_bootstrap_results_are_pinned():
    # Values of the Chapter 3 implementation (recsys_lib/evaluation.py before the
    # move to recsys_lib.eval): notebooks print intervals made with these seeds,
    # so the random stream (generator, draw order, chunking) must not change.
    v = (np.arange(50) % 7) / 7
    assert tuple(bootstrap_ci(v, n_boot=300, seed=4)) == pytest.approx(
        (0.42, 0.3457142857142857, 0.5072142857142856), rel=1e-12
    )
    assert tuple(paired_bootstrap_test(v, v[::-1] * 0.9, n_boot=300, seed=4)) == (
        pytest.approx(
            (0.042, -0.06695714285714287, 0.1604785714285714, 0.4850498338870432, 50),
            rel=1e-12,
        )
    )
    # 70,000 users: the resamples are drawn in chunks of 2**22 // n = 59
    big = (np.arange(70000) % 13) / 13
    assert tuple(bootstrap_ci(big, n_boot=200, seed=4)) == pytest.approx(
        (0.46151648351648356, 0.4594338736263736, 0.4634668681318681), rel=1e-12
    )


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    # scipy.stats.bootstrap(method="percentile") computes the same interval: the
    # 2.5% and 97.5% percentiles of the means of B resamples. The two use other
    # random draws here (seeds 1 and 12345; with one seed and one chunk of draws
    # they happen to coincide today, which would test the stream, not the method),
    # so the ends differ by Monte Carlo error only. For a percentile q of the
    # bootstrap distribution (about normal, sd s_b = sd(v) / sqrt(n)) its estimate
    # from B resamples has sd ~ sqrt(q (1 - q) / B) / pdf = 2.67 s_b / sqrt(B) at
    # q = 0.025; the difference of two independent estimates has sd
    # 3.78 s_b / sqrt(B) = 4.0e-4 here. Measured over 40 seed pairs: sd 3.3e-4
    # (low) and 4.1e-4 (high), largest gap 1.3e-3. The tolerance is 6 sd = 2.4e-3
    # (4% of the interval width 0.059): a wrong quantile level, a missing 1/2 on
    # alpha or resampling without replacement all miss by far more.
    v = np.random.default_rng(0).random(400) ** 3  # skewed, like per-user NDCG
    n_boot = 20_000
    ours = bootstrap_ci(v, n_boot=n_boot, alpha=0.05, seed=1)
    theirs = stats.bootstrap(
        (v,),
        np.mean,
        n_resamples=n_boot,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(12345),
    ).confidence_interval
    tol = 6 * 3.78 * (v.std() / np.sqrt(v.size)) / np.sqrt(n_boot)
    assert tol == pytest.approx(2.4e-3, abs=1e-4)
    assert ours.low == pytest.approx(theirs.low, abs=tol)
    assert ours.high == pytest.approx(theirs.high, abs=tol)
    assert ours.mean == pytest.approx(v.mean(), rel=1e-12)


# ------------------------------------------------------------ the kernel
def test_bootstrap_distribution_draws_in_chunks_of_one_stream():
    values = np.arange(10.0)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 10, size=(7, 10))  # what one chunk of 7 resamples draws
    whole = bootstrap_distribution(
        lambda i: values[i].mean(axis=1), 10, 7, np.random.default_rng(3)
    )
    np.testing.assert_array_equal(whole, values[idx].mean(axis=1))
    # chunks of 3 resamples (max_cells=30): same generator, consumed in order
    chunked = bootstrap_distribution(
        lambda i: values[i].mean(axis=1), 10, 7, np.random.default_rng(3), max_cells=30
    )
    rng = np.random.default_rng(3)
    parts = [rng.integers(0, 10, size=(b, 10)) for b in (3, 3, 1)]
    np.testing.assert_array_equal(chunked, values[np.concatenate(parts)].mean(axis=1))
    # a statistic may return several values per resample
    two = bootstrap_distribution(
        lambda i: np.stack([values[i].min(1), values[i].max(1)], 1), 10, 5, rng
    )
    assert two.shape == (5, 2) and (two[:, 0] <= two[:, 1]).all()
    with pytest.raises(ValueError, match="n_boot >= 1"):
        bootstrap_distribution(np.mean, 10, 0, rng)
    assert percentile_interval(np.arange(101.0), 0.1) == (5.0, 95.0)


def test_bootstrap_statistic_generalizes_bootstrap_ci():
    v = np.random.default_rng(5).random(300)
    ci = bootstrap_ci(v, n_boot=500, seed=2)
    gen = bootstrap_statistic(v, lambda x: x.mean(axis=1), n_boot=500, seed=2)
    assert (gen.low, gen.high) == (ci.low, ci.high)  # same draws, same statistic
    assert gen.mean == pytest.approx(ci.mean, rel=1e-12)
    # a statistic of aligned arrays: accuracy of predictions, pairs resampled together
    y = np.random.default_rng(6).integers(0, 3, size=400)
    pred = np.where(np.random.default_rng(7).random(400) < 0.8, y, (y + 1) % 3)
    acc = bootstrap_statistic((y, pred), lambda t, p: (t == p).mean(axis=1), seed=1)
    assert acc.mean == pytest.approx((y == pred).mean())
    assert acc.low < acc.mean < acc.high and acc.high - acc.low < 0.1


def test_cluster_bootstrap_with_bootstrap_statistic():
    # The docstring's example: resample groups through their sums and sizes.
    values = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    groups = np.array([0, 0, 0, 1, 1, 2, 3])
    sums, counts = np.bincount(groups, values), np.bincount(groups).astype(float)
    ci = bootstrap_statistic(
        (sums, counts), lambda s, c: s.sum(1) / c.sum(1), n_boot=2000, seed=0
    )
    assert ci.mean == pytest.approx(values.mean())
    assert 0.0 <= ci.low < ci.mean < ci.high <= 1.0
    with pytest.raises(ValueError, match="aligned"):
        bootstrap_statistic((sums, counts[:2]), lambda s, c: s.sum(1))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        bootstrap_statistic(np.zeros((2, 2)), np.mean)
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_statistic(values, np.mean, alpha=0)
