"""Stage 2 of ShopSim: seasons, regular prices, promotions and market sales.

Introduced in Chapter 2 (see :mod:`recsys_lib.data.shopsim`, "2. Prices and
sales over time").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import ITEM_COL, PRICE_COL
from .catalogue import Catalogue
from .config import ShopConfig
from .vocab import PROMO_DISCOUNT_P, PROMO_DISCOUNTS, WEEKDAY_WEIGHTS, class_info

__all__ = ["REPRICE_DAYS", "make_prices", "season_index", "weekday_weights"]

REPRICE_DAYS = 28  # regular prices are revised every four weeks


def season_index(cfg: ShopConfig, class_names) -> np.ndarray:
    start = pd.Timestamp(cfg.start_date)
    doy = start.day_of_year - 1 + np.arange(cfg.n_days)
    infos = [class_info(name) for name in class_names]
    amp = np.array([info.season_amp for info in infos])[:, None]
    peak = np.array([info.season_peak for info in infos])[:, None]
    return amp * np.cos(2 * np.pi * (doy[None, :] - peak) / 365.25)


def weekday_weights(cfg: ShopConfig) -> np.ndarray:
    start = pd.Timestamp(cfg.start_date)
    return WEEKDAY_WEIGHTS[(start.day_of_week + np.arange(cfg.n_days)) % 7]


def make_prices(cfg, rng, cat: Catalogue, season: np.ndarray):
    n, days = cfg.n_products, cfg.n_days
    t = np.arange(days)
    item_season = season[cat.category]  # (n, days)
    # regular prices are revised every four weeks (trend and season), keeping the .99 endings
    trend = rng.normal(0.0, cfg.price_trend_std, n)
    revised = (t // REPRICE_DAYS) * REPRICE_DAYS
    seasonal = (1 + cfg.price_season_amp * item_season[:, revised]) / (
        1 + cfg.price_season_amp * item_season[:, :1]
    )
    regular = (
        cat.list_price[:, None] * np.exp(trend[:, None] * revised / 365.0) * seasonal
    )
    regular = np.where(
        revised == 0,
        cat.list_price[:, None],
        np.maximum(np.round(regular) - 0.01, 0.99),
    )

    # promotions: starts, durations and depths; the last start before a day decides that day
    p_start = np.minimum(cfg.promo_rate * (1 + 2 * np.maximum(0.0, -item_season)), 1.0)
    starts = rng.random((n, days)) < p_start
    duration = rng.integers(3, 15, (n, days))
    depth = rng.choice(PROMO_DISCOUNTS, size=(n, days), p=PROMO_DISCOUNT_P)
    last = np.maximum.accumulate(np.where(starts, t, -1), axis=1)
    safe = np.maximum(last, 0)
    rows = np.arange(n)[:, None]
    active = (last >= 0) & (t - last < duration[rows, safe])
    discount = np.where(active, depth[rows, safe], 0.0)
    price = np.round(regular * (1 - discount), 2)

    launched = t[None, :] >= cat.launch_day[:, None]
    demand = (
        cfg.market_daily_units
        * (cat.pop_weight / cat.pop_weight.mean())[:, None]
        * np.exp(item_season)
        * weekday_weights(cfg)[None, :]
        * (price / regular) ** -cfg.price_elasticity
    )
    units = np.where(launched, rng.poisson(np.where(launched, demand, 0.0)), 0)
    price = np.where(launched, price, np.nan)

    item, day = np.nonzero(launched)
    start = pd.Timestamp(cfg.start_date)
    history = pd.DataFrame(
        {
            ITEM_COL: item.astype(np.int64),
            "day": day.astype(np.int64),
            "date": start + pd.to_timedelta(day, unit="D"),
            PRICE_COL: price[item, day],
            "regular_price": regular[item, day],
            "discount": discount[item, day],
            "on_promo": discount[item, day] > 0,
            "units_sold": units[item, day].astype(np.int64),
        },
        copy=False,
    )
    return history, price, regular
