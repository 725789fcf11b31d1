"""User histories as sequences: next-item splits, padding and fast training batches.

Introduced in Chapter 7 ("Sequence models and the Transformer ranker").

Conventions (shared with :mod:`recsys_lib.models`):

* item ids are the library's 0-based contiguous ids ``0..n_items-1``;
* the padding id is ``n_items`` (one past the last item), so no real item
  is shifted and the output layers, which cover ``0..n_items-1`` only, can
  never predict padding;
* sequences are **left-padded**: the newest item is always the last column,
  which is where :meth:`~recsys_lib.models.SASRec.score_last` reads.

The next-item protocol (:func:`next_item_split`, as in SASRec and most
sequential papers) keeps, for each user with at least 3 events, the last item
as the test target and the one before as the validation target; the model
trains on the rest. Validation inputs are the training sequence; test inputs
add the validation item.

Training is the key to speed: :class:`NextItemBatches` (a ``DataLoader``)
turns each training sequence ``s`` into one row with inputs ``s[:-1]`` and
targets ``s[1:]``, so one forward pass trains *every* position at once (a
causal model at position ``t`` sees only ``s[:t+1]``). The alternative -- one
training example per prefix -- does the same work ``T`` times over.

The model-facing pieces live with the models: the loss of a next-item batch is
:func:`recsys_lib.models.losses.next_item_loss_fn`, and
:meth:`NextItemSplit.scorer` wraps a trained sequential model as a
:class:`recsys_lib.models.NextItemScorer`, which every evaluation protocol,
retriever and serving function accepts like any other recommender.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from ..checks import check_id_array, check_int
from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from .frames import check_frame, require_columns, time_order
from .loaders import BucketBatchSampler

__all__ = [
    "NextItemBatch",
    "NextItemBatches",
    "NextItemDataset",
    "NextItemSplit",
    "UserSequences",
    "build_sequences",
    "next_item_split",
    "pad_sequences",
]

PARTS = ("valid", "test")


# ---------------------------------------------------------------- sequences
@dataclass
class UserSequences:
    """Every user's items in time order. Introduced in Chapter 7.

    Attributes:
        sequences: list of ``n_users`` int64 arrays; ``sequences[u]`` holds
            user ``u``'s item ids, oldest first (possibly empty).
        n_users, n_items: id ranges.
    """

    sequences: list[np.ndarray] = field(repr=False)
    n_users: int
    n_items: int

    @property
    def pad_id(self) -> int:
        """The padding id, ``n_items``."""
        return self.n_items

    @property
    def lengths(self) -> np.ndarray:
        """int64 ``(n_users,)``: events per user."""
        return np.array([s.size for s in self.sequences], dtype=np.int64)


def build_sequences(
    df: pd.DataFrame,
    n_users: int | None = None,
    n_items: int | None = None,
    *,
    time_col: str | None = TIMESTAMP_COL,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
) -> UserSequences:
    """Group interactions into per-user, time-ordered item sequences.

    Introduced in Chapter 7. Ties in time keep the input row order (a stable
    sort, the rule of :mod:`recsys_lib.data.splits`); with ``time_col=None`` the
    row order is the time order. Repeated items stay (a user may buy again).

    Args:
        df: interactions with integer ``user_id``/``item_id`` (0-based,
            contiguous) and a timestamp column.
        n_users, n_items: id ranges; default ``max id + 1``.
        time_col, user_col, item_col: column names.

    Returns:
        A :class:`UserSequences`.

    Raises:
        TypeError, ValueError: for a non-DataFrame or empty frame, missing
            columns, non-integer or negative ids, ids out of range, or a bad
            time column.
    """
    fn = "build_sequences"
    check_frame(df, fn)
    require_columns(df, [user_col, item_col], fn)
    users = check_id_array(df[user_col].to_numpy(), user_col, where=fn)
    items = check_id_array(df[item_col].to_numpy(), item_col, where=fn)
    n_users = (
        int(users.max()) + 1
        if n_users is None
        else check_int(n_users, "n_users", low=1, where=fn)
    )
    n_items = (
        int(items.max()) + 1
        if n_items is None
        else check_int(n_items, "n_items", low=1, where=fn)
    )
    for ids, size, what in ((users, n_users, "user"), (items, n_items, "item")):
        if ids.max() >= size:
            raise ValueError(
                f"{fn}: {what} id {int(ids.max())} is out of range for "
                f"n_{what}s={size}; "
                f"map ids to 0..n_{what}s-1 first"
            )
    order = time_order(df, time_col, fn)
    order = order[np.argsort(users[order], kind="stable")]  # by user, then time
    counts = np.bincount(users, minlength=n_users)
    seqs = np.split(items[order], np.cumsum(counts)[:-1])
    return UserSequences([s.astype(np.int64) for s in seqs], n_users, n_items)


def pad_sequences(
    seqs: Sequence[np.ndarray],
    max_len: int,
    pad_id: int,
    width: int | None = None,
) -> torch.Tensor:
    """Left-pad sequences into one ``(B, W)`` int64 tensor, keeping the newest items.

    Introduced in Chapter 7.

    Args:
        seqs: ``B`` non-empty 1-D integer arrays (oldest first).
        max_len: keep at most the last ``max_len`` items of each.
        pad_id: the padding id (``n_items``).
        width: number of columns; default ``min(max_len, longest)`` -- no
            column of padding only, which saves work in attention.

    Returns:
        int64 ``(B, W)``; row ``b`` is ``[pad, ..., pad, seqs[b][-W:]]``.

    Raises:
        ValueError: for an empty list, an empty sequence (named by index),
            or ``width > max_len``.
    """
    max_len = check_int(max_len, "max_len", low=1)
    if len(seqs) == 0:
        raise ValueError("pad_sequences: no sequences given")
    lengths = np.array([len(s) for s in seqs])
    if (lengths == 0).any():
        raise ValueError(
            f"pad_sequences: sequence {int(np.flatnonzero(lengths == 0)[0])} is empty; "
            "a model needs at least one item to read"
        )
    if width is None:
        width = int(min(max_len, lengths.max()))
    elif check_int(width, "width", low=1) > max_len:
        raise ValueError(f"width={width} is larger than max_len={max_len}")
    out = np.full((len(seqs), width), pad_id, dtype=np.int64)
    for row, s in enumerate(seqs):
        tail = np.asarray(s)[-width:]
        out[row, width - tail.size :] = tail
    return torch.from_numpy(out)


# ---------------------------------------------------------------- training batches
class NextItemBatch(NamedTuple):
    """One training batch. Introduced in Chapter 7.

    Attributes:
        users: int64 ``(B,)`` user ids.
        inputs: int64 ``(B, T)`` left-padded items ``s[:-1]``.
        targets: int64 ``(B, T)`` the next items ``s[1:]``; the padding id
            where ``inputs`` is padding (those positions carry no loss).
    """

    users: torch.Tensor
    inputs: torch.Tensor
    targets: torch.Tensor


class NextItemDataset(Dataset):
    """All-positions next-item rows, indexed a batch at a time. Introduced in Chapter 7.

    Each user with at least 2 training items gives one row: of the last
    ``max_len + 1`` items ``s``, inputs ``s[:-1]`` and targets ``s[1:]``,
    left-padded to ``max_len``. The padded rows are built once;
    ``dataset[idx]`` (an int64 tensor of row positions) slices them into a
    :class:`NextItemBatch` trimmed to its longest row, so loading costs
    nothing next to the model.

    Args:
        sequences: per-user training sequences (``NextItemSplit.train``).
        n_items: catalog size (padding id ``n_items``).
        max_len: positions per row (the model's ``max_len``).

    Attributes:
        users: int64 ``(U,)`` the user of each row.
        inputs, targets: int64 ``(U, max_len)``.
        lengths: int64 ``(U,)`` real (not padded) positions of each row.
    """

    def __init__(
        self, sequences: Sequence[np.ndarray], n_items: int, max_len: int
    ) -> None:
        self.n_items = check_int(n_items, "n_items", low=1)
        self.max_len = check_int(max_len, "max_len", low=1)
        users = [u for u, s in enumerate(sequences) if len(s) >= 2]
        if not users:
            raise ValueError(
                "no user has 2 or more training items: "
                "nothing to learn a next item from"
            )
        rows = [np.asarray(sequences[u])[-(self.max_len + 1) :] for u in users]
        for r in rows:
            if r.min() < 0 or r.max() >= n_items:
                raise ValueError(
                    f"training sequences hold item ids outside [0, {n_items})"
                )
        self.users = torch.tensor(users, dtype=torch.int64)  # (U,)
        self.inputs = pad_sequences(
            [r[:-1] for r in rows], max_len, n_items, width=max_len
        )
        self.targets = pad_sequences(
            [r[1:] for r in rows], max_len, n_items, width=max_len
        )
        self.lengths = torch.tensor([r.size - 1 for r in rows])  # (U,) real positions

    def __len__(self) -> int:
        return self.users.numel()

    @property
    def n_positions(self) -> int:
        """Training targets per epoch (real, not padded, positions)."""
        return int(self.lengths.sum())

    def __getitem__(self, idx) -> NextItemBatch:
        idx = torch.as_tensor(idx)
        width = int(self.lengths[idx].max())
        return NextItemBatch(
            self.users[idx],
            self.inputs[idx, -width:],  # (B, T)
            self.targets[idx, -width:],  # (B, T)
        )


class NextItemBatches(DataLoader):
    """The ``DataLoader`` of next-item training batches. Introduced in Chapter 7.

    Re-iterable: each pass is one epoch of :class:`NextItemBatch` es over a
    :class:`NextItemDataset`, in an order drawn by a
    :class:`~recsys_lib.data.loaders.BucketBatchSampler` from its own seeded
    ``torch.Generator``. With ``sort_by_length`` (default), each epoch
    shuffles the users, sorts each window of ``bucket_batches`` batches by
    length and shuffles the batch order; every batch is then trimmed to its
    longest row. Rows of similar length travel together, so far less
    attention is spent on padding; the shuffle keeps the batches different
    from epoch to epoch.

    Args:
        sequences: per-user training sequences (``NextItemSplit.train``).
        n_items: catalog size (padding id ``n_items``).
        max_len: positions per row (the model's ``max_len``).
        batch_size: users per batch.
        seed: seed of the batch order (and of the loader's worker seeds).
        sort_by_length: bucket rows by length (see above).
        bucket_batches: batches per sorting window.
        drop_last: drop a last, smaller batch.
        num_workers: loader processes; 0 (default) is fastest on a CPU, see
            :mod:`recsys_lib.data.loaders`.
    """

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        n_items: int,
        max_len: int,
        batch_size: int = 128,
        seed: int = 0,
        sort_by_length: bool = True,
        bucket_batches: int = 4,
        drop_last: bool = False,
        num_workers: int = 0,
    ) -> None:
        seed = check_int(seed, "seed", low=0)
        dataset = NextItemDataset(sequences, n_items, max_len)
        order = BucketBatchSampler(
            dataset.lengths,
            batch_size,
            torch.Generator().manual_seed(seed),
            sort_by_length=sort_by_length,
            bucket_batches=bucket_batches,
            drop_last=drop_last,
        )
        super().__init__(
            dataset,
            sampler=order,
            batch_size=None,  # the sampler yields whole batches of rows
            num_workers=check_int(num_workers, "num_workers", low=0),
            generator=torch.Generator().manual_seed(seed),  # never the global one
        )

    @property
    def n_positions(self) -> int:
        """Training targets per epoch (real, not padded, positions)."""
        return self.dataset.n_positions

    @property
    def n_items(self) -> int:
        return self.dataset.n_items

    @property
    def max_len(self) -> int:
        return self.dataset.max_len


# ---------------------------------------------------------------- next-item split
@dataclass
class NextItemSplit:
    """Leave-last-out next-item split of user sequences. Introduced in Chapter 7.

    Attributes:
        sequences: the full :class:`UserSequences`.
        train: list of ``n_users`` arrays: each user's sequence without its
            last two items (users with fewer than ``min_len`` events keep all
            of them here and have no valid/test target).
        valid_users, valid_targets: int64 ``(n_eval,)``: the second-to-last item.
        test_users, test_targets: int64 ``(n_eval,)``: the last item.
    """

    sequences: UserSequences = field(repr=False)
    train: list[np.ndarray] = field(repr=False)
    valid_users: np.ndarray = field(repr=False)
    valid_targets: np.ndarray = field(repr=False)
    test_users: np.ndarray = field(repr=False)
    test_targets: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        n_train = sum(s.size for s in self.train)
        return (
            f"NextItemSplit(users={self.n_users}, items={self.n_items}, "
            f"train events={n_train}, valid={self.valid_users.size}, "
            f"test={self.test_users.size})"
        )

    @property
    def n_users(self) -> int:
        return self.sequences.n_users

    @property
    def n_items(self) -> int:
        return self.sequences.n_items

    @property
    def pad_id(self) -> int:
        return self.sequences.n_items

    def _part(self, part: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Users, targets and how many items the input drops from the end."""
        if part == "valid":
            return self.valid_users, self.valid_targets, 2
        if part == "test":
            return self.test_users, self.test_targets, 1
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")

    def input_sequences(self, part: str) -> list[np.ndarray]:
        """Per-user model inputs of ``part`` (valid: ``s[:-2]``; test: ``s[:-1]``)."""
        users, _, drop = self._part(part)
        return [self.sequences.sequences[u][:-drop] for u in users]

    def inputs(self, part: str, max_len: int) -> tuple[np.ndarray, torch.Tensor]:
        """``(users (n_eval,), seq (n_eval, W))`` left-padded inputs of ``part``."""
        users, _, _ = self._part(part)
        return users, pad_sequences(self.input_sequences(part), max_len, self.pad_id)

    def history(self, part: str) -> pd.DataFrame:
        """Interactions before the target of ``part`` (``user_id``, ``item_id``).

        Pass them as ``train`` to :func:`recsys_lib.eval.evaluate_full`
        so that items the user already saw are not recommended again. A user
        who re-consumes the target item makes ``evaluate_full`` refuse the
        split; keep repeats out, or score without masking.
        """
        users, _, drop = self._part(part)
        seqs = self.sequences.sequences
        if part == "valid":  # every user's training items
            users = np.arange(self.n_users)
            items = [self.train[u] for u in users]
        else:
            items = [seqs[u][:-drop] for u in users]
        return pd.DataFrame(
            {
                USER_COL: np.repeat(users, [len(s) for s in items]).astype(np.int64),
                ITEM_COL: np.concatenate(items).astype(np.int64)
                if items
                else np.empty(0, np.int64),
            }
        )

    def targets(self, part: str) -> pd.DataFrame:
        """The held-out next items of ``part`` (``user_id``, ``item_id``)."""
        users, targets, _ = self._part(part)
        return pd.DataFrame({USER_COL: users, ITEM_COL: targets})

    def train_frame(self) -> pd.DataFrame:
        """All training interactions (e.g. the positives of a NegativeSampler)."""
        return self.history("valid")

    def train_batches(
        self, max_len: int, batch_size: int = 128, seed: int = 0, **kwargs
    ) -> NextItemBatches:
        """A :class:`NextItemBatches` loader over the training sequences."""
        return NextItemBatches(
            self.train, self.n_items, max_len, batch_size, seed, **kwargs
        )


def next_item_split(
    data: pd.DataFrame | UserSequences,
    n_users: int | None = None,
    n_items: int | None = None,
    min_len: int = 3,
    **columns,
) -> NextItemSplit:
    """Leave-last-out next-item split (SASRec's protocol).

    Introduced in Chapter 7. For a user with ``n >= min_len`` events
    ``s_1..s_n`` in time order: train on ``s_1..s_{n-2}``, validate on
    predicting ``s_{n-1}`` from them, test on predicting ``s_n`` from
    ``s_1..s_{n-1}``. Users with fewer events stay wholly in train.

    It orders events as :func:`recsys_lib.data.splits.leave_last_out` does
    (stable time order, shared through :func:`~recsys_lib.data.frames.time_order`)
    but is not that function on frames: there, a user with ``min_len - 1``
    events would get a test event without a validation event, whereas here
    every evaluated user has both, so the validation and test users are the
    same (as the sequential papers evaluate); and the result is a model's
    input sequences, not three frames.

    Args:
        data: interactions (see :func:`build_sequences`) or ready sequences.
        n_users, n_items: id ranges (for a DataFrame).
        min_len: events a user needs to get valid/test targets (>= 3).
        **columns: ``time_col``/``user_col``/``item_col`` for :func:`build_sequences`.

    Raises:
        ValueError: if no user has ``min_len`` events.
    """
    min_len = check_int(min_len, "min_len", low=3)
    if isinstance(data, UserSequences):
        seqs = data
    else:
        seqs = build_sequences(data, n_users, n_items, **columns)
    lengths = seqs.lengths
    eligible = np.flatnonzero(lengths >= min_len)
    if eligible.size == 0:
        raise ValueError(
            f"no user has min_len={min_len} events (the longest history has "
            f"{int(lengths.max())}); nothing to validate or test on"
        )
    train = [s[:-2] if s.size >= min_len else s for s in seqs.sequences]
    return NextItemSplit(
        sequences=seqs,
        train=train,
        valid_users=eligible.astype(np.int64),
        valid_targets=np.array(
            [seqs.sequences[u][-2] for u in eligible], dtype=np.int64
        ),
        test_users=eligible.astype(np.int64),
        test_targets=np.array(
            [seqs.sequences[u][-1] for u in eligible], dtype=np.int64
        ),
    )
