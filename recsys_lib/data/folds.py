"""Cross-validation folds: over time (expanding or rolling windows) and at random.

Introduced in Chapter 9 ("Model optimization"). One validation split gives one
noisy number; several folds show how much a result moves. For a recommender
the folds must respect time: a model is always deployed on the future, so
every fold of :func:`time_folds` trains on events *before* its test events --
no training event is later than any test event of its fold. The timeline is
cut into blocks of about equal event counts; fold ``i`` tests on one block and
trains on

* every earlier block (``window="expanding"``: the training history grows,
  as it does for a model retrained on all data so far), or
* the ``train_blocks`` blocks just before it (``window="rolling"``: a fixed
  amount of recent history, for data whose patterns drift).

:func:`random_folds` is the K-fold cross-validation of textbooks: every row is
tested once, with the other folds (past *and future*) as training data. The
chapter measures how much that leak flatters a recommender.

Events that share a timestamp always land in the same block (the later one),
so the guarantee holds with ties; a block that ties would empty raises an
error instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..checks import check_choice, check_int
from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from .frames import check_frame, check_id_columns, check_time_column, stable_time_order
from .splits import Split

__all__ = ["WINDOWS", "Fold", "random_folds", "time_folds"]

#: The windows of :func:`time_folds`.
WINDOWS = ("expanding", "rolling")


@dataclass(frozen=True, repr=False, eq=False)
class Fold:
    """One fold: training and test interactions. Introduced in Chapter 9.

    Unpacks like a pair (``train, test = fold``).

    Attributes:
        index: 0-based position among the folds.
        train, test: the parts (index labels of the input kept, input order).
        window: ``"expanding"``, ``"rolling"`` or ``"random"``.
        time_col: the timestamp column (``None`` if the input had none).
        test_start, test_end: first and last timestamp of the test block
            (``None`` for random folds).
    """

    index: int
    train: pd.DataFrame
    test: pd.DataFrame
    window: str
    time_col: str | None = TIMESTAMP_COL
    test_start: object = None
    test_end: object = None

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.train, self.test))

    def as_split(self) -> Split:
        """A :class:`~recsys_lib.data.Split` with an empty validation part.

        For its ``summary()`` (sizes, cold users and items per part) and
        ``drop_cold()`` (test rows whose user or item never occurs in train).
        """
        return Split(self.train, self.test.iloc[:0], self.test, time_col=self.time_col)

    def __repr__(self) -> str:
        span = ""
        if self.test_start is not None:
            span = f", test time [{self.test_start}, {self.test_end}]"
        return (
            f"Fold({self.index}, {self.window}: train={len(self.train):,} rows, "
            f"test={len(self.test):,} rows{span})"
        )


def time_folds(
    df: pd.DataFrame,
    n_folds: int = 3,
    *,
    window: str = "expanding",
    train_blocks: int = 1,
    time_col: str = TIMESTAMP_COL,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
) -> list[Fold]:
    """Folds that always train on the past and test on the future.

    Introduced in Chapter 9. The events, in time order, are cut into
    ``train_blocks + n_folds`` consecutive blocks of about equal size (cut at
    timestamps: events that share a timestamp stay in one block). Fold ``i``
    tests on block ``train_blocks + i`` and trains on all earlier blocks
    (``"expanding"``) or on the ``train_blocks`` blocks just before it
    (``"rolling"``); so the first fold is the same for both windows. Every
    training event is strictly earlier than every test event of its fold.

    Args:
        df: interactions with a time column.
        n_folds: number of folds (test blocks), >= 1.
        window: ``"expanding"`` or ``"rolling"``.
        train_blocks: blocks before the first test block; with
            ``"rolling"``, the length of every training window in blocks.
        time_col: the timestamp column (numbers or datetimes, no NaN).
        user_col, item_col: ID columns (checked).

    Returns:
        A list of ``n_folds`` :class:`Fold`, oldest test block first.

    Raises:
        TypeError, ValueError: for a bad frame or column, bad counts, or too
            few distinct timestamps for that many blocks (a block would be
            empty because its events all share a timestamp with the next).
    """
    fn = "time_folds"
    check_frame(df, fn)
    check_id_columns(df, [user_col, item_col], fn)
    check_time_column(df, time_col, fn)
    n_folds = check_int(n_folds, "n_folds", low=1, where=fn)
    check_choice(window, "window", WINDOWS, where=fn)
    train_blocks = check_int(train_blocks, "train_blocks", low=1, where=fn)
    n_blocks = train_blocks + n_folds
    if n_blocks > len(df):
        raise ValueError(
            f"{fn}: {len(df)} rows cannot fill {n_blocks} blocks "
            f"(train_blocks={train_blocks} + n_folds={n_folds})"
        )
    order = stable_time_order(df[time_col])
    times = df[time_col].to_numpy()
    sorted_times = times[order]
    cuts = [sorted_times[round(j * len(df) / n_blocks)] for j in range(1, n_blocks)]
    # block of each row: the number of cut times at or before its timestamp
    block = np.searchsorted(np.asarray(cuts), times, side="right")
    sizes = np.bincount(block, minlength=n_blocks)
    if (sizes == 0).any():
        empty = int(np.flatnonzero(sizes == 0)[0])
        raise ValueError(
            f"{fn}: block {empty} of {n_blocks} is empty: too many events share "
            f"timestamps for {n_blocks} blocks; use fewer folds"
        )
    folds = []
    for i in range(n_folds):
        test_block = train_blocks + i
        first = 0 if window == "expanding" else test_block - train_blocks
        train_rows = (block >= first) & (block < test_block)
        test_rows = block == test_block
        test_times = times[test_rows]
        folds.append(
            Fold(
                index=i,
                train=df[train_rows],
                test=df[test_rows],
                window=window,
                time_col=time_col,
                test_start=test_times.min(),
                test_end=test_times.max(),
            )
        )
    return folds


def random_folds(
    df: pd.DataFrame,
    n_folds: int = 5,
    seed: int = 0,
    *,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    time_col: str | None = TIMESTAMP_COL,
) -> list[Fold]:
    """K-fold cross-validation over rows at random: each row is tested once.

    Introduced in Chapter 9 as the *wrong* way for recommenders: a fold's
    training data holds events from after its test events (see the module
    docstring). Rows are shuffled with ``seed`` and dealt into ``n_folds``
    parts of sizes differing by at most one.

    Args:
        df: interactions.
        n_folds: number of folds, >= 2.
        seed: shuffling seed (>= 0).
        user_col, item_col: ID columns (checked).
        time_col: kept on the folds for their summaries (may be absent).

    Raises:
        TypeError, ValueError: for a bad frame, bad counts or fewer rows than folds.
    """
    fn = "random_folds"
    check_frame(df, fn)
    check_id_columns(df, [user_col, item_col], fn)
    n_folds = check_int(n_folds, "n_folds", low=2, where=fn)
    seed = check_int(seed, "seed", low=0, where=fn)
    if n_folds > len(df):
        raise ValueError(f"{fn}: {len(df)} rows cannot fill {n_folds} folds")
    part = np.empty(len(df), dtype=np.int64)
    for k, rows in enumerate(
        np.array_split(np.random.default_rng(seed).permutation(len(df)), n_folds)
    ):
        part[rows] = k
    time_col = time_col if time_col is not None and time_col in df.columns else None
    return [
        Fold(
            index=k,
            train=df[part != k],
            test=df[part == k],
            window="random",
            time_col=time_col,
        )
        for k in range(n_folds)
    ]
