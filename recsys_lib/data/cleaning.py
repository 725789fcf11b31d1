"""Cleaning interaction logs without dropping anything silently.

Introduced in Chapter 2.

Raw interaction logs are messy: missing IDs, the same event logged twice, bots
with thousands of clicks, ``" U12 "`` and ``"u12"`` meaning the same user,
timestamps out of order. Each function of this package fixes one such problem
and *reports* what it did. Pass a :class:`~recsys_lib.data.report.QualityReport`
as ``report=`` and every step appends one row::

    step | rows_in | rows_out | removed | changed | reason

where ``removed == rows_in - rows_out`` and ``changed`` counts rows that were
kept but corrected (an ID normalised, a rating clipped, a row moved by a sort).
Without a report, a step that removes or changes rows prints a one-line note
instead, so nothing ever disappears silently.

This module holds the check (:func:`validate_interactions`) and the filters
that remove rows; :mod:`.corrections` holds the steps that correct values,
:mod:`.kcore` the k-core filter and :mod:`.ids` the ID mapping.

Conventions shared by every function:

* Input is a ``pandas.DataFrame`` with the column names of
  :mod:`recsys_lib.config` (``user_id``, ``item_id``, ``rating``,
  ``timestamp``, ...); each name can be overridden by keyword.
* The input is never modified; a new frame is returned. Kept rows keep their
  index labels, so every row can be traced back to the raw table.
* Bad input fails early with a message saying what is wrong and how to fix it:
  ``TypeError`` for a wrong type (not a DataFrame, float IDs, text
  timestamps), ``ValueError`` for empty frames, missing columns, NaN IDs and
  out-of-range arguments.

A typical pipeline::

    report = QualityReport()
    df = drop_missing(raw, report=report)
    df = normalize_ids(df, report=report)
    df = drop_duplicates(df, subset=[USER_COL, ITEM_COL], report=report)
    df = k_core_filter(df, user_k=5, item_k=5, report=report)
    df, mapper = map_ids(df, report=report)
    report            # the data-quality table (HTML in a notebook)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..config import EVENT_COL, ITEM_COL, TIMESTAMP_COL, USER_COL
from .frames import (
    NON_ID_COLS,
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
    "drop_duplicates",
    "drop_missing",
    "drop_outlier_users",
    "keep_events",
    "validate_interactions",
]


def validate_interactions(
    df: pd.DataFrame,
    required: Sequence[str] | str = (USER_COL, ITEM_COL),
    *,
    id_cols: Sequence[str] | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
) -> pd.DataFrame:
    """Check that ``df`` looks like an interaction table; raise if it does not.

    Checks, in order: ``df`` is a non-empty DataFrame; the ``required``
    columns (plus ``rating_col``/``time_col`` if given) exist; ID columns are
    integers, strings or categoricals without missing values; the rating
    column is numeric without NaN; the time column is numeric or datetime
    without NaN.

    Args:
        df: the interaction table.
        required: columns that must exist.
        id_cols: columns checked as IDs. By default every ``required`` column
            except the rating, time, label, prediction and price columns.
        rating_col: if given, also check this column as a numeric rating.
        time_col: if given, also check this column as a timestamp.

    Returns:
        ``df`` itself (unchanged), so the call can be chained.

    Raises:
        TypeError: ``df`` is not a DataFrame, or a column has the wrong dtype
            (float or boolean IDs, text ratings or timestamps).
        ValueError: the frame is empty, a column is missing, or IDs, ratings
            or timestamps hold NaN.
    """
    fn = "validate_interactions"
    check_frame(df, fn)
    required = as_columns(required, "required", fn)
    extra = tuple(c for c in (rating_col, time_col) if c is not None)
    require_columns(df, required + extra, fn)
    if id_cols is None:
        skip = NON_ID_COLS | set(extra)
        id_cols = tuple(c for c in required if c not in skip)
    else:
        id_cols = as_columns(id_cols, "id_cols", fn)
        require_columns(df, id_cols, fn)
    for col in id_cols:
        check_id_column(df, col, fn)
    if rating_col is not None:
        check_numeric_column(df, rating_col, fn)
    if time_col is not None:
        check_time_column(df, time_col, fn)
    return df


def drop_missing(
    df: pd.DataFrame,
    columns: Sequence[str] | str = (USER_COL, ITEM_COL),
    *,
    blank_as_missing: bool = True,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Drop rows with a missing value in any of ``columns``.

    Args:
        df: the interaction table.
        columns: columns that must be present in every row (typically the IDs,
            plus the rating or timestamp if later steps need them).
        blank_as_missing: also treat empty or whitespace-only strings as
            missing (a common way CSV exports write "no ID").
        report: where to record the step.

    Returns:
        A new frame without those rows; the index of kept rows is unchanged.
        The reason gives the count per column (a row missing two values counts
        in both columns but is removed once).

    Raises:
        TypeError, ValueError: not a DataFrame, empty, or unknown columns.
    """
    fn = "drop_missing"
    check_frame(df, fn)
    check_report(report)
    columns = as_columns(columns, "columns", fn)
    require_columns(df, columns, fn)
    bad = np.zeros(len(df), dtype=bool)
    parts = []
    for col in columns:
        s = df[col]
        miss = s.isna().to_numpy()
        if blank_as_missing and is_text(s):
            codes, uniques = pd.factorize(s.astype(object))  # NaN -> code -1 -> False
            blank_u = [isinstance(v, str) and not v.strip() for v in uniques] + [False]
            miss = miss | np.array(blank_u, dtype=bool)[codes]
        parts.append(f"{col}: {int(miss.sum()):,}")
        bad |= miss
    out = df.loc[~bad]
    what = "missing (NaN/None" + (" or blank string)" if blank_as_missing else ")")
    return record(
        report, fn, df, out, f"{what} values per column -- {', '.join(parts)}"
    )


