"""Stages 5 and 6 of ShopSim: sessions, the logging policy and the funnel.

Introduced in Chapter 2 (see :mod:`recsys_lib.data.shopsim`, "5. Sessions and
the logging policy" and "6. The funnel"). :func:`simulate` draws every
session, every slate the shop showed, and every click, add-to-cart and
purchase, all as whole arrays, and assembles the event log.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...config import (
    EVENT_COL,
    ITEM_COL,
    PRICE_COL,
    SESSION_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from .catalogue import Catalogue
from .market import weekday_weights
from .numeric import exclusive_cumsum, inverse_cdf_rows, segment_starts, sigmoid
from .shop import ShopTruth, pair_affinity
from .vocab import EVENT_TYPES, HOUR_WEIGHTS

__all__ = ["simulate"]

SESSION_GAP = (
    1800  # seconds of quiet between two sessions of one user (the usual 30-min rule)
)
OVERSAMPLE = (
    3  # candidate draws per slate slot before removing repeats and unlaunched items
)
SLATE_CHUNK = (
    65_536  # slates drawn per block, which bounds the memory of the slate step
)


def _candidate_pools(cat: Catalogue, n_classes: int):
    """Sorted keys for drawing a product of group ``g`` (a category, or ``n_classes`` = all).

    Group ``g`` occupies keys in ``(g, g + 1]``; ``searchsorted(key, g + u)`` with
    ``u ~ U[0, 1)`` returns a product of that group with probability
    proportional to its weight.
    """
    order = np.argsort(cat.category, kind="stable")
    seg_items = np.concatenate([order, np.arange(cat.category.size)])
    seg_group = np.concatenate(
        [cat.category[order], np.full(cat.category.size, n_classes)]
    )
    last = np.r_[seg_group[1:] != seg_group[:-1], True]
    keys = []
    for weight in (cat.pop_weight, np.ones_like(cat.pop_weight)):
        w = weight[seg_items]
        within = exclusive_cumsum(w, seg_group) + w
        total = np.repeat(
            within[last], np.diff(np.r_[0, np.flatnonzero(last) + 1])
        )  # run totals
        key = seg_group + within / total
        key[last] = seg_group[last] + 1.0  # exact upper end of every run
        keys.append(key)
    return seg_items, keys[0], keys[1]


def _draw_slates(
    cfg, rng, cat: Catalogue, n_classes: int, group: np.ndarray, day: np.ndarray
):
    """Impressions (slate index, item, position) of every slate, in blocks of slates."""
    seg_items, key_pop, key_uniform = _candidate_pools(cat, n_classes)
    m = cfg.slate_size * OVERSAMPLE
    out_slate, out_item, out_pos = (
        [np.zeros(0, np.int64)],
        [np.zeros(0, np.int64)],
        [np.zeros(0, np.int64)],
    )
    for lo in range(0, group.size, SLATE_CHUNK):
        g = group[lo : lo + SLATE_CHUNK]
        target = g[:, None] + rng.random((g.size, m))
        popular = rng.random((g.size, m)) < cfg.logging_popular_share
        idx = np.empty((g.size, m), dtype=np.int64)
        idx[popular] = np.searchsorted(key_pop, target[popular], side="right")
        idx[~popular] = np.searchsorted(key_uniform, target[~popular], side="right")
        cand = seg_items[np.minimum(idx, seg_items.size - 1)]
        launched = cat.launch_day[cand] <= day[lo : lo + SLATE_CHUNK, None]
        order = np.argsort(cand, axis=1, kind="stable")
        sorted_cand = np.take_along_axis(cand, order, axis=1)
        repeat_sorted = np.zeros(cand.shape, dtype=bool)
        repeat_sorted[:, 1:] = sorted_cand[:, 1:] == sorted_cand[:, :-1]
        repeat = np.empty_like(repeat_sorted)
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        valid = launched & ~repeat
        rank = np.cumsum(valid, axis=1)
        r, c = np.nonzero(valid & (rank <= cfg.slate_size))
        out_slate.append(lo + r)
        out_item.append(cand[r, c])
        out_pos.append(rank[r, c] - 1)
    return (
        np.concatenate(out_slate).astype(np.int64),
        np.concatenate(out_item).astype(np.int64),
        np.concatenate(out_pos).astype(np.int64),
    )


def simulate(
    cfg, rngs, cat: Catalogue, truth: ShopTruth, users: pd.DataFrame, n_classes: int
):
    r_sess, r_slate, r_click = rngs
    days = cfg.n_days
    t0 = int(pd.Timestamp(cfg.start_date).value // 10**9)
    signup = users["signup_day"].to_numpy()
    visit_rate = users["visit_rate"].to_numpy()

    # --- how many sessions, on which days and at what time
    w = weekday_weights(cfg)
    w = w / w.mean()
    cum_w = np.r_[0.0, np.cumsum(w)]
    exposure = (cum_w[days] - cum_w[signup]) / 7.0  # weighted weeks since sign-up
    n_sess = r_sess.poisson(visit_rate * exposure)
    s_user = np.repeat(np.arange(cfg.n_users), n_sess)
    n = s_user.size
    lo_w = cum_w[signup[s_user]]
    v = lo_w + r_sess.random(n) * (cum_w[days] - lo_w)
    s_day = np.clip(
        np.searchsorted(cum_w, v, side="right") - 1, signup[s_user], days - 1
    )
    hour = r_sess.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    planned = t0 + s_day * 86_400 + hour * 3600 + r_sess.integers(0, 3600, n)
    order = np.lexsort((planned, s_user))
    s_user, s_day, planned = s_user[order], s_day[order], planned[order]
    n_pages = np.minimum(1 + r_sess.poisson(cfg.pages_per_session - 1, n), 20)
    browse = r_sess.random(n) < cfg.category_browse_prob
    intent = inverse_cdf_rows(truth.user_category_prob[s_user], r_sess)
    s_group = np.where(browse, intent, n_classes)

    # --- slates and impressions
    slate_sess = np.repeat(np.arange(n), n_pages)
    slate_page = np.arange(slate_sess.size) - segment_starts(slate_sess)
    imp_slate, item, position = _draw_slates(
        cfg, r_slate, cat, n_classes, s_group[slate_sess], s_day[slate_sess]
    )
    imp_sess = slate_sess[imp_slate]
    user = s_user[imp_sess]
    day = s_day[imp_sess]

    # --- the funnel
    affinity = pair_affinity(truth, cfg, user, item)
    regular = truth.regular_price[item, day]
    price = truth.price[item, day]
    discount = 1.0 - price / regular
    utility = (
        cfg.click_intercept
        + affinity
        + cfg.season_weight * truth.season[cat.category[item], day]
        + cfg.promo_click_weight * discount
        + cfg.click_noise * r_click.standard_normal(item.size)
    )
    examine = (1.0 + position) ** -cfg.position_bias
    clicked = np.flatnonzero(r_click.random(item.size) < examine * sigmoid(utility))
    a_c = affinity[clicked]
    dwell = np.exp(
        math.log(cfg.dwell_median)
        + cfg.dwell_affinity_weight * a_c
        + cfg.dwell_noise * r_click.standard_normal(a_c.size)
    )
    dwell = np.round(np.clip(dwell, 1.0, 600.0), 1)
    think = 1 + np.minimum(r_click.poisson(4.0, a_c.size), 60)
    p_cart = sigmoid(cfg.cart_intercept + cfg.cart_affinity_weight * a_c)
    carted_mask = r_click.random(a_c.size) < p_cart
    carted = clicked[carted_mask]
    u_k = user[carted]
    p_buy = sigmoid(
        cfg.purchase_intercept
        + cfg.purchase_affinity_weight * affinity[carted]
        + cfg.promo_purchase_weight
        * truth.user_price_sensitivity[u_k]
        * np.log(regular[carted] / price[carted])
    )
    bought = carted[r_click.random(carted.size) < p_buy]
    del affinity, regular, discount, utility, examine, a_c, u_k, p_cart, p_buy

    # --- timing: pages follow each other; clicks inside a page follow each other
    step = think + np.ceil(dwell).astype(np.int64)  # seconds spent per click
    click_slate = imp_slate[clicked]
    click_offset = exclusive_cumsum(step, click_slate) + think
    n_slates = slate_sess.size
    slate_imps = np.bincount(imp_slate, minlength=n_slates)
    slate_dur = (
        5
        + slate_imps
        + np.bincount(click_slate, weights=step, minlength=n_slates).astype(np.int64)
    )
    slate_offset = exclusive_cumsum(slate_dur, slate_sess)
    browse_dur = np.bincount(slate_sess, weights=slate_dur, minlength=n).astype(
        np.int64
    )
    has_purchase = np.bincount(imp_sess[bought], minlength=n) > 0
    checkout = np.where(has_purchase, 20 + r_sess.poisson(60, n), 0)
    duration = browse_dur + checkout
    # sessions of one user never overlap: start_k = max(planned_k, end_{k-1} + gap)
    before = exclusive_cumsum(duration + SESSION_GAP, s_user)
    shifted = planned - before
    big = int(shifted.max() - shifted.min()) + 1 if n else 1
    start = np.maximum.accumulate(shifted + s_user * big) - s_user * big + before
    end = start + duration

    slate_ts = start[slate_sess] + slate_offset
    ts_imp = slate_ts[imp_slate]
    ts_click = ts_imp[clicked] + click_offset
    ts_cart = ts_click[carted_mask] + np.ceil(dwell[carted_mask]).astype(np.int64)
    ts_buy = (
        start[imp_sess[bought]]
        + browse_dur[imp_sess[bought]]
        + checkout[imp_sess[bought]]
    )

    # --- number sessions in time order and assemble the log
    sess_order = np.lexsort((s_user, start))
    session_id = np.empty(n, dtype=np.int64)
    session_id[sess_order] = np.arange(n)
    # sort by time; ties (same second) by session, funnel stage, page and position
    rows = np.concatenate([np.arange(item.size), clicked, carted, bought])
    stage = np.repeat(
        np.arange(4, dtype=np.int8), [item.size, clicked.size, carted.size, bought.size]
    )
    ts = np.concatenate([ts_imp, ts_click, ts_cart, ts_buy])
    dwell_col = np.full(rows.size, np.nan)
    dwell_col[item.size : item.size + clicked.size] = dwell
    del ts_imp, ts_click, ts_cart, ts_buy, clicked, carted, bought, dwell
    tie = (
        (session_id[imp_sess[rows]] * 4 + stage) * 32 + slate_page[imp_slate[rows]]
    ) * 128 + position[rows]
    final = np.lexsort((tie, ts))
    del tie
    rows = rows[final]
    # copy=False keeps the columns as separate arrays (no 2-D block copy)
    events = pd.DataFrame(
        {
            USER_COL: user[rows],
            SESSION_COL: session_id[imp_sess[rows]],
            TIMESTAMP_COL: ts[final],
            "day": day[rows],
            ITEM_COL: item[rows],
            EVENT_COL: pd.Categorical.from_codes(
                stage[final], categories=list(EVENT_TYPES), ordered=True
            ),
            "page": slate_page[imp_slate[rows]],
            "position": position[rows],
            "dwell_time": dwell_col[final],
            PRICE_COL: price[rows],
        },
        copy=False,
    )
    sessions = pd.DataFrame(
        {
            SESSION_COL: np.arange(n, dtype=np.int64),
            USER_COL: s_user[sess_order],
            "start": start[sess_order],
            "end": end[sess_order],
            "day": s_day[sess_order],
            "n_pages": n_pages[sess_order].astype(np.int64),
            "browse_category_id": np.where(browse, s_group, -1)[sess_order].astype(
                np.int64
            ),
        }
    )
    return events, sessions
