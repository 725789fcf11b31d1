"""Cleaning steps that correct values instead of removing rows.

Introduced in Chapter 2: normalised IDs, ratings clipped to the scale or
normalised per user, explicit ratings turned into implicit positives, events
sorted by time. Like every step of :mod:`recsys_lib.data.cleaning`, each one
takes an optional ``report=`` and counts the rows it changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..checks import check_number
from ..config import ITEM_COL, LABEL_COL, RATING_COL, TIMESTAMP_COL, USER_COL
from .frames import (
    as_columns,
    check_frame,
    check_id_column,
    check_numeric_column,
    check_time_column,
    is_text,
    require_columns,
    stable_time_order,
)
from .report import QualityReport, check_report, plural, record

__all__ = [
    "clip_ratings",
    "normalize_ids",
    "normalize_ratings",
    "sort_by_time",
    "to_implicit",
]


def normalize_ids(
    df: pd.DataFrame,
    columns: Sequence[str] | str = (USER_COL, ITEM_COL),
    *,
    strip: bool = True,
    lower: bool = True,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Make text IDs consistent, so ``" U12 "`` and ``"u12"`` are one user.

    For each text (string, object or categorical) column: every non-missing
    value becomes a ``str`` (so the int ``12`` and the string ``"12"`` merge),
    surrounding whitespace is stripped and letters are lower-cased. IDs that
    end up blank become missing (NaN) -- run :func:`drop_missing` afterwards.
    Integer columns are left unchanged. The result columns have pandas'
    string dtype.

    Lower-casing is right for IDs typed by people or exported inconsistently;
    switch it off (``lower=False``) for case-sensitive IDs such as base64
    tokens, where ``"aB"`` and ``"ab"`` are different objects.

    Args:
        df: the interaction table.
        columns: ID columns to normalise.
        strip: strip surrounding whitespace.
        lower: lower-case.
        report: where to record the step. Nothing is removed; ``changed``
            counts rows in which at least one ID changed, and the reason gives,
            per column, how many values changed and how many distinct IDs
            remain (fewer distinct IDs = spellings that were merged).

    Raises:
        TypeError, ValueError: bad frame or unknown columns.
    """
    fn = "normalize_ids"
    check_frame(df, fn)
    check_report(report)
    columns = as_columns(columns, "columns", fn)
    require_columns(df, columns, fn)
    out = df.copy()
    changed_rows = np.zeros(len(df), dtype=bool)
    parts = []
    for col in columns:
        s = df[col]
        if not is_text(s):
            parts.append(f"{col}: unchanged ({s.dtype}, not text)")
            continue
        # Clean each distinct value once, then broadcast back with the codes.
        codes, uniques = pd.factorize(s.astype(object))  # NaN -> code -1
        cleaned = []
        for v in uniques:
            text = str(v)
            text = text.strip() if strip else text
            cleaned.append(text.lower() if lower else text)
        cleaned_u = np.array(cleaned + [None], dtype=object)  # index -1 -> None (NaN)
        differs_u = np.array(
            [
                not isinstance(v, str) or c != v
                for v, c in zip(uniques, cleaned, strict=True)
            ]
            + [False],
            dtype=bool,
        )
        blank_u = np.array([c == "" for c in cleaned] + [False], dtype=bool)
        cleaned_u[blank_u] = None
        changed = differs_u[codes]
        blank = blank_u[codes]
        changed_rows |= changed
        out[col] = pd.Series(cleaned_u[codes], index=df.index, dtype="str")
        text = (
            f"{col}: {int(changed.sum()):,} values changed, "
            f"{s.nunique():,} -> {out[col].nunique():,} distinct IDs"
        )
        if blank.any():
            text += f", {int(blank.sum()):,} became blank -> NaN (run drop_missing)"
        parts.append(text)
    ops = " and ".join(
        o for o, on in (("stripped whitespace", strip), ("lower-cased", lower)) if on
    )
    reason = f"{ops or 'converted to str'}; " + "; ".join(parts)
    return record(report, fn, df, out, reason, changed=int(changed_rows.sum()))