def drop_duplicates(
    df: pd.DataFrame,
    subset: Sequence[str] | str | None = None,
    *,
    keep: str = "last",
    time_col: str | None = TIMESTAMP_COL,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Drop duplicate events.

    Two uses:

    * ``subset=None`` drops *exact* duplicate rows (all columns equal) -- the
      same event logged twice.
    * ``subset=[USER_COL, ITEM_COL]`` keeps one row per user-item pair, e.g.
      the latest rating when a user re-rated an item.

    Which copy survives: rows are ordered by ``time_col`` with a stable sort
    (ties keep their input order) and ``keep="last"`` keeps the latest,
    ``keep="first"`` the earliest. If ``time_col`` is ``None`` or not a column
    of ``df``, input row order is used instead (and the reason says so).

    Args:
        df: the interaction table.
        subset: columns that define a duplicate; ``None`` means all columns.
        keep: ``"last"`` (latest) or ``"first"`` (earliest).
        time_col: timestamp column used to decide which copy is latest.
        report: where to record the step.

    Returns:
        A new frame in the input's row order, index of kept rows unchanged.

    Raises:
        TypeError, ValueError: bad frame, unknown columns, a bad ``keep`` or
            NaN timestamps.
    """
    fn = "drop_duplicates"
    check_frame(df, fn)
    check_report(report)
    if keep not in ("first", "last"):
        raise ValueError(f"{fn}: keep must be 'first' or 'last', got {keep!r}")
    if subset is None:
        cols = tuple(df.columns)
        what = f"exact duplicate rows (all {len(cols)} columns equal)"
    else:
        cols = as_columns(subset, "subset", fn)
        require_columns(df, cols, fn)
        what = f"repeated ({', '.join(map(str, cols))})"
    use_time = time_col is not None and time_col in df.columns and subset is not None
    if use_time:
        check_time_column(df, time_col, fn)
        order = stable_time_order(df[time_col])
        rule = f"kept the {'latest' if keep == 'last' else 'earliest'} by {time_col!r}"
    else:
        order = np.arange(len(df))
        rule = f"kept the {keep} in row order"
        if subset is not None:
            rule += " (no time column)"
    dup_sorted = df.iloc[order].duplicated(subset=list(cols), keep=keep).to_numpy()
    kept_positions = np.sort(order[~dup_sorted])
    out = df.iloc[kept_positions]
    return record(report, fn, df, out, f"{what}; {rule}")


def drop_outlier_users(
    df: pd.DataFrame,
    max_events: int | None = None,
    *,
    quantile: float | None = None,
    robust_z: float | None = None,
    user_col: str = USER_COL,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Drop users with implausibly many events (bots, crawlers, test accounts).

    Choose exactly one rule:

    * ``max_events=N``: drop users with more than ``N`` events.
    * ``quantile=q``: drop users with more events than the ``q``-quantile of
      events per user (``q=0.99`` drops roughly the busiest 1%; users tied at
      the quantile are kept).
    * ``robust_z=z``: drop users whose robust z-score of ``log(1 + events)``
      exceeds ``z`` (3.5 is the usual choice). The score is
      ``0.6745 * (x - median) / MAD`` with MAD the median absolute deviation;
      the log tames the heavy tail of activity counts, and only the *upper*
      tail is dropped. If MAD is 0 (most users equally active) nobody is
      dropped by this rule.

    Events are rows, so run :func:`drop_duplicates` first if repeats should
    not count.

    Args:
        df: the interaction table.
        max_events: rule 1, an int >= 1.
        quantile: rule 2, in (0, 1).
        robust_z: rule 3, > 0.
        user_col: user ID column.
        report: where to record the step; the reason names the rule, the
            event threshold and how many users were dropped.

    Returns:
        A new frame without the outlier users' rows.

    Raises:
        ValueError: none or several rules given, or a value out of range.
    """
    fn = "drop_outlier_users"
    check_frame(df, fn)
    check_report(report)
    require_columns(df, [user_col], fn)
    check_id_column(df, user_col, fn)
    given = [
        n
        for n, v in (
            ("max_events", max_events),
            ("quantile", quantile),
            ("robust_z", robust_z),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            f"{fn}: give exactly one rule (max_events=, quantile= or robust_z=), got "
            f"{given or 'none'}"
        )
    counts = df.groupby(user_col, observed=True, sort=False).size()
    if max_events is not None:
        limit = check_int(max_events, "max_events", low=1, where=fn)
        outliers = counts[counts > limit]
        rule = f"more than {limit:,} events (max_events)"
    elif quantile is not None:
        q = check_number(quantile, "quantile", where=fn)
        if not 0 < q < 1:
            raise ValueError(f"{fn}: quantile must be in (0, 1), got {q}")
        limit = float(np.quantile(counts.to_numpy(), q))
        outliers = counts[counts > limit]
        rule = f"more than {limit:,.1f} events (the {q:g}-quantile of events per user)"
    else:
        z = check_number(robust_z, "robust_z", low=0, low_open=True, where=fn)
        x = np.log1p(counts.to_numpy(dtype=float))
        med = float(np.median(x))
        mad = float(np.median(np.abs(x - med)))
        if mad == 0:
            outliers = counts.iloc[:0]
            rule = f"robust z-score of log(1 + events) > {z:g} (MAD is 0, so nobody qualifies)"
        else:
            score = 0.6745 * (x - med) / mad
            outliers = counts[score > z]
            limit = float(np.expm1(med + z * mad / 0.6745))
            rule = f"robust z-score of log(1 + events) > {z:g}, i.e. more than ~{limit:,.0f} events"
    out = df.loc[~df[user_col].isin(outliers.index)]
    reason = (
        f"users with {rule}: {plural(len(outliers), 'user')} of {len(counts):,} dropped"
        + (f" (largest had {int(outliers.max()):,} events)" if len(outliers) else "")
    )
    return record(report, fn, df, out, reason)


def keep_events(
    df: pd.DataFrame,
    events: Sequence[str] | str,
    *,
    event_col: str = EVENT_COL,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Keep only rows whose event type is in ``events`` (e.g. ``"purchase"``).

    Args:
        df: the interaction table with an event-type column.
        events: event type(s) to keep.
        event_col: the event-type column.
        report: where to record the step; the reason counts removed rows per
            event type.

    Raises:
        ValueError: an event type in ``events`` never occurs (probably a typo);
            the message lists the types that do occur.
    """
    fn = "keep_events"
    check_frame(df, fn)
    check_report(report)
    require_columns(df, [event_col], fn)
    events = as_columns(events, "events", fn)
    present = set(df[event_col].dropna().unique())
    unknown = [e for e in events if e not in present]
    if unknown:
        raise ValueError(
            f"{fn}: event type(s) {unknown} never occur in {event_col!r}; "
            f"present: {sorted(map(str, present))}"
        )
    mask = df[event_col].isin(events)
    removed = df.loc[~mask, event_col].value_counts(dropna=False)
    detail = ", ".join(f"{k}: {v:,}" for k, v in removed.items()) or "none"
    out = df.loc[mask]
    reason = f"kept {', '.join(map(str, events))}; removed {detail}"
    return record(report, fn, df, out, reason)
