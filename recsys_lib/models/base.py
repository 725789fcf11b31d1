"""The one interface every recommender implements, and the bases that provide it.

Introduced in Chapter 3 (the baselines) and Chapter 6 (the neural models); the
protocol is described in the book's appendix "Adding a model".

**The protocol** (:mod:`recsys_lib.recommender`). Anything that can be evaluated, used as a retriever and
served implements :class:`Scorer`; a :class:`Recommender` is a scorer that
also learns, so it can be tuned:

* ``fit(train, n_users, n_items) -> self`` (recommenders only) learns from a
  DataFrame of positive interactions (``user_id``, ``item_id``, 0-based ids);
* ``n_users``, ``n_items``: the id ranges it scores;
* ``score(user_ids, items=None) -> Tensor`` returns float32 scores
  ``(B, n_items)`` (or ``(B, len(items))`` for chosen items), higher is
  better, computed for inference (no autograd, eval mode). Items seen in
  training are *not* masked: evaluation and recommendation mask them;
* ``recommend(user_ids, k, exclude=None) -> Recommendations`` returns the
  ``k`` best items per user, best first, never an excluded one.

:func:`recsys_lib.eval.evaluate_full`, the retrievers of
:mod:`recsys_lib.retrieval` and the serving code accept any scorer;
:func:`recsys_lib.tuning.tune` any recommender. :class:`RecommendMixin`
derives ``recommend`` from ``score``, so a new model writes ``fit`` and
``score`` only. ``tests/models/contract.py`` checks the whole contract for
every model of the library (``check_recommender``).

**The bases.**

* :class:`Estimator` -- a recommender with hyperparameters (MostPopular,
  ItemKNN, EASE, BPRMF, NeuralRecommender): subclasses implement ``_fit(X)``
  on the binary CSR training matrix and ``_score(users)``; ``get_params`` is
  read from ``__init__``'s signature, as in scikit-learn.
* :class:`PairScorer` -- an ``nn.Module`` that scores ``(user, item)``
  pairs (MF, GMF, MLP, NeuMF, the feature ranker): ``forward(user_ids,
  item_ids) -> (B,)`` logits for training and ``score`` for inference.
* :class:`SequentialRecommender` -- an ``nn.Module`` that reads a user's
  item sequence (GRU4Rec, Caser, SASRec): ``forward(seq) -> (B, T, d)`` and
  ``score_last(seq) -> (B, n_items)`` for the next item;
  :class:`~recsys_lib.models.NextItemScorer` makes it a scorer of users.

Sequences are left-padded with the padding id ``n_items`` (one past the last
real item), so item ids keep the 0-based ids used everywhere else in the
library, the newest item is always in the last column, and the padding id can
never be predicted: output layers cover items ``0..n_items-1`` only.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import (
    INT_DTYPES,
    as_long,
    check_fraction,
    check_ids,
    check_int,
)
from ..config import ITEM_COL, USER_COL
from ..data.interactions import interactions_to_csr
from ..recommender import Recommendations, Recommender, RecommendMixin, Scorer
from ..utils import inference

__all__ = [
    "INT_DTYPES",
    "Estimator",
    "PairScorer",
    "RecommendMixin",
    "Recommendations",
    "Recommender",
    "Scorer",
    "SequentialRecommender",
    "as_long",
    "check_fraction",
    "check_ids",
    "check_interactions",
    "check_positive_int",
    "check_sequences",
    "inference",
]


def check_positive_int(value, name: str, low: int = 1) -> int:
    """``value`` must be an int (not a bool) ``>= low``."""
    return check_int(value, name, low=low)


def _init_params(obj) -> dict:
    """Constructor arguments of ``obj``, read from ``__init__``'s signature."""
    params = {}
    for name, p in inspect.signature(type(obj).__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        params[name] = getattr(obj, name)
    return params


class Estimator(RecommendMixin):
    """Base of the recommenders with hyperparameters: shared ``fit``/``score`` and checks.

    Introduced in Chapter 3 (the baselines); Chapter 6's
    :class:`~recsys_lib.models.NeuralRecommender` wraps a PyTorch model in it
    so that it is tuned and evaluated like a baseline. Subclasses store their hyperparameters in
    ``__init__`` under the argument's own name (so :meth:`get_params` can read
    them), implement ``_fit(X)`` with ``X`` the binary CSR matrix
    ``(n_users, n_items)`` of training interactions, and ``_score(users)``
    returning ``(len(users), n_items)`` scores (NumPy or torch).

    Attributes:
        n_users, n_items: sizes given to :meth:`fit` (``None`` before).
        train_matrix: the binary ``scipy.sparse`` CSR training matrix.
        fit_seconds: wall time of the last :meth:`fit`.
    """

    def __init__(self) -> None:
        self.n_users: int | None = None
        self.n_items: int | None = None
        self.train_matrix = None
        self.fit_seconds = 0.0

    def fit(self, train, n_users: int, n_items: int):
        """Learn from training interactions.

        Args:
            train: DataFrame with integer ``user_id`` and ``item_id`` columns
                (one positive interaction per row; repeats count once).
            n_users: number of users; ids must be in ``[0, n_users)``.
            n_items: number of items; ids must be in ``[0, n_items)``.

        Returns:
            ``self``, so that ``Model().fit(...).score(...)`` chains.

        Raises:
            TypeError: if ``train`` is not a DataFrame or ids are not integers.
            ValueError: for missing columns, an empty ``train`` or ids out of range.
        """
        X = self._check_train(train, n_users, n_items)
        start = time.perf_counter()
        self.n_users, self.n_items = X.shape
        self.train_matrix = X
        self._fit(X)
        self.fit_seconds = time.perf_counter() - start
        return self

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Scores of every item (or of ``items``) for some users.

        Args:
            user_ids: integer array ``(B,)`` of user ids in ``[0, n_users)``.
            items: optional int ``(m,)`` item ids; ``None`` = the whole catalog.

        Returns:
            float32 tensor ``(B, n_items)`` or ``(B, m)``; higher means more
            recommended. Items seen in training are *not* masked here.

        Raises:
            RuntimeError: before :meth:`fit`.
            TypeError, ValueError: for non-integer or unknown user ids.
        """
        if self.n_users is None:
            raise RuntimeError(f"{type(self).__name__}.score() called before fit()")
        users = np.asarray(user_ids)
        if users.ndim == 0:
            users = users[None]
        if users.ndim != 1:
            raise ValueError(f"user_ids must be 1-D, got shape {users.shape}")
        if users.size and not np.issubdtype(users.dtype, np.integer):
            raise TypeError(f"user_ids must be integers, got dtype {users.dtype}")
        users = users.astype(np.int64, copy=False)
        unknown = users[(users < 0) | (users >= self.n_users)]
        if unknown.size:
            raise ValueError(
                f"unknown user id(s) {unknown[:5].tolist()}: the model was fit on "
                f"n_users={self.n_users} (ids 0..{self.n_users - 1})"
            )
        out = self._score(users)
        if isinstance(out, torch.Tensor):
            out = out.detach().to(device="cpu", dtype=torch.float32)
        else:
            out = torch.as_tensor(np.asarray(out, dtype=np.float32))
        return self._select_items(out.reshape(users.size, self.n_items), items)

    def get_params(self) -> dict:
        """Hyperparameters, as given to the constructor (read from its signature)."""
        return _init_params(self)

    def set_params(self, **params):
        """Change hyperparameters by name (before :meth:`fit`); returns ``self``."""
        known = _init_params(self)
        for name in params:
            if name not in known:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"it has {sorted(known)}"
                )
        fresh = type(self)(**{**known, **params})  # the constructor validates
        self.__dict__.update(fresh.__dict__)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- for subclasses
    def _fit(self, X) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, users: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _check_train(train, n_users, n_items, name: str = "train"):
        return check_interactions(train, n_users, n_items, name)


def check_interactions(train, n_users, n_items, name: str = "train"):
    """A non-empty interactions frame within the id ranges, as a binary CSR matrix.

    What :meth:`Estimator.fit` (and :func:`recsys_lib.tuning.tune`, for its
    validation frame) accept.

    Raises:
        TypeError: if ``train`` is not a DataFrame or ids are not integers.
        ValueError: for missing columns, an empty frame or ids out of range.
    """
    if not isinstance(train, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with '{USER_COL}' and '{ITEM_COL}' "
            f"columns, got {type(train).__name__}"
        )
    n_users = check_int(n_users, "n_users", low=1)
    n_items = check_int(n_items, "n_items", low=1)
    if len(train) == 0:
        raise ValueError(f"{name} is empty: there is nothing to learn from or score")
    return interactions_to_csr(train, n_users=n_users, n_items=n_items, name=name)


def check_sequences(seq, n_items: int, max_len: int | None = None) -> torch.Tensor:
    """Validate a left-padded ``(B, T)`` batch of item ids (padding id ``n_items``).

    Raises:
        TypeError: for a non-integer dtype.
        ValueError: for a wrong number of dims, an empty batch or ``T = 0``,
            ``T > max_len``, ids outside ``[0, n_items]``, padding after a real
            item (the batch is not left-padded), or a row of padding only.
    """
    seq = as_long(seq, "seq")
    if seq.dim() != 2:
        raise ValueError(
            f"seq must be 2-D (batch, time) item ids, got shape {tuple(seq.shape)}"
        )
    if seq.shape[0] == 0 or seq.shape[1] == 0:
        raise ValueError(
            f"seq is empty (shape {tuple(seq.shape)}); "
            "every row needs at least one item"
        )
    if max_len is not None and seq.shape[1] > max_len:
        raise ValueError(
            f"seq has {seq.shape[1]} columns but the model was built for max_len="
            f"{max_len}; keep the last {max_len} items (sequences.pad_sequences does)"
        )
    lo, hi = int(seq.min()), int(seq.max())
    if lo < 0:
        raise ValueError(f"seq holds a negative item id ({lo}); ids must be >= 0")
    if hi > n_items:
        raise ValueError(
            f"seq holds item id {hi} but items are 0..{n_items - 1} and the padding "
            f"id is {n_items}"
        )
    is_pad = seq == n_items  # (B, T)
    if bool((is_pad[:, 1:] & ~is_pad[:, :-1]).any()):
        raise ValueError(
            f"seq has padding (id {n_items}) after a real item; sequences must be "
            "left-padded (pad first, newest item last)"
        )
    if bool(is_pad[:, -1].any()):
        row = int(is_pad[:, -1].nonzero()[0, 0])
        raise ValueError(f"row {row} of seq holds only padding; it needs >= 1 item")
    return seq


# ---------------------------------------------------------------- pair scorers
class PairScorer(RecommendMixin, nn.Module):
    """Base of models that score ``(user, item)`` pairs.

    Introduced in Chapter 6. Subclasses set ``n_users``/``n_items`` and
    implement ``_pairs(users, items) -> (B,)`` logits for checked int64 ids;
    they may override ``_all_items(users) -> (B, n_items)`` with something
    faster than scoring every pair.
    """

    n_users: int
    n_items: int
    #: pairs scored at once by the generic :meth:`score` (bounds memory).
    score_chunk_pairs: int = 1 << 18

    def forward(self, user_ids, item_ids) -> torch.Tensor:
        """Logits of pairs: ``user_ids`` and ``item_ids`` int64 ``(B,)`` -> ``(B,)``."""
        return self._pairs(*self._check_pairs(user_ids, item_ids))

    def _check_pairs(self, user_ids, item_ids) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked int64 ``(B,)`` user and item ids of the same length."""
        users = check_ids(user_ids, self.n_users, "user_ids")
        items = check_ids(item_ids, self.n_items, "item_ids")
        if users.shape != items.shape:
            raise ValueError(
                f"user_ids has shape {tuple(users.shape)} but item_ids has shape "
                f"{tuple(items.shape)}; give one user per item"
            )
        return users, items

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Logits of every item (or of ``items``) for some users, for inference.

        Runs under ``torch.no_grad()`` in eval mode (the previous mode is
        restored).

        Args:
            user_ids: int ``(B,)`` tensor or NumPy array.
            items: optional int ``(m,)`` item ids; ``None`` = the whole catalog.

        Returns:
            float32 tensor ``(B, n_items)`` or ``(B, m)``.
        """
        users = check_ids(user_ids, self.n_users, "user_ids")
        with inference(self):
            return self._select_items(self._all_items(users), items)

    def _pairs(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover

    def _by_user_chunks(self, n_rows: int, block) -> torch.Tensor:
        """``block(lo, hi) -> (hi - lo, n_items)`` for row chunks, concatenated.

        Chunks hold about :attr:`score_chunk_pairs` (user, item) pairs, which
        bounds the memory of scoring a whole catalog.
        """
        rows = max(1, self.score_chunk_pairs // self.n_items)
        out = [block(lo, min(lo + rows, n_rows)) for lo in range(0, n_rows, rows)]
        return torch.cat(out) if out else torch.empty(0, self.n_items)

    def _softmax_logits(self, users: torch.Tensor) -> torch.Tensor:
        """Logits of every item for a softmax over the catalog, with autograd.

        The full-softmax loss of :class:`~recsys_lib.models.NeuralRecommender`
        reads these. Terms that are the same for every item of a user cancel
        in that softmax; a model may leave them out (MF does).
        """
        return self._all_items(users)

    def _all_items(self, users: torch.Tensor) -> torch.Tensor:
        n_items = self.n_items
        all_items = torch.arange(n_items)

        def block(lo: int, hi: int) -> torch.Tensor:
            u = users[lo:hi]  # (b,)
            pairs_u = u.repeat_interleave(n_items)  # (b * n_items,)
            pairs_i = all_items.repeat(u.numel())  # (b * n_items,)
            return self._pairs(pairs_u, pairs_i).view(u.numel(), n_items)

        return self._by_user_chunks(users.numel(), block)


# ---------------------------------------------------------------- sequential
class SequentialRecommender(nn.Module):
    """Base of next-item models that read left-padded item sequences.

    Introduced in Chapter 7. Subclasses set ``n_items`` and ``max_len``
    (``None`` = any length), implement ``_hidden(seq, user_ids) -> (B, T, d)``
    on checked input and ``item_logits``/``score_items``. ``needs_users``
    says whether ``user_ids`` are required (Caser).
    """

    n_items: int
    max_len: int | None = None
    needs_users: bool = False
    n_users: int | None = None

    @property
    def pad_id(self) -> int:
        """The padding id: ``n_items``."""
        return self.n_items

    def _check_users(self, user_ids, batch: int) -> torch.Tensor | None:
        if user_ids is None:
            if self.needs_users:
                raise ValueError(f"{type(self).__name__} needs user_ids (B,)")
            return None
        if not self.needs_users:
            return None  # accepted and ignored, so every model has one signature
        users = check_ids(user_ids, self.n_users, "user_ids")
        if users.shape != (batch,):
            raise ValueError(
                f"user_ids has shape {tuple(users.shape)} but seq has {batch} rows"
            )
        return users

    def forward(self, seq, user_ids=None) -> torch.Tensor:
        """Hidden states ``(B, T, d)``; the state at ``t`` sees items ``<= t`` only.

        Args:
            seq: int64 ``(B, T)`` item ids, left-padded with ``n_items``.
            user_ids: int64 ``(B,)``, for models with ``needs_users``.

        Returns:
            float ``(B, T, d)``; rows at padded positions are zero and must be
            ignored.
        """
        seq = check_sequences(seq, self.n_items, self.max_len)
        users = self._check_users(user_ids, seq.shape[0])
        return self._hidden(seq, users)

    def score_last(self, seq, user_ids=None) -> torch.Tensor:
        """Next-item logits after the last position (inference: no_grad, eval mode).

        Args:
            seq: int64 ``(B, T)``, left-padded (the newest item last).
            user_ids: int64 ``(B,)``, for models with ``needs_users``.

        Returns:
            float32 ``(B, n_items)``; the padding id is never among them.
        """
        seq = check_sequences(seq, self.n_items, self.max_len)
        users = self._check_users(user_ids, seq.shape[0])
        with inference(self):
            return self._score_last(seq, users)

    def _score_last(self, seq, users) -> torch.Tensor:
        return self.item_logits(self._hidden(seq, users)[:, -1])  # (B, n_items)

    def _hidden(self, seq, users) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over all items: ``(..., d) -> (..., n_items)``."""
        raise NotImplementedError  # pragma: no cover

    def score_items(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of chosen items: ``hidden (N, d)``, ``items (N,)`` or ``(N, K)``."""
        raise NotImplementedError  # pragma: no cover


def tied_item_logits(
    hidden: torch.Tensor, weight: torch.Tensor, n_items: int
) -> torch.Tensor:
    """``hidden (..., d) @ E[:n_items].T`` -- the padding row is left out."""
    return hidden @ weight[:n_items].T


def tied_score_items(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    items: torch.Tensor,
    n_items: int,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Dot products of ``hidden (N, d)`` with the embeddings of ``items``.

    ``bias`` (``(n_items,)``, optional) is added per item, as Caser's output
    layer does.
    """
    items = check_ids(items, n_items, "items", dim=None)
    if (
        hidden.dim() != 2
        or items.dim() not in (1, 2)
        or items.shape[0] != hidden.shape[0]
    ):
        raise ValueError(
            f"hidden has shape {tuple(hidden.shape)} but items has shape "
            f"{tuple(items.shape)}; expected (N, d) with (N,) or (N, K)"
        )
    emb = weight[items]  # (N, d) or (N, K, d)
    if items.dim() == 1:
        out = (hidden * emb).sum(-1)  # (N,)
    else:
        out = (emb @ hidden.unsqueeze(-1)).squeeze(-1)  # (N, K)
    return out if bias is None else out + bias[items]
