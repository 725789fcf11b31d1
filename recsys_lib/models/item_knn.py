"""Item-based k-nearest neighbours with shrunk cosine similarity.

Introduced in Chapter 3 ("Measuring a recommender"), one of the four strong
simple baselines (see :mod:`recsys_lib.models.most_popular` for the shared
interface).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..checks import check_int, check_number
from .base import Estimator

__all__ = ["ItemKNN"]


def _topk_per_row(mat: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of every row of a CSR matrix (vectorized)."""
    mat = mat.tocsr()
    lengths = np.diff(mat.indptr)
    rows = np.repeat(np.arange(mat.shape[0]), lengths)
    order = np.lexsort((-mat.data, rows))  # by row, largest first
    rank = np.arange(mat.nnz) - mat.indptr[rows[order]]
    keep = order[rank < k]
    out = sp.csr_matrix(
        (mat.data[keep], (rows[keep], mat.indices[keep])),
        shape=mat.shape,
        dtype=mat.dtype,
    )
    out.sort_indices()
    return out


class ItemKNN(Estimator):
    """Item-based k-nearest neighbours with shrunk cosine similarity.

    Introduced in Chapter 3. With ``c_ij`` the number of users who interacted
    with both items and ``n_i`` the number who interacted with ``i``,

    ``sim(i, j) = c_ij / (sqrt(n_i) * sqrt(n_j) + shrinkage)``

    (the shrinkage pulls similarities supported by few users towards 0). For
    every target item only its ``k_neighbors`` most similar items are kept, and
    a user's score for item ``i`` is the sum of the similarities between
    ``i`` and the items in the user's history. Everything stays in
    ``scipy.sparse``.

    Args:
        k_neighbors: neighbours kept per item (>= 1).
        shrinkage: shrinkage term (>= 0).
    """

    def __init__(self, k_neighbors: int = 100, shrinkage: float = 10.0) -> None:
        super().__init__()
        self.k_neighbors = check_int(k_neighbors, "k_neighbors", low=1)
        self.shrinkage = check_number(shrinkage, "shrinkage", low=0.0)

    def _fit(self, X: sp.csr_matrix) -> None:
        Xc = X.tocsc().astype(np.float64)
        co = (Xc.T @ Xc).tocoo()  # (n_items, n_items) co-occurrence counts
        off = co.row != co.col  # an item is not its own neighbour
        row, col, count = co.row[off], co.col[off], co.data[off]
        norms = np.sqrt(np.asarray(Xc.sum(axis=0)).ravel())  # (n_items,)
        data = count / (norms[row] * norms[col] + self.shrinkage + 1e-12)
        sim = sp.csr_matrix((data, (row, col)), shape=co.shape)
        # Row i of `sim` holds the neighbours of target item i; keep the top k,
        # then transpose so that scores = X @ W with W[j, i] = sim(j, i).
        self.similarity = (
            _topk_per_row(sim, self.k_neighbors).T.tocsr().astype(np.float32)
        )

    def _score(self, users: np.ndarray) -> np.ndarray:
        return (self.train_matrix[users] @ self.similarity).toarray()
