"""What :func:`~recsys_lib.data.shopsim.generate_shop` returns: the tables and the oracle.

Introduced in Chapter 2. :class:`Shop` holds the observable tables (products,
pictures, prices, users, sessions, events); :class:`ShopTruth` holds the
hidden quantities real logs never show, and :meth:`Shop.true_affinity` /
:meth:`Shop.pair_affinity` compute the true affinity from them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...checks import check_id_array
from ...config import CATEGORY_COL, EVENT_COL, PRICE_COL
from .config import ShopConfig
from .vocab import EVENT_TYPES

__all__ = ["Shop", "ShopTruth", "block_affinity", "pair_affinity"]


@dataclass(repr=False)
class ShopTruth:
    """The hidden quantities behind a :class:`Shop` (never in real logs).

    User arrays have one row per ``user_id``, item arrays one per ``item_id``.

    Attributes:
        user_category_taste: ``(n_users, n_classes)`` centred log-share of each
            category in the user's tastes (0 for categories without products).
        user_category_prob: ``(n_users, n_classes)`` the same as probabilities;
            category-browsing sessions draw their category from it.
        user_brand_taste: ``(n_users, n_brands)``.
        user_style: ``(n_users, style_dim)``.
        user_price_pref: ``(n_users,)`` preferred price level (same scale as
            ``item_price_level``).
        user_price_sensitivity: ``(n_users,)`` (also in ``Shop.users``).
        user_segment: ``(n_users,)`` index into :data:`SEGMENTS`.
        item_category, item_brand: ``(n_products,)`` ids (also in ``Shop.products``).
        item_quality: ``(n_products,)`` standardised quality.
        item_style: ``(n_products, style_dim)`` style read from the pictures.
        item_popularity: ``(n_products,)`` standardised log popularity.
        item_price_level: ``(n_products,)`` standardised log price relative to
            the category's base price.
        brand_tier: ``(n_brands,)``.
        style_mean: ``(n_classes, height * width)`` mean picture (pixels in
            [0, 1]) of each category.
        style_components: ``(height * width, style_dim)``;
            ``item_style = (pixels - style_mean[category]) @ style_components / style_scale``.
        style_scale: ``(style_dim,)``.
        season: ``(n_classes, n_days)`` seasonal index of each category, in [-1, 1].
        price: ``(n_products, n_days)`` price on each day (NaN before launch).
        regular_price: ``(n_products, n_days)`` price without promotion.
    """

    user_category_taste: np.ndarray
    user_category_prob: np.ndarray
    user_brand_taste: np.ndarray
    user_style: np.ndarray
    user_price_pref: np.ndarray
    user_price_sensitivity: np.ndarray
    user_segment: np.ndarray
    item_category: np.ndarray
    item_brand: np.ndarray
    item_quality: np.ndarray
    item_style: np.ndarray
    item_popularity: np.ndarray
    item_price_level: np.ndarray
    brand_tier: np.ndarray
    style_mean: np.ndarray
    style_components: np.ndarray
    style_scale: np.ndarray
    season: np.ndarray
    price: np.ndarray
    regular_price: np.ndarray

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{f.name}{getattr(self, f.name).shape}" for f in dataclasses.fields(self)
        )
        return f"ShopTruth({fields})"


@dataclass(repr=False)
class Shop:
    """A generated shop (see the module docstring for every table's columns)."""

    config: ShopConfig
    seed: int
    class_names: tuple[str, ...]
    products: pd.DataFrame
    images: np.ndarray
    price_history: pd.DataFrame
    users: pd.DataFrame
    sessions: pd.DataFrame
    events: pd.DataFrame
    truth: ShopTruth

    # -------------------------------------------------------- sizes and dates
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_products(self) -> int:
        return len(self.products)

    @property
    def n_sessions(self) -> int:
        return len(self.sessions)

    @property
    def start_date(self) -> pd.Timestamp:
        """Midnight (UTC) of day 0."""
        return pd.Timestamp(self.config.start_date)

    @property
    def start_timestamp(self) -> int:
        """Unix seconds of day 0; ``day = (timestamp - start_timestamp) // 86400``."""
        return int(self.start_date.value // 10**9)

    # -------------------------------------------------------- the oracle
    def pair_affinity(self, user_ids, item_ids) -> np.ndarray:
        """True affinity of matching pairs ``(user_ids[k], item_ids[k])``, shape ``(n,)``."""
        u, i = np.broadcast_arrays(
            self._check_ids(user_ids, self.n_users, "user_ids"),
            self._check_ids(item_ids, self.n_products, "item_ids"),
        )
        return pair_affinity(self.truth, self.config, u.ravel(), i.ravel())

    def true_affinity(
        self, user_ids=None, item_ids=None, chunk_size: int | None = None
    ) -> np.ndarray:
        """The oracle affinity matrix, ``(len(user_ids), len(item_ids))`` (float64).

        This is the score the click model uses before adding the season,
        promotions, noise and position bias. Rows are computed in chunks, so
        only the returned matrix grows with ``users x items``: for the large
        preset ask for a subset of users at a time.

        Args:
            user_ids: users (default: all), in the order wanted.
            item_ids: items (default: all).
            chunk_size: users per chunk (default: about 4 million cells per chunk).
        """
        u = (
            np.arange(self.n_users)
            if user_ids is None
            else self._check_ids(user_ids, self.n_users, "user_ids")
        )
        i = (
            np.arange(self.n_products)
            if item_ids is None
            else self._check_ids(item_ids, self.n_products, "item_ids")
        )
        u, i = u.ravel(), i.ravel()
        chunk = chunk_size or max(1, 4_000_000 // max(1, i.size))
        out = np.empty((u.size, i.size))
        for lo in range(0, u.size, chunk):
            out[lo : lo + chunk] = block_affinity(
                self.truth, self.config, u[lo : lo + chunk], i
            )
        return out

    @staticmethod
    def _check_ids(ids, n: int, name: str) -> np.ndarray:
        """Integer ids in ``[0, n)``, of any shape (``pair_affinity`` broadcasts)."""
        shape = np.shape(ids)
        flat = check_id_array(np.ravel(ids), name, n, where="Shop")
        return flat.reshape(shape)

    # -------------------------------------------------------- summaries
    def summary(self) -> pd.DataFrame:
        """One-column table of counts, rates and the date range."""
        counts = (
            self.events[EVENT_COL]
            .value_counts()
            .reindex(list(EVENT_TYPES), fill_value=0)
        )
        purchases = self.events[self.events[EVENT_COL] == "purchase"]
        end = self.start_date + pd.Timedelta(days=self.config.n_days - 1)
        rows = {
            "users": self.n_users,
            "products": self.n_products,
            "brands": self.config.n_brands,
            "categories": int(self.products[CATEGORY_COL].nunique()),
            "days": self.config.n_days,
            "first day": self.start_date.date().isoformat(),
            "last day": end.date().isoformat(),
            "sessions": self.n_sessions,
            "events": len(self.events),
            **{f"{kind} events": int(counts[kind]) for kind in EVENT_TYPES},
            "click-through rate": round(
                counts["click"] / max(1, counts["impression"]), 4
            ),
            "add-to-cart per click": round(
                counts["add_to_cart"] / max(1, counts["click"]), 4
            ),
            "purchases per cart": round(
                counts["purchase"] / max(1, counts["add_to_cart"]), 4
            ),
            "revenue": round(float(purchases[PRICE_COL].sum()), 2),
            "market units sold": int(self.price_history["units_sold"].sum()),
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)}).rename_axis(
            "metric"
        )

    def __repr__(self) -> str:
        counts = self.events[EVENT_COL].value_counts()
        funnel = ", ".join(f"{int(counts.get(k, 0)):,} {k}" for k in EVENT_TYPES)
        end = self.start_date + pd.Timedelta(days=self.config.n_days - 1)
        return (
            f"Shop(seed={self.seed}: {self.n_users:,} users, {self.n_products:,} products, "
            f"{self.config.n_brands} brands, {self.n_sessions:,} sessions, "
            f"{len(self.events):,} events [{funnel}], "
            f"{self.start_date.date()} .. {end.date()})"
        )


def pair_affinity(
    t: ShopTruth, cfg: ShopConfig, u: np.ndarray, i: np.ndarray
) -> np.ndarray:
    chunk = 1 << 20  # pairs per block: bounds the (pairs x style_dim) temporaries
    if u.size <= chunk:
        return _pair_affinity_block(t, cfg, u, i)
    out = np.empty(u.size)
    for lo in range(0, u.size, chunk):
        out[lo : lo + chunk] = _pair_affinity_block(
            t, cfg, u[lo : lo + chunk], i[lo : lo + chunk]
        )
    return out


def _pair_affinity_block(
    t: ShopTruth, cfg: ShopConfig, u: np.ndarray, i: np.ndarray
) -> np.ndarray:
    a = cfg.category_weight * t.user_category_taste[u, t.item_category[i]]
    a += cfg.brand_weight * t.user_brand_taste[u, t.item_brand[i]]
    a += (cfg.style_weight / math.sqrt(cfg.style_dim)) * np.einsum(
        "nd,nd->n", t.user_style[u], t.item_style[i]
    )
    a += (
        cfg.quality_weight * t.item_quality[i]
        + cfg.popularity_weight * t.item_popularity[i]
    )
    gap = t.item_price_level[i] - t.user_price_pref[u]
    a -= cfg.price_weight * t.user_price_sensitivity[u] * gap**2
    return a


def block_affinity(
    t: ShopTruth, cfg: ShopConfig, u: np.ndarray, i: np.ndarray
) -> np.ndarray:
    a = cfg.category_weight * t.user_category_taste[u][:, t.item_category[i]]
    a += cfg.brand_weight * t.user_brand_taste[u][:, t.item_brand[i]]
    a += (cfg.style_weight / math.sqrt(cfg.style_dim)) * (
        t.user_style[u] @ t.item_style[i].T
    )
    a += (
        cfg.quality_weight * t.item_quality[i]
        + cfg.popularity_weight * t.item_popularity[i]
    )
    gap = t.item_price_level[i][None, :] - t.user_price_pref[u][:, None]
    a -= cfg.price_weight * t.user_price_sensitivity[u][:, None] * gap**2
    return a
