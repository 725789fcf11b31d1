"""Exercises of Chapter 2 -- Data collection and preprocessing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from ..data import QualityReport, k_core_filter, leave_last_out
from . import Exercise, NotYet, register


def _as_int(answer, what: str) -> int:
    if isinstance(answer, bool):
        raise NotYet(f"the answer is {what} (an int), not a bool")
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet(f"the answer is {what} (an int)") from err
    if not value.is_integer():
        raise NotYet(f"the answer is {what}, a whole number")
    return int(value)


def _small_log(seed: int, n_users: int = 60, n_items: int = 40, n_rows: int = 420):
    """A small, skewed interaction log with unique (user, item) pairs."""
    rng = np.random.default_rng(seed)
    user_p = rng.dirichlet(np.full(n_users, 0.6))
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.9
    item_p /= item_p.sum()
    users = rng.choice(n_users, size=3 * n_rows, p=user_p)
    items = rng.choice(n_items, size=3 * n_rows, p=item_p)
    df = pd.DataFrame({USER_COL: users + 1, ITEM_COL: items + 1})
    df = df.drop_duplicates().head(n_rows).reset_index(drop=True)
    df[TIMESTAMP_COL] = np.sort(rng.choice(10**6, size=len(df), replace=False))
    return df


# ---------------------------------------------------------------- ch02.ex1


def _one_pass_removed(df, k):
    u = df.groupby(USER_COL)[USER_COL].transform("size")
    i = df.groupby(ITEM_COL)[ITEM_COL].transform("size")
    return int((~((u >= k) & (i >= k))).sum())


def check_ex1(answer, df):
    value = _as_int(answer, "a number of rows")
    expected = solution_ex1(df)
    if value == expected:
        return f"{expected:,} of {len(df):,} rows removed"
    if value == _one_pass_removed(df, 5):
        raise NotYet(
            "one pass is not enough: removing rare items pushes some users below 5 "
            "(and vice versa); repeat until nothing changes"
        )
    if value == len(df) - expected:
        raise NotYet(
            "that is the number of rows that remain; the question asks how many are removed"
        )
    raise NotYet(
        "keep only rows whose user has >= 5 rows and whose item has >= 5 rows, "
        "repeat until stable, then compare the row counts"
    )


def solution_ex1(df):
    report = QualityReport("5-core")  # collect the notes instead of printing them
    core = k_core_filter(df, user_k=5, item_k=5, report=report)
    return len(df) - len(core)


def context_ex1():
    return {"df": _small_log(seed=3)}


register(
    Exercise(
        id="ch02.ex1",
        title="rows removed by a 5-core filter",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(
            lambda df: _one_pass_removed(df, 5),
            lambda df: len(df) - solution_ex1(df),
            lambda df: "many",
        ),
        example_context=context_ex1,
    )
)

# ---------------------------------------------------------------- ch02.ex2

# Rows deliberately not in time order; user 4 has a single event.
_EX2_FRAME = pd.DataFrame(
    {
        USER_COL: [1, 2, 1, 3, 2, 1, 3, 4, 2, 3],
        ITEM_COL: [10, 11, 12, 10, 13, 14, 15, 10, 16, 17],
        TIMESTAMP_COL: [50, 20, 90, 30, 10, 70, 80, 40, 60, 5],
    },
    index=pd.RangeIndex(100, 110),
)


def check_ex2(split_fn):
    if not callable(split_fn):
        raise NotYet("the answer is a function leave_one_last(df) -> (train, test)")
    df = _EX2_FRAME.copy()
    try:
        out = split_fn(df.copy())
        train, test = out
    except NotYet:
        raise
    except Exception as err:  # noqa: BLE001 - any failure on good input is a wrong answer
        raise NotYet(f"calling it on a small frame failed: {err!r}") from err
    if not (isinstance(train, pd.DataFrame) and isinstance(test, pd.DataFrame)):
        raise NotYet("return two DataFrames, (train, test)")
    ref = leave_last_out(df, n_valid=0, n_test=1, report=QualityReport())
    train_idx, test_idx = set(train.index), set(test.index)
    if train_idx & test_idx or len(train) + len(test) != len(df):
        raise NotYet(
            "every row must land in exactly one part: keep the index labels, lose no row"
        )
    if test_idx == set(ref.test.index):
        if train_idx != set(ref.train.index):
            raise NotYet("test is right, but train must hold every other row")
        return "the latest event of each user is held out, by time, not by row order"
    latest_by_rows = set(df.groupby(USER_COL).tail(1).index)
    if test_idx - {107} == latest_by_rows - {107}:
        raise NotYet(
            "the rows are not in time order: sort by timestamp before taking the last"
        )
    if 107 in test_idx:
        raise NotYet(
            "user 4 has a single event: keep it in train, so that every test user has history"
        )
    raise NotYet(
        "per user, the event with the largest timestamp goes to test, the rest to train"
    )


def solution_ex2():
    def leave_one_last(df):
        ordered = df.sort_values(TIMESTAMP_COL, kind="stable")
        n_events = ordered.groupby(USER_COL)[USER_COL].transform("size")
        is_last = ordered.groupby(USER_COL).cumcount(ascending=False) == 0
        is_test = is_last & (n_events >= 2)  # single-event users stay in train
        return ordered[~is_test].sort_index(), ordered[is_test].sort_index()

    return leave_one_last


def wrong_ex2_row_order():
    def leave_one_last(df):
        test = df.groupby(USER_COL).tail(1)  # last *row*, not the latest event
        return df.drop(test.index), test

    return leave_one_last


def wrong_ex2_single_users():
    def leave_one_last(df):
        ordered = df.sort_values(TIMESTAMP_COL)
        test = ordered.groupby(USER_COL).tail(1)
        return df.drop(test.index), test

    return leave_one_last


register(
    Exercise(
        id="ch02.ex2",
        title="a leave-last-out split by hand",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_row_order, wrong_ex2_single_users, lambda: 42),
    )
)

# ---------------------------------------------------------------- ch02.ex3


def _frame(rows):
    return pd.DataFrame(rows, columns=[USER_COL, ITEM_COL, TIMESTAMP_COL])


# (name, train, test, leaks?)
_EX3_CASES = (
    (
        "a global temporal split",
        _frame([(1, 1, 10), (2, 2, 20), (1, 3, 30)]),
        _frame([(1, 4, 40), (2, 5, 50)]),
        False,
    ),
    (
        "a random split",
        _frame([(1, 1, 10), (2, 2, 50), (1, 3, 30)]),
        _frame([(1, 4, 20), (2, 5, 40)]),
        True,
    ),
    (
        "a leave-last-out split (each user's own history is in the past)",
        _frame([(1, 1, 10), (1, 2, 20), (2, 3, 60), (2, 4, 70)]),
        _frame([(1, 5, 30), (2, 6, 80)]),
        True,
    ),
    (
        "a temporal split whose test user has no training history at all",
        _frame([(1, 1, 10), (1, 2, 20)]),
        _frame([(3, 5, 30)]),
        False,
    ),
)


def check_ex3(leaks_future):
    if not callable(leaks_future):
        raise NotYet("the answer is a function leaks_future(train, test) -> bool")
    for name, train, test, truth in _EX3_CASES:
        try:
            got = leaks_future(train.copy(), test.copy())
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed on {name}: {err!r}") from err
        if not isinstance(got, bool | np.bool_):
            raise NotYet("return True or False")
        if bool(got) != truth:
            hint = (
                "compare with the global timeline, not user by user: another user's later "
                "events in train leak future popularity"
                if truth
                else "a split that respects one global cutoff does not leak"
            )
            raise NotYet(f"wrong on {name} (expected {truth}); {hint}")
    return "random and leave-last-out splits both train on the future"


def solution_ex3():
    def leaks_future(train, test):
        return bool(train[TIMESTAMP_COL].max() > test[TIMESTAMP_COL].min())

    return leaks_future


def wrong_ex3_per_user():
    def leaks_future(train, test):
        last_train = train.groupby(USER_COL)[TIMESTAMP_COL].max()
        first_test = test.groupby(USER_COL)[TIMESTAMP_COL].min()
        both = last_train.index.intersection(first_test.index)
        return bool((last_train[both] > first_test[both]).any())

    return leaks_future


register(
    Exercise(
        id="ch02.ex3",
        title="which splits train on the future",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            wrong_ex3_per_user,
            lambda: lambda train, test: True,
            lambda: (
                lambda train, test: bool(
                    train[TIMESTAMP_COL].mean() > test[TIMESTAMP_COL].mean()
                )
            ),
        ),
    )
)

# ---------------------------------------------------------------- ch02.ex4


def check_ex4(answer, df):
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("the answer is one number between 0 and 1") from err
    expected = solution_ex4(df)
    if abs(value - expected) < 1e-9:
        return f"density = {expected:.4f}, sparsity = {1 - expected:.4f}"
    n_u, n_i = df[USER_COL].nunique(), df[ITEM_COL].nunique()
    if abs(value - len(df) / (n_u * n_i)) < 1e-9:
        raise NotYet(
            "a repeated (user, item) pair fills one cell of the matrix, not two"
        )
    if abs(value - (1 - expected)) < 1e-9:
        raise NotYet(
            "that is the sparsity (empty share); the density is the filled share"
        )
    raise NotYet(
        "count distinct (user, item) pairs and divide by (distinct users) x (distinct items)"
    )


def solution_ex4(df):
    n_pairs = len(df[[USER_COL, ITEM_COL]].drop_duplicates())
    return n_pairs / (df[USER_COL].nunique() * df[ITEM_COL].nunique())


def context_ex4():
    df = _small_log(seed=4)
    repeats = df.sample(60, random_state=0)  # the same pair seen again later
    return {"df": pd.concat([df, repeats], ignore_index=True)}


register(
    Exercise(
        id="ch02.ex4",
        title="the density of the interaction matrix",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda df: len(df) / (df[USER_COL].nunique() * df[ITEM_COL].nunique()),
            lambda df: len(df) / ((df[USER_COL].max() + 1) * (df[ITEM_COL].max() + 1)),
            lambda df: 1 - solution_ex4(df),
        ),
        example_context=context_ex4,
    )
)
