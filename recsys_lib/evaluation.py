"""Evaluation protocols (full ranking and sampled) and their uncertainty.

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

Uncertainty: :func:`bootstrap_ci` (over users), :func:`paired_bootstrap_test`
(two models on the same users) and :func:`summarize_over_seeds` (training
randomness).

Interactions (train or test) can be given as a ``pandas.DataFrame`` with
``user_id``/``item_id`` columns, a ``(users, items)`` pair of arrays, an
integer array of shape ``(n, 2)`` or a scipy sparse ``(n_users, n_items)``
matrix. Ids are 0-based and contiguous: map raw ids first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from scipy import stats

from .config import ITEM_COL, USER_COL
from .metrics import _check_k, _hit_matrix, ranking_metrics

__all__ = [
    "PROTOCOL_FULL",
    "ConfidenceInterval",
    "EvalResult",
    "PairedTest",
    "SeedSummary",
    "bootstrap_ci",
    "evaluate_full",
    "evaluate_sampled",
    "full_ranking_topk",
    "interactions_to_csr",
    "paired_bootstrap_test",
    "sample_negatives",
    "sampled_protocol",
    "summarize_over_seeds",
]

#: Label of the full-ranking protocol.
PROTOCOL_FULL = "full ranking (all items, train items masked)"
SAMPLERS = ("uniform", "popularity")

ScoreFn = Callable[[np.ndarray], object]


def sampled_protocol(sampler: str, n_negatives: int) -> str:
    """Label of a sampled protocol, e.g. ``"sampled (uniform-100)"``."""
    return f"sampled ({sampler}-{n_negatives})"


# ---------------------------------------------------------------- inputs
def _int_ids(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer ids, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.min() < 0:
        raise ValueError(
            f"{name} holds negative ids (e.g. {int(arr.min())}); ids must be >= 0"
        )
    return arr


def interactions_to_csr(
    data,
    n_users: int | None = None,
    n_items: int | None = None,
    name: str = "interactions",
) -> sp.csr_matrix:
    """Turn interactions into a binary ``(n_users, n_items)`` CSR matrix.

    Introduced in Chapter 3.

    Args:
        data: a DataFrame with ``user_id`` and ``item_id`` columns (other
            columns are ignored), a ``(users, items)`` tuple of 1-D integer
            arrays, an integer array of shape ``(n, 2)``, or a scipy sparse
            matrix (its non-zeros are the interactions).
        n_users, n_items: the matrix shape; default ``max id + 1``. Ids must
            be in ``[0, n_users)`` and ``[0, n_items)``.
        name: what to call ``data`` in error messages.

    Returns:
        A float32 CSR matrix with ones at the interactions (repeated pairs
        count once) and sorted column indices.

    Raises:
        TypeError: for an unsupported kind of ``data`` or non-integer ids.
        ValueError: for negative ids, ids out of range, or a sparse matrix of
            the wrong shape.
    """
    if n_users is not None:
        n_users = _check_k(n_users, name="n_users")
    if n_items is not None:
        n_items = _check_k(n_items, name="n_items")
    if sp.issparse(data):
        mat = sp.csr_matrix(data, dtype=np.float32, copy=True)
        shape = (n_users or mat.shape[0], n_items or mat.shape[1])
        if mat.shape != shape:
            raise ValueError(
                f"{name} is a sparse matrix of shape {mat.shape}, expected {shape} "
                "(n_users, n_items)"
            )
        mat.eliminate_zeros()
        mat.sum_duplicates()
        mat.data[:] = 1.0
        mat.sort_indices()
        return mat
    if isinstance(data, pd.DataFrame):
        missing = [c for c in (USER_COL, ITEM_COL) if c not in data.columns]
        if missing:
            raise ValueError(
                f"{name} lacks column(s) {missing}; it has {list(data.columns)} "
                f"(expected '{USER_COL}' and '{ITEM_COL}')"
            )
        users, items = data[USER_COL].to_numpy(), data[ITEM_COL].to_numpy()
    elif isinstance(data, tuple) and len(data) == 2:
        users, items = data
    elif isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == 2:
        users, items = data[:, 0], data[:, 1]
    else:
        raise TypeError(
            f"{name} must be a DataFrame with '{USER_COL}'/'{ITEM_COL}', a (users, items) "
            f"tuple, an (n, 2) integer array or a scipy sparse matrix; got {type(data).__name__}"
        )
    users = _int_ids(users, f"{name} user ids")
    items = _int_ids(items, f"{name} item ids")
    if users.shape != items.shape:
        raise ValueError(f"{name}: {users.size} user ids but {items.size} item ids")
    for ids, size, what in ((users, n_users, "user"), (items, n_items, "item")):
        if size is not None and ids.size and ids.max() >= size:
            bad = int((ids >= size).sum())
            raise ValueError(
                f"{name} holds {what} id {int(ids.max())} but n_{what}s={size} "
                f"({bad} row(s) out of range); map ids to 0..n_{what}s-1 first"
            )
    shape = (
        n_users if n_users is not None else (int(users.max()) + 1 if users.size else 0),
        n_items if n_items is not None else (int(items.max()) + 1 if items.size else 0),
    )
    mat = sp.csr_matrix(
        (np.ones(users.size, dtype=np.float32), (users, items)),
        shape=shape,
        dtype=np.float32,
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    mat.sort_indices()
    return mat


def _resize_rows(mat: sp.csr_matrix, n_rows: int) -> sp.csr_matrix:
    """Pad a CSR matrix with empty rows up to ``n_rows`` rows."""
    if mat.shape[0] >= n_rows:
        return mat
    indptr = np.concatenate(
        [mat.indptr, np.full(n_rows - mat.shape[0], mat.indptr[-1])]
    )
    return sp.csr_matrix((mat.data, mat.indices, indptr), shape=(n_rows, mat.shape[1]))


class _Scorer:
    """Wrap a score matrix, a ``score_fn`` or an object with ``.score``."""

    def __init__(self, scores_or_fn) -> None:
        self.matrix = None
        self.n_users = None
        self.n_items = None
        if hasattr(scores_or_fn, "score") and callable(scores_or_fn.score):
            self.fn = scores_or_fn.score
            self.n_users = getattr(scores_or_fn, "n_users", None)
            self.n_items = getattr(scores_or_fn, "n_items", None)
        elif callable(scores_or_fn):
            self.fn = scores_or_fn
        else:
            if isinstance(scores_or_fn, torch.Tensor):
                mat = scores_or_fn.detach()
            else:
                mat = np.asarray(scores_or_fn)
                if not np.issubdtype(mat.dtype, np.number) or np.issubdtype(
                    mat.dtype, np.complexfloating
                ):
                    raise TypeError(
                        "scores_or_fn must be a (n_users, n_items) score array, a function "
                        "score_fn(user_ids) -> (B, n_items) scores, or a model with .score; "
                        f"got {type(scores_or_fn).__name__}"
                    )
            if mat.ndim != 2:
                raise ValueError(
                    f"a score matrix must be 2-D (n_users, n_items), got shape {tuple(mat.shape)}"
                )
            self.matrix = mat
            self.n_users, self.n_items = (int(s) for s in mat.shape)
            self.fn = self._from_matrix

    def _from_matrix(self, users: np.ndarray):
        # Fancy indexing copies, so the caller's matrix is never modified.
        if isinstance(self.matrix, torch.Tensor):
            return self.matrix[torch.from_numpy(users).to(self.matrix.device)]
        return self.matrix[users]

    def __call__(
        self, users: np.ndarray, n_items: int | None
    ) -> tuple[torch.Tensor, bool]:
        """Scores of ``users`` as a float32 CPU tensor ``(B, n_items)``.

        Returns:
            ``(scores, owned)``: ``owned`` is ``False`` when ``scores`` shares
            memory with what the score function returned (a model's own data,
            maybe). Such scores may be changed only temporarily and must be
            restored; read-only, broadcast or autograd-tracked outputs are
            copied, and so is anything that needed a dtype or device change.
            Rows of a score matrix are fresh copies already.
        """
        out = self.fn(users)
        if isinstance(out, torch.Tensor):
            src = out.detach()
            scores = src.to(device="cpu", dtype=torch.float32)
            owned = scores is not src
            if not owned and (out.requires_grad or 0 in scores.stride()):
                scores, owned = scores.clone(), True
        else:
            scores_np = np.asarray(out, dtype=np.float32)
            owned = scores_np is not out
            if not owned and (not scores_np.flags.writeable or 0 in scores_np.strides):
                scores_np, owned = scores_np.copy(), True
            scores = torch.from_numpy(scores_np)
        owned = owned or self.matrix is not None
        expected = (len(users), n_items if n_items is not None else scores.shape[-1])
        if scores.ndim != 2 or tuple(scores.shape) != expected:
            raise ValueError(
                f"scores for a batch of {len(users)} users must have shape {expected} "
                f"(users, n_items), got {tuple(scores.shape)}"
            )
        return scores, owned


def _raise_on_nan(values: torch.Tensor | np.ndarray, users: np.ndarray) -> None:
    """``values`` has one row per entry of ``users``; name the first user with a nan."""
    nan = np.asarray(torch.as_tensor(values).isnan().any(dim=1))
    if nan.any():
        user = int(users[int(np.flatnonzero(nan)[0])])
        raise ValueError(f"scores of user {user} contain nan; check the model")


def _default_users(users, n_users: int | None, name: str = "users") -> np.ndarray:
    if users is None:
        if n_users is None:
            raise ValueError(
                "cannot tell how many users there are; pass users=... (the user ids to rank)"
            )
        return np.arange(n_users, dtype=np.int64)
    users = _int_ids(users, name)
    if n_users is not None and users.size and users.max() >= n_users:
        raise ValueError(
            f"{name} holds id {int(users.max())} but there are only {n_users} users "
            f"(ids 0..{n_users - 1})"
        )
    return users


# ---------------------------------------------------------------- full ranking
def full_ranking_topk(
    scores_or_fn,
    train=None,
    k: int = 10,
    users=None,
    batch_size: int = 1024,
    n_items: int | None = None,
    return_scores: bool = False,
):
    """Top-k items per user over the whole catalog, train items masked.

    Introduced in Chapter 3. Users are scored in batches; in each batch the
    items a user interacted with in ``train`` get the score ``-inf`` and
    ``torch.topk`` picks the ``k`` best of the rest.

    Args:
        scores_or_fn: one of

            * a score matrix of shape ``(n_users, n_items)`` (NumPy or torch);
            * ``score_fn(user_ids)`` taking an int64 array of shape ``(B,)``
              and returning scores of shape ``(B, n_items)``;
            * a model with a ``.score(user_ids)`` method of that kind (every
              recommender in :mod:`recsys_lib.baselines`).
        train: the interactions to mask (any form accepted by
            :func:`interactions_to_csr`), or ``None`` to mask nothing.
        k: number of items to return per user.
        users: int array ``(n_eval,)`` of user ids to rank; default all users
            (known from the score matrix, the model or a sparse ``train``).
        batch_size: users per batch; memory is about
            ``batch_size * n_items * 4`` bytes.
        n_items: catalog size, if neither the scores nor ``train`` tell it.
        return_scores: also return the scores of the chosen items.

    Returns:
        ``top_items``: int64 array ``(n_eval, k)``, best first; with
        ``return_scores=True`` a tuple ``(top_items, top_scores)`` with
        ``top_scores`` float32 ``(n_eval, k)``.

    Raises:
        ValueError: if scores have the wrong shape or contain nan, a user has
            fewer than ``k`` unmasked items, or ids are out of range.
    """
    scorer = _Scorer(scores_or_fn)
    k = _check_k(k)
    batch_size = _check_k(batch_size, name="batch_size")
    n_items = _resolve_n_items(scorer, train, n_items)
    train_csr = None
    n_users = scorer.n_users
    if train is not None:
        train_csr = interactions_to_csr(
            train, n_users=None, n_items=n_items, name="train"
        )
        if n_users is None and sp.issparse(train):
            n_users = train_csr.shape[0]
    users = _default_users(users, n_users)
    if users.size == 0:
        raise ValueError("users is empty: nobody to rank")
    if train_csr is not None:
        train_csr = _resize_rows(train_csr, int(users.max()) + 1)
    return _topk(scorer, train_csr, k, users, batch_size, n_items, return_scores)


def _resolve_n_items(scorer: _Scorer, train, n_items) -> int | None:
    if n_items is not None:
        n_items = _check_k(n_items, name="n_items")
    for known in (scorer.n_items, train.shape[1] if sp.issparse(train) else None):
        if known is None:
            continue
        if n_items is not None and known != n_items:
            raise ValueError(
                f"inconsistent catalog sizes: {known} vs n_items={n_items}"
            )
        n_items = int(known)
    return n_items


def _check_room(train_csr, users, n_items: int, k: int) -> None:
    """Every user needs at least ``k`` items left after masking."""
    if k > n_items:
        raise ValueError(f"k={k} but the catalog has only {n_items} items")
    if train_csr is None:
        return
    if train_csr.shape[1] > n_items:
        raise ValueError(
            f"train holds item id {train_csr.shape[1] - 1} but the scores cover only "
            f"{n_items} items"
        )
    unmasked = n_items - np.diff(train_csr.indptr)[users]
    short = np.flatnonzero(unmasked < k)
    if short.size:
        u = int(users[short[0]])
        raise ValueError(
            f"{short.size} user(s) have fewer than k={k} items left after masking "
            f"their train items (e.g. user {u}: {int(unmasked[short[0]])} left); "
            "use a smaller k or drop these users"
        )


def _topk(scorer, train_csr, k, users, batch_size, n_items, return_scores):
    if n_items is not None:
        _check_room(train_csr, users, n_items, k)
    tops, vals = [], []
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        scores, owned = scorer(batch, n_items)  # (B, n_items) float32
        if n_items is None:  # a score_fn: the first batch tells the catalog size
            n_items = scores.shape[1]
            _check_room(train_csr, users, n_items, k)
        saved = None
        if train_csr is not None:
            sub = train_csr[batch]
            rows = torch.from_numpy(
                np.repeat(np.arange(batch.size), np.diff(sub.indptr))
            )
            cols = torch.from_numpy(sub.indices.astype(np.int64))
            if not owned:  # not ours to keep: remember the few values we overwrite
                saved = scores[rows, cols]
            scores[rows, cols] = -torch.inf
        top_v, top_i = torch.topk(scores, k, dim=1, largest=True, sorted=True)
        if saved is not None:
            scores[rows, cols] = saved  # hand the caller's data back unchanged
        _raise_on_nan(top_v, batch)  # topk ranks nan above everything: a cheap check
        tops.append(top_i.numpy())
        vals.append(top_v.numpy())
    top_items = np.concatenate(tops).astype(np.int64, copy=False)
    if return_scores:
        return top_items, np.concatenate(vals)
    return top_items


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
        return sorted({_check_k(x) for x in k})
    return [_check_k(k)]


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
        _resize_rows(train_csr, n_rows),
        _resize_rows(test_csr, n_rows),
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
            model with ``.score`` (see :func:`full_ranking_topk`).
        train: interactions seen in training (masked when ranking).
        test: held-out interactions; they are the relevant items.
        k: cut-off, or several cut-offs (e.g. ``(10, 20)``); the ranking is
            computed once at the largest.
        users: int array of user ids to evaluate; default every user with at
            least one test interaction.
        batch_size: users scored at once.
        n_items: catalog size if the scores and inputs do not tell it.
        empty: rule for explicitly given users without test items, as in
            :func:`recsys_lib.metrics.ranking_metrics` (``"raise"`` or ``"skip"``).

    Returns:
        An :class:`EvalResult` with ``precision``, ``recall``, ``f1``,
        ``ndcg``, ``hit_rate``, ``mrr`` and ``map`` at each ``k``.

    Raises:
        ValueError: for inconsistent shapes, train/test overlap, users out of
            range or without test items (with ``empty="raise"``), and the
            errors of :func:`full_ranking_topk` and ``ranking_metrics``.
    """
    start = time.perf_counter()
    scorer = _Scorer(scores_or_fn)
    ks = _ks(k)
    batch_size = _check_k(batch_size, name="batch_size")
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
    n_negatives = _check_k(n_negatives, name="n_negatives")
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
        bad = _hit_matrix(neg, indptr, indices)
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
            (see :func:`full_ranking_topk`).
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
    n_negatives = _check_k(n_negatives, name="n_negatives")
    ks = _ks(k)
    if ks[-1] > n_negatives + 1:
        raise ValueError(
            f"k={ks[-1]} is larger than the {n_negatives + 1} candidates per test item"
        )
    batch_size = _check_k(batch_size, name="batch_size")
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


# ---------------------------------------------------------------- uncertainty
class ConfidenceInterval(NamedTuple):
    """A point estimate with a ``1 - alpha`` interval ``[low, high]``."""

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
    n_boot = _check_k(n_boot, name="n_boot")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return n_boot


def _boot_means(
    values: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement), in memory-bounded chunks."""
    n = values.size
    chunk = max(1, 2**22 // n)
    out = np.empty(n_boot)
    for lo in range(0, n_boot, chunk):
        hi = min(n_boot, lo + chunk)
        out[lo:hi] = values[rng.integers(0, n, size=(hi - lo, n))].mean(axis=1)
    return out


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
    means = _boot_means(values, n_boot, np.random.default_rng(seed))
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return ConfidenceInterval(float(values.mean()), float(low), float(high))


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
    rng = np.random.default_rng(seed)
    means = _boot_means(d, n_boot, rng)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    null = _boot_means(d - observed, n_boot, rng)
    extreme = int((np.abs(null) >= abs(observed) - 1e-15).sum())
    p_value = (extreme + 1) / (n_boot + 1)
    return PairedTest(observed, float(low), float(high), float(p_value), int(d.size))


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
