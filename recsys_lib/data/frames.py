"""Checks of interaction tables: the frame, its columns, IDs and timestamps.

Introduced in Chapter 2 and shared by every function of :mod:`recsys_lib.data`
that takes an interaction table (cleaning steps, splits, sequences). Each
check names the calling function (``fn``) and says what is wrong and how to
fix it:

* ``TypeError`` for a wrong type -- not a DataFrame, float or boolean IDs,
  text ratings or timestamps;
* ``ValueError`` for an empty frame, a missing column, or NaN in IDs, ratings
  or timestamps.

Ties in timestamps are broken by input row order everywhere
(:func:`stable_time_order`): of two events with the same timestamp, the one
further down the input counts as later.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..config import LABEL_COL, PREDICTION_COL, PRICE_COL, RATING_COL, TIMESTAMP_COL

__all__ = [
    "NON_ID_COLS",
    "as_columns",
    "check_frame",
    "check_id_column",
    "check_id_columns",
    "check_numeric_column",
    "check_time_column",
    "is_text",
    "require_columns",
    "stable_time_order",
    "time_order",
]

#: Columns that are never IDs (``validate_interactions`` skips them).
NON_ID_COLS = frozenset(
    {RATING_COL, TIMESTAMP_COL, LABEL_COL, PREDICTION_COL, PRICE_COL}
)


def check_frame(df, fn: str, *, allow_empty: bool = False) -> None:
    """``df`` must be a pandas DataFrame with at least one row (unless ``allow_empty``)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: expected a pandas DataFrame, got {type(df).__name__}")
    if not allow_empty and len(df) == 0:
        raise ValueError(
            f"{fn}: the DataFrame is empty (0 rows); there is nothing to process"
        )


def as_columns(columns, name: str, fn: str) -> tuple[str, ...]:
    """Accept one column name or a sequence of names; return a tuple without repeats."""
    if isinstance(columns, str):
        return (columns,)
    if not isinstance(columns, Iterable):
        raise TypeError(
            f"{fn}: {name} must be a column name or a list of names, got {columns!r}"
        )
    cols = tuple(dict.fromkeys(columns))
    if not cols:
        raise ValueError(f"{fn}: {name} is empty; give at least one")
    for c in cols:
        if not isinstance(c, Hashable):
            raise TypeError(f"{fn}: {name} holds an unhashable entry {c!r}")
    return cols


def require_columns(df: pd.DataFrame, columns: Sequence, fn: str) -> None:
    """Every name in ``columns`` must be a column of ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{fn}: column(s) {missing} not found; the frame has columns {list(df.columns)}. "
            "Rename the columns or pass the right names by keyword (e.g. user_col=...)."
        )


def check_id_column(df: pd.DataFrame, col, fn: str, *, allow_nan: bool = False) -> None:
    """IDs must be integers, text or categorical, and (by default) never NaN."""
    s = df[col]
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise TypeError(
            f"{fn}: ID column {col!r} is boolean; IDs must be integers or strings"
        )
    if pd.api.types.is_float_dtype(dtype):
        n_nan = int(s.isna().sum())
        if n_nan:
            hint = f"it holds {n_nan} NaN value(s); run drop_missing first, then cast to int"
        else:
            hint = f"cast it with df[{col!r}].astype('int64')"
        raise TypeError(
            f"{fn}: ID column {col!r} has float dtype ({dtype}); IDs must be integers or "
            f"strings. Float IDs usually mean missing values crept in: {hint}."
        )
    ok = (
        pd.api.types.is_integer_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
    )
    if not ok:
        raise TypeError(
            f"{fn}: ID column {col!r} has dtype {dtype}; IDs must be integers or strings"
        )
    if not allow_nan:
        n_nan = int(s.isna().sum())
        if n_nan:
            raise ValueError(
                f"{fn}: ID column {col!r} has {n_nan} missing (NaN/None) value(s); "
                "remove them first with drop_missing(df, columns=[...], report=report)"
            )


def check_id_columns(df: pd.DataFrame, columns: Sequence, fn: str) -> None:
    """:func:`require_columns`, then :func:`check_id_column` for each one."""
    require_columns(df, columns, fn)
    for col in columns:
        check_id_column(df, col, fn)


def check_numeric_column(df: pd.DataFrame, col, fn: str, what: str = "rating") -> None:
    """A numeric column (ratings by default) without NaN or infinities."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(
        s.dtype
    ):
        raise TypeError(
            f"{fn}: {what} column {col!r} must be numeric, got dtype {s.dtype}; "
            f"convert it with pd.to_numeric(df[{col!r}])"
        )
    n_nan = int(s.isna().sum())
    if n_nan:
        raise ValueError(
            f"{fn}: {what} column {col!r} has {n_nan} NaN value(s); "
            "remove them first with drop_missing(df, columns=[...])"
        )
    if (
        pd.api.types.is_float_dtype(s.dtype)
        and not np.isfinite(s.to_numpy(dtype=float)).all()
    ):
        raise ValueError(f"{fn}: {what} column {col!r} holds infinite values")


def check_time_column(df: pd.DataFrame, col, fn: str) -> None:
    """Timestamps must be numeric (e.g. Unix seconds) or datetime, and never NaN."""
    if col not in df.columns:
        raise ValueError(
            f"{fn}: time column {col!r} not found; the frame has columns {list(df.columns)}. "
            "Pass time_col=... with the name of your timestamp column."
        )
    s = df[col]
    is_time = pd.api.types.is_datetime64_any_dtype(s.dtype)
    is_num = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
        s.dtype
    )
    if not (is_time or is_num):
        raise TypeError(
            f"{fn}: time column {col!r} has dtype {s.dtype}; use numbers (e.g. Unix seconds) "
            f"or datetimes -- convert text with pd.to_datetime(df[{col!r}])"
        )
    n_nan = int(s.isna().sum())
    if n_nan:
        raise ValueError(
            f"{fn}: time column {col!r} has {n_nan} missing (NaN/NaT) value(s); "
            f"remove them first with drop_missing(df, columns=[{col!r}]) or fill them"
        )


def stable_time_order(s: pd.Series) -> np.ndarray:
    """Positions that sort ``s`` by time; ties keep their input order (stable sort)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.astype("int64").to_numpy()
    else:
        values = s.to_numpy()
    return np.argsort(values, kind="stable")


def time_order(df: pd.DataFrame, time_col: str | None, fn: str) -> np.ndarray:
    """Row positions of ``df`` in time order (the rule shared by splits and sequences).

    With a ``time_col``, the column is checked and sorted stably (ties keep
    input order); with ``time_col=None`` the input row order is the time order.
    """
    if time_col is None:
        return np.arange(len(df))
    check_time_column(df, time_col, fn)
    return stable_time_order(df[time_col])


def is_text(s: pd.Series) -> bool:
    """Whether a column holds text-like values (string, object or categorical)."""
    return (
        pd.api.types.is_string_dtype(s.dtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )
