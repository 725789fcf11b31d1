"""Small array helpers of ShopSim (segment sums, categorical draws, PCA).

Introduced in Chapter 2. Everything here works on whole arrays at once, so
that a shop of millions of events is generated without a Python loop per
event.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "article",
    "exclusive_cumsum",
    "inverse_cdf_rows",
    "segment_starts",
    "sigmoid",
    "standardise",
    "top_eigenvectors",
]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


def standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x, dtype=float)


def segment_starts(seg: np.ndarray) -> np.ndarray:
    """For a non-decreasing id array, the index where each element's run starts."""
    if seg.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(seg.size, dtype=bool)
    new[0] = True
    np.not_equal(seg[1:], seg[:-1], out=new[1:])
    return np.maximum.accumulate(np.where(new, np.arange(seg.size), 0))


def exclusive_cumsum(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Sum of the earlier ``values`` in the same run of ``seg`` (non-decreasing ids)."""
    excl = np.cumsum(values) - values
    return excl - excl[segment_starts(seg)]


def inverse_cdf_rows(prob_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of ``prob_rows`` (rows sum to 1)."""
    cum = np.cumsum(prob_rows, axis=1)
    v = rng.random(prob_rows.shape[0]) * cum[:, -1]
    return np.minimum((cum <= v[:, None]).sum(axis=1), prob_rows.shape[1] - 1)


def top_eigenvectors(
    cov: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 12
) -> np.ndarray:
    """The ``k`` leading eigenvectors of a symmetric PSD matrix, by subspace iteration.

    Only matrix products and thin QR factorisations: as accurate as a full
    ``eigh`` for the leading directions here, and much faster on a busy CPU.
    """
    if cov.shape[0] <= 256:  # small: a direct decomposition is cheapest
        vectors = np.linalg.eigh(cov)[1][:, ::-1]
    else:
        basis = np.linalg.qr(cov @ rng.standard_normal((cov.shape[0], k + 10)))[0]
        for _ in range(n_iter):
            basis = np.linalg.qr(cov @ basis)[0]
        vectors = basis @ np.linalg.eigh(basis.T @ cov @ basis)[1][:, ::-1]
    vectors = vectors[:, :k]
    return np.pad(vectors, ((0, 0), (0, k - vectors.shape[1])))  # zeros if k > rank


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
