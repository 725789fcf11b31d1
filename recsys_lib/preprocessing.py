"""Cleaning interaction logs without dropping anything silently.

Introduced in Chapter 2.

Raw interaction logs are messy: missing IDs, the same event logged twice, bots
with thousands of clicks, ``" U12 "`` and ``"u12"`` meaning the same user,
timestamps out of order. Each function here fixes one such problem and
*reports* what it did. Pass a :class:`QualityReport` as ``report=`` and every
step appends one row::

    step | rows_in | rows_out | removed | changed | reason

where ``removed == rows_in - rows_out`` and ``changed`` counts rows that were
kept but corrected (an ID normalised, a rating clipped, a row moved by a sort).
Without a report, a step that removes or changes rows prints a one-line note
instead, so nothing ever disappears silently.

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

import math
import warnings
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from numbers import Real

import numpy as np
import pandas as pd

from .config import (
    EVENT_COL,
    ITEM_COL,
    LABEL_COL,
    PREDICTION_COL,
    PRICE_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)

__all__ = [
    "IdMapper",
    "QualityReport",
    "QualityStep",
    "clip_ratings",
    "drop_duplicates",
    "drop_missing",
    "drop_outlier_users",
    "k_core_filter",
    "keep_events",
    "map_ids",
    "normalize_ids",
    "normalize_ratings",
    "sort_by_time",
    "to_implicit",
    "validate_interactions",
]

REPORT_COLUMNS = ("step", "rows_in", "rows_out", "removed", "changed", "reason")


# ===================================================================== report
@dataclass(frozen=True)
class QualityStep:
    """One row of a :class:`QualityReport`.

    Attributes:
        step: name of the function (or method) that ran.
        rows_in: rows it received.
        rows_out: rows it returned.
        removed: ``rows_in - rows_out``.
        changed: rows kept but corrected -- an existing value altered (IDs
            normalised, ratings clipped) or the row moved by a sort. Pure
            filters, added columns and re-encodings (:class:`IdMapper`) count 0.
        reason: a sentence saying what was removed or changed and why.
    """

    step: str
    rows_in: int
    rows_out: int
    removed: int
    changed: int
    reason: str

    def __post_init__(self) -> None:
        for name in ("rows_in", "rows_out", "removed", "changed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"QualityStep.{name} must be an int, got {value!r}")
        if self.rows_out > self.rows_in:
            raise ValueError(
                f"step {self.step!r}: rows_out={self.rows_out} > rows_in={self.rows_in}; "
                "a cleaning step never adds rows"
            )
        for name in ("rows_in", "rows_out", "removed", "changed"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"QualityStep.{name} must be >= 0, got {getattr(self, name)}"
                )
        if self.removed != self.rows_in - self.rows_out:
            raise ValueError(
                f"step {self.step!r}: removed={self.removed} but rows_in - rows_out = "
                f"{self.rows_in - self.rows_out}"
            )

    def describe(self) -> str:
        """One line of plain text, as printed when no report is collected."""
        share = self.removed / self.rows_in if self.rows_in else 0.0
        text = f"[{self.step}] removed {self.removed:,} of {self.rows_in:,} rows ({share:.1%})"
        if self.changed:
            text += f", changed {self.changed:,}"
        return f"{text}: {self.reason}"


class QualityReport:
    """A data-quality report that accumulates one row per cleaning step.

    Introduced in Chapter 2. Pass the same report to every step of a pipeline
    (``report=report``); then display it in a notebook (an HTML table) or call
    :meth:`to_frame`. :meth:`check` verifies that the counts add up.

    Args:
        title: a heading shown above the table.

    Example:
        >>> report = QualityReport("MovieLens-100K")
        >>> clean = drop_missing(raw, report=report)  # doctest: +SKIP
        >>> report.total_removed  # doctest: +SKIP
    """

    def __init__(self, title: str = "Data-quality report") -> None:
        self.title = str(title)
        self.steps: list[QualityStep] = []

    # --------------------------------------------------------------- building
    def add(
        self,
        step: str,
        rows_in: int,
        rows_out: int,
        reason: str,
        changed: int = 0,
    ) -> QualityStep:
        """Append a step; ``removed`` is computed as ``rows_in - rows_out``.

        Raises:
            TypeError, ValueError: for non-integer or negative counts, or
                ``rows_out > rows_in``.
        """
        entry = QualityStep(
            step=str(step),
            rows_in=int(rows_in),
            rows_out=int(rows_out),
            removed=int(rows_in) - int(rows_out),
            changed=int(changed),
            reason=str(reason),
        )
        self.steps.append(entry)
        return entry

    # --------------------------------------------------------------- totals
    @property
    def total_removed(self) -> int:
        """Rows removed by all steps together."""
        return sum(s.removed for s in self.steps)

    @property
    def total_changed(self) -> int:
        """Rows corrected (kept but modified) by all steps together."""
        return sum(s.changed for s in self.steps)

    @property
    def rows_in(self) -> int | None:
        """Rows entering the first step (``None`` for an empty report)."""
        return self.steps[0].rows_in if self.steps else None

    @property
    def rows_out(self) -> int | None:
        """Rows leaving the last step (``None`` for an empty report)."""
        return self.steps[-1].rows_out if self.steps else None

    def check(self, chain: bool = True) -> None:
        """Verify that the counts add up.

        Every step satisfies ``rows_in - rows_out == removed`` by construction;
        with ``chain=True`` each step must also start where the previous one
        ended (``rows_in`` of step n equals ``rows_out`` of step n-1), so that
        ``rows_in - total_removed == rows_out`` for the whole pipeline.

        Raises:
            ValueError: naming the first step that does not add up.
        """
        for i, s in enumerate(self.steps):
            if s.rows_in - s.rows_out != s.removed:
                raise ValueError(f"step {i} ({s.step}): rows_in - rows_out != removed")
            if chain and i > 0 and s.rows_in != self.steps[i - 1].rows_out:
                prev = self.steps[i - 1]
                raise ValueError(
                    f"step {i} ({s.step}) starts with {s.rows_in} rows but step {i - 1} "
                    f"({prev.step}) ended with {prev.rows_out}; the report mixes frames"
                )

    # --------------------------------------------------------------- display
    def to_frame(self) -> pd.DataFrame:
        """The report as a DataFrame with columns ``REPORT_COLUMNS``."""
        rows = [[getattr(s, c) for c in REPORT_COLUMNS] for s in self.steps]
        frame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
        for col in ("rows_in", "rows_out", "removed", "changed"):
            frame[col] = frame[col].astype("int64")
        return frame

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[QualityStep]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> QualityStep:
        return self.steps[i]

    def _footer(self) -> str:
        if not self.steps:
            return "no steps recorded yet"
        return (
            f"{len(self.steps)} steps: {self.rows_in:,} rows in, {self.rows_out:,} rows out, "
            f"{self.total_removed:,} removed, {self.total_changed:,} changed"
        )

    def __repr__(self) -> str:
        if not self.steps:
            return f"{self.title}: {self._footer()}"
        numeric = ("rows_in", "rows_out", "removed", "changed")
        cells = [
            [
                f"{getattr(s, c):,}" if c in numeric else str(getattr(s, c))
                for c in REPORT_COLUMNS
            ]
            for s in self.steps
        ]
        widths = [
            max(len(c), *(len(row[j]) for row in cells))
            for j, c in enumerate(REPORT_COLUMNS)
        ]

        def line(values) -> str:
            padded = (
                v.rjust(w) if c in numeric else v.ljust(w)
                for v, w, c in zip(values, widths, REPORT_COLUMNS, strict=True)
            )
            return "  ".join(padded).rstrip()

        table = "\n".join([line(REPORT_COLUMNS), *(line(row) for row in cells)])
        return f"{self.title}\n{table}\n{self._footer()}"

    def _repr_html_(self) -> str:
        head = f"<p><b>{escape(self.title)}</b></p>"
        if not self.steps:
            return head + f"<p>{escape(self._footer())}</p>"
        return (
            head
            + self.to_frame().to_html(index=False)
            + f"<p>{escape(self._footer())}</p>"
        )


def _record(
    report: QualityReport | None,
    step: str,
    rows_in: int,
    rows_out: int,
    reason: str,
    changed: int = 0,
) -> None:
    """Append a step to ``report``; without a report, print it if anything happened."""
    if report is not None and not isinstance(report, QualityReport):
        raise TypeError(
            f"report must be a QualityReport or None, got {type(report).__name__}"
        )
    if report is not None:
        report.add(step, rows_in, rows_out, reason, changed=changed)
        return
    entry = QualityStep(
        step, int(rows_in), int(rows_out), int(rows_in - rows_out), int(changed), reason
    )
    if entry.removed or entry.changed:
        print(entry.describe())


def _check_report(report) -> None:
    if report is not None and not isinstance(report, QualityReport):
        raise TypeError(
            f"report must be a QualityReport or None, got {type(report).__name__}"
        )


# ===================================================================== checks
# Shared with recsys_lib.splits.
_NON_ID_COLS = frozenset(
    {RATING_COL, TIMESTAMP_COL, LABEL_COL, PREDICTION_COL, PRICE_COL}
)


def _check_frame(df, fn: str, *, allow_empty: bool = False) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: expected a pandas DataFrame, got {type(df).__name__}")
    if not allow_empty and len(df) == 0:
        raise ValueError(
            f"{fn}: the DataFrame is empty (0 rows); there is nothing to process"
        )


def _as_columns(columns, name: str, fn: str) -> tuple[str, ...]:
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


def _require_columns(df: pd.DataFrame, columns: Sequence, fn: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{fn}: column(s) {missing} not found; the frame has columns {list(df.columns)}. "
            "Rename the columns or pass the right names by keyword (e.g. user_col=...)."
        )


def _check_id_column(
    df: pd.DataFrame, col, fn: str, *, allow_nan: bool = False
) -> None:
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


def _check_numeric_column(df: pd.DataFrame, col, fn: str, what: str = "rating") -> None:
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


def _check_time_column(df: pd.DataFrame, col, fn: str) -> None:
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


def _stable_time_order(s: pd.Series) -> np.ndarray:
    """Positions that sort ``s`` by time; ties keep their input order (stable sort)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.astype("int64").to_numpy()
    else:
        values = s.to_numpy()
    return np.argsort(values, kind="stable")


