"""Tests of recsys_lib.data.frames: the checks every table-taking function shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data import frames

U, IT, T = USER_COL, ITEM_COL, TIMESTAMP_COL


def test_check_frame():
    frames.check_frame(pd.DataFrame({U: [1]}), "fn")
    frames.check_frame(pd.DataFrame(columns=[U]), "fn", allow_empty=True)
    with pytest.raises(TypeError, match="fn: expected a pandas DataFrame, got list"):
        frames.check_frame([1, 2], "fn")
    with pytest.raises(ValueError, match="fn: the DataFrame is empty"):
        frames.check_frame(pd.DataFrame(columns=[U]), "fn")


def test_as_columns_and_require_columns():
    assert frames.as_columns(U, "cols", "fn") == (U,)
    assert frames.as_columns([U, IT, U], "cols", "fn") == (U, IT)
    with pytest.raises(ValueError, match="fn: cols is empty"):
        frames.as_columns([], "cols", "fn")
    with pytest.raises(TypeError, match="column name or a list"):
        frames.as_columns(3, "cols", "fn")
    with pytest.raises(TypeError, match="unhashable"):
        frames.as_columns([[U]], "cols", "fn")
    df = pd.DataFrame({U: [1], "x": [2]})
    frames.require_columns(df, [U], "fn")
    with pytest.raises(ValueError, match=r"\['item_id'\] not found.*user_col="):
        frames.require_columns(df, [U, IT], "fn")


@pytest.mark.parametrize(
    "values, exc, match",
    [
        ([1.0, 2.0], TypeError, r"astype\('int64'\)"),
        ([1.0, np.nan], TypeError, "NaN value.*drop_missing"),
        ([True, False], TypeError, "boolean"),
        (["a", None], ValueError, "1 missing"),
        (
            pd.to_datetime(["2020-01-01", "2020-01-02"]),
            TypeError,
            "integers or strings",
        ),
    ],
)
def test_check_id_column_rejects(values, exc, match):
    with pytest.raises(exc, match=match):
        frames.check_id_column(pd.DataFrame({U: values}), U, "fn")


def test_check_id_columns_accepts_ints_text_and_categories():
    df = pd.DataFrame({U: [1, 2], IT: pd.Categorical(["a", "b"]), "s": ["x", "y"]})
    frames.check_id_columns(df, [U, IT, "s"], "fn")
    frames.check_id_column(pd.DataFrame({U: ["a", None]}), U, "fn", allow_nan=True)
    with pytest.raises(ValueError, match="not found"):
        frames.check_id_columns(df, [U, "absent"], "fn")


def test_check_numeric_column():
    frames.check_numeric_column(pd.DataFrame({"r": [1, 2.5]}), "r", "fn")
    with pytest.raises(TypeError, match="rating column 'r' must be numeric"):
        frames.check_numeric_column(pd.DataFrame({"r": ["5"]}), "r", "fn")
    with pytest.raises(ValueError, match="1 NaN"):
        frames.check_numeric_column(pd.DataFrame({"r": [1.0, np.nan]}), "r", "fn")
    with pytest.raises(ValueError, match="price column 'r' holds infinite"):
        frames.check_numeric_column(pd.DataFrame({"r": [np.inf]}), "r", "fn", "price")


def test_check_time_column():
    frames.check_time_column(pd.DataFrame({T: [3, 1]}), T, "fn")
    frames.check_time_column(pd.DataFrame({T: pd.to_datetime(["2024-01-01"])}), T, "fn")
    with pytest.raises(ValueError, match="time column 'when' not found"):
        frames.check_time_column(pd.DataFrame({T: [1]}), "when", "fn")
    with pytest.raises(TypeError, match="pd.to_datetime"):
        frames.check_time_column(pd.DataFrame({T: ["2024-01-01"]}), T, "fn")
    with pytest.raises(ValueError, match="1 missing .NaN/NaT"):
        frames.check_time_column(pd.DataFrame({T: [1.0, np.nan]}), T, "fn")


def test_time_order_is_stable_and_row_order_without_time():
    df = pd.DataFrame({T: [5, 1, 5, 1, 3]})
    assert frames.stable_time_order(df[T]).tolist() == [
        1,
        3,
        4,
        0,
        2,
    ]  # ties: input order
    assert frames.time_order(df, T, "fn").tolist() == [1, 3, 4, 0, 2]
    assert frames.time_order(df, None, "fn").tolist() == [0, 1, 2, 3, 4]
    dates = pd.DataFrame({T: pd.to_datetime(["2024-02-01", "2024-01-01"])})
    assert frames.time_order(dates, T, "fn").tolist() == [1, 0]
    with pytest.raises(ValueError, match="not found"):
        frames.time_order(df, "when", "fn")


def test_is_text():
    assert frames.is_text(pd.Series(["a"]))
    assert frames.is_text(pd.Series(["a"], dtype="category"))
    assert not frames.is_text(pd.Series([1]))
