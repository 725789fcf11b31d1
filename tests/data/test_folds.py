"""Cross-validation folds of Chapter 9: time folds never train on the future."""

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data import Fold, Split, random_folds, time_folds


def _events(n=600, n_times=90, seed=0):
    """Interactions with many ties in time (n_times distinct timestamps), shuffled."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            USER_COL: rng.integers(0, 40, n),
            ITEM_COL: rng.integers(0, 30, n),
            TIMESTAMP_COL: rng.integers(0, n_times, n) * 1000,
        },
        index=rng.permutation(n) + 10,  # index labels are kept, not positions
    )


@pytest.mark.parametrize("window", ["expanding", "rolling"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_folds, train_blocks", [(1, 1), (3, 1), (4, 2), (6, 3)])
def test_no_training_event_is_later_than_a_test_event(
    window, seed, n_folds, train_blocks
):
    df = _events(seed=seed)
    folds = time_folds(df, n_folds, window=window, train_blocks=train_blocks)
    assert len(folds) == n_folds and [f.index for f in folds] == list(range(n_folds))
    for fold in folds:
        train_t, test_t = fold.train[TIMESTAMP_COL], fold.test[TIMESTAMP_COL]
        assert len(fold.train) and len(fold.test)
        assert train_t.max() < test_t.min()  # strictly: ties never straddle
        assert (fold.test_start, fold.test_end) == (test_t.min(), test_t.max())
        assert fold.train.index.isin(df.index).all()
        assert not fold.train.index.isin(fold.test.index).any()
    # the test blocks are consecutive, disjoint and in time order
    for a, b in zip(folds, folds[1:], strict=False):
        assert a.test[TIMESTAMP_COL].max() < b.test[TIMESTAMP_COL].min()
    if window == "expanding":  # training data grows: all events before the test block
        for fold in folds:
            before = df[df[TIMESTAMP_COL] < fold.test_start]
            assert fold.train.index.sort_values().equals(before.index.sort_values())
    else:  # rolling: a window of train_blocks blocks, the same first fold
        expanding = time_folds(df, n_folds, train_blocks=train_blocks)
        assert folds[0].train.equals(expanding[0].train)
        for fold, prev in zip(folds[1:], folds, strict=False):
            assert fold.train[TIMESTAMP_COL].min() > prev.train[TIMESTAMP_COL].min()


def test_blocks_have_about_equal_sizes_and_datetimes_work():
    n = 1000
    df = pd.DataFrame(
        {
            USER_COL: np.arange(n) % 7,
            ITEM_COL: np.arange(n) % 11,
            TIMESTAMP_COL: pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )
    folds = time_folds(df, 4)
    assert [len(f.test) for f in folds] == [200] * 4
    assert [len(f.train) for f in folds] == [200, 400, 600, 800]
    assert isinstance(folds[0].test_start, np.datetime64 | pd.Timestamp)
    rolling = time_folds(df, 4, window="rolling", train_blocks=1)
    assert [len(f.train) for f in rolling] == [200] * 4
    train, test = folds[1]  # unpacks
    assert len(train) == 400 and len(test) == 200
    split = folds[1].as_split()
    assert isinstance(split, Split) and len(split.valid) == 0
    assert split.summary().loc["test", "rows"] == 200
    assert "Fold(1, expanding: train=400 rows, test=200 rows" in repr(folds[1])


def test_random_folds_test_every_row_once_and_leak_the_future():
    df = _events()
    folds = random_folds(df, 5, seed=3)
    assert all(isinstance(f, Fold) and f.window == "random" for f in folds)
    tested = np.concatenate([f.test.index.to_numpy() for f in folds])
    assert sorted(tested) == sorted(df.index)
    assert {len(f.test) for f in folds} == {120}
    for f in folds:
        assert len(f.train) + len(f.test) == len(df)
        assert f.test_start is None
    # the leak time folds prevent: training events after test events
    assert folds[0].train[TIMESTAMP_COL].max() > folds[0].test[TIMESTAMP_COL].min()
    assert random_folds(df, 5, seed=3)[2].test.equals(folds[2].test)  # seeded
    assert not random_folds(df, 5, seed=4)[2].test.equals(folds[2].test)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda df: time_folds(df, 0), ValueError, "n_folds must be >= 1"),
        (lambda df: time_folds(df, 2.0), TypeError, "n_folds must be an int"),
        (
            lambda df: time_folds(df, window="sliding"),
            ValueError,
            "window must be one of",
        ),
        (
            lambda df: time_folds(df, train_blocks=0),
            ValueError,
            "train_blocks must be >= 1",
        ),
        (
            lambda df: time_folds(df, time_col="time"),
            ValueError,
            "time column 'time' not found",
        ),
        (lambda df: time_folds(df.iloc[:0]), ValueError, "empty"),
        (lambda df: time_folds(df.iloc[:3], 5), ValueError, "cannot fill 6 blocks"),
        (lambda df: time_folds(df.to_numpy()), TypeError, "DataFrame"),
        (
            lambda df: time_folds(df.assign(timestamp=df[TIMESTAMP_COL] % 3000), 5),
            ValueError,
            "share timestamps",
        ),
        (
            lambda df: time_folds(df.assign(timestamp=df[TIMESTAMP_COL].astype(str))),
            TypeError,
            "time column",
        ),
        (lambda df: random_folds(df, 1), ValueError, "n_folds must be >= 2"),
        (lambda df: random_folds(df.iloc[:3], 4), ValueError, "cannot fill 4 folds"),
        (lambda df: random_folds(df, seed=-1), ValueError, "seed must be >= 0"),
        (lambda df: random_folds(df.drop(columns=[ITEM_COL])), ValueError, "not found"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(_events())
