"""Tests of recsys_lib.data.corrections: steps that correct values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import (
    ITEM_COL,
    LABEL_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data.cleaning import drop_missing
from recsys_lib.data.corrections import (
    clip_ratings,
    normalize_ids,
    normalize_ratings,
    sort_by_time,
    to_implicit,
)
from recsys_lib.data.report import QualityReport

from .helpers import frame

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


# =============================================================== normalize_ids
def test_normalize_ids_merges_spellings_and_counts_changes():
    df = pd.DataFrame(
        {U: [" U12 ", "u12", "U12", "u13", None, "  "], IT: [1, 2, 3, 4, 5, 6]}
    )
    before = df.copy()
    rep = QualityReport()
    out = normalize_ids(df, report=rep)
    pd.testing.assert_frame_equal(df, before)
    assert out[U].tolist()[:4] == ["u12", "u12", "u12", "u13"]
    assert out[U].isna().tolist() == [False] * 4 + [True, True]
    assert out[IT].tolist() == df[IT].tolist()
    step = rep[0]
    assert (step.removed, step.changed) == (0, 3)  # " U12 ", "U12", "  "
    assert "5 -> 2 distinct" in step.reason.replace(",", "")  # 5 spellings were 2 users
    assert "1 became blank" in step.reason and "item_id: unchanged" in step.reason
    # the blank ID is then dropped, and reported, by drop_missing
    clean = drop_missing(out, report=rep)
    assert rep[1].removed == 2 and len(clean) == 4
    rep.check()


def test_normalize_ids_options_and_mixed_types():
    df = pd.DataFrame({U: ["Ab", " ab"], IT: pd.Series([12, "12"], dtype=object)})
    out = normalize_ids(df, lower=False)
    assert out[U].tolist() == ["Ab", "ab"]
    assert out[IT].tolist() == ["12", "12"]  # int 12 and "12" are the same item
    cat = pd.DataFrame({U: pd.Categorical(["A", "a "]), IT: [1, 2]})
    assert normalize_ids(cat)[U].tolist() == ["a", "a"]


# =============================================================== ratings
def test_clip_ratings_counts_clipped_or_dropped():
    df = frame([[1, 1, 0, 1], [1, 2, 3, 2], [1, 3, 7, 3], [1, 4, 9, 4]])
    rep = QualityReport()
    out = clip_ratings(df, 1, 5, report=rep)
    assert out[R].tolist() == [1, 3, 5, 5] and out[R].dtype == df[R].dtype
    assert (rep[0].removed, rep[0].changed) == (0, 3)
    assert "1 below 1, 2 above 5" in rep[0].reason
    out = clip_ratings(df, 1, 5, out_of_range="drop", report=rep)
    assert out.index.tolist() == [1] and rep[1].removed == 3
    with pytest.raises(ValueError, match="need low < high"):
        clip_ratings(df, 5, 1)
    with pytest.raises(ValueError, match="out_of_range"):
        clip_ratings(df, out_of_range="wrap")
    with pytest.raises(TypeError, match="must be numeric"):
        clip_ratings(df.astype({R: str}))


def test_normalize_ratings_center_and_minmax():
    df = frame([[1, 1, 5, 1], [1, 2, 3, 2], [2, 1, 4, 3], [2, 2, 4, 4], [3, 1, 1, 5]])
    rep = QualityReport()
    out, stats = normalize_ratings(df, report=rep, return_stats=True)
    assert out["rating_norm"].tolist() == [1.0, -1.0, 0.0, 0.0, 0.0]
    assert out[R].tolist() == df[R].tolist()  # the raw rating is kept
    assert stats.loc[1, "mean"] == 4.0 and len(stats) == 3
    assert rep[0].changed == 0 and rep[0].removed == 0
    mm = normalize_ratings(df, "minmax", out_col=R, report=rep)
    assert mm[R].tolist() == [1.0, 0.0, 0.5, 0.5, 0.5]  # constant users -> 0.5
    assert rep[1].changed == len(df)
    glob = normalize_ratings(df, per_user=False)
    assert np.isclose(glob["rating_norm"].mean(), 0.0)
    assert (
        normalize_ratings(df, "minmax", per_user=False)["rating_norm"]
        .between(0, 1)
        .all()
    )
    with pytest.raises(ValueError, match="method must be"):
        normalize_ratings(df, "zscore")


def test_to_implicit_counts_rows_below_threshold(ratings):
    rep = QualityReport()
    out = to_implicit(ratings, 4, report=rep)
    n_low = int((ratings[R] < 4).sum())
    assert rep[0].removed == n_low and f"{n_low:,} rows below" in rep[0].reason
    assert (out[R] >= 4).all() and (out[LABEL_COL] == 1).all()
    both = to_implicit(ratings, 4, keep_negatives=True, report=rep)
    assert len(both) == len(ratings) and rep[1].removed == 0
    assert int((both[LABEL_COL] == 0).sum()) == n_low
    with pytest.raises(ValueError, match="NaN"):
        to_implicit(frame([[1, 1, np.nan, 1]]))
    with pytest.raises(TypeError, match="threshold must be a number"):
        to_implicit(ratings, "4")


# =============================================================== sort_by_time
def test_sort_by_time_detects_and_counts_disorder():
    df = frame(
        [[1, 1, 5, 30], [1, 2, 5, 10], [2, 1, 5, 20], [2, 2, 5, 20], [3, 1, 5, 40]]
    )
    rep = QualityReport()
    out = sort_by_time(df, report=rep)
    assert out[T].tolist() == [10, 20, 20, 30, 40]
    assert out.index.tolist() == [1, 2, 3, 0, 4]  # tie (rows 2, 3) keeps input order
    step = rep[0]
    assert (step.removed, step.changed) == (0, 4)
    assert "out of order" in step.reason and "1 place" in step.reason
    again = QualityReport()
    sort_by_time(out, report=again)
    assert again[0].changed == 0 and "already in time order" in again[0].reason


def test_sort_by_time_datetimes_and_errors():
    df = pd.DataFrame(
        {
            U: [1, 2],
            IT: [1, 1],
            T: pd.to_datetime(["2021-01-02", "2021-01-01"]).tz_localize("UTC"),
        }
    )
    assert sort_by_time(df).index.tolist() == [1, 0]
    with pytest.raises(ValueError, match="time column 'timestamp' not found"):
        sort_by_time(df.drop(columns=T))
    with pytest.raises(TypeError, match="pd.to_datetime"):
        sort_by_time(df.astype({T: str}))
    with pytest.raises(ValueError, match="NaN/NaT"):
        sort_by_time(frame([[1, 1, 5, np.nan], [1, 1, 5, 1.0]]))
