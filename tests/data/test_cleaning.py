"""Tests of recsys_lib.data.cleaning: validation and the filters that remove rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import (
    EVENT_COL,
    ITEM_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data.cleaning import (
    drop_duplicates,
    drop_missing,
    drop_outlier_users,
    keep_events,
    validate_interactions,
)
from recsys_lib.data.report import QualityReport

from .helpers import frame

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


# =============================================================== validate
def test_validate_accepts_good_frames(ratings):
    assert validate_interactions(ratings, rating_col=R, time_col=T) is ratings
    str_ids = ratings.astype({U: str, IT: "category"})
    validate_interactions(str_ids)
    validate_interactions(ratings, required=U)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ([[1, 2]], TypeError, "expected a pandas DataFrame"),
        (pd.DataFrame(columns=[U, IT]), ValueError, "empty"),
        (
            pd.DataFrame({U: [1], "item": [2]}),
            ValueError,
            r"\['item_id'\] not found.*item_id=|user_col=",
        ),
        (
            pd.DataFrame({U: [1, None], IT: ["a", "b"]}),
            TypeError,
            "float dtype.*drop_missing",
        ),
        (pd.DataFrame({U: [1.0, 2.0], IT: [1, 2]}), TypeError, r"astype\('int64'\)"),
        (
            pd.DataFrame({U: ["a", None], IT: [1, 2]}),
            ValueError,
            "1 missing .*drop_missing",
        ),
        (pd.DataFrame({U: [True, False], IT: [1, 2]}), TypeError, "boolean"),
        (
            pd.DataFrame({U: pd.to_datetime(["2020-01-01"]), IT: [1]}),
            TypeError,
            "integers or strings",
        ),
    ],
)
def test_validate_rejects_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        validate_interactions(bad)


def test_validate_rating_and_time_columns():
    df = frame([[1, 1, "5", 1]])
    with pytest.raises(TypeError, match="rating column 'rating' must be numeric"):
        validate_interactions(df, rating_col=R)
    df = frame([[1, 1, np.nan, 1]])
    with pytest.raises(ValueError, match="1 NaN"):
        validate_interactions(df, rating_col=R)
    df = frame([[1, 1, 5, "2020-01-01"]])
    with pytest.raises(TypeError, match="pd.to_datetime"):
        validate_interactions(df, time_col=T)
    df = frame([[1, 1, 5, None], [2, 2, 5, 3]])
    with pytest.raises(ValueError, match="time column 'timestamp' has 1 missing"):
        validate_interactions(df, time_col=T)
    with pytest.raises(ValueError, match=r"\['when'\] not found"):
        validate_interactions(frame([[1, 1, 5, 1]]), time_col="when")


def test_validate_default_id_columns_skip_ratings():
    df = pd.DataFrame({U: [1, 2], IT: [3, 4], R: [4.5, 3.0]})
    validate_interactions(
        df, required=(U, IT, R)
    )  # float rating is not checked as an ID
    with pytest.raises(TypeError, match="ID column 'rating'"):
        validate_interactions(df, required=(U, IT, R), id_cols=[U, R])


# =============================================================== drop_missing
def test_drop_missing_counts_per_column_and_keeps_index():
    df = pd.DataFrame(
        {
            U: ["a", None, "c", "  ", "e"],
            IT: [1.0, 2.0, np.nan, 4.0, np.nan],
            R: [5, 4, 3, 2, 1],
        },
        index=[10, 11, 12, 13, 14],
    )
    before = df.copy()
    rep = QualityReport()
    out = drop_missing(df, report=rep)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out.index.tolist() == [10]
    step = rep[0]
    assert (step.rows_in, step.rows_out, step.removed) == (5, 1, 4)
    assert "user_id: 2" in step.reason and "item_id: 2" in step.reason
    out = drop_missing(df, columns=U, blank_as_missing=False, report=rep)
    assert out.index.tolist() == [10, 12, 13, 14]
    with pytest.raises(ValueError, match=r"\['price'\] not found"):
        drop_missing(df, columns=[U, "price"])
    with pytest.raises(ValueError, match="columns is empty; give at least one"):
        drop_missing(df, columns=[])
    with pytest.raises(ValueError, match="empty"):
        drop_missing(df.iloc[:0])


# =============================================================== duplicates
def test_exact_duplicates_are_removed():
    df = frame([[1, 1, 5, 10], [1, 1, 5, 10], [1, 1, 4, 10], [2, 1, 5, 10]])
    rep = QualityReport()
    out = drop_duplicates(df, report=rep)
    assert out.index.tolist() == [0, 2, 3] or out.index.tolist() == [1, 2, 3]
    assert rep[0].removed == 1 and "exact duplicate" in rep[0].reason


def test_repeated_pairs_keep_latest_by_time_even_if_rows_are_out_of_order():
    # user 1 rated item 1 three times; the latest (t=30) is in the middle of the input
    df = frame([[1, 1, 2, 20], [1, 1, 5, 30], [2, 1, 3, 5], [1, 1, 1, 10]])
    rep = QualityReport()
    out = drop_duplicates(df, subset=[U, IT], report=rep)
    assert out.index.tolist() == [1, 2]  # input order of kept rows
    assert out.loc[1, R] == 5
    assert rep[0].removed == 2 and "latest by 'timestamp'" in rep[0].reason
    first = drop_duplicates(df, subset=[U, IT], keep="first")
    assert first.set_index(U).loc[1, R] == 1


def test_duplicate_ties_and_missing_time_column():
    df = frame([[1, 1, 2, 10], [1, 1, 5, 10]])
    assert drop_duplicates(df, subset=[U, IT]).index.tolist() == [
        1
    ]  # tie: later row wins
    no_time = df.drop(columns=T)
    rep = QualityReport()
    out = drop_duplicates(no_time, subset=[U, IT], report=rep)
    assert out.index.tolist() == [1] and "row order (no time column)" in rep[0].reason
    with pytest.raises(ValueError, match="keep must be"):
        drop_duplicates(df, keep="latest")
    with pytest.raises(ValueError, match="1 missing .NaN/NaT"):
        drop_duplicates(frame([[1, 1, 2, None], [1, 1, 5, 10]]), subset=[U, IT])
    with pytest.raises(ValueError, match="not found"):
        drop_duplicates(df, subset=[U, "nope"])


# =============================================================== outliers
@pytest.fixture(scope="module")
def with_bot(ratings) -> pd.DataFrame:
    bot = pd.DataFrame({U: 999, IT: np.arange(400) % 40, R: 5, T: np.arange(400)})
    return pd.concat([ratings, bot], ignore_index=True)


@pytest.mark.parametrize(
    "rule", [{"max_events": 100}, {"quantile": 0.99}, {"robust_z": 3.5}], ids=str
)
def test_bot_is_removed_by_each_rule(with_bot, rule):
    rep = QualityReport()
    out = drop_outlier_users(with_bot, **rule, report=rep)
    assert 999 not in set(out[U])
    assert rep[0].removed == (with_bot[U] == 999).sum()  # only the bot
    assert "1 user of 61 dropped" in rep[0].reason and "400 events" in rep[0].reason


def test_outlier_rules_are_validated(with_bot):
    with pytest.raises(ValueError, match="exactly one rule"):
        drop_outlier_users(with_bot)
    with pytest.raises(ValueError, match="exactly one rule"):
        drop_outlier_users(with_bot, max_events=5, quantile=0.9)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\)"):
        drop_outlier_users(with_bot, quantile=1.0)
    with pytest.raises(ValueError, match="max_events must be >= 1"):
        drop_outlier_users(with_bot, max_events=0)
    with pytest.raises(TypeError, match="max_events must be an int"):
        drop_outlier_users(with_bot, max_events=2.5)


def test_robust_z_with_zero_spread_drops_nobody():
    df = pd.DataFrame({U: np.repeat(np.arange(10), 3), IT: np.tile([1, 2, 3], 10)})
    rep = QualityReport()
    out = drop_outlier_users(df, robust_z=3.5, report=rep)
    assert len(out) == len(df) and "MAD is 0" in rep[0].reason


# =============================================================== events
def test_keep_events():
    df = pd.DataFrame(
        {U: [1, 1, 2, 2], IT: [1, 2, 1, 3], EVENT_COL: ["view", "buy", "view", "cart"]}
    )
    rep = QualityReport()
    out = keep_events(df, "buy", report=rep)
    assert out.index.tolist() == [1]
    assert (
        rep[0].removed == 3
        and "view: 2" in rep[0].reason
        and "cart: 1" in rep[0].reason
    )
    with pytest.raises(
        ValueError,
        match=r"\['purchase'\] never occur.*present: \['buy', 'cart', 'view'\]",
    ):
        keep_events(df, ["purchase"])
