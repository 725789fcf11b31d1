"""EASE: the Embarrassingly Shallow Autoencoder (Steck, 2019), in closed form.

Introduced in Chapter 3 ("Measuring a recommender"), one of the four strong
simple baselines (see :mod:`recsys_lib.models.most_popular` for the shared
interface), and the one the later chapters' deep models are measured against.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..checks import check_int, check_number
from .base import Estimator

__all__ = ["EASE"]


class EASE(Estimator):
    """Embarrassingly Shallow Autoencoder (Steck, 2019), closed form.

    Introduced in Chapter 3. With ``X`` the binary ``(n_users, n_items)``
    matrix, ``P = (X^T X + l2_reg * I)^-1`` and
    ``B = I - P / diag(P)`` (each column ``j`` divided by ``P_jj``), which has
    a zero diagonal, so an item cannot recommend itself. Scores are ``X B``.
    It needs a dense ``n_items x n_items`` matrix: fine up to ~20,000 items.

    Args:
        l2_reg: the ridge penalty ``lambda`` (> 0); Steck used values in the
            hundreds for data sets with thousands of items.
        max_items: refuse larger catalogs (memory grows as ``8 * n_items^2`` bytes).
    """

    def __init__(self, l2_reg: float = 500.0, max_items: int = 20_000) -> None:
        super().__init__()
        self.l2_reg = check_number(l2_reg, "l2_reg", low=0.0, low_open=True)
        self.max_items = check_int(max_items, "max_items", low=1)

    def _fit(self, X: sp.csr_matrix) -> None:
        n_items = X.shape[1]
        if n_items > self.max_items:
            raise ValueError(
                f"EASE needs a dense {n_items} x {n_items} matrix "
                f"({8 * n_items**2 / 1e9:.1f} GB); raise max_items if you have the memory"
            )
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.l2_reg
        # gram is symmetric positive definite: invert through a Cholesky factor.
        P = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram), np.eye(n_items))
        B = -P / np.diag(P)[None, :]
        B[np.diag_indices(n_items)] = 0.0
        self.weights = B.astype(np.float32)  # (n_items, n_items)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.train_matrix[users] @ self.weights
