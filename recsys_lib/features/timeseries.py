"""Price and sales histories as features: handcrafted summaries or a learned encoder.

Introduced in Chapter 5 ("Multimodal data fusion"). From one row per item
and day (e.g. ``Shop.price_history``):

* :func:`time_series_features` -- handcrafted lags, rolling means, trend and
  promotion share as of one day;
* :func:`time_series_windows` -- the last days of every item as an array
  ``(n_items, window, n_channels)``, read by :class:`TimeSeriesEncoder` (a
  small 1-D CNN or GRU) into one vector per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import check_choice, check_int
from ..config import ITEM_COL

__all__ = [
    "TimeSeriesEncoder",
    "TimeSeriesWindows",
    "time_series_features",
    "time_series_windows",
]


class TimeSeriesEncoder(nn.Module):
    """Encode a window of daily price/sales values into one vector.

    Introduced in Chapter 5. Two small architectures:

    * ``kind="conv"``: two 1-D convolutions (kernel 3, ReLU) over time, then
      the mean and the max over time, then a linear layer;
    * ``kind="gru"``: a GRU over the days; its last hidden state goes through
      a linear layer.

    Args:
        n_channels: values per day (e.g. 4 from :func:`time_series_windows`).
        dim: output size.
        hidden: channels of the convolutions / size of the GRU state.
        kind: ``"conv"`` or ``"gru"``.

    Shape:
        ``(B, T, n_channels)`` -> ``(B, dim)``.
    """

    def __init__(
        self, n_channels: int, dim: int = 16, hidden: int = 32, kind: str = "conv"
    ) -> None:
        super().__init__()
        check_choice(kind, "kind", ("conv", "gru"))
        self.n_channels = check_int(n_channels, "n_channels", low=1)
        self.dim = check_int(dim, "dim", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        self.kind = kind
        if kind == "conv":
            self.body = nn.Sequential(
                nn.Conv1d(self.n_channels, hidden, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv1d(hidden, hidden, kernel_size=3, padding=1),
                nn.ReLU(),
            )
            self.out = nn.Linear(2 * hidden, self.dim)
        else:
            self.body = nn.GRU(self.n_channels, hidden, batch_first=True)
            self.out = nn.Linear(hidden, self.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if x.ndim != 3 or x.shape[2] != self.n_channels:
            raise ValueError(
                f"x must have shape (B, T, {self.n_channels}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x is empty, shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains nan or inf (fill missing days explicitly)")
        x = x.float()
        if self.kind == "conv":
            h = self.body(x.transpose(1, 2))  # (B, hidden, T)
            return self.out(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
        _, last = self.body(x)  # (1, B, hidden)
        return self.out(last[-1])


def _daily_matrix(
    history: pd.DataFrame, cols: Sequence[str], item_col: str, day_col: str, as_of_day
):
    """Dense ``(n_items, n_days)`` matrices of ``cols`` (nan = not observed)."""
    if not isinstance(history, pd.DataFrame):
        raise TypeError(
            f"history must be a pandas DataFrame, got {type(history).__name__}"
        )
    if len(history) == 0:
        raise ValueError("history is empty")
    missing = [c for c in (item_col, day_col, *cols) if c not in history.columns]
    if missing:
        raise ValueError(
            f"history lacks column(s) {missing} (has {list(history.columns)})"
        )
    items = history[item_col].to_numpy()
    days = history[day_col].to_numpy()
    for name, arr in ((item_col, items), (day_col, days)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"history['{name}'] must hold integers, got {arr.dtype}")
    if history.duplicated([item_col, day_col]).any():
        raise ValueError(f"history has duplicate ({item_col}, {day_col}) rows")
    span = (
        pd.DataFrame({"i": items, "d": days})
        .groupby("i")["d"]
        .agg(["min", "max", "size"])
    )
    gaps = span.index[(span["max"] - span["min"] + 1) != span["size"]]
    if len(gaps):
        raise ValueError(
            f"days must be contiguous per item; item(s) {gaps[:5].tolist()} have gaps "
            "(fill the missing days explicitly)"
        )
    item_ids = span.index.to_numpy()
    d0 = int(days.min())
    last = int(days.max()) if as_of_day is None else int(as_of_day)
    if last < d0:
        raise ValueError(f"as_of_day={last} is before the first day of history ({d0})")
    row = np.searchsorted(item_ids, items)
    keep = days <= last
    mats = {}
    for c in cols:
        vals = pd.to_numeric(history[c], errors="raise").to_numpy(np.float64)
        if not np.isfinite(vals[keep]).all():
            raise ValueError(f"history['{c}'] contains nan or inf")
        m = np.full((item_ids.size, last - d0 + 1), np.nan)
        m[row[keep], days[keep] - d0] = vals[keep]
        mats[c] = m
    return item_ids, mats


def time_series_features(
    history: pd.DataFrame,
    *,
    value_col: str = "units_sold",
    promo_col: str | None = "on_promo",
    discount_col: str | None = "discount",
    item_col: str = ITEM_COL,
    day_col: str = "day",
    lags: Sequence[int] = (1, 7, 14),
    windows: Sequence[int] = (7, 28),
    as_of_day: int | None = None,
) -> pd.DataFrame:
    """Handcrafted features of each item's daily series, as of one day.

    Introduced in Chapter 5. With ``D = as_of_day`` (default: the last day
    in ``history``) the features describe the item just before day ``D + 1``:

    * ``lag_k``: the value on day ``D + 1 - k`` (``lag_1`` is day ``D``);
    * ``mean_w``: mean value over days ``D - w + 1 .. D``;
    * ``trend_w`` (largest window only): least-squares slope of the value
      over those days, in value units per day;
    * ``promo_share_w`` (largest window): share of those days on promotion;
    * ``discount``: the discount on day ``D``;
    * ``n_days``: how many days of history the item has up to ``D``.

    A feature that needs days the item does not have (a new product) is
    ``nan``, never a guessed number; ``n_days`` says why. Fill as suits the
    model, e.g. ``features.fillna(0)`` with ``n_days`` as an input.

    Args:
        history: one row per item and day, e.g. ``Shop.price_history``.
        value_col: the series (default ``units_sold``; ``price`` works too).
        promo_col, discount_col: optional promotion columns (``None`` to skip).
        item_col, day_col: key columns (integers; days contiguous per item).
        lags, windows: positive ints.
        as_of_day: the day the features describe (default: the last day).

    Returns:
        DataFrame indexed by ``item_id``, one row per item in ``history``.
    """
    lags = [check_int(k, "lag", low=1) for k in lags]
    windows = [check_int(w, "window", low=1) for w in windows]
    if not windows:
        raise ValueError("windows must not be empty")
    cols = [value_col] + [c for c in (promo_col, discount_col) if c is not None]
    item_ids, mats = _daily_matrix(history, cols, item_col, day_col, as_of_day)
    V = mats[value_col]  # (n_items, n_days)
    n_days_total = V.shape[1]
    out: dict[str, np.ndarray] = {}

    def last_days(m: np.ndarray, w: int) -> np.ndarray:
        if w > n_days_total:
            return np.full((m.shape[0], w), np.nan)
        return m[:, n_days_total - w :]

    for k in lags:
        out[f"lag_{k}"] = last_days(V, k)[:, 0]
    for w in windows:
        out[f"mean_{w}"] = last_days(V, w).mean(axis=1)  # nan if any day is missing
    w = max(windows)
    block = last_days(V, w)
    t = np.arange(w) - (w - 1) / 2
    out[f"trend_{w}"] = block @ t / (t @ t) if w > 1 else np.full(len(V), np.nan)
    if promo_col is not None:
        out[f"promo_share_{w}"] = last_days(mats[promo_col], w).mean(axis=1)
    if discount_col is not None:
        out["discount"] = mats[discount_col][:, -1]
    out["n_days"] = (~np.isnan(V)).sum(axis=1).astype(np.int64)
    return pd.DataFrame(out, index=pd.Index(item_ids, name=item_col))


class TimeSeriesWindows(NamedTuple):
    """Windows for :class:`TimeSeriesEncoder`.

    Introduced in Chapter 5.

    Attributes:
        values: float32 ``(n_items, window, n_channels)``.
        item_ids: int64 ``(n_items,)``, the item of each row (sorted).
        channels: names of the channels.
    """

    values: np.ndarray
    item_ids: np.ndarray
    channels: tuple[str, ...]


def time_series_windows(
    history: pd.DataFrame,
    window: int = 28,
    as_of_day: int | None = None,
    *,
    value_col: str = "units_sold",
    discount_col: str | None = "discount",
    promo_col: str | None = "on_promo",
    item_col: str = ITEM_COL,
    day_col: str = "day",
) -> TimeSeriesWindows:
    """The last ``window`` days of every item as a tensor-ready array.

    Introduced in Chapter 5. Channels, per day: ``log1p(value)`` (counts are
    skewed), the discount, the promotion flag, and ``observed`` (1 if the
    item existed that day). Days before an item's launch are zeros with
    ``observed = 0``, so a new product is padded explicitly, not dropped.

    Returns:
        a :class:`TimeSeriesWindows`.
    """
    window = check_int(window, "window", low=1)
    cols = [value_col] + [c for c in (discount_col, promo_col) if c is not None]
    item_ids, mats = _daily_matrix(history, cols, item_col, day_col, as_of_day)
    n_items, n_days = mats[value_col].shape
    chans = []
    for c in cols:
        m = mats[c]
        if n_days < window:
            m = np.concatenate([np.full((n_items, window - n_days), np.nan), m], axis=1)
        chans.append(m[:, -window:])
    observed = ~np.isnan(chans[0])
    if (chans[0][observed] < 0).any():
        raise ValueError(f"history['{value_col}'] must be >= 0 for log1p")
    chans[0] = np.log1p(np.where(observed, chans[0], 0.0))
    chans = [np.where(observed, c, 0.0) for c in chans] + [observed.astype(np.float64)]
    names = (f"log1p_{value_col}", *cols[1:], "observed")
    return TimeSeriesWindows(
        np.stack(chans, axis=2).astype(np.float32), item_ids.astype(np.int64), names
    )