def clip_ratings(
    df: pd.DataFrame,
    low: float = 1.0,
    high: float = 5.0,
    *,
    rating_col: str = RATING_COL,
    out_of_range: str = "clip",
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Bring ratings into the scale ``[low, high]``.

    Args:
        df: the interaction table.
        low, high: the rating scale (``low < high``).
        rating_col: the rating column.
        out_of_range: ``"clip"`` moves values to the nearest bound (counted as
            ``changed``); ``"drop"`` removes those rows (counted as
            ``removed``).
        report: where to record the step; the reason counts values below and
            above the scale.

    Raises:
        TypeError, ValueError: non-numeric or NaN ratings, ``low >= high``, or
            an unknown ``out_of_range``.
    """
    fn = "clip_ratings"
    check_frame(df, fn)
    check_report(report)
    require_columns(df, [rating_col], fn)
    check_numeric_column(df, rating_col, fn)
    low = check_number(low, "low", where=fn)
    high = check_number(high, "high", where=fn)
    if low >= high:
        raise ValueError(f"{fn}: need low < high, got low={low}, high={high}")
    if out_of_range not in ("clip", "drop"):
        raise ValueError(
            f"{fn}: out_of_range must be 'clip' or 'drop', got {out_of_range!r}"
        )
    r = df[rating_col]
    below, above = r < low, r > high
    n_below, n_above = int(below.sum()), int(above.sum())
    detail = f"{n_below:,} below {low:g}, {n_above:,} above {high:g}"
    if out_of_range == "drop":
        out = df.loc[~(below | above)]
        return record(
            report,
            fn,
            df,
            out,
            f"ratings outside [{low:g}, {high:g}] dropped: {detail}",
        )
    out = df.copy()
    if n_below or n_above:
        clipped = r.clip(low, high)
        if (
            pd.api.types.is_integer_dtype(r.dtype)
            and float(low).is_integer()
            and float(high).is_integer()
        ):
            clipped = clipped.astype(r.dtype)
        out[rating_col] = clipped
    reason = f"ratings clipped to [{low:g}, {high:g}]: {detail}"
    return record(report, fn, df, out, reason, changed=n_below + n_above)


def normalize_ratings(
    df: pd.DataFrame,
    method: str = "center",
    *,
    per_user: bool = True,
    user_col: str = USER_COL,
    rating_col: str = RATING_COL,
    out_col: str | None = None,
    return_stats: bool = False,
    report: QualityReport | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise ratings into a new column.

    Methods (each per user, or over all rows with ``per_user=False``):

    * ``"center"``: ``r - mean``. Removes the user's personal scale -- a
      generous user's 4 and a strict user's 3 may mean the same. A user whose
      ratings are all equal gets 0 everywhere.
    * ``"minmax"``: ``(r - min) / (max - min)``, into ``[0, 1]``. A user whose
      ratings are all equal gets 0.5 (no information about preference).

    The statistics come from the frame you pass. Compute them on the
    *training* part only (and reuse ``return_stats=True`` output to transform
    or invert other parts) -- otherwise test ratings leak into training.

    Args:
        df: the interaction table.
        method: ``"center"`` or ``"minmax"``.
        per_user: one mean/min/max per user (``True``) or global.
        user_col, rating_col: column names.
        out_col: where to write the result; default ``f"{rating_col}_norm"``.
            Pass ``rating_col`` to overwrite the ratings.
        return_stats: also return the statistics (one row per user, or a
            single ``"all"`` row), with columns ``mean``, ``min``, ``max``.
        report: where to record the step (nothing removed; ``changed`` counts
            every row if ``out_col`` overwrites the ratings, else 0).

    Returns:
        The new frame, or ``(frame, stats)`` with ``return_stats=True``.

    Raises:
        TypeError, ValueError: unknown method, missing columns, NaN ratings or
            NaN user IDs.
    """
    fn = "normalize_ratings"
    check_frame(df, fn)
    check_report(report)
    if method not in ("center", "minmax"):
        raise ValueError(f"{fn}: method must be 'center' or 'minmax', got {method!r}")
    require_columns(df, [rating_col] + ([user_col] if per_user else []), fn)
    check_numeric_column(df, rating_col, fn)
    r = df[rating_col].astype(float)
    if per_user:
        check_id_column(df, user_col, fn)
        grouped = r.groupby(df[user_col], observed=True, sort=True)
        stats = grouped.agg(["mean", "min", "max"])
        mean, lo, hi = (grouped.transform(f) for f in ("mean", "min", "max"))
        scope = f"per-user ({len(stats):,} users)"
    else:
        stats = pd.DataFrame(
            {"mean": [r.mean()], "min": [r.min()], "max": [r.max()]}, index=["all"]
        )
        mean, lo, hi = r.mean(), r.min(), r.max()
        scope = "global"
    if method == "center":
        values = r - mean
        formula = "rating - mean"
    else:
        span = hi - lo
        if per_user:
            values = (r - lo) / span.where(span > 0)
        else:
            values = (r - lo) / span if span > 0 else pd.Series(np.nan, index=r.index)
        values = values.fillna(0.5)
        formula = "(rating - min) / (max - min), 0.5 where max == min"
    out_col = f"{rating_col}_norm" if out_col is None else out_col
    out = df.copy()
    out[out_col] = values.to_numpy(dtype=float)
    reason = f"{out_col!r} = {formula}, {scope} statistics from this frame (use training data only)"
    changed = len(out) if out_col == rating_col else 0  # a new column corrects nothing
    record(report, fn, df, out, reason, changed=changed)
    return (out, stats) if return_stats else out


def to_implicit(
    df: pd.DataFrame,
    threshold: float = 4.0,
    *,
    rating_col: str = RATING_COL,
    label_col: str = LABEL_COL,
    keep_negatives: bool = False,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Turn explicit ratings into implicit positives: ``rating >= threshold``.

    Args:
        df: the interaction table.
        threshold: ratings at or above it count as positive (4 on a 1-5 scale
            is the usual choice: "liked it").
        rating_col: the rating column (kept in the output).
        label_col: a new 0/1 column holding the label.
        keep_negatives: ``False`` (default) removes rows below the threshold,
            which is what most implicit-feedback models expect; ``True`` keeps
            them with label 0.
        report: where to record the step; the reason counts positives and
            rows below the threshold.

    Raises:
        TypeError, ValueError: non-numeric or NaN ratings, bad threshold.
    """
    fn = "to_implicit"
    check_frame(df, fn)
    check_report(report)
    require_columns(df, [rating_col], fn)
    check_numeric_column(df, rating_col, fn)
    threshold = check_number(threshold, "threshold", where=fn)
    positive = df[rating_col] >= threshold
    n_pos = int(positive.sum())
    n_neg = len(df) - n_pos
    out = df.assign(**{label_col: positive.astype("int64")})
    if keep_negatives:
        reason = f"{label_col!r} = {rating_col} >= {threshold:g}: {n_pos:,} positive, {n_neg:,} negative kept with label 0"
        return record(report, fn, df, out, reason)
    out = out.loc[positive]
    reason = f"{rating_col} >= {threshold:g} is positive; {n_neg:,} rows below the threshold removed"
    return record(report, fn, df, out, reason)


def sort_by_time(
    df: pd.DataFrame,
    *,
    time_col: str = TIMESTAMP_COL,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Sort events by time, reporting whether (and how much) they were out of order.

    The sort is stable: events with the same timestamp keep their input order,
    so the result is deterministic.

    Args:
        df: the interaction table.
        time_col: timestamp column (numbers or datetimes).
        report: where to record the step. Nothing is removed; ``changed``
            counts rows that moved, and the reason also counts the places
            where time went backwards from one row to the next.

    Raises:
        TypeError, ValueError: missing time column, text timestamps, NaN
            timestamps.
    """
    fn = "sort_by_time"
    check_frame(df, fn)
    check_report(report)
    check_time_column(df, time_col, fn)
    order = stable_time_order(df[time_col])
    moved = int((order != np.arange(len(df))).sum())
    t = df[time_col]
    backwards = int((t.to_numpy()[1:] < t.to_numpy()[:-1]).sum()) if len(df) > 1 else 0
    out = df.iloc[order]
    if moved:
        reason = (
            f"timestamps were out of order: time went backwards at {plural(backwards, 'place')}, "
            f"{moved:,} rows moved (stable sort; ties keep input order)"
        )
    else:
        reason = "already in time order; nothing moved"
    return record(report, fn, df, out, reason, changed=moved)
