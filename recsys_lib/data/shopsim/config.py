"""ShopSim's knobs: :class:`ShopConfig` and the named sizes (:data:`PRESETS`).

Introduced in Chapter 2. Every field of :class:`ShopConfig` is one knob of
the generative story told in :mod:`recsys_lib.data.shopsim`; values are
checked when a config is created.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from ...checks import check_int, check_number
from .vocab import MAX_BRANDS, TITLE_TEMPLATES

__all__ = ["PRESETS", "ShopConfig"]


@dataclass(frozen=True)
class ShopConfig:
    """All knobs of the shop; see the module docstring for the story they drive.

    Build one with ``ShopConfig()`` (the default size), ``ShopConfig.preset("tiny")``
    or ``ShopConfig.preset("default", n_users=500)``; change one with
    ``config.replace(...)``. Values are checked on creation.
    """

    # --- sizes
    n_users: int = 2000  # enough shoppers for stable metrics, small enough for a laptop
    n_products: int = (
        1000  # ~100 per category: a real choice, yet every item gets impressions
    )
    n_days: int = 182  # half a year: winter-to-summer seasonality and many promotions
    n_brands: int = 40  # a few big brands and a long tail
    start_date: str = "2024-01-01"  # day 0, a Monday in winter
    style_dim: int = (
        4  # style directions read from the pictures: enough to matter, few to name
    )
    # --- shoppers and traffic
    new_user_fraction: float = 0.2  # some users sign up during the window (cold start)
    sessions_per_user_per_week: float = 0.28  # ~7 sessions per user in half a year
    visit_rate_shape: float = 1.5  # Gamma shape: a few heavy visitors, many light ones
    pages_per_session: float = 1.8  # mean pages (slates) seen per session, >= 1
    slate_size: int = 12  # products per page, a typical grid
    category_browse_prob: float = 0.5  # half the sessions browse one category page
    logging_popular_share: float = (
        0.6  # the logging policy favours popular items, explores
    )
    # --- catalogue
    new_product_fraction: float = 0.2  # new arrivals launch during the window
    popularity_skew: float = 1.0  # Zipf exponent: a classic long tail
    price_scale: float = 1.0  # multiplies every base price (currency or market level)
    price_quality_coef: float = (
        0.35  # better products cost more (log-price per quality sd)
    )
    price_noise: float = 0.15  # price is a hint of quality, not a copy of it
    text_template_variety: int = 8  # number of title templates used (1 = monotone text)
    text_noise: float = (
        0.15  # chance a describing word is random: text is informative, not exact
    )
    # --- hidden tastes and the true affinity
    category_weight: float = 1.0  # category is the strongest single signal in fashion
    brand_weight: float = 0.4  # brand loyalty matters, less than category
    style_weight: float = 1.0  # style makes the images and texts worth modelling
    quality_weight: float = 0.4  # everyone likes quality a bit
    popularity_weight: float = 0.3  # popular products are somewhat better for everyone
    price_weight: float = 0.5  # price-level mismatch costs appeal
    demographic_weight: float = 1.0  # age/gender predict tastes: cold start is possible
    category_taste_std: float = 1.0  # personal taste beyond demographics
    # --- behaviour
    position_bias: float = 0.8  # slot k is looked at with probability (1 + k) ** -0.8
    click_intercept: float = -2.0  # overall click-through rate of a few percent
    click_noise: float = 0.5  # mood of the moment: same user, same item, different day
    season_weight: float = 1.0  # in-season categories get clearly more clicks
    promo_click_weight: float = 1.0  # a sale badge attracts clicks
    cart_intercept: float = -1.9  # about a third of clicks end in the cart
    cart_affinity_weight: float = 0.6  # liked items are carted more often
    purchase_intercept: float = -0.4  # a bit over half of cart items are bought
    purchase_affinity_weight: float = 0.3  # a little more for liked items
    promo_purchase_weight: float = 3.0  # discounts convert price-sensitive shoppers
    dwell_median: float = 25.0  # seconds on a product page
    dwell_affinity_weight: float = 0.3  # longer looks at liked items: dwell is a signal
    dwell_noise: float = 0.6  # log-scale spread of dwell times
    # --- prices and market
    promo_rate: float = 0.01  # a promotion starts on ~1 day in 100 per product
    price_trend_std: float = 0.05  # yearly drift of regular prices
    price_season_amp: float = 0.05  # in-season products cost up to 5% more
    market_daily_units: float = (
        2.0  # mean units a product sells per day in the whole market
    )
    price_elasticity: float = 1.5  # a 10% price cut sells ~15% more

    def __post_init__(self):
        self.validate()

    @classmethod
    def preset(cls, name: str = "default", **overrides) -> ShopConfig:
        """A named size, ``"tiny"``, ``"default"`` or ``"large"``, with optional overrides."""
        if not isinstance(name, str) or name not in PRESETS:
            raise ValueError(
                f"unknown ShopSim preset {name!r}; use one of {', '.join(PRESETS)}"
            )
        return cls(**{**PRESETS[name], **overrides})

    def replace(self, **changes) -> ShopConfig:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Raise ``TypeError``/``ValueError`` with a clear message for a bad value."""
        where = "ShopConfig"
        for name, (low, high) in _INT_RANGES.items():
            check_int(getattr(self, name), name, low=low, high=high, where=where)
        for name, (low, high, low_open) in _FLOAT_RANGES.items():
            value = getattr(self, name)
            check_number(
                value, name, low=low, high=high, low_open=low_open, where=where
            )
        try:
            pd.Timestamp(self.start_date)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"ShopConfig: start_date must be a date like '2024-01-01', "
                f"got {self.start_date!r}"
            ) from exc


