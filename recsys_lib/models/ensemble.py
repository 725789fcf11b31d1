"""Ensembles of recommenders: score averaging, reciprocal rank fusion, a stacked blender.

Introduced in Chapter 9 ("Model optimization"). Models that err in different
ways can be combined; three classic ways, each a
:class:`~recsys_lib.recommender.Scorer` (``n_users``, ``n_items``,
``score``, ``recommend``) over member scorers of the same users and items:

* :class:`ScoreAverage` -- a (weighted) mean of the members' scores after
  **per-user normalization** (:func:`normalize_scores`): EASE scores, MF
  logits and SASRec logits live on different scales, and a raw sum would let
  the widest one decide alone;
* :class:`ReciprocalRankFusion` -- ``sum_m w_m / (k + rank_m(u, i))``
  (Cormack et al., 2009): only the members' *orders* count, no scales at all;
* :class:`StackedBlender` -- the weights of a score average *learned* on
  validation interactions: a softmax regression over the catalog that makes
  each validation item outscore the user's other unseen items. It is a
  recommender whose ``fit`` takes the *validation* interactions (the members
  are fitted on train before), so the weights never see the test set.

Statistics and ranks are taken per user over the items not in ``exclude``
(usually what the user already interacted with: those items are masked at
evaluation anyway, and a model that scores its training items highest would
otherwise push every unseen item down by a user-dependent amount). Excluded
items still get a finite score, as the protocol asks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..checks import check_choice, check_id_array, check_int, check_number
from ..data.interactions import interactions_to_csr, resize_rows
from ..recommender import RecommendMixin, Scorer

__all__ = [
    "NORMALIZATIONS",
    "ReciprocalRankFusion",
    "ScoreAverage",
    "StackedBlender",
    "normalize_scores",
]

#: Per-user normalizations of :func:`normalize_scores`.
NORMALIZATIONS = ("zscore", "minmax", "rank", "none")


def normalize_scores(
    scores: torch.Tensor, method: str = "zscore", mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Put each row (user) of a score matrix on a common scale.

    Introduced in Chapter 9.

    Args:
        scores: float ``(B, n_items)`` scores of one model.
        method: ``"zscore"`` (subtract the row's mean, divide by its standard
            deviation), ``"minmax"`` (map the row's range to ``[0, 1]``),
            ``"rank"`` (1 for the best item down to 0 for the worst, ties in
            index order) or ``"none"``.
        mask: optional bool ``(B, n_items)``, ``True`` for items left out of
            the statistics (e.g. the user's training items). They are
            transformed with the same statistics (``"rank"``: ranked after
            every other item), so the result stays finite.

    Returns:
        float32 ``(B, n_items)``. A constant row becomes 0 (z-score) or 0.5
        (min-max) rather than NaN.

    Raises:
        TypeError: for a non-tensor or a non-bool mask.
        ValueError: for another shape, an unknown method, non-finite scores or
            a row whose items are all masked.
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor, got {type(scores).__name__}")
    if scores.dim() != 2:
        raise ValueError(
            f"scores must be 2-D (users, items), got {tuple(scores.shape)}"
        )
    check_choice(method, "method", NORMALIZATIONS)
    x = scores.double()
    if not torch.isfinite(x).all():
        raise ValueError("scores hold nan or inf; normalize finite scores")
    if mask is None:
        keep = torch.ones_like(x, dtype=torch.bool)
    else:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a bool tensor (True = left out)")
        if mask.shape != x.shape:
            raise ValueError(
                f"mask has shape {tuple(mask.shape)}, scores {tuple(x.shape)}"
            )
        keep = ~mask
    n_kept = keep.sum(1, keepdim=True)  # (B, 1)
    if x.shape[0] and int(n_kept.min()) == 0:
        raise ValueError("a row has every item masked: nothing to normalize over")
    if method == "none":
        return x.float()
    if method == "rank":
        ranks = _ranks(x, ~keep)  # 1 = best
        return ((n_kept - ranks) / (n_kept - 1).clamp(min=1)).float()
    kept = torch.where(keep, x, torch.nan)
    if method == "zscore":
        mean = kept.nanmean(1, keepdim=True)
        std = ((kept - mean) ** 2).nanmean(1, keepdim=True).sqrt()
        return ((x - mean) / torch.where(std > 0, std, 1.0)).float()
    low = torch.where(keep, x, torch.inf).amin(1, keepdim=True)
    high = torch.where(keep, x, -torch.inf).amax(1, keepdim=True)
    span = high - low
    out = torch.where(span > 0, (x - low) / torch.where(span > 0, span, 1.0), 0.5)
    return out.float()


def _ranks(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1-based descending ranks per row; masked items after all others."""
    ordered = torch.where(mask, -torch.inf, x.double())
    order = torch.argsort(ordered, dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    positions = torch.arange(1, x.shape[1] + 1).expand_as(order)
    return ranks.scatter_(1, order, positions).double()  # (B, n_items)


class _Ensemble(RecommendMixin):
    """Shared checks and per-user member scores of the ensembles below."""

    def __init__(self, members: Sequence, weights=None, exclude=None) -> None:
        if isinstance(members, str) or not isinstance(members, Sequence):
            raise TypeError(
                f"members must be a list of scorers, got {type(members).__name__}"
            )
        if not members:
            raise ValueError("an ensemble needs at least one member")
        for j, m in enumerate(members):
            if not isinstance(m, Scorer):
                raise TypeError(
                    f"member {j} ({type(m).__name__}) is not a scorer: it needs "
                    "n_users, n_items, score() and recommend()"
                )
        sizes = {(m.n_users, m.n_items) for m in members}
        if len(sizes) != 1 or None in next(iter(sizes)):
            raise ValueError(
                "members must be fitted for the same users and items, got "
                f"(n_users, n_items) = {sorted(sizes, key=str)}"
            )
        self.members = list(members)
        self.n_users, self.n_items = next(iter(sizes))
        self.weights = self._check_weights(weights)
        self.exclude = None
        if exclude is not None:
            csr = interactions_to_csr(exclude, n_items=self.n_items, name="exclude")
            if csr.shape[0] > self.n_users:
                raise ValueError(
                    f"exclude holds user {csr.shape[0] - 1}, but the members score "
                    f"{self.n_users} users"
                )
            self.exclude = resize_rows(csr, self.n_users)

    def _check_weights(self, weights) -> np.ndarray:
        if weights is None:
            return np.full(len(self.members), 1.0 / len(self.members))
        w = [check_number(x, "weight") for x in weights]
        if len(w) != len(self.members):
            raise ValueError(
                f"{len(w)} weights for {len(self.members)} members; give one each"
            )
        if not any(w):
            raise ValueError("weights are all 0: nothing would be scored")
        return np.asarray(w, dtype=np.float64)

    def _users(self, user_ids) -> np.ndarray:
        return check_id_array(user_ids, "user_ids", self.n_users)

    def _mask(self, users: np.ndarray) -> torch.Tensor | None:
        if self.exclude is None:
            return None
        return torch.from_numpy(self.exclude[users].toarray().astype(bool))

    def _member_scores(self, users: np.ndarray) -> list[torch.Tensor]:
        out = []
        for j, m in enumerate(self.members):
            s = m.score(users)
            if tuple(s.shape) != (users.size, self.n_items):
                raise ValueError(
                    f"member {j} returned scores of shape {tuple(s.shape)}, expected "
                    f"{(users.size, self.n_items)}"
                )
            out.append(s.detach().double())
        return out

    def __repr__(self) -> str:
        names = ", ".join(type(m).__name__ for m in self.members)
        return f"{type(self).__name__}([{names}], weights={np.round(self.weights, 4).tolist()})"


class ScoreAverage(_Ensemble):
    """Weighted mean of per-user normalized member scores. Introduced in Chapter 9.

    ``score(u, i) = sum_m w_m * normalize(s_m(u, .))_i``.

    Args:
        members: fitted scorers of the same ``n_users`` and ``n_items``.
        weights: one number per member (default: equal weights).
        normalize: one of :data:`NORMALIZATIONS` (default z-score).
        exclude: interactions whose items are left out of each user's
            normalization statistics (usually everything the user has seen).
    """

    def __init__(
        self, members: Sequence, weights=None, normalize: str = "zscore", exclude=None
    ) -> None:
        super().__init__(members, weights, exclude)
        self.normalize = check_choice(normalize, "normalize", NORMALIZATIONS)

    def score(self, user_ids, items=None) -> torch.Tensor:
        """float32 ``(B, n_items)`` (or ``(B, len(items))``) ensemble scores."""
        users = self._users(user_ids)
        mask = self._mask(users)
        total = torch.zeros(users.size, self.n_items, dtype=torch.float64)
        for w, s in zip(self.weights, self._member_scores(users), strict=True):
            total += w * normalize_scores(s, self.normalize, mask).double()
        return self._select_items(total.float(), items)


class ReciprocalRankFusion(_Ensemble):
    """``sum_m w_m / (k + rank_m)``: fusion of the members' orders. Introduced in Chapter 9.

    Ranks are 1-based among each user's items not in ``exclude`` (excluded
    items add nothing); ``k`` damps the influence of the very top ranks
    (60 in the original paper by Cormack, Clarke and Buettcher, 2009).

    Args:
        members: fitted scorers of the same ``n_users`` and ``n_items``.
        k: the damping constant (> 0).
        weights: one number per member (default: equal weights).
        exclude: interactions left out of the ranking (usually what the
            user has seen).
    """

    def __init__(
        self, members: Sequence, k: float = 60.0, weights=None, exclude=None
    ) -> None:
        super().__init__(members, weights, exclude)
        self.k = check_number(k, "k", low=0.0, low_open=True)

    def score(self, user_ids, items=None) -> torch.Tensor:
        """float32 ``(B, n_items)`` (or ``(B, len(items))``) fused scores."""
        users = self._users(user_ids)
        mask = self._mask(users)
        if mask is None:
            mask = torch.zeros(users.size, self.n_items, dtype=torch.bool)
        total = torch.zeros(users.size, self.n_items, dtype=torch.float64)
        for w, s in zip(self.weights, self._member_scores(users), strict=True):
            total += torch.where(mask, 0.0, w / (self.k + _ranks(s, mask)))
        return self._select_items(total.float(), items)


class StackedBlender(ScoreAverage):
    """A score average whose weights are learned on validation interactions.

    Introduced in Chapter 9. ``fit(valid, n_users, n_items)`` takes the
    interactions *held out from the members' training* (the validation
    split): for every validation user it computes the members' normalized
    scores of the whole catalog (``exclude`` -- the members' training
    interactions -- left out), and fits one weight per member by a softmax
    regression that makes the validation items outscore the user's other
    items, with an L2 penalty ``l2 * |w|^2`` (L-BFGS, deterministic). The
    learned ensemble then scores like :class:`ScoreAverage` with these
    weights. For the test, refit the members on train + validation and reuse
    the weights with :meth:`with_members`.

    Args:
        members: scorers fitted on the training split.
        normalize: per-user normalization (default z-score).
        exclude: the members' training interactions.
        l2: penalty on the weights (>= 0).
        max_iter: L-BFGS iterations.

    Attributes:
        weights: the learned weights (after :meth:`fit`).
        fitted: whether :meth:`fit` ran.
    """

    def __init__(
        self,
        members: Sequence,
        normalize: str = "zscore",
        exclude=None,
        l2: float = 1e-3,
        max_iter: int = 100,
    ) -> None:
        super().__init__(members, None, normalize, exclude)
        self.l2 = check_number(l2, "l2", low=0.0)
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.fitted = False

    def fit(self, train, n_users: int, n_items: int) -> StackedBlender:
        """Learn the weights from ``train`` -- the *validation* interactions.

        Raises:
            TypeError, ValueError: for bad interactions, sizes other than the
                members', or validation items that are also in ``exclude``.
        """
        n_users = check_int(n_users, "n_users", low=1)
        n_items = check_int(n_items, "n_items", low=1)
        if (n_users, n_items) != (self.n_users, self.n_items):
            raise ValueError(
                f"fit(n_users={n_users}, n_items={n_items}) but the members score "
                f"{self.n_users} users and {self.n_items} items"
            )
        target = interactions_to_csr(train, n_users, n_items, name="valid")
        if target.nnz == 0:
            raise ValueError("valid is empty: nothing to learn the weights from")
        if self.exclude is not None and target.multiply(self.exclude).nnz:
            raise ValueError(
                "some validation interactions are also in exclude: the members saw "
                "them in training; blend on held-out interactions only"
            )
        users = np.flatnonzero(np.diff(target.indptr) > 0)
        mask = self._mask(users)
        feats = torch.stack(
            [
                normalize_scores(s, self.normalize, mask).double()
                for s in self._member_scores(users)
            ],
            dim=-1,
        )  # (U, n_items, M)
        rows = torch.from_numpy(
            np.repeat(np.arange(users.size), np.diff(target[users].indptr))
        )
        cols = torch.from_numpy(target[users].indices.astype(np.int64))
        w = torch.zeros(len(self.members), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [w], max_iter=self.max_iter, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            opt.zero_grad()
            logits = feats @ w  # (U, n_items)
            if mask is not None:
                logits = logits.masked_fill(mask, -torch.inf)
            log_p = logits[rows, cols] - torch.logsumexp(logits, dim=1)[rows]
            loss = -log_p.mean() + self.l2 * (w**2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        self.weights = w.detach().numpy().copy()
        self.fitted = True
        return self

    def score(self, user_ids, items=None) -> torch.Tensor:
        """float32 blended scores (after :meth:`fit`)."""
        if not self.fitted:
            raise RuntimeError("StackedBlender.score() called before fit(valid, ...)")
        return super().score(user_ids, items)

    def with_members(self, members: Sequence, exclude=None) -> ScoreAverage:
        """The learned weights applied to other members (e.g. refitted on train + valid).

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: for another number of members.
        """
        if not self.fitted:
            raise RuntimeError("StackedBlender.with_members() called before fit()")
        return ScoreAverage(members, self.weights, self.normalize, exclude)
