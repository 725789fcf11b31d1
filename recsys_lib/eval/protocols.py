"""Evaluation protocols: full ranking and sampled, each result labelled.

Introduced in Chapter 3 ("Measuring a recommender"). Every result carries
the label of the protocol that produced it, because numbers from different
protocols are not comparable:

* :func:`evaluate_full` ranks *all* items for each user, after masking the
  items the user already interacted with in training -- the book's default
  and the only protocol used to pick models;
* :func:`evaluate_sampled` ranks each test item among 100 sampled
  non-interacted items, a shortcut common in papers. It is shown for
  teaching: it inflates every number and can even reorder models
  (Krichene & Rendle, 2020).

Both return an :class:`EvalResult`, whose :meth:`~EvalResult.ci` and
:meth:`~EvalResult.compare` use :mod:`.uncertainty`.

Interactions (train or test) can be given as a ``pandas.DataFrame`` with
``user_id``/``item_id`` columns, a ``(users, items)`` pair of arrays, an
integer array of shape ``(n, 2)`` or a scipy sparse ``(n_users, n_items)``
matrix (see :func:`recsys_lib.data.interactions.interactions_to_csr`). Ids
are 0-based and contiguous: map raw ids first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..checks import check_int
from ..data.interactions import hit_matrix, interactions_to_csr, resize_rows
from .metrics import ranking_metrics
from .topk import (
    _default_users,
    _raise_on_nan,
    _resolve_n_items,
    _Scorer,
    _topk,
)
from .uncertainty import (
    ConfidenceInterval,
    PairedTest,
    bootstrap_ci,
    paired_bootstrap_test,
)

__all__ = [
    "PROTOCOL_FULL",
    "SAMPLERS",
    "EvalResult",
    "evaluate_full",
    "evaluate_sampled",
    "sample_negatives",
    "sampled_protocol",
]

#: Label of the full-ranking protocol.
PROTOCOL_FULL = "full ranking (all items, train items masked)"
#: Negative samplers of :func:`evaluate_sampled`.
SAMPLERS = ("uniform", "popularity")


def sampled_protocol(sampler: str, n_negatives: int) -> str:
    """Label of a sampled protocol, e.g. ``"sampled (uniform-100)"``."""
    return f"sampled ({sampler}-{n_negatives})"


# ---------------------------------------------------------------- results
@dataclass
class EvalResult:
    """Metrics of one model under one protocol.

    Introduced in Chapter 3.

    Attributes:
        protocol: how the numbers were made, e.g. :data:`PROTOCOL_FULL` or
            ``"sampled (uniform-100)"``. Compare only results that share it.
        k: the cut-off (an int, or a tuple when several were asked for).
        metrics: metric name -> mean over users, e.g. ``{"ndcg@10": 0.21}``.
        per_user: metric name -> float array ``(n_users,)`` aligned with
            ``users`` (for :func:`bootstrap_ci` and :func:`paired_bootstrap_test`).
        n_users: number of users evaluated.
        seed: seed of the negative sampler (``None`` for full ranking).
        users: int array ``(n_users,)`` of the evaluated user ids.
        n_skipped: users left out because they had no test item.
        seconds: wall time of the evaluation.
        top_items: int array ``(n_users, max k)`` of the recommendations
            (full ranking only; ``None`` otherwise).
    """

    protocol: str
    k: int | tuple[int, ...]
    metrics: dict[str, float]
    per_user: dict[str, np.ndarray] = field(repr=False)
    n_users: int
    seed: int | None = None
    users: np.ndarray | None = field(default=None, repr=False)
    n_skipped: int = 0
    seconds: float = 0.0
    top_items: np.ndarray | None = field(default=None, repr=False)

    def __getitem__(self, metric: str) -> float:
        """``result["ndcg@10"]`` -- the mean of one metric."""
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r}; available: {list(self.metrics)}")
        return self.metrics[metric]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value:.4f}" for name, value in self.metrics.items())
        seed = "" if self.seed is None else f", seed={self.seed}"
        skipped = f", skipped={self.n_skipped}" if self.n_skipped else ""
        return (
            f"EvalResult[{self.protocol}](users={self.n_users}{seed}{skipped}: {shown})"
        )

    def to_frame(self, name: str | None = None) -> pd.DataFrame:
        """One-row DataFrame: the metrics plus protocol, users and seed.

        ``pd.concat([r.to_frame(name) for name, r in results.items()])`` makes
        a comparison table.
        """
        row = dict(self.metrics)
        row.update(protocol=self.protocol, n_users=self.n_users, seed=self.seed)
        return pd.DataFrame([row], index=pd.Index([name or "model"], name="model"))

    def ci(
        self, metric: str, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
    ) -> ConfidenceInterval:
        """Bootstrap confidence interval of one metric over users."""
        self[metric]  # raises a clear KeyError for unknown names
        return bootstrap_ci(
            self.per_user[metric], n_boot=n_boot, alpha=alpha, seed=seed
        )

    def compare(
        self,
        other: EvalResult,
        metric: str,
        n_boot: int = 10_000,
        alpha: float = 0.05,
        seed: int = 0,
    ) -> PairedTest:
        """Paired bootstrap test of ``self - other`` on one metric.

        Raises:
            ValueError: if the protocols differ or the users are not the same.
        """
        if self.protocol != other.protocol:
            raise ValueError(
                f"cannot compare results of different protocols: {self.protocol!r} vs "
                f"{other.protocol!r}"
            )
        if (
            self.users is None
            or other.users is None
            or not np.array_equal(self.users, other.users)
        ):
            raise ValueError(
                "a paired test needs both results on the same users, same order"
            )
        self[metric]
        other[metric]
        return paired_bootstrap_test(
            self.per_user[metric],
            other.per_user[metric],
            n_boot=n_boot,
            alpha=alpha,
            seed=seed,
        )


def _ks(k) -> list[int]:
    if isinstance(k, Sequence) and not isinstance(k, str):
        if len(k) == 0:
            raise ValueError("k is an empty sequence")
        return sorted({check_int(x, "k", low=1) for x in k})
    return [check_int(k, "k", low=1)]


def _prepare(scorer: _Scorer, train, test, users, n_items):
    """Shared checks of both protocols: shapes, overlap, users to evaluate."""
    n_items = _resolve_n_items(scorer, train, n_items)
    if n_items is None:
        n_items = _resolve_n_items(scorer, test, None)
    if n_items is None:  # a bare score_fn: ask it once
        n_items = int(scorer(np.zeros(1, dtype=np.int64), None)[0].shape[1])
    train_csr = interactions_to_csr(train, n_items=n_items, name="train")
    test_csr = interactions_to_csr(test, n_items=n_items, name="test")
    n_rows = max(train_csr.shape[0], test_csr.shape[0], scorer.n_users or 0)
    train_csr, test_csr = (
        resize_rows(train_csr, n_rows),
        resize_rows(test_csr, n_rows),
    )
    overlap = train_csr.multiply(test_csr).nnz
    if overlap:
        raise ValueError(
            f"{overlap} test interactions also appear in train; train items are masked, so "
            "they could never be hit. Remove them from the test split."
        )
    if users is None:
        users = np.flatnonzero(np.diff(test_csr.indptr) > 0)
        if users.size == 0:
            raise ValueError("test holds no interactions: nobody to evaluate")
    else:
        users = _default_users(users, n_rows)
        if users.size == 0:
            raise ValueError("users is empty: nobody to evaluate")
    return train_csr, test_csr, users, n_items


def evaluate_full(
    scores_or_fn,
    train,
    test,
    k: int | Sequence[int] = 10,
    users=None,
    batch_size: int = 1024,
    n_items: int | None = None,
    empty: str = "raise",
) -> EvalResult:
    """Full-ranking evaluation: rank every item, mask train items, score top-k.

    Introduced in Chapter 3. This is the book's default protocol, labelled
    :data:`PROTOCOL_FULL`.

    Args:
        scores_or_fn: score matrix ``(n_users, n_items)``, ``score_fn`` or a
            model with ``.score`` (see :func:`.topk.full_ranking_topk`).
        train: interactions seen in training (masked when ranking).
        test: held-out interactions; they are the relevant items.
        k: cut-off, or several cut-offs (e.g. ``(10, 20)``); the ranking is
            computed once at the largest.
        users: int array of user ids to evaluate; default every user with at
            least one test interaction.
        batch_size: users scored at once.
        n_items: catalog size if the scores and inputs do not tell it.
        empty: rule for explicitly given users without test items, as in
            :func:`recsys_lib.eval.ranking_metrics` (``"raise"`` or ``"skip"``).

    Returns:
        An :class:`EvalResult` with ``precision``, ``recall``, ``f1``,
        ``ndcg``, ``hit_rate``, ``mrr`` and ``map`` at each ``k``.

    Raises:
        ValueError: for inconsistent shapes, train/test overlap, users out of
            range or without test items (with ``empty="raise"``), and the
            errors of :func:`.topk.full_ranking_topk` and :func:`.metrics.ranking_metrics`.
    """
    start = time.perf_counter()
    scorer = _Scorer(scores_or_fn)
    ks = _ks(k)
    batch_size = check_int(batch_size, "batch_size", low=1)
    train_csr, test_csr, users, n_items = _prepare(scorer, train, test, users, n_items)
    top = _topk(scorer, train_csr, ks[-1], users, batch_size, n_items, False)
    relevant = test_csr[users]
    metrics, per_user = {}, {}
    for kk in ks:
        res = ranking_metrics(top, relevant, kk, per_user=True, empty=empty)
        per_user.update(res)
    kept = res.rows
    metrics = {name: float(v.mean()) for name, v in per_user.items()}
    return EvalResult(
        protocol=PROTOCOL_FULL,
        k=ks[0] if len(ks) == 1 else tuple(ks),
        metrics=metrics,
        per_user=per_user,
        n_users=int(kept.size),
        seed=None,
        users=users[kept],
        n_skipped=res.n_skipped,
        seconds=time.perf_counter() - start,
        top_items=top[kept],
    )


# ---------------------------------------------------------------- sampled
def sample_negatives(
    interacted: sp.csr_matrix,
    row_users: np.ndarray,
    n_negatives: int,
    rng: np.random.Generator,
    item_weights: np.ndarray | None = None,
    max_rounds: int = 1000,
) -> np.ndarray:
    """Sample, per row, distinct items the row's user never interacted with.

    Introduced in Chapter 3. Vectorized rejection sampling: draw all rows at
    once, redraw only the entries that hit an interacted item or repeat an
    earlier entry of the same row, until none is left.

    Args:
        interacted: CSR ``(n_users, n_items)`` of everything the users
            interacted with (train and test).
        row_users: int array ``(n_rows,)``: the user of each row.
        n_negatives: items per row.
        rng: NumPy generator (the source of randomness).
        item_weights: ``(n_items,)`` non-negative sampling weights
            (``None`` = uniform). Items of weight 0 are never drawn.
        max_rounds: give up after this many redraw rounds.

    Returns:
        int64 array ``(n_rows, n_negatives)``.

    Raises:
        ValueError: if some user has fewer than ``n_negatives`` items to draw from.
        RuntimeError: if rejection sampling does not finish in ``max_rounds``.
    """
    n_items = interacted.shape[1]
    n_negatives = check_int(n_negatives, "n_negatives", low=1)
    if item_weights is None:
        probs = None
        support = np.ones(n_items, dtype=bool)
    else:
        w = np.asarray(item_weights, dtype=np.float64)
        if (
            w.shape != (n_items,)
            or not np.isfinite(w).all()
            or (w < 0).any()
            or w.sum() == 0
        ):
            raise ValueError(
                f"item_weights must be {n_items} finite values >= 0, not all 0"
            )
        probs = w / w.sum()
        support = w > 0
    # Feasibility: items a user may draw = support minus what they interacted with.
    rows_of = np.repeat(np.arange(interacted.shape[0]), np.diff(interacted.indptr))
    blocked = np.bincount(
        rows_of, weights=support[interacted.indices], minlength=interacted.shape[0]
    )
    available = support.sum() - blocked[row_users]
    short = np.flatnonzero(available < n_negatives)
    if short.size:
        u = int(row_users[short[0]])
        raise ValueError(
            f"user {u} has only {int(available[short[0]])} items to sample negatives from, "
            f"fewer than n_negatives={n_negatives}"
        )

    def draw(size):
        if probs is None:
            return rng.integers(0, n_items, size=size)
        return rng.choice(n_items, size=size, p=probs)

    sub = interacted[row_users]
    indptr, indices = sub.indptr.astype(np.int64), sub.indices.astype(np.int64)
    neg = draw((row_users.size, n_negatives)).astype(np.int64)
    for _ in range(max_rounds):
        bad = hit_matrix(neg, indptr, indices)
        # A repeated item within a row: keep its first copy, redraw the others.
        order = np.argsort(neg, axis=1, kind="stable")
        srt = np.take_along_axis(neg, order, axis=1)
        dup_sorted = np.zeros(neg.shape, dtype=bool)
        dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
        dup = np.zeros(neg.shape, dtype=bool)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        bad |= dup
        n_bad = int(bad.sum())
        if n_bad == 0:
            return neg
        neg[bad] = draw(n_bad)
    raise RuntimeError(
        f"negative sampling did not finish in {max_rounds} rounds; the users have too few "
        "non-interacted items of positive weight"
    )


def evaluate_sampled(
    scores_or_fn,
    train,
    test,
    k: int | Sequence[int] = 10,
    n_negatives: int = 100,
    sampler: str = "uniform",
    seed: int = 0,
    users=None,
    batch_size: int = 1024,
    n_items: int | None = None,
) -> EvalResult:
    """Sampled evaluation: rank each test item among ``n_negatives`` sampled items.

    Introduced in Chapter 3, for teaching: many papers report this protocol,
    and its numbers are much higher than (and not comparable with) full
    ranking. For every (user, test item) pair, ``n_negatives`` distinct items
    that the user interacted with neither in train nor in test are drawn; the
    test item is ranked among them (ties broken at random), the metrics are
    computed with that single relevant item and averaged first per user, then
    over users. With one test item per user (leave-one-out, as in the papers
    that use this protocol) every metric matches its full-ranking
    counterpart in meaning; with several, ``hit_rate`` and ``precision`` are
    per test item here but per list in :func:`evaluate_full`.

    Args:
        scores_or_fn: score matrix, ``score_fn`` or model with ``.score``
            (see :func:`.topk.full_ranking_topk`).
        train: training interactions (excluded from the negatives; their
            item counts are the weights of the ``"popularity"`` sampler).
        test: held-out interactions, one ranking per (user, item).
        k: cut-off(s); at most ``n_negatives + 1``.
        n_negatives: sampled items per test item (100 is the usual choice).
        sampler: ``"uniform"`` over items, or ``"popularity"`` (proportional
            to train interaction counts; never-seen items are not drawn).
        seed: seed of the sampler and the tie-breaking (recorded in the result).
        users: user ids to evaluate (default: all with test interactions);
            each must have at least one test item.
        batch_size: users scored at once.
        n_items: catalog size if the scores and inputs do not tell it.

    Returns:
        An :class:`EvalResult` labelled ``"sampled (<sampler>-<n_negatives>)"``
        with the same metric names as :func:`evaluate_full`.

    Raises:
        ValueError: for an unknown sampler, ``k > n_negatives + 1``, users
            without test items or too few items to sample from, and the
            input errors of :func:`evaluate_full`.
    """
    start = time.perf_counter()
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    n_negatives = check_int(n_negatives, "n_negatives", low=1)
    ks = _ks(k)
    if ks[-1] > n_negatives + 1:
        raise ValueError(
            f"k={ks[-1]} is larger than the {n_negatives + 1} candidates per test item"
        )
    batch_size = check_int(batch_size, "batch_size", low=1)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    scorer = _Scorer(scores_or_fn)
    train_csr, test_csr, users, n_items = _prepare(scorer, train, test, users, n_items)
    users = np.unique(users)
    n_test = np.diff(test_csr.indptr)[users]
    if (n_test == 0).any():
        bad = users[n_test == 0]
        raise ValueError(
            f"{bad.size} user(s) have no test item (e.g. user {int(bad[0])}); "
            "the sampled protocol ranks test items, so drop them"
        )
    rng = np.random.default_rng(int(seed))

    # One row per (user, test item) pair, grouped by user.
    sub = test_csr[users]
    pair_user_idx = np.repeat(np.arange(users.size), np.diff(sub.indptr))
    pair_items = sub.indices.astype(np.int64)
    pair_users = users[pair_user_idx]
    weights = None
    if sampler == "popularity":
        weights = np.bincount(train_csr.indices, minlength=n_items).astype(np.float64)
    interacted = (train_csr + test_csr).tocsr()
    negatives = sample_negatives(interacted, pair_users, n_negatives, rng, weights)
    candidates = np.concatenate(
        [pair_items[:, None], negatives], axis=1
    )  # (P, 1 + n_neg)

    cand_scores = np.empty(candidates.shape, dtype=np.float32)
    bounds = np.searchsorted(
        pair_user_idx, np.arange(0, users.size + batch_size, batch_size)
    )
    for b, lo in enumerate(range(0, users.size, batch_size)):
        batch = users[lo : lo + batch_size]
        scores = scorer(batch, n_items)[0].numpy()  # only read here
        p0, p1 = bounds[b], bounds[b + 1]
        rows = pair_user_idx[p0:p1] - lo
        cand_scores[p0:p1] = scores[rows[:, None], candidates[p0:p1]]
        _raise_on_nan(cand_scores[p0:p1], pair_users[p0:p1])
    # Best first; equal scores are ordered at random, not by position.
    order = np.lexsort((rng.random(candidates.shape), -cand_scores), axis=1)
    top = np.take_along_axis(candidates, order[:, : ks[-1]], axis=1)
    relevant = sp.csr_matrix(
        (np.ones(pair_items.size), pair_items, np.arange(pair_items.size + 1)),
        shape=(pair_items.size, n_items),
    )
    counts = np.bincount(pair_user_idx, minlength=users.size).astype(np.float64)
    per_user = {}
    for kk in ks:
        per_pair = ranking_metrics(top, relevant, kk, per_user=True)
        for name, values in per_pair.items():
            per_user[name] = (
                np.bincount(pair_user_idx, weights=values, minlength=users.size)
                / counts
            )
    metrics = {name: float(v.mean()) for name, v in per_user.items()}
    return EvalResult(
        protocol=sampled_protocol(sampler, n_negatives),
        k=ks[0] if len(ks) == 1 else tuple(ks),
        metrics=metrics,
        per_user=per_user,
        n_users=int(users.size),
        seed=int(seed),
        users=users,
        seconds=time.perf_counter() - start,
    )
