"""From labelled headlines to alarms: daily counts, an index, z-scores, CUSUM.

Introduced in Chapter 14. :func:`daily_counts` and :func:`sentiment_index`
turn (predicted) labels into daily series per topic; :func:`rolling_zscore`
and :func:`cusum` (Page 1954) raise alarms on them; :func:`evaluate_alarms`
measures detection delay and false alarms against known bursts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .headlines import SENTIMENTS, TOPICS

__all__ = [
    "cusum",
    "daily_counts",
    "evaluate_alarms",
    "rolling_zscore",
    "sentiment_index",
]


def daily_counts(
    frame: pd.DataFrame,
    label_col: str,
    dates: Sequence,
    value: str = "negative",
    topics: Sequence[str] = TOPICS,
) -> pd.DataFrame:
    """Headlines per day and topic whose ``label_col`` equals ``value``.

    Returns:
        ``(len(dates), len(topics))`` int DataFrame indexed by date; days
        without such a headline hold 0.
    """
    for col in ("date", "topic", label_col):
        if col not in frame.columns:
            raise KeyError(f"frame has no column {col!r}")
    hits = frame[frame[label_col] == value]
    table = pd.crosstab(hits["date"], hits["topic"])
    return (
        table.reindex(index=pd.DatetimeIndex(dates), columns=list(topics), fill_value=0)
        .fillna(0)
        .astype(int)
    )


def sentiment_index(
    frame: pd.DataFrame,
    label_col: str,
    dates: Sequence,
    topics: Sequence[str] = TOPICS,
    halflife: float = 5.0,
    prior: float = 1.0,
) -> pd.DataFrame:
    """Daily sentiment index per topic, in ``[-1, 1]``.

    Introduced in Chapter 14. Each day, ``(P - N) / (P + Z + N + prior)``
    with ``P``/``Z``/``N`` the exponentially weighted (``halflife`` business
    days) counts of positive, neutral and negative headlines up to that day:
    the net tone, pulled towards 0 when there is little news. Uses only past
    and present headlines (no look-ahead).
    """
    if halflife <= 0 or prior < 0:
        raise ValueError("halflife must be > 0 and prior >= 0")
    counts = {
        s: daily_counts(frame, label_col, dates, s, topics)
        .ewm(halflife=halflife)
        .mean()
        for s in SENTIMENTS
    }
    total = counts["negative"] + counts["neutral"] + counts["positive"]
    return (counts["positive"] - counts["negative"]) / (total + prior)


def rolling_zscore(
    x: pd.Series | pd.DataFrame | np.ndarray,
    window: int = 60,
    min_periods: int = 20,
    min_std: float = 0.5,
):
    """How unusual each value is compared with the ``window`` values before it.

    Introduced in Chapter 14. ``z_t = (x_t - mean(x_{t-window..t-1})) /
    max(std(x_{t-window..t-1}), min_std)``. The baseline excludes day ``t``
    (otherwise a surge would inflate its own baseline); ``min_std`` keeps a
    quiet stretch with almost constant counts from turning a single headline
    into a huge z. The first ``min_periods`` values are NaN.
    """
    if window < 2 or not 1 <= min_periods <= window:
        raise ValueError("need window >= 2 and 1 <= min_periods <= window")
    frame = pd.DataFrame(x) if not isinstance(x, pd.Series | pd.DataFrame) else x
    past = frame.shift(1).rolling(window, min_periods=min_periods)
    z = (frame - past.mean()) / past.std().clip(lower=min_std)
    if isinstance(x, np.ndarray):
        return z.to_numpy().reshape(x.shape)
    return z


def cusum(
    x: Sequence[float] | np.ndarray,
    target: float,
    k: float,
    h: float,
    reset: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided (upper) CUSUM of Page (1954).

    Introduced in Chapter 14. ``S_0 = 0``, ``S_t = max(0, S_{t-1} + x_t -
    target - k)``; an alarm is raised on day ``t`` when ``S_t > h`` and, with
    ``reset``, the sum restarts from 0. ``k`` is the slack (half the shift to
    detect, in the units of ``x``): days within ``target + k`` drain the sum,
    so noise alone rarely accumulates to ``h``.

    Returns:
        ``(S, alarms)``: the sums (float) and the alarm days (bool).

    Raises:
        ValueError: for ``k < 0``, ``h <= 0`` or a NaN in ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("x contains NaN; fill or drop missing days first")
    if k < 0 or h <= 0:
        raise ValueError("need k >= 0 and h > 0")
    s = np.zeros(len(x))
    alarms = np.zeros(len(x), dtype=bool)
    prev = 0.0
    for t, v in enumerate(x):
        prev = max(0.0, prev + v - target - k)
        if prev > h:
            alarms[t] = True
            if reset:
                s[t] = prev
                prev = 0.0
                continue
        s[t] = prev
    return s, alarms


def evaluate_alarms(
    alarms: pd.DataFrame,
    bursts: pd.DataFrame,
    grace: int = 3,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Score alarms against known bursts.

    Introduced in Chapter 14. ``alarms`` is a boolean DataFrame (days x topics).
    A burst of a topic is *detected* if that topic alarms between its first day
    and ``grace`` business days after its last day; the *delay* is the number
    of business days from the first day of the burst to the first such alarm
    (0: on the first day). An alarm *onset* (an alarm day that follows a day
    without alarm) outside every such window is a *false alarm*.

    Returns:
        ``(per_burst, summary)``: a table with ``detected`` and ``delay`` per
        burst inside the alarm period, and ``{"bursts", "detected",
        "detection_rate", "mean_delay", "max_delay", "false_alarms",
        "quiet_days", "false_alarms_per_100_days"}``; ``quiet_days`` counts
        topic-days outside the windows.
    """
    if not isinstance(alarms, pd.DataFrame):
        raise TypeError("alarms must be a DataFrame of booleans (days x topics)")
    days = pd.DatetimeIndex(alarms.index)
    values = alarms.fillna(False).astype(bool)
    onsets = values & ~values.shift(1, fill_value=False)
    window = pd.DataFrame(False, index=days, columns=alarms.columns)
    rows = []
    for b in bursts.itertuples(index=False):
        if b.topic not in alarms.columns or b.start < days[0] or b.start > days[-1]:
            continue
        s = days.get_indexer([b.start])[0]
        e = min(days.get_indexer([b.end])[0] + grace, len(days) - 1)
        window.iloc[s : e + 1, alarms.columns.get_loc(b.topic)] = True
        hits = np.flatnonzero(values[b.topic].to_numpy()[s : e + 1])
        rows.append(
            (
                b.topic,
                b.start,
                b.end,
                bool(len(hits)),
                int(hits[0]) if len(hits) else np.nan,
            )
        )
    per_burst = pd.DataFrame(
        rows, columns=["topic", "start", "end", "detected", "delay"]
    )
    false = int((onsets & ~window).to_numpy().sum())
    quiet = int((~window).to_numpy().sum())
    detected = int(per_burst["detected"].sum()) if len(per_burst) else 0
    delays = per_burst["delay"].dropna()
    summary = {
        "bursts": len(per_burst),
        "detected": detected,
        "detection_rate": detected / len(per_burst) if len(per_burst) else float("nan"),
        "mean_delay": float(delays.mean()) if len(delays) else float("nan"),
        "max_delay": float(delays.max()) if len(delays) else float("nan"),
        "false_alarms": false,
        "quiet_days": quiet,
        "false_alarms_per_100_days": 100 * false / max(quiet, 1),
    }
    return per_burst, summary
