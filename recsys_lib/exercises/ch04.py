"""Exercises of Chapter 4 -- User profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import EVENT_COL, ITEM_COL, TIMESTAMP_COL, USER_COL
from . import Exercise, NotYet, register

DAY = 86_400

# ---------------------------------------------------------------- ch04.ex1
_TINY_WEIGHTS = {"impression": 0.0, "click": 1.0, "add_to_cart": 3.0, "purchase": 5.0}


def _tiny_log() -> tuple[pd.DataFrame, np.ndarray]:
    """User 0's log over 3 categories; items 0-1 are category 0, 2 is 1, 3-4 are 2."""
    log = pd.DataFrame(
        {
            USER_COL: [0, 0, 0, 0, 0, 0],
            ITEM_COL: [0, 2, 3, 1, 4, 2],
            EVENT_COL: [
                "click",
                "purchase",
                "impression",
                "click",
                "add_to_cart",
                "click",
            ],
            TIMESTAMP_COL: [0, 2 * DAY, 5 * DAY, 10 * DAY, 18 * DAY, 20 * DAY],
        }
    )
    return log, np.array([0, 0, 1, 2, 2])


def context_ex1():
    log, cats = _tiny_log()
    return {"log": log, "item_categories": cats, "half_life_days": 10.0}


def solution_ex1(log, item_categories, half_life_days):
    now = log[TIMESTAMP_COL].max()
    w = log[EVENT_COL].map(_TINY_WEIGHTS).astype(float)
    w = w * 2.0 ** (-(now - log[TIMESTAMP_COL]) / (half_life_days * DAY))
    per_cat = np.bincount(
        item_categories[log[ITEM_COL].to_numpy()],
        weights=w.to_numpy(),
        minlength=int(item_categories.max()) + 1,
    )
    return per_cat / per_cat.sum()


def _no_decay(log, item_categories, half_life_days):
    return solution_ex1(log, item_categories, 1e12)


def _no_event_weights(log, item_categories, half_life_days):
    now = log[TIMESTAMP_COL].max()
    w = 2.0 ** (-(now - log[TIMESTAMP_COL]) / (half_life_days * DAY))
    per_cat = np.bincount(
        item_categories[log[ITEM_COL].to_numpy()], weights=w.to_numpy(), minlength=3
    )
    return per_cat / per_cat.sum()


def _unnormalised(log, item_categories, half_life_days):
    v = solution_ex1(log, item_categories, half_life_days)
    now = log[TIMESTAMP_COL].max()
    w = log[EVENT_COL].map(_TINY_WEIGHTS).astype(float)
    return v * float(
        (w * 2.0 ** (-(now - log[TIMESTAMP_COL]) / (half_life_days * DAY))).sum()
    )


def check_ex1(answer, log, item_categories, half_life_days):
    try:
        value = np.asarray(answer, dtype=np.float64).ravel()
    except (TypeError, ValueError) as err:
        raise NotYet(
            "give the affinity as a vector with one share per category"
        ) from err
    expected = solution_ex1(log, item_categories, half_life_days)
    if value.shape != expected.shape:
        raise NotYet(f"one share per category: expected {expected.size} numbers")
    if np.allclose(value, _no_decay(log, item_categories, half_life_days), atol=1e-6):
        raise NotYet(
            "the old events count as much as the new ones: apply the time decay"
        )
    if np.allclose(
        value, _no_event_weights(log, item_categories, half_life_days), atol=1e-6
    ):
        raise NotYet(
            "every event counts the same: multiply by the event-type weight (impression 0 ...)"
        )
    if not np.isclose(value.sum(), 1.0, atol=1e-6):
        raise NotYet("normalise: divide by the total weight so the shares sum to 1")
    if not np.allclose(value, expected, atol=1e-6):
        raise NotYet(
            "weight = type weight * 2 ** (-(now - t) / half_life), now = the last event; "
            "sum the weights per category, then divide by their total"
        )
    return "shares " + ", ".join(f"{x:.3f}" for x in expected)


register(
    Exercise(
        id="ch04.ex1",
        title="a decayed category affinity by hand",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(
            _no_decay,
            _no_event_weights,
            _unnormalised,
            lambda log, item_categories, half_life_days: "category 2",
        ),
        example_context=context_ex1,
    )
)

# ---------------------------------------------------------------- ch04.ex2


def solution_ex2():
    def blend(long_term, short_term, alpha):
        long_term = np.asarray(long_term, dtype=np.float64)
        short_term = np.asarray(short_term, dtype=np.float64)
        has_session = (short_term != 0).any(axis=1)
        out = long_term.copy()
        out[has_session] = (1 - alpha) * long_term[has_session] + alpha * short_term[
            has_session
        ]
        return out

    return blend


def _naive_blend():
    def blend(long_term, short_term, alpha):
        return (1 - alpha) * np.asarray(long_term) + alpha * np.asarray(short_term)

    return blend


def _swapped_blend():
    def blend(long_term, short_term, alpha):
        return solution_ex2()(long_term, short_term, 1 - alpha)

    return blend


