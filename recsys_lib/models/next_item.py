"""A trained sequential model as a recommender: next-item scores per user.

Introduced in Chapter 7 ("Sequence models and the Transformer ranker").
A :class:`~recsys_lib.models.SequentialRecommender` reads item sequences
(``score_last(seq)``), while evaluation, retrieval and serving ask for users
(``score(user_ids)``). :class:`NextItemScorer` bridges the two for one part of
a next-item split: it holds every user's left-padded input sequence and scores
a user by reading it. Build it with :func:`next_item_scorer`, and evaluate a
model on a :class:`~recsys_lib.data.sequences.NextItemSplit` with
:func:`evaluate_next_item`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..checks import check_id_array, check_int
from ..config import ITEM_COL, USER_COL
from ..eval import EvalResult, evaluate_full
from .base import RecommendMixin, SequentialRecommender

__all__ = ["NextItemScorer", "evaluate_next_item", "next_item_scorer"]


class NextItemScorer(RecommendMixin):
    """Next-item logits of users, read from their input sequences.

    Introduced in Chapter 7. Follows the :class:`~recsys_lib.models.base.Scorer`
    protocol: ``n_users``, ``n_items``, ``score(user_ids, items=None)`` and
    ``recommend(user_ids, k, exclude=None)``. It does not train: train the
    model with :func:`recsys_lib.training.fit` first.

    Rows are scored in chunks of ``chunk_size`` users of similar length, each
    trimmed to its longest row, so short histories are not padded to the
    longest one in the batch.

    Args:
        model: a :class:`~recsys_lib.models.SequentialRecommender`.
        users: int ``(n_eval,)`` the users that have an input sequence.
        seqs: int64 ``(n_eval, W)`` their left-padded sequences (padding id
            ``n_items``), row ``r`` for ``users[r]``.
        n_users, n_items: id ranges.
        part: what the sequences are the input of (``"valid"``/``"test"``),
            for error messages.
        chunk_size: users scored at once.
    """

    def __init__(
        self,
        model: SequentialRecommender,
        users,
        seqs: torch.Tensor,
        n_users: int,
        n_items: int,
        part: str = "test",
        chunk_size: int = 64,
    ) -> None:
        if not callable(getattr(model, "score_last", None)):
            raise TypeError(
                "model must be a sequential model with score_last(seq, user_ids), "
                f"got {type(model).__name__}"
            )
        self.model = model
        self.n_users = check_int(n_users, "n_users", low=1)
        self.n_items = check_int(n_items, "n_items", low=1)
        self.part = part
        self.chunk_size = check_int(chunk_size, "chunk_size", low=1)
        users = check_id_array(users, "users", self.n_users)
        if seqs.dim() != 2 or seqs.shape[0] != users.size:
            raise ValueError(
                f"seqs has shape {tuple(seqs.shape)} but there are {users.size} users; "
                "give one left-padded row per user"
            )
        self.users = users
        self.seqs = seqs
        self._row_of = np.full(self.n_users, -1, dtype=np.int64)
        self._row_of[users] = np.arange(users.size)
        self._lengths = (seqs != n_items).sum(1)  # (n_eval,)

    def __repr__(self) -> str:
        return (
            f"NextItemScorer({type(self.model).__name__}, part={self.part!r}, "
            f"users={self.users.size}, n_items={self.n_items})"
        )

    def fit(self, train, n_users: int, n_items: int):
        """Not supported: the scorer wraps a model trained elsewhere."""
        raise TypeError(
            "NextItemScorer does not train; train the sequential model with "
            "recsys_lib.training.fit on NextItemSplit.train_batches, then call "
            "NextItemSplit.scorer(model, part, max_len)"
        )

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Next-item logits ``(B, n_items)`` (or ``(B, len(items))``), float32.

        Args:
            user_ids: int ``(B,)`` users that have an input sequence of the part.
            items: optional int ``(m,)`` item ids; ``None`` = the whole catalog.

        Raises:
            TypeError, ValueError: for non-integer ids, ids out of range, or a
                user without an input sequence (no target in this part).
        """
        user_ids = check_id_array(user_ids, "user_ids", self.n_users)
        rows = self._row_of[user_ids]
        if (rows < 0).any():
            u = int(user_ids[rows < 0][0])
            raise ValueError(
                f"user {u} has no {self.part} target, so no input to score"
            )
        rows_t, users_t = torch.from_numpy(rows), torch.from_numpy(user_ids)
        order = torch.sort(self._lengths[rows_t], stable=True).indices  # (B,)
        out = torch.empty(rows.size, self.n_items)
        for idx in order.split(self.chunk_size) if rows.size else ():
            width = int(self._lengths[rows_t[idx]].max())
            batch = self.seqs[rows_t[idx], -width:]  # (b, width)
            out[idx] = self.model.score_last(batch, users_t[idx]).float()
        return self._select_items(out, items)  # (B, n_items)


def next_item_scorer(
    split, model, part: str, max_len: int, chunk_size: int = 64
) -> NextItemScorer:
    """``model`` as a recommender of the next item of ``part``'s users.

    Introduced in Chapter 7. Returns a :class:`NextItemScorer`: ``score(user_ids)
    -> (B, n_items)`` next-item logits from each user's input sequence of
    ``part`` (``model.score_last``, with ``user_ids`` for models such as Caser
    that need them), plus ``recommend`` and ``n_users``/``n_items``. Pass it to
    :func:`recsys_lib.eval.evaluate_full`, a retriever or a serving function like
    any other recommender; mask the items before the target with
    ``split.history(part)``.

    Args:
        split: a :class:`~recsys_lib.data.sequences.NextItemSplit`.
        model: a :class:`~recsys_lib.models.SequentialRecommender`.
        part: ``"valid"`` or ``"test"``.
        max_len: the model's input length.
        chunk_size: users scored at once; each chunk holds users of similar
            length and is trimmed to its longest row.
    """
    users, seqs = split.inputs(part, max_len)
    return NextItemScorer(
        model, users, seqs, split.n_users, split.n_items, part, chunk_size
    )


def evaluate_next_item(
    split,
    model,
    part: str = "valid",
    max_len: int = 200,
    k: int | Sequence[int] = 10,
    batch_size: int = 256,
    mask_history: bool = True,
) -> EvalResult:
    """Full-ranking next-item metrics of ``model`` on ``part`` of ``split``.

    Introduced in Chapter 7. :func:`recsys_lib.eval.evaluate_full` of
    :func:`next_item_scorer` against ``split.targets(part)``, with the items of
    ``split.history(part)`` masked.

    Args:
        split: a :class:`~recsys_lib.data.sequences.NextItemSplit`.
        model: a :class:`~recsys_lib.models.SequentialRecommender`.
        part: ``"valid"`` or ``"test"``.
        max_len: the model's input length.
        k: cut-off(s).
        batch_size: users scored at once.
        mask_history: mask the items before the target (the book's default);
            ``False`` ranks every item (as RecBole does for sequential models,
            where repeats are allowed).
    """
    targets = split.targets(part)
    if mask_history:
        history = split.history(part)
    else:  # nothing to mask
        history = pd.DataFrame({USER_COL: [], ITEM_COL: []}, dtype=np.int64)
    return evaluate_full(
        next_item_scorer(split, model, part, max_len),
        history,
        targets,
        k=k,
        users=targets[USER_COL].to_numpy(),
        batch_size=batch_size,
        n_items=split.n_items,
    )
