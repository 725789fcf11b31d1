"""The resampling kernel behind the applications' bootstrap intervals.

Introduced in Chapter 13 (cluster bootstrap of accuracy) and reused in
Chapter 14 (bootstrap of macro-F1). A bootstrap draws ``n`` units with
replacement ``n_boot`` times and computes a statistic on each resample; the
spread of those statistics is the uncertainty of the estimate. The *units*
are whatever is exchangeable: single questions, whole clusters (all the
renderings of one phrasing) or test examples. Only the statistic differs
between the applications, so it is passed in as a function.

This module belongs with :mod:`recsys_lib.evaluation`'s bootstrap (Chapter 3)
in one uncertainty module; until then the applications share it from here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bootstrap_distribution", "percentile_interval"]


def bootstrap_distribution(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    n_boot: int,
    rng: np.random.Generator,
    *,
    max_cells: int | None = None,
) -> np.ndarray:
    """The statistic on ``n_boot`` resamples of ``n`` units drawn with replacement.

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
