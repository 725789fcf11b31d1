"""The popularity baseline: the same list, by number of users, for everyone.

Introduced in Chapter 3 ("Measuring a recommender"): before any deep model,
the book measures what a popularity list, an item-kNN, EASE and BPR matrix
factorization reach under the same protocol and the same tuning budget. The
four share the :class:`~recsys_lib.models.base.Estimator` interface::

    model = MostPopular().fit(train, n_users, n_items)
    scores = model.score(np.array([0, 1, 2]))  # (3, n_items) float32 tensor

``train`` is a ``pandas.DataFrame`` with ``user_id`` and ``item_id`` columns
(a ``rating`` column, if present, is ignored: every row is one positive
interaction, so keep only the rows that count as positive, e.g. rating >= 4,
before fitting). Ids must be 0-based and contiguous -- map raw ids to
``0..n_users-1`` and ``0..n_items-1`` first. ``score`` returns raw scores for
all items; ``recommend`` and :func:`recsys_lib.eval.full_ranking_topk` mask
the items seen in training.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .base import Estimator

__all__ = ["MostPopular"]


class MostPopular(Estimator):
    """Recommend the items most users interacted with, to everyone.

    Introduced in Chapter 3. The score of item ``i`` is the number of training
    users who interacted with it -- the same for every user.
    """

    def _fit(self, X: sp.csr_matrix) -> None:
        self.item_counts = np.asarray(
            X.sum(axis=0), dtype=np.float32
        ).ravel()  # (n_items,)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.repeat(self.item_counts[None, :], users.size, axis=0)
