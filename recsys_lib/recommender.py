"""The one interface every recommender implements.

Introduced in Chapter 3 (the baselines) and used by every chapter after it;
the book's appendix "Adding a model" shows how a new model joins in.

Anything that can be evaluated, used as a retriever and served implements
:class:`Scorer`; a :class:`Recommender` is a scorer that also learns, so it can
be tuned:

* ``n_users``, ``n_items``: the id ranges it scores;
* ``score(user_ids, items=None) -> Tensor``: float32 scores ``(B, n_items)``
  (or ``(B, len(items))`` for chosen items), higher is better, computed for
  inference (no autograd, eval mode). Items seen in training are *not*
  masked: evaluation and recommendation mask them;
* ``recommend(user_ids, k, exclude=None) -> Recommendations``: the ``k`` best
  items per user, best first, never an excluded one;
* ``fit(train, n_users, n_items) -> self`` (recommenders only): learn from a
  DataFrame of positive interactions (``user_id``, ``item_id``, 0-based ids).

:func:`recsys_lib.eval.evaluate_full`, the retrievers of
:mod:`recsys_lib.retrieval` and the serving code accept any scorer;
:func:`recsys_lib.tuning.tune` any recommender. :class:`RecommendMixin`
derives ``recommend`` from ``score``, so a new model writes ``fit`` and
``score`` only. The bases that implement the rest for the library's models
(``Estimator``, ``PairScorer``, ``SequentialRecommender``) live in
:mod:`recsys_lib.models.base`.

This module sits low in the library (it needs only the top-k routine of
:mod:`recsys_lib.eval`), so feature code such as
:class:`recsys_lib.features.ProfileScorer` can follow the protocol without
depending on the models package.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from .checks import check_id_array, check_int
from .eval.topk import full_ranking_topk

__all__ = ["RecommendMixin", "Recommendations", "Recommender", "Scorer"]


class Recommendations(NamedTuple):
    """What :meth:`Recommender.recommend` returns.

    Attributes:
        items: int64 array ``(B, k)``, best first.
        scores: float32 array ``(B, k)``, the scores of those items.
    """

    items: np.ndarray
    scores: np.ndarray


@runtime_checkable
class Scorer(Protocol):
    """What evaluation, retrieval and serving accept (see the module doc)."""

    n_users: int
    n_items: int

    def score(self, user_ids, items=None) -> torch.Tensor:
        """float32 scores ``(B, n_items)`` (or ``(B, len(items))``)."""
        ...

    def recommend(self, user_ids, k: int = 10, exclude=None) -> Recommendations:
        """The ``k`` best items per user, never an excluded one."""
        ...


@runtime_checkable
class Recommender(Scorer, Protocol):
    """A :class:`Scorer` that learns: what :func:`recsys_lib.tuning.tune` accepts."""

    def fit(self, train, n_users: int, n_items: int):  # -> Self
        """Learn from positive interactions; return ``self``."""
        ...

    def score(self, user_ids, items=None) -> torch.Tensor:
        """float32 scores ``(B, n_items)`` (or ``(B, len(items))``)."""
        ...

    def recommend(self, user_ids, k: int = 10, exclude=None) -> Recommendations:
        """The ``k`` best items per user, never an excluded one."""
        ...


class RecommendMixin:
    """``recommend`` (and scoring of chosen items) derived from ``score``.

    Mixed into every base below; a class that has ``n_users``, ``n_items``
    and ``score(user_ids)`` gets the rest of the protocol from here.
    """

    def recommend(self, user_ids, k: int = 10, exclude=None) -> Recommendations:
        """The ``k`` highest-scored items per user, best first.

        Args:
            user_ids: int array ``(B,)`` of user ids.
            k: list length (>= 1).
            exclude: items never to recommend, per user: anything
                :func:`recsys_lib.data.interactions.interactions_to_csr` accepts (usually
                the training interactions, so seen items are not repeated),
                or ``None``.

        Returns:
            :class:`Recommendations` with ``items`` and ``scores`` ``(B, k)``.

        Raises:
            ValueError: if a user has fewer than ``k`` items left after
                exclusion, ids are out of range or scores contain nan.
        """
        users = np.asarray(user_ids)
        items, scores = full_ranking_topk(
            self,
            train=exclude,
            k=check_int(k, "k", low=1),
            users=users,
            n_items=self.n_items,
            return_scores=True,
        )
        return Recommendations(items, scores)

    def _select_items(self, scores: torch.Tensor, items) -> torch.Tensor:
        """Columns ``items`` of full-catalog ``scores`` (``None``: all)."""
        if items is None:
            return scores
        idx = check_id_array(items, "items", self.n_items)  # lists too
        return scores[:, torch.from_numpy(idx)]
