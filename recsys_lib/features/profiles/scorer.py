"""Ranking items by how well they match a user profile.

Introduced in Chapter 4 ("User profiles"). :class:`ProfileScorer` follows the
library's :class:`recsys_lib.recommender.Recommender` protocol (``score`` and
``recommend``), so :func:`recsys_lib.eval.evaluate_full` and the retrievers
take it like any other model.
"""

from __future__ import annotations

import numpy as np
import torch

from ...checks import check_id_array
from ...recommender import RecommendMixin
from ._arrays import as_matrix, as_vector

__all__ = ["ProfileScorer"]


class ProfileScorer(RecommendMixin):
    """Rank items by how well they match a user profile.

    Introduced in Chapter 4::

        score(u, i) = profile_u . item_features_i  (+ bias_i)

    With category-affinity profiles and one-hot categories, every item of a
    category gets the user's share of that category; a small ``item_bias``
    (for example standardised popularity times 1e-3) breaks the ties.

    Args:
        user_profiles: ``(n_users, d)`` profiles.
        item_features: ``(n_items, d)`` item features in the same space.
        item_bias: optional ``(n_items,)`` added to every user's scores.

    Example::

        scorer = ProfileScorer(affinity, one_hot(cats, n_cats))
        top = scorer.recommend(users, k=10, exclude=train)
    """

    def __init__(self, user_profiles, item_features, item_bias=None) -> None:
        self.user_profiles = as_matrix(user_profiles, "user_profiles").astype(
            np.float32
        )
        self.item_features = as_matrix(item_features, "item_features").astype(
            np.float32
        )
        if self.user_profiles.shape[1] != self.item_features.shape[1]:
            raise ValueError(
                f"user_profiles have {self.user_profiles.shape[1]} features but "
                f"item_features have {self.item_features.shape[1]}"
            )
        self.item_bias = None
        if item_bias is not None:
            bias = as_vector(item_bias, "item_bias", self.n_items)
            self.item_bias = bias.astype(np.float32)

    @property
    def n_users(self) -> int:
        return self.user_profiles.shape[0]

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Scores of every item (or of ``items``) for some users.

        Args:
            user_ids: int ``(B,)`` user ids in ``[0, n_users)``.
            items: optional int ``(m,)`` item ids; ``None`` = the whole catalog.

        Returns:
            float32 tensor ``(B, n_items)`` or ``(B, m)``.

        Raises:
            TypeError, ValueError: for non-integer or unknown user ids.
        """
        users = check_id_array(user_ids, "user_ids", self.n_users)
        out = self.user_profiles[users] @ self.item_features.T  # (B, n_items)
        if self.item_bias is not None:
            out += self.item_bias[None, :]
        return self._select_items(torch.from_numpy(out), items)

    def __repr__(self) -> str:
        return f"ProfileScorer(n_users={self.n_users}, n_items={self.n_items})"
