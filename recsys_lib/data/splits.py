"""Train / validation / test splits for interaction data.

Introduced in Chapter 2.

Three ways to hold out data, each returning a :class:`Split`:

* :func:`random_split` -- rows at random. Simple, but it mixes past and
  future: the model may train on events that happen after the ones it is
  tested on. Fine for a first explicit-rating baseline, not for "what will
  the user do next".
* :func:`leave_last_out` -- per user, the latest event(s) go to test and the
  ones before to validation. Every test user has history in train.
* :func:`temporal_split` -- one global cutoff time: everything before it is
  train, everything after it test. The most honest simulation of deployment;
  new users and items appear in test, as in real life.

``split.summary()`` shows rows, users and items per part and how many valid /
test users and items never occur in train ("cold"). ``split.drop_cold()``
removes cold rows and reports how many.

Ties in timestamps are broken deterministically by input row order: sorts are
stable, so of two events with the same timestamp, the one further down the
input counts as later. Sort the input first (e.g. by a secondary key) if you
want a different rule.

Like the cleaning steps of :mod:`recsys_lib.data`, every function takes an
optional ``report`` (a :class:`~recsys_lib.data.report.QualityReport`), never
modifies its input, keeps index labels, and raises a clear error for bad
input.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from .frames import (
    check_frame,
    check_id_columns,
    check_time_column,
    stable_time_order,
    time_order,
)
from .report import QualityReport, check_report, plural, record

__all__ = ["Split", "leave_last_out", "random_split", "temporal_split"]

PARTS = ("train", "valid", "test")


@dataclass(frozen=True, repr=False, eq=False)
class Split:
    """Three parts of an interaction table: ``train``, ``valid``, ``test``.

    Introduced in Chapter 2. Unpacks like a tuple
    (``train, valid, test = split``); ``valid`` is an empty frame (same
    columns) when no validation part was asked for.

    Attributes:
        train, valid, test: the parts (index labels of the input kept).
        user_col, item_col: ID columns, used by :meth:`summary` and
            :meth:`drop_cold`.
        time_col: timestamp column, or ``None``; if present, :meth:`summary`
            shows each part's time range.
    """

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    user_col: str = USER_COL
    item_col: str = ITEM_COL
    time_col: str | None = TIMESTAMP_COL

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.train, self.valid, self.test))

    @property
    def parts(self) -> dict[str, pd.DataFrame]:
        """``{"train": ..., "valid": ..., "test": ...}``."""
        return dict(zip(PARTS, (self.train, self.valid, self.test), strict=True))

    @property
    def n_rows(self) -> int:
        """Rows in all three parts together."""
        return len(self.train) + len(self.valid) + len(self.test)

    def summary(self) -> pd.DataFrame:
        """One row per part.

        Columns: ``rows``, ``users``, ``items``; ``cold_users`` and
        ``cold_items`` -- distinct users/items of the part that never occur
        in train -- and their shares ``cold_user_share`` (of the part's
        users) and ``cold_item_share`` (of its items); ``cold_rows`` -- rows
        whose user or item is cold. With a time column also ``time_min`` and
        ``time_max``. Shares are NaN for an empty part; train's cold counts
        are 0 by definition.
        """
        train_users = pd.Index(self.train[self.user_col].unique())
        train_items = pd.Index(self.train[self.item_col].unique())
        with_time = self.time_col is not None and all(
            self.time_col in p.columns for p in (self.train, self.valid, self.test)
        )
        rows = []
        for part in (self.train, self.valid, self.test):
            users = pd.Index(part[self.user_col].unique())
            items = pd.Index(part[self.item_col].unique())
            cold_u = int((~users.isin(train_users)).sum())
            cold_i = int((~items.isin(train_items)).sum())
            cold_rows = int(
                (
                    ~part[self.user_col].isin(train_users)
                    | ~part[self.item_col].isin(train_items)
                ).sum()
            )
            row = {
                "rows": len(part),
                "users": len(users),
                "items": len(items),
                "cold_users": cold_u,
                "cold_user_share": cold_u / len(users) if len(users) else np.nan,
                "cold_items": cold_i,
                "cold_item_share": cold_i / len(items) if len(items) else np.nan,
                "cold_rows": cold_rows,
            }
            if with_time:
                t = part[self.time_col]
                row["time_min"] = t.min() if len(t) else None
                row["time_max"] = t.max() if len(t) else None
            rows.append(row)
        out = pd.DataFrame(rows, index=pd.Index(PARTS, name="part"))
        return out

    def drop_cold(
        self,
        users: bool = True,
        items: bool = True,
        *,
        report: QualityReport | None = None,
    ) -> Split:
        """Remove valid and test rows whose user or item never occurs in train.

        Coldness is judged against ``train`` only (not train + valid), which is
        what the model evaluated on valid/test was fitted on.

        Args:
            users: drop rows with a user unseen in train.
            items: drop rows with an item unseen in train.
            report: where to record the step (``"Split.drop_cold"``); its
                ``rows_in``/``rows_out`` count all three parts, so it chains
                after the split's own step, and the reason gives the counts
                per part.

        Returns:
            A new :class:`Split` (train unchanged).

        Raises:
            ValueError: neither ``users`` nor ``items`` selected.
        """
        fn = "Split.drop_cold"
        check_report(report)
        if not (users or items):
            raise ValueError(f"{fn}: choose users=True and/or items=True")
        train_users = pd.Index(self.train[self.user_col].unique())
        train_items = pd.Index(self.train[self.item_col].unique())
        new, parts = {}, []
        for name in ("valid", "test"):
            part = getattr(self, name)
            cold_u = (
                ~part[self.user_col].isin(train_users)
                if users
                else pd.Series(False, index=part.index)
            )
            cold_i = (
                ~part[self.item_col].isin(train_items)
                if items
                else pd.Series(False, index=part.index)
            )
            cold = (cold_u | cold_i).to_numpy(dtype=bool)
            new[name] = part.loc[~cold]
            parts.append(
                f"{name}: {int(cold.sum()):,} of {len(part):,} rows "
                f"({int(cold_u.sum()):,} with a new user, {int(cold_i.sum()):,} with a new item)"
            )
        what = " or ".join(w for w, on in (("user", users), ("item", items)) if on)
        out = Split(
            self.train,
            new["valid"],
            new["test"],
            user_col=self.user_col,
            item_col=self.item_col,
            time_col=self.time_col,
        )
        reason = f"rows whose {what} never occurs in train dropped -- " + "; ".join(
            parts
        )
        return record(report, fn, self.n_rows, out, reason)

    def __repr__(self) -> str:
        return (
            f"Split(train={len(self.train):,} rows, valid={len(self.valid):,} rows, "
            f"test={len(self.test):,} rows)"
        )

    def _repr_html_(self) -> str:
        return self.summary().to_html()


# ===================================================================== helpers
def _fraction(value, name: str, fn: str, *, allow_zero: bool) -> float:
    value = check_number(value, name, where=fn)
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{fn}: {name} must be in {interval}, got {value}")
    return value


def _make_split(
    df, train_pos, valid_pos, test_pos, user_col, item_col, time_col
) -> Split:
    return Split(
        df.iloc[np.sort(train_pos)],
        df.iloc[np.sort(valid_pos)],
        df.iloc[np.sort(test_pos)],
        user_col=user_col,
        item_col=item_col,
        time_col=time_col if time_col is not None and time_col in df.columns else None,
    )


def _sizes(split: Split) -> str:
    return f"train {len(split.train):,} / valid {len(split.valid):,} / test {len(split.test):,} rows"


# ===================================================================== random
def random_split(
    df: pd.DataFrame,
    test_frac: float = 0.2,
    seed: int = 0,
    *,
    valid_frac: float = 0.0,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    time_col: str | None = TIMESTAMP_COL,
    report: QualityReport | None = None,
) -> Split:
    """Assign rows to train / valid / test uniformly at random.

    The test part gets ``round(test_frac * n)`` rows and the validation part
    ``round(valid_frac * n)``; the rest is train. Each part keeps the input's
    row order. Beware: this mixes past and future, and some test users or
    items may be cold (see :meth:`Split.summary`).

    Args:
        df: the interaction table.
        test_frac: share of rows for test, in (0, 1).
        seed: random seed (int >= 0); the same seed gives the same split.
        valid_frac: share of rows for validation, in [0, 1);
            ``test_frac + valid_frac < 1``.
        user_col, item_col: ID columns (for the summary).
        time_col: timestamp column, only used by the summary (may be absent).
        report: where to record the step (nothing removed).

    Raises:
        TypeError, ValueError: bad frame, bad fractions or seed, or too few
            rows for every requested part to get at least one row.
    """
    fn = "random_split"
    check_frame(df, fn)
    check_report(report)
    check_id_columns(df, [user_col, item_col], fn)
    test_frac = _fraction(test_frac, "test_frac", fn, allow_zero=False)
    valid_frac = _fraction(valid_frac, "valid_frac", fn, allow_zero=True)
    if test_frac + valid_frac >= 1:
        raise ValueError(
            f"{fn}: test_frac + valid_frac must be < 1 so train is not empty, "
            f"got {test_frac} + {valid_frac}"
        )
    seed = check_int(seed, "seed", low=0, where=fn)
    n = len(df)
    n_test = int(round(test_frac * n))
    n_valid = int(round(valid_frac * n))
    if n_test == 0 or (valid_frac > 0 and n_valid == 0) or n - n_test - n_valid < 1:
        raise ValueError(
            f"{fn}: {n} rows are too few for test_frac={test_frac}, valid_frac={valid_frac}: "
            f"some part would be empty"
        )
    perm = np.random.default_rng(seed).permutation(n)
    split = _make_split(
        df,
        perm[n_test + n_valid :],
        perm[n_test : n_test + n_valid],
        perm[:n_test],
        user_col,
        item_col,
        time_col,
    )
    reason = f"rows at random (seed={seed}): {_sizes(split)}"
    return record(report, fn, n, split, reason)


# ===================================================================== leave-last-out
def leave_last_out(
    df: pd.DataFrame,
    n_valid: int = 1,
    n_test: int = 1,
    *,
    time_col: str | None = TIMESTAMP_COL,
    min_train: int = 1,
    short_users: str = "train",
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    report: QualityReport | None = None,
) -> Split:
    """Per user, hold out the latest events: last ``n_test`` to test, the ``n_valid`` before to valid.

    Events are ordered per user by ``time_col`` with a stable sort, so of two
    events with the same timestamp the one further down the input is later.
    With ``time_col=None`` the input row order itself is taken as time order.

    Users with too few events -- the documented rule:

    * a user with at least ``n_test + n_valid + min_train`` events gets all
      three parts;
    * a user with at least ``n_test + min_train`` but fewer events gets train
      and test only (test is filled before valid);
    * a user with fewer than ``n_test + min_train`` events is "short": all
      their events stay in train (``short_users="train"``, default) or are
      removed (``short_users="drop"``, counted as removed in the report).

    The report's reason counts users in each group.

    Args:
        df: the interaction table.
        n_valid: events per user for validation (>= 0).
        n_test: events per user for test (>= 1).
        time_col: timestamp column, or ``None`` to use row order.
        min_train: events a user must keep in train (>= 0); with the default 1
            every test user has history.
        short_users: ``"train"`` or ``"drop"``, see above.
        user_col, item_col: ID columns.
        report: where to record the step.

    Returns:
        A :class:`Split`; each part keeps the input's row order.

    Raises:
        TypeError, ValueError: bad frame, NaN IDs, missing or NaN time column,
            bad counts, or no user with enough events for a test part.
    """
    fn = "leave_last_out"
    check_frame(df, fn)
    check_report(report)
    check_id_columns(df, [user_col, item_col], fn)
    n_valid = check_int(n_valid, "n_valid", low=0, where=fn)
    n_test = check_int(n_test, "n_test", low=1, where=fn)
    min_train = check_int(min_train, "min_train", low=0, where=fn)
    if short_users not in ("train", "drop"):
        raise ValueError(
            f"{fn}: short_users must be 'train' or 'drop', got {short_users!r}"
        )
    order = time_order(df, time_col, fn)

    users_sorted = df[user_col].iloc[order].reset_index(drop=True)  # index may repeat
    grouped = users_sorted.groupby(users_sorted, observed=True, sort=False)
    rank_from_end = grouped.cumcount(
        ascending=False
    ).to_numpy()  # 0 = the user's latest
    size = grouped.transform("size").to_numpy()

    has_test = size >= n_test + min_train
    has_valid = has_test & (n_valid > 0) & (size >= n_test + n_valid + min_train)
    is_test = has_test & (rank_from_end < n_test)
    is_valid = (
        has_valid & (rank_from_end >= n_test) & (rank_from_end < n_test + n_valid)
    )
    is_short = ~has_test
    is_train = ~(is_test | is_valid) & ~(is_short & (short_users == "drop"))

    n_full = users_sorted[has_valid].nunique()
    n_test_only = users_sorted[has_test & ~has_valid].nunique()
    n_short = users_sorted[is_short].nunique()
    if not has_test.any():
        raise ValueError(
            f"{fn}: no user has n_test + min_train = {n_test + min_train} events "
            f"(the longest history has {int(size.max())}); the test part would be empty. "
            "Lower n_test or min_train."
        )
    split = _make_split(
        df,
        order[is_train],
        order[is_valid],
        order[is_test],
        user_col,
        item_col,
        time_col,
    )
    by = (
        f"by {time_col!r} (stable; ties keep input order)"
        if time_col
        else "by row order"
    )
    groups = [f"{plural(n_full, 'user')} in all parts" if n_valid else None]
    groups.append(
        f"{plural(n_test_only, 'user')} with too few events for valid (train + test only)"
        if n_valid
        else f"{plural(n_test_only, 'user')} in train + test"
    )
    short_rule = "kept wholly in train" if short_users == "train" else "dropped"
    groups.append(
        f"{plural(n_short, 'user')} with < {n_test + min_train} events {short_rule} "
        f"({int(is_short.sum()):,} rows)"
    )
    reason = (
        f"per user {by}: last {n_test} to test, "
        + (f"previous {n_valid} to valid; " if n_valid else "no valid part; ")
        + "; ".join(g for g in groups if g)
        + f"; {_sizes(split)}"
    )
    return record(report, fn, df, split, reason)


# ===================================================================== temporal
def _cutoff_from_quantile(sorted_t: pd.Series, q: float):
    """The timestamp at position ``floor(q * n)`` of the sorted times."""
    idx = min(int(np.floor(q * len(sorted_t))), len(sorted_t) - 1)
    return sorted_t.iloc[idx]


def _as_time(value, s: pd.Series, name: str, fn: str):
    """Turn a user-given cutoff into something comparable with the time column."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if isinstance(value, bool) or not isinstance(
            value, str | pd.Timestamp | _dt.datetime | _dt.date | np.datetime64
        ):
            raise TypeError(
                f"{fn}: {name} must be a date or time (str, datetime or pd.Timestamp) because "
                f"{s.name!r} holds datetimes, got {type(value).__name__}: {value!r}"
            )
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{fn}: cannot read {name}={value!r} as a time: {err}"
            ) from None
        tz_col = getattr(s.dtype, "tz", None)
        if (tz_col is None) != (ts.tz is None):
            raise TypeError(
                f"{fn}: {name}={ts} and column {s.name!r} ({s.dtype}) disagree on time zones; "
                "give both a time zone or neither"
            )
        return ts
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{fn}: {name} must be a number because {s.name!r} is numeric ({s.dtype}), "
            f"got {type(value).__name__}: {value!r}"
        )
    return value


