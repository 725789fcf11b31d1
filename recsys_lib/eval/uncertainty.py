"""How sure is a number? Bootstrap intervals, paired tests and seed summaries.

Introduced in Chapter 3 ("Measuring a recommender"): a metric averaged over a
few hundred test users is an estimate, and two models are only different if
the difference survives resampling.

* :func:`bootstrap_ci` -- percentile bootstrap interval of a mean over users;
* :func:`paired_bootstrap_test` -- two models on the same users;
* :func:`summarize_over_seeds` -- training randomness (a Student-t interval
  over seeds).

They share one resampling kernel, :func:`bootstrap_distribution` (a
statistic on ``n_boot`` resamples of ``n`` units drawn with replacement),
and :func:`percentile_interval`. :func:`bootstrap_statistic` puts the two
together for any vectorized statistic of one or more aligned arrays; the
applications build their intervals on them (Chapter 13 resamples whole
clusters of questions, Chapter 14 the test examples of a macro-F1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import stats

from ..checks import check_int

__all__ = [
    "ConfidenceInterval",
    "PairedTest",
    "SeedSummary",
    "bootstrap_ci",
    "bootstrap_distribution",
    "bootstrap_statistic",
    "paired_bootstrap_test",
    "percentile_interval",
    "summarize_over_seeds",
]

#: Indices drawn at once by the interval functions here (``n_boot x n`` is
#: cut into chunks of about this many cells, 32 MB of int64).
MAX_CELLS = 2**22


class ConfidenceInterval(NamedTuple):
    """A point estimate with a ``1 - alpha`` interval ``[low, high]``.

    ``mean`` is the estimate: the mean for :func:`bootstrap_ci`, the
    statistic on the whole sample for :func:`bootstrap_statistic`.
    """

    mean: float
    low: float
    high: float


class PairedTest(NamedTuple):
    """Result of :func:`paired_bootstrap_test` (difference ``a - b``)."""

    mean_diff: float
    low: float
    high: float
    p_value: float
    n: int


class SeedSummary(NamedTuple):
    """Result of :func:`summarize_over_seeds`."""

    mean: float
    std: float
    low: float
    high: float
    n: int


# ---------------------------------------------------------------- the kernel
def bootstrap_distribution(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    n_boot: int,
    rng: np.random.Generator,
    *,
    max_cells: int | None = None,
) -> np.ndarray:
    """The statistic on ``n_boot`` resamples of ``n`` units drawn with replacement.

    Introduced in Chapter 3; the one resampling loop of the library.

    Args:
        statistic: ``statistic(idx) -> array`` with ``idx`` an int array
            ``(b, n)`` of resampled unit positions (one row per resample); it
            returns one value (or one row of values) per resample, shape
            ``(b, ...)``.
        n: number of units.
        n_boot: number of resamples.
        rng: the generator to draw from (consumed in order, chunk by chunk).
        max_cells: draw at most this many indices at once (``b = max(1,
            max_cells // n)`` resamples per chunk) to bound memory; ``None``
            draws all ``n_boot x n`` indices in one call. The chunk size is
            part of the random stream: the same seed with another
            ``max_cells`` gives other resamples.

    Returns:
        ``(n_boot, ...)`` array of the statistic, resample by resample.

    Raises:
        ValueError: for ``n < 1`` or ``n_boot < 1``.
    """
    if n < 1 or n_boot < 1:
        raise ValueError(f"need n >= 1 units and n_boot >= 1, got {n} and {n_boot}")
    chunk = n_boot if max_cells is None else max(1, max_cells // n)
    parts = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        parts.append(np.asarray(statistic(rng.integers(0, n, size=(b, n)))))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def percentile_interval(boot: np.ndarray, alpha: float) -> tuple[float, float]:
    """The ``alpha/2`` and ``1 - alpha/2`` quantiles of bootstrap statistics."""
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _values(x, name: str, min_size: int = 1) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.size < min_size:
        raise ValueError(
            f"{name} must be a 1-D array of at least {min_size} values, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds nan or inf")
    return arr


def _check_boot(n_boot, alpha) -> int:
    n_boot = check_int(n_boot, "n_boot", low=1)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return n_boot


def _mean_of(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The statistic of :func:`bootstrap_ci`: the mean of each resample."""

    def resampled_mean(idx: np.ndarray) -> np.ndarray:  # (b, n) -> (b,)
        return values[idx].mean(axis=1)

    return resampled_mean


def bootstrap_statistic(
    data,
    statistic: Callable[..., np.ndarray],
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    *,
    max_cells: int | None = MAX_CELLS,
) -> ConfidenceInterval:
    """Percentile bootstrap interval of any statistic of aligned arrays.

    Introduced in Chapter 3 as the general form of :func:`bootstrap_ci`.
    The units (positions ``0..n-1`` of the arrays) are resampled with
    replacement ``n_boot`` times; all arrays are resampled with the same
    positions, so pairs stay pairs.

    Args:
        data: a 1-D array ``(n,)``, or a tuple of 1-D arrays of the same
            length ``n`` (e.g. ``(y_true, y_pred)``).
        statistic: ``statistic(*resampled) -> (b,)`` -- vectorized: it gets
            each array resampled as a ``(b, n)`` array (one resample per row)
            and returns one value per row. The estimate is the statistic on
            the data itself (passed as ``(1, n)`` arrays).
        n_boot: number of resamples.
        alpha: 0.05 gives a 95% interval.
        seed: seed of the resampling.
        max_cells: bound on the indices drawn at once (see
            :func:`bootstrap_distribution`; part of the random stream).

    Returns:
        ``ConfidenceInterval(mean, low, high)``, ``mean`` being the estimate.

    Raises:
        ValueError: for empty or misaligned arrays, or bad ``n_boot``/``alpha``.

    Example:
        A cluster bootstrap of a mean resamples whole groups; with ``sums``
        and ``counts`` the totals and sizes of the groups::

            bootstrap_statistic((sums, counts), lambda s, c: s.sum(1) / c.sum(1))
    """
    arrays = [np.asarray(a) for a in (data if isinstance(data, tuple) else (data,))]
    if not arrays or any(a.ndim != 1 or a.size == 0 for a in arrays):
        raise ValueError("data must be a non-empty 1-D array or a tuple of them")
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        sizes = [a.size for a in arrays]
        raise ValueError(f"the arrays of data must be aligned, got lengths {sizes}")
    n_boot = _check_boot(n_boot, alpha)
    estimate = float(np.asarray(statistic(*(a[None, :] for a in arrays))).ravel()[0])
    boot = bootstrap_distribution(
        lambda idx: statistic(*(a[idx] for a in arrays)),
        n,
        n_boot,
        np.random.default_rng(seed),
        max_cells=max_cells,
    )
    low, high = percentile_interval(boot, alpha)
    return ConfidenceInterval(estimate, low, high)


# ---------------------------------------------------------------- over users
def bootstrap_ci(
    per_user_values, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> ConfidenceInterval:
    """Percentile bootstrap interval of a mean over users.

    Introduced in Chapter 3. Resample users with replacement ``n_boot``
    times; the interval is the ``alpha/2`` and ``1 - alpha/2`` quantiles of
    the resampled means. It covers the uncertainty of *which users* were in
    the test set, not that of training randomness (see
    :func:`summarize_over_seeds`).

    Args:
        per_user_values: float array ``(n_users,)``, e.g.
            ``result.per_user["ndcg@10"]``.
        n_boot: number of resamples.
        alpha: 0.05 gives a 95% interval.
        seed: seed of the resampling.

    Returns:
        ``ConfidenceInterval(mean, low, high)``.

    Raises:
        ValueError: for empty or non-finite values, or bad ``n_boot``/``alpha``.
    """
    values = _values(per_user_values, "per_user_values")
    n_boot = _check_boot(n_boot, alpha)
    rng = np.random.default_rng(seed)
    means = bootstrap_distribution(
        _mean_of(values), values.size, n_boot, rng, max_cells=MAX_CELLS
    )
    low, high = percentile_interval(means, alpha)
    return ConfidenceInterval(float(values.mean()), low, high)


def paired_bootstrap_test(
    values_a, values_b, n_boot: int = 10_000, alpha: float = 0.05, seed: int = 0
) -> PairedTest:
    """Is model A better than model B on the same users? A paired bootstrap.

    Introduced in Chapter 3. Works on the per-user differences
    ``d_u = a_u - b_u``: the interval is the percentile bootstrap interval of
    ``mean(d)``; the two-sided p-value resamples ``d - mean(d)`` (the null of
    no difference) and counts how often its mean is at least as far from 0
    as the observed one.

    Args:
        values_a, values_b: float arrays ``(n_users,)`` of one metric for the
            two models, aligned user by user.
        n_boot: number of resamples (the smallest possible p-value is
            ``1 / (n_boot + 1)``).
        alpha: 0.05 gives a 95% interval.
        seed: seed of the resampling.

    Returns:
        ``PairedTest(mean_diff, low, high, p_value, n)``.

    Raises:
        ValueError: if the arrays differ in length, are empty or non-finite.
    """
    a = _values(values_a, "values_a", 2)
    b = _values(values_b, "values_b", 2)
    if a.shape != b.shape:
        raise ValueError(
            f"paired values must be aligned by user: {a.size} vs {b.size} values"
        )
    n_boot = _check_boot(n_boot, alpha)
    d = a - b
    observed = float(d.mean())
    rng = np.random.default_rng(seed)  # one stream: the interval, then the null
    means = bootstrap_distribution(
        _mean_of(d), d.size, n_boot, rng, max_cells=MAX_CELLS
    )
    low, high = percentile_interval(means, alpha)
    null = bootstrap_distribution(
        _mean_of(d - observed), d.size, n_boot, rng, max_cells=MAX_CELLS
    )
    extreme = int((np.abs(null) >= abs(observed) - 1e-15).sum())
    p_value = (extreme + 1) / (n_boot + 1)
    return PairedTest(observed, low, high, float(p_value), int(d.size))


# ---------------------------------------------------------------- over seeds
def summarize_over_seeds(values, alpha: float = 0.05) -> SeedSummary:
    """Mean, standard deviation and Student-t interval of a metric over seeds.

    Introduced in Chapter 3. Train the same model with ``n`` seeds, evaluate
    each, and summarize; the interval is
    ``mean +- t_{1-alpha/2, n-1} * std / sqrt(n)``.

    Args:
        values: float array ``(n_seeds,)`` with at least 2 values.
        alpha: 0.05 gives a 95% interval.

    Returns:
        ``SeedSummary(mean, std, low, high, n)`` with ``std`` the sample
        standard deviation (``ddof=1``).

    Raises:
        ValueError: for fewer than 2 values or non-finite ones.
    """
    v = _values(values, "values", 2)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    mean, std = float(v.mean()), float(v.std(ddof=1))
    half = float(stats.t.ppf(1 - alpha / 2, v.size - 1)) * std / np.sqrt(v.size)
    return SeedSummary(mean, std, mean - half, mean + half, int(v.size))
