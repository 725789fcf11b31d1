"""Exercises of Chapter 9 -- Model optimization."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch09.ex1

_PICK_CASES = [
    # (values, tolerance, expected index)
    ([0.050, 0.061, 0.0605, 0.059], 0.0, 1),
    ([0.050, 0.061, 0.0605, 0.059], 0.002, 1),
    ([0.0605, 0.050, 0.061, 0.059], 0.002, 0),  # near-tie: the earlier trial wins
    ([None, 0.040, None, 0.0415], 0.002, 1),  # pruned trials (None) never win
    ([0.03, 0.07, 0.07], 0.0, 1),  # an exact tie: the first
    ([0.02, 0.03, 0.0699, 0.07], 0.0005, 2),
]


def check_ex1(answer):
    if not callable(answer):
        raise NotYet("the answer is a function pick(values, tolerance) -> int")
    for values, tol, expected in _PICK_CASES:
        try:
            got = answer(list(values), tol)
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"it failed on {values}: {err!r}") from err
        if got != expected:
            finite = [v for v in values if v is not None]
            if got == values.index(max(finite)) and tol > 0:
                raise NotYet(
                    f"pick({values}, {tol}) returned {got}, the best trial; with a "
                    "tolerance, the first trial within it of the best must win"
                )
            raise NotYet(
                f"pick({values}, {tol}) returned {got!r}, expected {expected}: keep the "
                "first index whose value is >= max - tolerance, skipping None"
            )
    return "the first trial within the tolerance of the best wins, pruned trials never"


def solution_ex1():
    def pick(values, tolerance):
        finite = [v for v in values if v is not None]
        top = max(finite)
        return next(
            i for i, v in enumerate(values) if v is not None and v >= top - tolerance
        )

    return pick


def wrong_ex1_argmax():
    def pick(values, tolerance):  # ignores the tolerance
        finite = [v if v is not None else -math.inf for v in values]
        return int(np.argmax(finite))

    return pick


def wrong_ex1_last():
    def pick(values, tolerance):  # the last trial within the tolerance
        top = max(v for v in values if v is not None)
        return max(
            i for i, v in enumerate(values) if v is not None and v >= top - tolerance
        )

    return pick


register(
    Exercise(
        id="ch09.ex1",
        title="pick a trial: near-ties go to the earliest",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_argmax, wrong_ex1_last, lambda: 0),
    )
)

# ---------------------------------------------------------------- ch09.ex2

_RRF = 1 / 61 + 1 / 64 + 1 / 70


def check_ex2(answer):
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.floating):
        raise NotYet("the answer is a number")
    value = float(answer)
    if abs(value - _RRF) < 1e-6:
        return f"1/61 + 1/64 + 1/70 = {_RRF:.5f}"
    if abs(value - (1 + 1 / 4 + 1 / 10)) < 1e-6:
        raise NotYet("add k = 60 to every rank before taking the reciprocal")
    if abs(value - (1 / 60 + 1 / 63 + 1 / 69)) < 1e-6:
        raise NotYet("ranks start at 1: the first item contributes 1 / (60 + 1)")
    if abs(value - _RRF / 3) < 1e-6:
        raise NotYet("RRF sums the reciprocal ranks; it does not average them")
    raise NotYet("sum 1 / (60 + rank) over the three models")


def solution_ex2():
    k = 60
    ranks = [1, 4, 10]  # EASE, BPR-MF, SASRec; ranks start at 1
    return sum(1 / (k + r) for r in ranks)


register(
    Exercise(
        id="ch09.ex2",
        title="reciprocal rank fusion by hand",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(
            lambda: 1 + 1 / 4 + 1 / 10,
            lambda: 1 / 60 + 1 / 63 + 1 / 69,
            lambda: (1 / 61 + 1 / 64 + 1 / 70) / 3,
        ),
    )
)

# ---------------------------------------------------------------- ch09.ex3


def _reference_future_share(train, test):
    last = train.groupby("user_id")["timestamp"].max()
    later = test["user_id"].map(last).to_numpy()
    return float(np.mean(test["timestamp"].to_numpy() < later))


def _fold_cases():
    rng = np.random.default_rng(9)
    n = 400
    log = pd.DataFrame(
        {
            "user_id": rng.integers(0, 30, n),
            "item_id": rng.integers(0, 50, n),
            "timestamp": np.sort(rng.integers(0, 1_000, n)),
        }
    )
    part = rng.permutation(n) % 4
    random_fold = (log[part != 0], log[part == 0])
    cut = log["timestamp"].iloc[300]
    time_fold = (log[log["timestamp"] < cut], log[log["timestamp"] >= cut])
    ties = pd.DataFrame(
        {"user_id": [0, 0, 1], "item_id": [1, 2, 3], "timestamp": [5, 7, 7]}
    )
    tie_fold = (ties.iloc[[0, 1]], pd.DataFrame(ties.iloc[[2]]).assign(user_id=0))
    return [random_fold, time_fold, tie_fold]


def check_ex3(answer):
    if not callable(answer):
        raise NotYet("the answer is a function future_share(train, test) -> float")
    for k, (train, test) in enumerate(_fold_cases()):
        expected = _reference_future_share(train, test)
        try:
            got = float(answer(train.copy(), test.copy()))
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed on case {k}: {err!r}") from err
        if abs(got - expected) > 1e-9:
            if k == 2:
                raise NotYet(
                    "a training event at the same timestamp is not later: use a "
                    "strict comparison"
                )
            if k == 1 and got > 0:
                raise NotYet("compare with the same user's training events only")
            raise NotYet(
                "for each test row, look up its user's latest training timestamp; "
                "the row sees the future if that is strictly later than its own"
            )
    train, test = _fold_cases()[0]
    return f"a random 4-fold split: {_reference_future_share(train, test):.0%} of test rows see the future"


def solution_ex3():
    def future_share(train, test):
        last = train.groupby("user_id")[
            "timestamp"
        ].max()  # latest training event per user
        later = (
            test["user_id"].map(last).to_numpy()
        )  # NaN for users without training rows
        return float(np.mean(test["timestamp"].to_numpy() < later))

    return future_share


def wrong_ex3_any_user():
    def future_share(train, test):  # compares with every user's events
        return float(np.mean(test["timestamp"].to_numpy() < train["timestamp"].max()))

    return future_share


def wrong_ex3_not_strict():
    def future_share(train, test):
        last = train.groupby("user_id")["timestamp"].max()
        return float(np.mean(test["timestamp"].to_numpy() <= test["user_id"].map(last)))

    return future_share


register(
    Exercise(
        id="ch09.ex3",
        title="how much of a fold's test data sees the future?",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(wrong_ex3_any_user, wrong_ex3_not_strict, lambda: 0.0),
    )
)
