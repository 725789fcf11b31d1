"""Stage 3 of ShopSim: the shoppers -- who they are and what they secretly like.

Introduced in Chapter 2 (see :mod:`recsys_lib.data.shopsim`, "3. Shoppers").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...config import USER_COL
from .vocab import (
    GENDER_SHARE,
    GENDERS,
    REGION_PRICE_PREF,
    REGION_SHARE,
    REGIONS,
    SEGMENT_PRICE_PREF,
    SEGMENT_SENSITIVITY,
    SEGMENT_SHARE,
    SEGMENT_STYLE,
    SEGMENTS,
    class_info,
)

__all__ = ["make_users"]


def make_users(cfg, rng, class_names, stocked: np.ndarray):
    n, n_classes, d = cfg.n_users, len(class_names), cfg.style_dim
    infos = [class_info(name) for name in class_names]
    age = np.clip(np.rint(18 + rng.gamma(3.0, 7.0, n)), 18, 80).astype(np.int64)
    gender = rng.choice(len(GENDERS), size=n, p=GENDER_SHARE)
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARE)
    new = rng.random(n) < cfg.new_user_fraction
    signup_day = np.where(new, rng.integers(1, cfg.n_days, n), 0).astype(np.int64)
    visit_rate = cfg.sessions_per_user_per_week * rng.gamma(
        cfg.visit_rate_shape, 1 / cfg.visit_rate_shape, n
    )

    # category tastes: demographics + personal noise, over categories that have products
    gender_effect = np.array(
        [
            [info.female for info in infos],
            [info.male for info in infos],
            [0.0] * n_classes,
        ]
    )  # (3, classes)
    age_slope = np.array([info.age_slope for info in infos])
    logits = (
        rng.normal(0.0, 0.3, n_classes)[None, :]
        + cfg.demographic_weight
        * (gender_effect[gender] + age_slope[None, :] * ((age - 40) / 15.0)[:, None])
        + cfg.category_taste_std * rng.standard_normal((n, n_classes))
    )
    logits[:, ~stocked] = -np.inf
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    logp = np.where(stocked, np.log(np.where(stocked, prob, 1.0)), 0.0)
    taste = np.where(stocked, logp - logp[:, stocked].mean(axis=1, keepdims=True), 0.0)

    brand_taste = rng.standard_normal((n, cfg.n_brands))
    seg_style = np.zeros((len(SEGMENTS), d))
    k = min(d, SEGMENT_STYLE.shape[1])
    seg_style[:, :k] = SEGMENT_STYLE[:, :k]
    style = seg_style[segment] + rng.standard_normal((n, d))
    price_pref = (
        SEGMENT_PRICE_PREF[segment]
        + REGION_PRICE_PREF[region]
        + 0.25 * (age - 40) / 15.0
        + 0.5 * rng.standard_normal(n)
    )
    sensitivity = SEGMENT_SENSITIVITY[segment] * np.exp(0.4 * rng.standard_normal(n))

    users = pd.DataFrame(
        {
            USER_COL: np.arange(n, dtype=np.int64),
            "age": age,
            "gender": np.asarray(GENDERS, dtype=object)[gender],
            "region": np.asarray(REGIONS, dtype=object)[region],
            "segment": np.asarray(SEGMENTS, dtype=object)[segment],
            "signup_day": signup_day,
            "price_sensitivity": sensitivity,
            "visit_rate": visit_rate,
        }
    )
    truth = dict(
        user_category_taste=taste,
        user_category_prob=prob,
        user_brand_taste=brand_taste,
        user_style=style,
        user_price_pref=price_pref,
        user_price_sensitivity=sensitivity,
        user_segment=segment.astype(np.int64),
    )
    return users, truth