def check_ex2(blend):
    if not callable(blend):
        raise NotYet("the answer is a function blend(long_term, short_term, alpha)")
    rng = np.random.default_rng(4)
    L = rng.dirichlet(np.ones(5), size=6)
    S = rng.dirichlet(np.ones(5), size=6)
    S[[1, 4]] = 0.0  # users without a current session
    try:
        got = np.asarray(blend(L, S, 0.3), dtype=np.float64)
    except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
        raise NotYet(f"it failed on (6, 5) inputs: {err!r}") from err
    if got.shape != L.shape:
        raise NotYet(f"the result must have the shape of the inputs, {L.shape}")
    expected = solution_ex2()(L, S, 0.3)
    if np.allclose(got[[1, 4]], 0.7 * L[[1, 4]]):
        raise NotYet(
            "users without a session were shrunk towards zero: keep their long-term row"
        )
    if np.allclose(got, solution_ex2()(L, S, 0.7)):
        raise NotYet("alpha is the weight of the SHORT-term vector")
    if not np.allclose(got, expected):
        raise NotYet("(1 - alpha) * long + alpha * short, for users with a session")
    return "users without a session keep their long-term profile"


register(
    Exercise(
        id="ch04.ex2",
        title="blend long- and short-term profiles",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(_naive_blend, _swapped_blend, lambda: 0.3),
    )
)

# ---------------------------------------------------------------- ch04.ex3


def solution_ex3(features, sensitive):
    s = pd.Series(np.asarray(sensitive, dtype=np.float64), index=features.index)
    leak = features.apply(lambda col: abs(col.corr(s))).fillna(0.0)
    return str(leak.idxmax())


def context_ex3():
    rng = np.random.default_rng(7)
    n = 400
    female = rng.random(n) < 0.5
    features = pd.DataFrame(
        {
            "Trouser": rng.normal(0, 3.0, n),  # the largest variance, no signal
            "Sneaker": rng.normal(0, 1.0, n) - 0.3 * female,
            "Dress": rng.normal(0, 1.0, n) + 1.2 * female,
            "Bag": rng.normal(0, 1.0, n) + 0.4 * female,
        }
    )
    return {"features": features, "sensitive": female}


def check_ex3(answer, features, sensitive):
    if not isinstance(answer, str):
        raise NotYet("give the name of one column of `features`, as a string")
    if answer not in features.columns:
        raise NotYet(f"{answer!r} is not a column; columns: {list(features.columns)}")
    expected = solution_ex3(features, sensitive)
    if answer != expected:
        raise NotYet(
            "compare each column with the sensitive attribute (e.g. absolute correlation), "
            "not the columns' own spread or order"
        )
    return f"{expected!r} leaks the most: a proxy for the sensitive attribute"


register(
    Exercise(
        id="ch04.ex3",
        title="find the feature that leaks a sensitive attribute",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda features, sensitive: str(features.var().idxmax()),
            lambda features, sensitive: str(features.columns[0]),
            lambda features, sensitive: 3,
        ),
        example_context=context_ex3,
    )
)

# ---------------------------------------------------------------- ch04.ex4


def _pairs(df: pd.DataFrame) -> pd.DataFrame:
    return df[[USER_COL, ITEM_COL]].drop_duplicates()


def solution_ex4(history, later):
    seen = _pairs(history)
    merged = _pairs(later).merge(seen, how="left", indicator=True)
    users = merged.loc[merged["_merge"] == "left_only", USER_COL].unique()
    known = np.isin(users, seen[USER_COL].unique())
    return np.sort(users[known]), np.sort(users[~known])


def context_ex4():
    # users 0-1 have history; user 1's only later pair repeats a history pair;
    # users 2-3 are new, and user 4 only appears in the history
    history = pd.DataFrame({USER_COL: [0, 0, 1, 4], ITEM_COL: [10, 11, 12, 10]})
    later = pd.DataFrame({USER_COL: [0, 1, 2, 3, 3], ITEM_COL: [12, 12, 10, 11, 11]})
    return {"history": history, "later": later}


def _all_later_users(history, later):
    users = later[USER_COL].unique()
    known = np.isin(users, history[USER_COL].unique())
    return np.sort(users[known]), np.sort(users[~known])


def _swapped(history, later):
    warm, cold = solution_ex4(history, later)
    return cold, warm


def _as_int_array(value, name):
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise NotYet(f"{name} must be an array of user ids") from err
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise NotYet(f"{name} must be a 1-d array of integer user ids")
    return np.sort(arr)


def check_ex4(answer, history, later):
    if not isinstance(answer, tuple) or len(answer) != 2:
        raise NotYet("return a tuple (warm, cold) of two arrays of user ids")
    warm, cold = (
        _as_int_array(a, n) for a, n in zip(answer, ("warm", "cold"), strict=True)
    )
    exp_warm, exp_cold = solution_ex4(history, later)
    if np.array_equal(warm, exp_cold) and np.array_equal(cold, exp_warm):
        raise NotYet("warm and cold are swapped: warm users have a history")
    all_warm, all_cold = _all_later_users(history, later)
    if np.array_equal(warm, all_warm) and not np.array_equal(warm, exp_warm):
        raise NotYet(
            "a user whose later pairs all repeat her history has nothing new to find "
            "(repeats are masked): count only users with a NEW pair"
        )
    if not (np.array_equal(warm, exp_warm) and np.array_equal(cold, exp_cold)):
        raise NotYet(
            "keep the users with at least one (user, item) pair in `later` that is not in "
            "`history`; warm = those with any pair in `history`, cold = the others"
        )
    return f"{warm.size} warm and {cold.size} cold users"


register(
    Exercise(
        id="ch04.ex4",
        title="split the test users into warm and cold",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            _all_later_users,
            _swapped,
            lambda history, later: history[USER_COL].unique(),
        ),
        example_context=context_ex4,
    )
)
