"""Shared input checks and the two model interfaces of :mod:`recsys_lib.models`.

Introduced in Chapter 6. Two kinds of model live in this package:

* :class:`PairScorer` -- scores ``(user, item)`` pairs (MF, GMF, MLP,
  NeuMF, the feature ranker): ``forward(user_ids, item_ids) -> (B,)``
  logits and ``score(user_ids) -> (B, n_items)`` over the whole catalog, the
  interface :func:`recsys_lib.evaluation.evaluate_full` expects;
* :class:`SequentialRecommender` -- reads a user's item sequence (GRU4Rec,
  Caser, SASRec): ``forward(seq) -> (B, T, d)`` hidden states, one per
  position, and ``score_last(seq) -> (B, n_items)`` for the next item.

Sequences are left-padded with the padding id ``n_items`` (one past the last
real item), so item ids keep the 0-based ids used everywhere else in the
library, the newest item is always in the last column, and the padding id can
never be predicted: output layers cover items ``0..n_items-1`` only.

``forward`` runs with autograd in the module's current mode (training);
``score`` and ``score_last`` are for inference: they run under
``torch.no_grad()`` in ``eval()`` mode (restoring the previous mode after).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8)


def check_positive_int(value, name: str, low: int = 1) -> int:
    """``value`` must be an int (not a bool) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_fraction(value, name: str) -> float:
    """A dropout-like rate in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def as_long(x, name: str) -> torch.Tensor:
    """An integer tensor (or NumPy array) as int64; floats and bools are refused."""
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"{name} must hold integer ids, got NumPy dtype {x.dtype}")
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor (or NumPy array) of integer ids, "
            f"got {type(x).__name__}"
        )
    if x.dtype not in INT_DTYPES:
        raise TypeError(
            f"{name} must hold integer ids (int64), got dtype {x.dtype}; "
            "ids are never floats or bools"
        )
    return x.long()


def check_ids(x, n: int, name: str, dim: int | None = 1) -> torch.Tensor:
    """Integer ids in ``[0, n)``, as int64; ``dim`` is the required number of dims."""
    x = as_long(x, name)
    if dim is not None and x.dim() != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {tuple(x.shape)}")
    if x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise ValueError(f"{name} holds a negative id ({lo}); ids must be >= 0")
        if hi >= n:
            raise ValueError(
                f"{name} holds id {hi} but only {n} exist (ids 0..{n - 1}); "
                "map raw ids to contiguous 0-based ids first"
            )
    return x


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


class _Inference:
    """``with _Inference(model):`` -- eval mode and no_grad, previous mode restored."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.no_grad = torch.no_grad()
        self.no_grad.__enter__()
        self.model.eval()

    def __exit__(self, *exc) -> None:
        self.model.train(self.was_training)
        self.no_grad.__exit__(*exc)


# ---------------------------------------------------------------- pair scorers
class PairScorer(nn.Module):
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
        users = check_ids(user_ids, self.n_users, "user_ids")
        items = check_ids(item_ids, self.n_items, "item_ids")
        if users.shape != items.shape:
            raise ValueError(
                f"user_ids has shape {tuple(users.shape)} but item_ids has shape "
                f"{tuple(items.shape)}; give one user per item"
            )
        return self._pairs(users, items)

    def score(self, user_ids) -> torch.Tensor:
        """Logits of every item for some users (inference: no_grad, eval mode).

        Args:
            user_ids: int ``(B,)`` tensor or NumPy array.

        Returns:
            float32 tensor ``(B, n_items)``.
        """
        users = check_ids(user_ids, self.n_users, "user_ids")
        with _Inference(self):
            return self._all_items(users)

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
        with _Inference(self):
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
    hidden: torch.Tensor, weight: torch.Tensor, items: torch.Tensor, n_items: int
) -> torch.Tensor:
    """Dot products of ``hidden (N, d)`` with the embeddings of ``items``."""
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
        return (hidden * emb).sum(-1)  # (N,)
    return (emb @ hidden.unsqueeze(-1)).squeeze(-1)  # (N, K)