def _check_int(value, name: str, fn: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{fn}: {name} must be an int, got {type(value).__name__}: {value!r}"
        )
    if value < low:
        raise ValueError(f"{fn}: {name} must be >= {low}, got {value}")
    return int(value)


def _check_real(value, name: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{fn}: {name} must be a number, got {type(value).__name__}: {value!r}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{fn}: {name} must be finite, got {value}")
    return value


def _is_text(s: pd.Series) -> bool:
    return (
        pd.api.types.is_string_dtype(s.dtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# ================================================================ validation
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
    _check_frame(df, fn)
    required = _as_columns(required, "required", fn)
    extra = tuple(c for c in (rating_col, time_col) if c is not None)
    _require_columns(df, required + extra, fn)
    if id_cols is None:
        skip = _NON_ID_COLS | set(extra)
        id_cols = tuple(c for c in required if c not in skip)
    else:
        id_cols = _as_columns(id_cols, "id_cols", fn)
        _require_columns(df, id_cols, fn)
    for col in id_cols:
        _check_id_column(df, col, fn)
    if rating_col is not None:
        _check_numeric_column(df, rating_col, fn)
    if time_col is not None:
        _check_time_column(df, time_col, fn)
    return df


# ================================================================ filters
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
    _check_frame(df, fn)
    _check_report(report)
    columns = _as_columns(columns, "columns", fn)
    _require_columns(df, columns, fn)
    bad = np.zeros(len(df), dtype=bool)
    parts = []
    for col in columns:
        s = df[col]
        miss = s.isna().to_numpy()
        if blank_as_missing and _is_text(s):
            codes, uniques = pd.factorize(s.astype(object))  # NaN -> code -1 -> False
            blank_u = [isinstance(v, str) and not v.strip() for v in uniques] + [False]
            miss = miss | np.array(blank_u, dtype=bool)[codes]
        parts.append(f"{col}: {int(miss.sum()):,}")
        bad |= miss
    out = df.loc[~bad]
    what = "missing (NaN/None" + (" or blank string)" if blank_as_missing else ")")
    _record(
        report, fn, len(df), len(out), f"{what} values per column -- {', '.join(parts)}"
    )
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    if keep not in ("first", "last"):
        raise ValueError(f"{fn}: keep must be 'first' or 'last', got {keep!r}")
    if subset is None:
        cols = tuple(df.columns)
        what = f"exact duplicate rows (all {len(cols)} columns equal)"
    else:
        cols = _as_columns(subset, "subset", fn)
        _require_columns(df, cols, fn)
        what = f"repeated ({', '.join(map(str, cols))})"
    use_time = time_col is not None and time_col in df.columns and subset is not None
    if use_time:
        _check_time_column(df, time_col, fn)
        order = _stable_time_order(df[time_col])
        rule = f"kept the {'latest' if keep == 'last' else 'earliest'} by {time_col!r}"
    else:
        order = np.arange(len(df))
        rule = f"kept the {keep} in row order"
        if subset is not None:
            rule += " (no time column)"
    dup_sorted = df.iloc[order].duplicated(subset=list(cols), keep=keep).to_numpy()
    kept_positions = np.sort(order[~dup_sorted])
    out = df.iloc[kept_positions]
    _record(report, fn, len(df), len(out), f"{what}; {rule}")
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    _require_columns(df, [user_col], fn)
    _check_id_column(df, user_col, fn)
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
        limit = _check_int(max_events, "max_events", fn, 1)
        outliers = counts[counts > limit]
        rule = f"more than {limit:,} events (max_events)"
    elif quantile is not None:
        q = _check_real(quantile, "quantile", fn)
        if not 0 < q < 1:
            raise ValueError(f"{fn}: quantile must be in (0, 1), got {q}")
        limit = float(np.quantile(counts.to_numpy(), q))
        outliers = counts[counts > limit]
        rule = f"more than {limit:,.1f} events (the {q:g}-quantile of events per user)"
    else:
        z = _check_real(robust_z, "robust_z", fn)
        if z <= 0:
            raise ValueError(f"{fn}: robust_z must be > 0, got {z}")
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
        f"users with {rule}: {_plural(len(outliers), 'user')} of {len(counts):,} dropped"
        + (f" (largest had {int(outliers.max()):,} events)" if len(outliers) else "")
    )
    _record(report, fn, len(df), len(out), reason)
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    _require_columns(df, [event_col], fn)
    events = _as_columns(events, "events", fn)
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
    _record(
        report,
        fn,
        len(df),
        len(out),
        f"kept {', '.join(map(str, events))}; removed {detail}",
    )
    return out


# ================================================================ corrections
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
    _check_frame(df, fn)
    _check_report(report)
    columns = _as_columns(columns, "columns", fn)
    _require_columns(df, columns, fn)
    out = df.copy()
    changed_rows = np.zeros(len(df), dtype=bool)
    parts = []
    for col in columns:
        s = df[col]
        if not _is_text(s):
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
    _record(report, fn, len(df), len(out), reason, changed=int(changed_rows.sum()))
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    _require_columns(df, [rating_col], fn)
    _check_numeric_column(df, rating_col, fn)
    low = _check_real(low, "low", fn)
    high = _check_real(high, "high", fn)
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
        _record(
            report,
            fn,
            len(df),
            len(out),
            f"ratings outside [{low:g}, {high:g}] dropped: {detail}",
        )
        return out
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
    _record(report, fn, len(df), len(out), reason, changed=n_below + n_above)
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    if method not in ("center", "minmax"):
        raise ValueError(f"{fn}: method must be 'center' or 'minmax', got {method!r}")
    _require_columns(df, [rating_col] + ([user_col] if per_user else []), fn)
    _check_numeric_column(df, rating_col, fn)
    r = df[rating_col].astype(float)
    if per_user:
        _check_id_column(df, user_col, fn)
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
    _record(report, fn, len(df), len(out), reason, changed=changed)
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
    _check_frame(df, fn)
    _check_report(report)
    _require_columns(df, [rating_col], fn)
    _check_numeric_column(df, rating_col, fn)
    threshold = _check_real(threshold, "threshold", fn)
    positive = df[rating_col] >= threshold
    n_pos = int(positive.sum())
    n_neg = len(df) - n_pos
    out = df.assign(**{label_col: positive.astype("int64")})
    if keep_negatives:
        reason = f"{label_col!r} = {rating_col} >= {threshold:g}: {n_pos:,} positive, {n_neg:,} negative kept with label 0"
        _record(report, fn, len(df), len(out), reason)
        return out
    out = out.loc[positive]
    reason = f"{rating_col} >= {threshold:g} is positive; {n_neg:,} rows below the threshold removed"
    _record(report, fn, len(df), len(out), reason)
    return out


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
    _check_frame(df, fn)
    _check_report(report)
    _check_time_column(df, time_col, fn)
    order = _stable_time_order(df[time_col])
    moved = int((order != np.arange(len(df))).sum())
    t = df[time_col]
    backwards = int((t.to_numpy()[1:] < t.to_numpy()[:-1]).sum()) if len(df) > 1 else 0
    out = df.iloc[order]
    if moved:
        reason = (
            f"timestamps were out of order: time went backwards at {_plural(backwards, 'place')}, "
            f"{moved:,} rows moved (stable sort; ties keep input order)"
        )
    else:
        reason = "already in time order; nothing moved"
    _record(report, fn, len(df), len(out), reason, changed=moved)
    return out


# ================================================================ k-core
def k_core_filter(
    df: pd.DataFrame,
    user_k: int = 5,
    item_k: int = 5,
    *,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    max_iter: int = 100,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Keep the k-core: every user has >= ``user_k`` events, every item >= ``item_k``.

    Removing rare items can push a user below ``user_k`` and vice versa, so
    the filter repeats until nothing changes (a fixed point). Each round
    counts events on the current frame and removes, at once, rows of users
    with fewer than ``user_k`` events and rows of items with fewer than
    ``item_k``. Events are rows: run :func:`drop_duplicates` first if a
    repeated user-item pair should count once.

    Args:
        df: the interaction table.
        user_k: minimum events per user (1 = no constraint).
        item_k: minimum events per item (1 = no constraint).
        user_col, item_col: ID columns.
        max_iter: safety limit on rounds. The filter always converges (each
            round removes rows or stops), so the limit is only reached if it
            is set low; then a ``RuntimeWarning`` is issued and the reason says
            the result is not yet a k-core.
        report: where to record the step: one row per round that removed
            something (``"k_core_filter (round 1)"``, ...), whose reason counts
            the users and items removed in that round; the last row also says
            that the result is stable. If the input already is a k-core, a
            single row with nothing removed.

    Returns:
        The k-core, in the input's row order.

    Raises:
        ValueError: ``user_k`` (``item_k``) exceeds every user's (item's)
            number of events -- everything would be removed -- or the
            filtering cascades to an empty frame. The message gives the
            largest history so you can pick a smaller k.
    """
    fn = "k_core_filter"
    _check_frame(df, fn)
    _check_report(report)
    _require_columns(df, [user_col, item_col], fn)
    _check_id_column(df, user_col, fn)
    _check_id_column(df, item_col, fn)
    user_k = _check_int(user_k, "user_k", fn, 1)
    item_k = _check_int(item_k, "item_k", fn, 1)
    max_iter = _check_int(max_iter, "max_iter", fn, 1)

    max_user = int(df.groupby(user_col, observed=True).size().max())
    max_item = int(df.groupby(item_col, observed=True).size().max())
    if user_k > max_user:
        raise ValueError(
            f"{fn}: user_k={user_k} is larger than any user's history (the most active user "
            f"has {max_user} events); every row would be removed. Use user_k <= {max_user}."
        )
    if item_k > max_item:
        raise ValueError(
            f"{fn}: item_k={item_k} is larger than any item's count (the most popular item "
            f"has {max_item} events); every row would be removed. Use item_k <= {max_item}."
        )

    rounds: list[tuple[int, int, str]] = []  # rows_in, rows_out, reason
    cur = df
    converged = False
    for it in range(1, max_iter + 1):
        u_count = cur.groupby(user_col, observed=True, sort=False)[user_col].transform(
            "size"
        )
        i_count = cur.groupby(item_col, observed=True, sort=False)[item_col].transform(
            "size"
        )
        keep = (u_count >= user_k).to_numpy() & (i_count >= item_k).to_numpy()
        if keep.all():
            converged = True
            break
        nxt = cur.loc[keep]
        users_gone = cur[user_col].nunique() - nxt[user_col].nunique()
        items_gone = cur[item_col].nunique() - nxt[item_col].nunique()
        reason = (
            f"round {it}: users with < {user_k} events or items with < {item_k} events; "
            f"removed {_plural(users_gone, 'user')} and {_plural(items_gone, 'item')}"
        )
        rounds.append((len(cur), len(nxt), reason))
        cur = nxt
        if len(cur) == 0:
            raise ValueError(
                f"{fn}: the ({user_k}, {item_k})-core is empty -- removing rare items pushed "
                f"every user below user_k (or vice versa) after {it} rounds. Use smaller k."
            )
    if not rounds:
        rounds.append(
            (len(df), len(df), f"already a ({user_k}, {item_k})-core; nothing removed")
        )
    elif converged:
        n_u, n_i = cur[user_col].nunique(), cur[item_col].nunique()
        last = rounds[-1]
        rounds[-1] = (
            *last[:2],
            last[2] + f"; stable: {n_u:,} users, {n_i:,} items remain",
        )
    else:
        last = rounds[-1]
        rounds[-1] = (
            *last[:2],
            last[2] + f"; STOPPED at max_iter={max_iter}, not yet a k-core",
        )
        warnings.warn(
            f"{fn}: stopped after max_iter={max_iter} rounds before reaching a fixed point; "
            "some users or items are still below k. Raise max_iter.",
            RuntimeWarning,
            stacklevel=2,
        )
    for i, (rows_in, rows_out, reason) in enumerate(rounds, start=1):
        name = fn if rows_in == rows_out else f"{fn} (round {i})"
        _record(report, name, rows_in, rows_out, reason)
    return cur


# ================================================================ ID mapping
class IdMapper:
    """Map raw user and item IDs to contiguous integers ``0 .. n-1`` and back.

    Introduced in Chapter 2. Embedding tables and sparse matrices need IDs
    that are row numbers. Fit the mapper on the *training* data, then
    transform the validation and test data with the same mapping.

    Codes follow the sorted order of the raw IDs (so the mapping does not
    depend on row order). IDs unseen at fit time cannot be mapped: by default
    :meth:`transform` raises, listing some of them; with ``unknown="drop"`` it
    drops those rows and records the count in the report.

    Args:
        user_col, item_col: the ID columns; pass ``None`` to leave one
            unmapped.

    Attributes:
        n_users, n_items: sizes of the mappings after :meth:`fit`.
        user_ids, item_ids: raw ID for each code (``user_ids[code] == raw``).
    """

    def __init__(
        self, user_col: str | None = USER_COL, item_col: str | None = ITEM_COL
    ) -> None:
        self.columns = tuple(c for c in (user_col, item_col) if c is not None)
        if not self.columns:
            raise ValueError("IdMapper: give at least one of user_col, item_col")
        self.user_col = user_col
        self.item_col = item_col
        self._index: dict[str, pd.Index] = {}

    # ------------------------------------------------------------------ fit
    @property
    def is_fitted(self) -> bool:
        return bool(self._index)

    def _require_fitted(self, fn: str) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"IdMapper.{fn}: call fit(train) first")

    def fit(self, df: pd.DataFrame) -> IdMapper:
        """Learn the mapping from ``df`` (typically the training part).

        Raises:
            TypeError, ValueError: bad frame, missing columns, NaN IDs, or IDs
                of mixed types that cannot be sorted (run :func:`normalize_ids`).
        """
        fn = "IdMapper.fit"
        _check_frame(df, fn)
        _require_columns(df, self.columns, fn)
        index = {}
        for col in self.columns:
            _check_id_column(df, col, fn)
            uniques = pd.Index(pd.unique(df[col].to_numpy()))
            try:
                index[col] = uniques.sort_values()
            except TypeError as err:
                raise TypeError(
                    f"{fn}: column {col!r} mixes ID types ({err}); make them one type first, "
                    "e.g. with normalize_ids(df, columns=[...])"
                ) from None
        self._index = index
        return self

    # ------------------------------------------------------------ accessors
    def _size(self, col) -> int:
        self._require_fitted("size")
        if col is None:
            raise AttributeError("this IdMapper does not map that column")
        return len(self._index[col])

    @property
    def n_users(self) -> int:
        return self._size(self.user_col)

    @property
    def n_items(self) -> int:
        return self._size(self.item_col)

    @property
    def user_ids(self) -> np.ndarray:
        self._size(self.user_col)
        return self._index[self.user_col].to_numpy()

    @property
    def item_ids(self) -> np.ndarray:
        self._size(self.item_col)
        return self._index[self.item_col].to_numpy()

    def mapping(self, col: str) -> pd.Series:
        """The mapping of one column as a Series: raw ID (index) -> code."""
        self._require_fitted("mapping")
        if col not in self._index:
            raise KeyError(f"IdMapper maps {list(self._index)}, not {col!r}")
        idx = self._index[col]
        return pd.Series(np.arange(len(idx), dtype=np.int64), index=idx, name=col)

    # ------------------------------------------------------------ transform
    def transform(
        self,
        df: pd.DataFrame,
        *,
        unknown: str = "raise",
        report: QualityReport | None = None,
    ) -> pd.DataFrame:
        """Replace raw IDs by their codes (``int64``).

        Args:
            df: a frame with the mapped columns.
            unknown: what to do with IDs not seen at fit time: ``"raise"``
                (default) raises ``ValueError`` with counts and examples;
                ``"drop"`` removes those rows and records how many.
            report: where to record the step (``"IdMapper.transform"``).

        Raises:
            RuntimeError: the mapper is not fitted.
            TypeError, ValueError: bad frame, NaN IDs, unknown IDs with
                ``unknown="raise"``, or a bad ``unknown``.
        """
        fn = "IdMapper.transform"
        self._require_fitted("transform")
        _check_report(report)
        if unknown not in ("raise", "drop"):
            raise ValueError(
                f"{fn}: unknown must be 'raise' or 'drop', got {unknown!r}"
            )
        _check_frame(df, fn, allow_empty=True)
        _require_columns(df, self.columns, fn)
        codes = {}
        bad = np.zeros(len(df), dtype=bool)
        parts = []
        for col in self.columns:
            _check_id_column(df, col, fn)
            c = self._index[col].get_indexer(df[col].to_numpy())
            miss = c < 0
            codes[col] = c
            bad |= miss
            if miss.any():
                raw_unknown = pd.unique(df[col].to_numpy()[miss])
                examples = ", ".join(
                    repr(v.item() if hasattr(v, "item") else v) for v in raw_unknown[:5]
                )
                parts.append(
                    f"{col}: {int(miss.sum()):,} rows with {len(raw_unknown):,} unseen IDs "
                    f"(e.g. {examples})"
                )
        if parts and unknown == "raise":
            raise ValueError(
                f"{fn}: IDs not seen at fit time -- {'; '.join(parts)}. Fit on data that "
                "contains them, or pass unknown='drop' to remove (and report) those rows."
            )
        out = df.copy()
        for col in self.columns:
            out[col] = codes[col].astype(np.int64)
        out = out.loc[~bad]
        if parts:
            reason = "rows with IDs unseen at fit time dropped -- " + "; ".join(parts)
        else:
            reason = "all IDs known; mapped to contiguous codes"
        _record(report, fn, len(df), len(out), reason)
        return out

    def fit_transform(
        self, df: pd.DataFrame, *, report: QualityReport | None = None
    ) -> pd.DataFrame:
        """:meth:`fit` then :meth:`transform` on the same frame."""
        return self.fit(df).transform(df, report=report)

    def inverse_transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Replace codes by the raw IDs (the exact inverse of :meth:`transform`).

        Raises:
            RuntimeError: the mapper is not fitted.
            ValueError: a code is not an integer in ``0 .. n-1``.
        """
        fn = "IdMapper.inverse_transform"
        self._require_fitted("inverse_transform")
        _check_frame(df, fn, allow_empty=True)
        _require_columns(df, self.columns, fn)
        out = df.copy()
        for col in self.columns:
            s = df[col]
            if not pd.api.types.is_integer_dtype(s.dtype):
                raise ValueError(
                    f"{fn}: codes in {col!r} must be integers, got dtype {s.dtype}"
                )
            c = s.to_numpy()
            n = len(self._index[col])
            if len(c) and (c.min() < 0 or c.max() >= n):
                raise ValueError(f"{fn}: codes in {col!r} must lie in 0..{n - 1}")
            out[col] = self._index[col].take(c).to_numpy()
        return out

    def __repr__(self) -> str:
        if not self.is_fitted:
            return f"IdMapper(columns={list(self.columns)}, not fitted)"
        sizes = ", ".join(f"{c}: {len(i):,}" for c, i in self._index.items())
        return f"IdMapper({sizes})"


def map_ids(
    df: pd.DataFrame,
    *,
    user_col: str | None = USER_COL,
    item_col: str | None = ITEM_COL,
    report: QualityReport | None = None,
) -> tuple[pd.DataFrame, IdMapper]:
    """Fit an :class:`IdMapper` on ``df`` and map it; return ``(mapped, mapper)``.

    Use ``mapper.transform(test)`` for other parts and
    ``mapper.inverse_transform(...)`` to get raw IDs back.
    """
    mapper = IdMapper(user_col=user_col, item_col=item_col)
    return mapper.fit_transform(df, report=report), mapper