def temporal_split(
    df: pd.DataFrame,
    test_time=None,
    valid_time=None,
    *,
    test_quantile: float | None = None,
    valid_quantile: float | None = None,
    time_col: str = TIMESTAMP_COL,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    report: QualityReport | None = None,
) -> Split:
    """Split at global cutoff times: past to train, future to test.

    ``train = t < valid_time`` (or ``t < test_time`` without a validation
    part), ``valid = valid_time <= t < test_time``, ``test = t >= test_time``.
    Events exactly at a cutoff go to the later part, so no test event is
    earlier than any train event.

    Give the cutoffs either as times (``test_time``/``valid_time``, numbers
    for a numeric column, anything ``pd.Timestamp`` reads for a datetime
    column) or as quantiles of the timestamps (``test_quantile=0.8`` puts
    about the last 20% of events in test). With quantiles, the cutoff is the
    timestamp at position ``floor(q * n)`` of the sorted times; when many
    events share that timestamp, they all go to the later part, so the later
    part can be somewhat larger than ``1 - q``.

    Args:
        df: the interaction table.
        test_time: start of the test period.
        valid_time: start of the validation period (optional, < test_time).
        test_quantile: alternative to ``test_time``, in (0, 1).
        valid_quantile: alternative to ``valid_time``, in (0, test_quantile).
        time_col: timestamp column (numbers or datetimes, no NaN).
        user_col, item_col: ID columns (for the summary).
        report: where to record the step (nothing removed).

    Returns:
        A :class:`Split`; each part keeps the input's row order.

    Raises:
        TypeError, ValueError: bad frame, NaN IDs, missing/NaN/text time
            column, both or neither of a time and a quantile for test, mixing
            times and quantiles, cutoffs out of order, or a part that would be
            empty.
    """
    fn = "temporal_split"
    check_frame(df, fn)
    check_report(report)
    check_id_columns(df, [user_col, item_col], fn)
    check_time_column(df, time_col, fn)
    if (test_time is None) == (test_quantile is None):
        raise ValueError(
            f"{fn}: give exactly one of test_time= (a cutoff time) or test_quantile= "
            "(e.g. 0.8 for the last 20% of events)"
        )
    if valid_time is not None and valid_quantile is not None:
        raise ValueError(f"{fn}: give valid_time= or valid_quantile=, not both")
    if (test_time is not None and valid_quantile is not None) or (
        test_quantile is not None and valid_time is not None
    ):
        raise ValueError(
            f"{fn}: do not mix times and quantiles; use the same kind for both"
        )

    t = df[time_col]
    if test_quantile is not None:
        q_test = _fraction(test_quantile, "test_quantile", fn, allow_zero=False)
        sorted_t = t.iloc[stable_time_order(t)]
        test_cut = _cutoff_from_quantile(sorted_t, q_test)
        valid_cut = None
        if valid_quantile is not None:
            q_valid = _fraction(valid_quantile, "valid_quantile", fn, allow_zero=False)
            if q_valid >= q_test:
                raise ValueError(
                    f"{fn}: valid_quantile={q_valid} must be < test_quantile={q_test}"
                )
            valid_cut = _cutoff_from_quantile(sorted_t, q_valid)
            if not valid_cut < test_cut:
                raise ValueError(
                    f"{fn}: valid and test cutoffs fall on the same timestamp ({test_cut}) "
                    "because many events share it; the validation part would be empty. "
                    "Spread the quantiles further apart."
                )
        how = f"quantiles (test from q={q_test:g}" + (
            f", valid from q={valid_quantile:g})" if valid_cut is not None else ")"
        )
    else:
        test_cut = _as_time(test_time, t, "test_time", fn)
        valid_cut = (
            None if valid_time is None else _as_time(valid_time, t, "valid_time", fn)
        )
        if valid_cut is not None and not valid_cut < test_cut:
            raise ValueError(
                f"{fn}: valid_time={valid_cut} must be < test_time={test_cut}"
            )
        how = "given cutoff times"

    is_test = (t >= test_cut).to_numpy()
    if valid_cut is not None:
        is_valid = ((t >= valid_cut) & ~(t >= test_cut)).to_numpy()
        is_train = (t < valid_cut).to_numpy()
    else:
        is_valid = np.zeros(len(df), dtype=bool)
        is_train = ~is_test
    t_range = f"times range from {t.min()} to {t.max()}"
    for name, mask, cut in (
        ("train", is_train, valid_cut if valid_cut is not None else test_cut),
        ("test", is_test, test_cut),
    ):
        if not mask.any():
            raise ValueError(
                f"{fn}: the {name} part would be empty with cutoff {cut}; {t_range}"
            )
    if valid_cut is not None and not is_valid.any():
        raise ValueError(
            f"{fn}: the valid part would be empty: no event in [{valid_cut}, {test_cut}); {t_range}"
        )
    pos = np.arange(len(df))
    split = _make_split(
        df, pos[is_train], pos[is_valid], pos[is_test], user_col, item_col, time_col
    )
    cuts = f"test from {test_cut}" + (
        f", valid from {valid_cut}" if valid_cut is not None else ""
    )
    reason = f"global cutoffs by {how}: {cuts}; {_sizes(split)}"
    return record(report, fn, df, split, reason)