_INT_RANGES = {  # name -> (low, high or None)
    "n_users": (1, None),
    "n_products": (2, None),
    "n_days": (2, None),
    "n_brands": (1, MAX_BRANDS),
    "style_dim": (1, 32),
    "slate_size": (1, 100),
    "text_template_variety": (1, len(TITLE_TEMPLATES)),
}
_PROBABILITIES = (
    "new_user_fraction",
    "category_browse_prob",
    "logging_popular_share",
    "text_noise",
    "promo_rate",
)
_NON_NEGATIVE = """
    popularity_skew price_quality_coef price_noise category_weight brand_weight style_weight
    quality_weight popularity_weight price_weight demographic_weight category_taste_std
    position_bias click_noise season_weight promo_click_weight cart_affinity_weight
    purchase_affinity_weight promo_purchase_weight dwell_affinity_weight dwell_noise
    price_trend_std price_season_amp market_daily_units price_elasticity
""".split()
_FLOAT_RANGES = {  # name -> (low, high, low is exclusive)
    **{name: (0.0, 1.0, False) for name in _PROBABILITIES},
    "new_product_fraction": (0.0, 0.9, False),  # some products must be on sale on day 0
    "sessions_per_user_per_week": (0.0, None, True),
    "visit_rate_shape": (0.0, None, True),
    "pages_per_session": (1.0, 20.0, False),
    "price_scale": (0.0, None, True),
    "dwell_median": (0.0, None, True),
    **{name: (0.0, None, False) for name in _NON_NEGATIVE},
    **{
        name: (None, None, False)
        for name in ("click_intercept", "cart_intercept", "purchase_intercept")
    },
}

PRESETS: dict[str, dict] = {
    # Unit tests: a few thousand events in well under a second.
    "tiny": dict(n_users=120, n_products=80, n_days=28, n_brands=8, slate_size=8, sessions_per_user_per_week=1.0),
    # The notebooks: ~300k events in a couple of seconds.
    "default": {},
    # Scaling experiments: a few million events, same code.
    "large": dict(n_users=10_000, n_products=5_000, n_days=365, n_brands=100),
}  # fmt: skip
