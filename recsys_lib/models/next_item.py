"""A trained sequential model as a recommender: next-item scores per user.

Introduced in Chapter 7 ("Sequence models and the Transformer ranker").
A :class:`~recsys_lib.models.SequentialRecommender` reads item sequences
(``score_last(seq)``), while evaluation, retrieval and serving ask for users
(``score(user_ids)``). :class:`NextItemScorer` bridges the two for one part of
a next-item split: it holds every user's left-padded input sequence and scores
a user by reading it. Build it with :func:`next_item_scorer`, and evaluate a
model on a :class:`~recsys_lib.data.sequences.NextItemSplit` with
:func:`evaluate_next_item`.

Chapter 9 adds :class:`SASRecRecommender`, SASRec behind the recommender
protocol of every other model (``fit(train, n_users, n_items)`` on an
interactions frame, ``score(user_ids)``), so that the same tuning
``Objective``, ensembles and evaluation take it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..checks import check_id_array, check_int, check_number
from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from ..data.sequences import NextItemBatches, build_sequences, pad_sequences
from ..eval import EvalResult, evaluate_full
from ..training import History, fit
from .base import Estimator, RecommendMixin, SequentialRecommender
from .losses import next_item_loss_fn
from .sasrec import SASRec, SASRecConfig

__all__ = [
    "NextItemScorer",
    "SASRecRecommender",
    "evaluate_next_item",
    "next_item_scorer",
]


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


class SASRecRecommender(Estimator):
    """SASRec (Chapter 7) as a recommender: fit on interactions, score each user's next item.

    Introduced in Chapter 9, so that one tuning ``Objective``, the ensembles
    and :func:`~recsys_lib.eval.evaluate_full` take SASRec like any other
    model. ``fit`` reads each user's training items in time order (by the
    ``timestamp`` column; without one, in row order), trains a one-block
    :class:`~recsys_lib.models.SASRec` with the full softmax cross-entropy of
    :func:`~recsys_lib.models.losses.next_item_loss_fn` and Adam, and
    ``score(user_ids)`` returns the next-item logits after each user's whole
    training sequence (its last ``max_len`` items).

    Args:
        dim: embedding size.
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty on all weights.
        dropout: dropout rate of the SASRec block.
        epochs: maximum number of epochs.
        patience: with ``valid`` given to :meth:`fit`, stop after this many
            epochs without improvement of validation NDCG@10 and keep the best
            epoch's weights; ``None`` trains every epoch (still keeping the
            best validation epoch's weights when ``valid`` is given).
        max_len: the input length (the newest ``max_len`` items are read).
        batch_size: sequences per training batch.
        seed: seeds the initial weights and the batch order (the global torch
            random state is left as it was).
        log_dir: optional TensorBoard directory for :func:`recsys_lib.training.fit`.

    Attributes:
        model: the trained :class:`~recsys_lib.models.SASRec` (after :meth:`fit`).
        history: the :class:`~recsys_lib.training.History` of the fit.
        sequences: each user's training items, oldest first.
    """

    def __init__(
        self,
        dim: int = 32,
        lr: float = 5e-3,
        weight_decay: float = 0.0,
        dropout: float = 0.2,
        epochs: int = 10,
        patience: int | None = 3,
        max_len: int = 50,
        batch_size: int = 64,
        seed: int = 0,
        log_dir=None,
    ) -> None:
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        self.lr = check_number(lr, "lr", low=0.0, low_open=True)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        self.dropout = check_number(
            dropout, "dropout", low=0.0, high=1.0, high_open=True
        )
        self.epochs = check_int(epochs, "epochs", low=1)
        self.patience = (
            None if patience is None else check_int(patience, "patience", low=1)
        )
        self.max_len = check_int(max_len, "max_len", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.seed = check_int(seed, "seed", low=0)
        self.log_dir = log_dir
        self.model: SASRec | None = None
        self.history: History | None = None
        self.sequences: list[np.ndarray] | None = None
        self._train: pd.DataFrame | None = None
        self._valid: pd.DataFrame | None = None

    def fit(
        self,
        train: pd.DataFrame,
        n_users: int,
        n_items: int,
        valid: pd.DataFrame | None = None,
    ) -> SASRecRecommender:
        """Train on ``train`` (time-ordered per user); returns ``self``.

        Args:
            train, n_users, n_items: as in
                :meth:`Estimator.fit <recsys_lib.models.base.Estimator.fit>`;
                a ``timestamp`` column orders each user's items (row order
                otherwise).
            valid: optional validation interactions (the item that follows
                each user's training sequence); if given, NDCG@10 (full
                ranking, train items masked) is tracked per epoch for early
                stopping.

        Raises:
            TypeError, ValueError: for bad interactions (see
                :func:`~recsys_lib.models.base.check_interactions`), or if no
                user has two training items (nothing to learn a next item from).
        """
        self._train, self._valid = train, valid
        try:
            return super().fit(train, n_users, n_items)
        finally:
            self._train = self._valid = None

    def _fit(self, X) -> None:
        n_users, n_items = X.shape
        train = self._train
        time_col = TIMESTAMP_COL if TIMESTAMP_COL in train.columns else None
        self.sequences = build_sequences(
            train, n_users, n_items, time_col=time_col
        ).sequences
        rows = [s for s in self.sequences if len(s) > 1]
        if not rows:
            raise ValueError(
                "train has no user with 2 or more items: SASRec learns the next "
                "item from a sequence and has nothing to learn from"
            )
        valid = self._valid
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            cfg = SASRecConfig(
                n_items=n_items,
                max_len=self.max_len,
                dim=self.dim,
                n_layers=1,
                n_heads=1,
                dropout=self.dropout,
            )
            self.model = SASRec(cfg)
            loader = NextItemBatches(
                rows, n_items, self.max_len, batch_size=self.batch_size, seed=self.seed
            )
            opt = torch.optim.Adam(
                self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
            val_fn = None
            if valid is not None:  # the validation item follows the training sequence

                def val_fn(net) -> float:
                    return evaluate_full(self, X, valid, k=10, n_items=n_items)[
                        "ndcg@10"
                    ]

            self.history = fit(
                self.model,
                loader,
                next_item_loss_fn("ce"),
                opt,
                epochs=self.epochs,
                val_fn=val_fn,
                monitor="max",
                patience=self.patience if valid is not None else None,
                log_dir=self.log_dir,
                show_progress=False,
            )

    def _score(self, users: np.ndarray) -> torch.Tensor:
        empty = [int(u) for u in users if len(self.sequences[u]) == 0]
        if empty:
            raise ValueError(
                f"user {empty[0]} has no training item, so SASRec has no sequence "
                "to read; score only users with a training history"
            )
        if users.size == 0:
            return torch.empty(0, self.n_items)
        seqs = pad_sequences(
            [self.sequences[u] for u in users], self.max_len, self.n_items
        )
        return self.model.score_last(seqs).float()  # (B, n_items)
