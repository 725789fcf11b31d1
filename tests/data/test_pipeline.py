"""A whole cleaning pipeline through the face of recsys_lib.data: reports add up, inputs stay untouched."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from recsys_lib.config import (
    ITEM_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data import (
    QualityReport,
    clip_ratings,
    drop_duplicates,
    drop_missing,
    drop_outlier_users,
    k_core_filter,
    map_ids,
    normalize_ids,
    normalize_ratings,
    sort_by_time,
    to_implicit,
    validate_interactions,
)

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


# =============================================================== pipeline
def test_pipeline_report_adds_up_and_inputs_are_never_modified(ratings):
    raw = ratings.copy()
    raw[U] = "U" + raw[U].astype(str)
    raw.loc[0, U] = f"  {raw.loc[0, U].lower()} "  # inconsistent spelling
    raw.loc[1, IT] = None  # missing ID (column becomes float)
    raw = pd.concat([raw, raw.iloc[[5, 6]]])  # logged twice
    raw = raw.iloc[::-1]  # out of time order
    snapshot = raw.copy()

    rep = QualityReport("pipeline")
    df = drop_missing(raw, report=rep)
    df = df.astype({IT: "int64"})
    df = normalize_ids(df, report=rep)
    df = drop_duplicates(df, report=rep)
    df = sort_by_time(df, report=rep)
    df = k_core_filter(df, 5, 5, report=rep)
    df = to_implicit(df, 4, report=rep)
    df, _ = map_ids(df, report=rep)

    pd.testing.assert_frame_equal(raw, snapshot)
    rep.check()
    table = rep.to_frame()
    assert (table["rows_in"] - table["rows_out"] == table["removed"]).all()
    assert rep.rows_in - rep.total_removed == rep.rows_out == len(df)
    by_step = {s.step: s for s in rep}
    assert by_step["drop_missing"].removed == 1
    assert by_step["normalize_ids"].changed == len(raw) - 1  # every ID lower-cased
    assert by_step["drop_duplicates"].removed == 2
    assert by_step["sort_by_time"].changed > 0
    validate_interactions(df, rating_col=R, time_col=T)


@pytest.mark.parametrize(
    "fn",
    [
        lambda d: drop_missing(d, report=QualityReport()),
        lambda d: drop_duplicates(d, subset=[U, IT], report=QualityReport()),
        lambda d: drop_outlier_users(d, quantile=0.9, report=QualityReport()),
        lambda d: normalize_ids(d.astype({U: str}), report=QualityReport()),
        lambda d: clip_ratings(d, 2, 4, report=QualityReport()),
        lambda d: normalize_ratings(d, report=QualityReport()),
        lambda d: to_implicit(d, report=QualityReport()),
        lambda d: sort_by_time(d.iloc[::-1], report=QualityReport()),
        lambda d: k_core_filter(d, 3, 3, report=QualityReport()),
        lambda d: map_ids(d, report=QualityReport()),
    ],
)
def test_functions_do_not_modify_their_input(ratings, fn):
    snapshot = ratings.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(ratings)
    pd.testing.assert_frame_equal(ratings, snapshot)
