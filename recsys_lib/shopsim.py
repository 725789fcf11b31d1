"""ShopSim: a seeded synthetic fashion shop whose hidden truth we know.

Introduced in Chapter 2 and used by most later chapters.

No public data set links the same shoppers to product pictures, product
texts, prices over time and browsing sessions, so the book makes its own. The
product pictures are real (Fashion-MNIST); everything else is drawn from
random numbers with one seed. Because we wrote the rules, we also know the
hidden quantities that real logs never show: each shopper's tastes and the
*true affinity* of every shopper for every product. Later chapters compare
their models with that oracle.

Everything is drawn from independent streams of one ``numpy`` seed, so the
same ``(config, seed, images)`` always gives the same shop.

The generative story
--------------------

**1. Catalogue.** Each of the ``n_products`` products gets

* a *category*: one Fashion-MNIST class, drawn with shares that vary a little
  around "equal" (a Dirichlet draw);
* an *image*: a real Fashion-MNIST picture of that class (different products
  get different pictures as long as there are enough);
* a *style* vector of ``style_dim`` numbers read **from the picture**: we
  subtract the class's mean picture and project the pixels on the main
  directions of within-class variation (PCA), then scale each direction to
  unit variance. So the style is a linear function of the pixels, and an image
  model can recover it;
* a *colour* word chosen from how light the garment's pixels are (a dark
  picture reads "black" or "navy", a light one "cream" or "white"), with a
  little noise;
* a *brand*: brands are more or less popular and specialise in a few
  categories; each brand has a hidden *tier* (budget ... luxury);
* a hidden *quality*, partly inherited from the brand tier;
* a *price*: the category's base price, pushed up by quality and brand tier,
  times log-normal noise (``price_noise``), rounded to ``.99``;
* a *title* and a *description*, filled in from templates
  (``text_template_variety`` of them) with words that carry the hidden
  attributes: style words (e.g. "minimal" vs "bold", "slim" vs "relaxed")
  name the product's two strongest style directions, material words reveal
  the quality tier ("polyester" vs "cashmere"), plus the colour, the brand and
  a category noun. With probability ``text_noise`` a word is picked at random
  instead, so the text is informative but not perfect;
* a *launch day*: most products were on sale before the window starts
  (negative days), a fraction ``new_product_fraction`` launch during it;
* a hidden *popularity*: a Zipf law with exponent ``popularity_skew`` over a
  random ranking that favours popular brands and good quality.

**2. Prices and sales over time.** Every four weeks the shop revises each
regular price: a slow per-product trend (``price_trend_std`` per year) and a
little seasonality (in-season items cost up to ``price_season_amp`` more).
Prices are cut during *promotions*: on each day a promotion of 3-14 days and
10-50% off starts with probability ``promo_rate`` (up to three times as often
for out-of-season items: clearance). The whole market's
daily ``units_sold`` is Poisson with mean ``market_daily_units`` times the
product's popularity, the category's season, the day of the week and
``(price / regular price) ** -price_elasticity`` -- so a promotion raises
sales. Winter categories (coats, boots, pullovers) peak in January, summer
ones (sandals, tops, dresses) in July.

**3. Shoppers.** Each of the ``n_users`` users has an observed age, gender,
region and marketing *segment* ("bargain hunter", "trend seeker", "classic",
"premium"), a sign-up day (a fraction ``new_user_fraction`` join during the
window), a *visit rate* (sessions per week, Gamma-distributed around
``sessions_per_user_per_week``) and a *price sensitivity*. Hidden tastes:

* category tastes: a softmax over categories of demographic effects (e.g.
  dresses and bags lean female, sneakers young) scaled by
  ``demographic_weight``, plus personal noise of size ``category_taste_std``;
* brand tastes: one standard normal number per (user, brand);
* a style vector near the segment's mean (trend seekers like "bold, modern");
* a preferred price level (lower for bargain hunters and some regions, higher
  for premium shoppers and older users).

**4. The true affinity** of user ``u`` for product ``i`` (the oracle, see
:meth:`Shop.true_affinity`) is::

    a(u, i) =  category_weight   * taste_u[category_i]      (centred log-share)
             + brand_weight      * brand_taste_u[brand_i]
             + style_weight      * style_u . style_i / sqrt(style_dim)
             + quality_weight    * quality_i
             + popularity_weight * popularity_i             (standardised log)
             - price_weight * sensitivity_u * (price_level_i - preferred_u) ** 2

It does not change over time. What a shopper does on a given day also depends
on the season and on promotions (below).

**5. Sessions and the logging policy.** Each user has
``Poisson(visit_rate * weeks since sign-up)`` sessions, on days weighted
towards weekends and at hours weighted towards the evening; sessions of one
user never overlap (30 minutes of quiet separate them; a late session may
run past midnight and keeps the day it started on). A session shows
``1 + Poisson(pages_per_session - 1)`` pages (slates) of up to ``slate_size``
products. With probability ``category_browse_prob`` the user browses one
category (drawn from her category tastes) and every page comes from it;
otherwise she sees the home feed (all categories). The shop's *logging
policy* fills each slot with a popular product (probability
``logging_popular_share``, drawn in proportion to popularity) or a uniformly
random one; only launched products, no repeats within a page, and the slot
order is random, so the position of a product says nothing about the product.
Pages can be a little shorter than ``slate_size`` when a category has few
launched products.

**6. The funnel.** For an impression at position ``k`` (0 = top) on day ``t``::

    P(click) = (1 + k) ** -position_bias
               * sigmoid(click_intercept + a(u, i) + season_weight * season(t)
                         + promo_click_weight * discount(t) + click_noise * N(0, 1))

where ``season(t)`` is the category's seasonal index in [-1, 1] and
``discount(t)`` the promotion's depth (0 to 0.5). The first factor is the
chance that the user looks at slot ``k`` at all (position bias). A click has
a dwell time, log-normal around ``dwell_median`` seconds, longer for liked
products (``dwell_affinity_weight``) and capped at 10 minutes. A click
becomes an add-to-cart with probability
``sigmoid(cart_intercept + cart_affinity_weight * a)``, and a cart item is
bought at checkout, at the end of the session, with probability
``sigmoid(purchase_intercept + purchase_affinity_weight * a
+ promo_purchase_weight * sensitivity_u * log(regular price / price))``, so
price-sensitive shoppers respond to promotions most.

What you get
------------

:func:`generate_shop` returns a :class:`Shop` with

* ``products`` -- one row per product: ``item_id``, ``title``,
  ``description``, ``category``, ``category_id``, ``brand``, ``brand_id``,
  ``colour``, ``material``, ``price`` (regular price on day 0),
  ``launch_day``, ``image_index`` (row of ``Shop.images``) and
  ``source_image_index`` (row of the Fashion-MNIST array it came from);
* ``images`` -- ``(n_products, 28, 28)`` ``uint8``, one picture per product;
* ``price_history`` -- one row per product and day since launch: ``item_id``,
  ``day``, ``date``, ``price``, ``regular_price``, ``discount``, ``on_promo``,
  ``units_sold``;
* ``users`` -- ``user_id``, ``age``, ``gender``, ``region``, ``segment``,
  ``signup_day``, ``price_sensitivity``, ``visit_rate`` (sessions per week);
* ``sessions`` -- ``session_id`` (numbered in time order), ``user_id``,
  ``start``, ``end`` (Unix seconds), ``day``, ``n_pages``,
  ``browse_category_id`` (-1 for the home feed);
* ``events`` -- the log, sorted by time: ``user_id``, ``session_id``,
  ``timestamp`` (Unix seconds), ``day`` (day of the session start, joins
  ``price_history``), ``item_id``, ``event`` (ordered categorical:
  impression < click < add_to_cart < purchase), ``page``, ``position``,
  ``dwell_time`` (seconds, clicks only) and ``price`` (the price that day; for
  a purchase, the price paid);
* ``truth`` -- the hidden quantities (:class:`ShopTruth`), and the methods
  ``true_affinity`` / ``pair_affinity`` for the oracle.

Parameters (fields of :class:`ShopConfig`)
------------------------------------------

Sizes: ``n_users``, ``n_products``, ``n_days`` (length of the window),
``n_brands``, ``start_date`` (day 0), ``style_dim``.

Shoppers and traffic: ``new_user_fraction``, ``sessions_per_user_per_week``,
``visit_rate_shape`` (Gamma shape of visit rates; smaller = more unequal),
``pages_per_session``, ``slate_size``, ``category_browse_prob``,
``logging_popular_share``.

Catalogue: ``new_product_fraction``, ``popularity_skew``, ``price_scale``
(multiplies every base price), ``price_quality_coef``, ``price_noise``,
``text_template_variety``, ``text_noise``.

Hidden tastes and the affinity: ``category_weight``, ``brand_weight``,
``style_weight``, ``quality_weight``, ``popularity_weight``, ``price_weight``,
``demographic_weight``, ``category_taste_std``.

Behaviour: ``position_bias``, ``click_intercept``, ``click_noise``,
``season_weight``, ``promo_click_weight``, ``cart_intercept``,
``cart_affinity_weight``, ``purchase_intercept``,
``purchase_affinity_weight``, ``promo_purchase_weight``, ``dwell_median``,
``dwell_affinity_weight``, ``dwell_noise``.

Prices and market: ``promo_rate``, ``price_trend_std``, ``price_season_amp``,
``market_daily_units``, ``price_elasticity``.

Named sizes: ``ShopConfig.preset("tiny")`` (unit tests: 120 users, 80
products, 4 weeks, ~7,000 events in a few hundredths of a second),
``"default"`` (the notebooks: 2,000 users, 1,000 products, half a year, ~315,000
events in about a second on a 2-core CPU) and ``"large"`` (10,000 users, 5,000
products, a year, ~3.2 million events in under 10 seconds and ~0.7 GB of peak
memory; same code). Time and memory grow linearly with the number of events
(``benchmarks/bench_shopsim.py``); only :meth:`Shop.true_affinity` builds a
users x products matrix, and only when asked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .config import (
    CATEGORY_COL,
    EVENT_COL,
    ITEM_COL,
    PRICE_COL,
    SESSION_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from .datasets import FASHION_MNIST_CLASSES

__all__ = [
    "EVENT_TYPES",
    "FASHION_MNIST_CLASSES",
    "GENDERS",
    "PRESETS",
    "REGIONS",
    "SEGMENTS",
    "Shop",
    "ShopConfig",
    "ShopTruth",
    "generate_shop",
]

EVENT_TYPES = ("impression", "click", "add_to_cart", "purchase")
SEGMENTS = ("bargain hunter", "trend seeker", "classic", "premium")
REGIONS = ("North", "South", "East", "West", "Capital")
GENDERS = ("F", "M", "X")

_SESSION_GAP = (
    1800  # seconds of quiet between two sessions of one user (the usual 30-min rule)
)
_REPRICE_DAYS = 28  # regular prices are revised every four weeks
_OVERSAMPLE = (
    3  # candidate draws per slate slot before removing repeats and unlaunched items
)
_SLATE_CHUNK = (
    65_536  # slates drawn per block, which bounds the memory of the slate step
)

# ------------------------------------------------------------ vocabulary


class _ClassInfo(NamedTuple):
    nouns: tuple[str, ...]
    base_price: float  # typical regular price in EUR
    group: str  # which material list applies
    season_amp: float  # 0 = all year, 1 = strongly seasonal
    season_peak: int  # day of the year with peak demand
    female: float  # category-taste shift for gender "F"
    male: float  # ... and for gender "M"
    age_slope: float  # shift per 15 years above 40


_CLASS_INFO = {
    "T-shirt/top": _ClassInfo(("t-shirt", "tee", "top", "crew-neck tee"), 18, "clothing", 0.6, 196, 0.1, 0.1, -0.3),
    "Trouser": _ClassInfo(("trousers", "chinos", "pants", "slacks"), 45, "clothing", 0.0, 0, -0.2, 0.3, 0.2),
    "Pullover": _ClassInfo(("pullover", "jumper", "sweater", "knit"), 40, "clothing", 0.7, 15, 0.0, 0.0, 0.1),
    "Dress": _ClassInfo(("dress", "midi dress", "shift dress", "wrap dress"), 55, "clothing", 0.5, 196, 1.0, -2.0, 0.0),
    "Coat": _ClassInfo(("coat", "jacket", "parka", "overcoat"), 110, "clothing", 1.0, 15, 0.0, 0.0, 0.3),
    "Sandal": _ClassInfo(("sandals", "sliders", "flip-flops", "strappy sandals"), 35, "footwear", 1.0, 196, 0.4, -0.3, 0.0),
    "Shirt": _ClassInfo(("shirt", "blouse", "button-down", "oxford shirt"), 35, "clothing", 0.0, 0, -0.2, 0.4, 0.3),
    "Sneaker": _ClassInfo(("sneakers", "trainers", "runners", "low-tops"), 70, "footwear", 0.1, 120, -0.2, 0.5, -0.4),
    "Bag": _ClassInfo(("bag", "tote", "backpack", "crossbody bag"), 60, "bags", 0.0, 0, 0.8, -0.8, 0.1),
    "Ankle boot": _ClassInfo(("ankle boots", "chelsea boots", "booties", "lace-up boots"), 90, "footwear", 0.8, 15, 0.4, -0.3, 0.1),
}  # fmt: skip

# Materials by quality tier (low, mid, high).
_MATERIALS = {
    "clothing": (
        ("polyester", "acrylic", "poly-blend jersey"),
        ("cotton", "viscose", "cotton blend"),
        ("organic cotton", "merino wool", "linen", "silk blend", "cashmere"),
    ),
    "footwear": (
        ("synthetic", "faux leather", "rubber"),
        ("canvas", "suede", "leather"),
        ("full-grain leather", "nubuck", "calf leather"),
    ),
    "bags": (
        ("polyester", "faux leather", "PVC"),
        ("canvas", "nylon", "leather"),
        ("full-grain leather", "waxed canvas", "calf leather"),
    ),
}
_QUALITY_SENTENCES = (
    (
        "Great value for everyday wear.",
        "An affordable basic.",
        "A budget-friendly pick.",
    ),
    (
        "A dependable wardrobe staple.",
        "Well made for daily use.",
        "Good quality at a fair price.",
    ),
    (
        "Crafted with meticulous attention to detail.",
        "A premium piece built to last.",
        "Luxurious finish and superb construction.",
    ),
)
# Dark to light: the colour word follows how light the garment's pixels are.
_COLOURS = (
    "black", "charcoal", "navy", "burgundy", "forest green", "grey",
    "khaki", "denim blue", "sage", "sand", "cream", "white",
)  # fmt: skip
# One pair of word lists per style direction: (negative pole, positive pole).
_STYLE_AXES = (
    (("minimal", "clean", "understated", "simple"), ("bold", "statement", "graphic", "eye-catching")),
    (("slim", "fitted", "tailored", "sleek"), ("relaxed", "oversized", "roomy", "loose")),
    (("classic", "timeless", "traditional", "heritage"), ("modern", "trendy", "contemporary", "fashion-forward")),
    (("soft", "cosy", "gentle", "comfortable"), ("structured", "sharp", "crisp", "polished")),
    (("sporty", "athletic", "active", "casual"), ("elegant", "refined", "dressy", "smart")),
    (("playful", "fun", "quirky", "vibrant"), ("sober", "muted", "discreet", "serious")),
)  # fmt: skip
_TITLE_TEMPLATES = (
    "{brand} {style1} {noun}",
    "{style1} {colour} {noun} by {brand}",
    "{brand} {colour} {material} {noun}",
    "The {style1} {noun} - {brand}",
    "{colour} {style1} {noun} | {brand}",
    "{brand} {style2} {material} {noun}",
    "{style1} {material} {noun} ({colour}) - {brand}",
    "{brand} essentials: {style1} {noun} in {colour}",
)
_OPENERS = (
    "{item_a} in {colour} {material}.",
    "{this} {style1}, {style2} {noun} {is_} available in {colour}.",
    "{brand} presents {item_a} made from {material}, finished in {colour}.",
    "Made from {material}, {this_l} {noun} {has} {a_style1} look.",
    "Meet our {style1} {noun}: {material}, {colour} and ready to wear.",
    "Our {colour} {noun} in {material} {brings} {a_style1} touch to any outfit.",
)
_STYLE_SENTENCES = (
    "Designed for {a_style2} look.",
    "Expect {a_style2} character and easy pairing.",
    "The {style2} cut stands out.",
    "Think {style2}, {style1} and effortless.",
)
_SEASON_SENTENCES = {
    "winter": ("Made for cold days.", "Keeps you warm all winter."),
    "summer": ("Light and breezy for warm weather.", "Made for sunny days."),
}
_FILLERS = (
    "",
    "",
    "Machine washable.",
    "Free returns within 30 days.",
    "Responsibly sourced.",
    "Limited stock.",
    "Imported.",
)
_BRAND_HEADS = ("Nor", "Al", "Ves", "Kal", "Lu", "Mar", "Tor", "Bel", "Sol", "Ev",
                "Ar", "Din", "Ro", "Fen", "Is", "Ka", "Ze", "Ori", "Va", "Hal")  # fmt: skip
_BRAND_TAILS = ("vik", "ba", "ta", "ora", "mo", "line", "ero", "dale", "ia", "sen",
                "ford", "ani", "ette", "ux", "wen")  # fmt: skip
_MAX_BRANDS = len(_BRAND_HEADS) * len(_BRAND_TAILS)

# Segment effects: (share, preferred price level, price sensitivity, style mean on the first axes)
_SEGMENT_SHARE = np.array([0.3, 0.25, 0.3, 0.15])
_SEGMENT_PRICE_PREF = np.array([-0.8, 0.1, 0.0, 0.9])
_SEGMENT_SENSITIVITY = np.array([1.0, 0.5, 0.6, 0.25])
_SEGMENT_STYLE = np.array(
    [  # bold, relaxed, modern, structured, elegant, sober
        [0.0, 0.3, 0.0, -0.3, -0.5, 0.0],
        [0.8, 0.3, 1.0, 0.0, 0.0, -0.5],
        [-0.5, -0.3, -1.0, 0.3, 0.3, 0.5],
        [-0.3, -0.5, 0.0, 0.6, 0.9, 0.4],
    ]
)
_REGION_SHARE = np.array([0.2, 0.2, 0.2, 0.15, 0.25])
_REGION_PRICE_PREF = np.array([-0.1, -0.3, 0.0, 0.1, 0.4])
_GENDER_SHARE = np.array([0.55, 0.41, 0.04])
_WEEKDAY_WEIGHTS = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.25, 1.3])  # Monday .. Sunday
_HOUR_WEIGHTS = np.array([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0,
                          1.1, 1.0, 0.9, 0.9, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 0.9, 0.5])  # fmt: skip
_PROMO_DISCOUNTS = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
_PROMO_DISCOUNT_P = np.array([0.3, 0.3, 0.2, 0.12, 0.08])


def _class_info(name: str) -> _ClassInfo:
    """Vocabulary for a class; unknown class names get neutral defaults."""
    if name in _CLASS_INFO:
        return _CLASS_INFO[name]
    return _ClassInfo((name.lower(),), 40, "clothing", 0.0, 0, 0.0, 0.0, 0.0)


# ------------------------------------------------------------ configuration


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
        for name, (low, high) in _INT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(
                    f"{name} must be an int, got {type(value).__name__}: {value!r}"
                )
            if value < low or (high is not None and value > high):
                upper = f" and <= {high}" if high is not None else ""
                raise ValueError(f"{name} must be >= {low}{upper}, got {value}")
        for name, (low, high, low_open) in _FLOAT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, int | float | np.number
            ):
                raise TypeError(
                    f"{name} must be a number, got {type(value).__name__}: {value!r}"
                )
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
            too_low = low is not None and (value <= low if low_open else value < low)
            too_high = high is not None and value > high
            if too_low or too_high:
                lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
                hi = "" if high is None else f"<= {high}"
                raise ValueError(
                    f"{name} must be {' and '.join(s for s in (lo, hi) if s)}, got {value}"
                )
        try:
            pd.Timestamp(self.start_date)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"start_date must be a date like '2024-01-01', got {self.start_date!r}"
            ) from exc


_INT_RANGES = {  # name -> (low, high or None)
    "n_users": (1, None),
    "n_products": (2, None),
    "n_days": (2, None),
    "n_brands": (1, _MAX_BRANDS),
    "style_dim": (1, 32),
    "slate_size": (1, 100),
    "text_template_variety": (1, len(_TITLE_TEMPLATES)),
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


# ------------------------------------------------------------ outputs


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
        return _pair_affinity(self.truth, self.config, u.ravel(), i.ravel())

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
            out[lo : lo + chunk] = _block_affinity(
                self.truth, self.config, u[lo : lo + chunk], i
            )
        return out

    @staticmethod
    def _check_ids(ids, n: int, name: str) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{name} must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise ValueError(
                f"{name} must lie in [0, {n}), got values from {ids.min()} to {ids.max()}"
            )
        return ids

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


# ------------------------------------------------------------ affinity


def _pair_affinity(
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


def _block_affinity(
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


# ------------------------------------------------------------ helpers


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x, dtype=float)


def _segment_starts(seg: np.ndarray) -> np.ndarray:
    """For a non-decreasing id array, the index where each element's run starts."""
    if seg.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(seg.size, dtype=bool)
    new[0] = True
    np.not_equal(seg[1:], seg[:-1], out=new[1:])
    return np.maximum.accumulate(np.where(new, np.arange(seg.size), 0))


def _exclusive_cumsum(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Sum of the earlier ``values`` in the same run of ``seg`` (non-decreasing ids)."""
    excl = np.cumsum(values) - values
    return excl - excl[_segment_starts(seg)]


def _inverse_cdf_rows(prob_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of ``prob_rows`` (rows sum to 1)."""
    cum = np.cumsum(prob_rows, axis=1)
    v = rng.random(prob_rows.shape[0]) * cum[:, -1]
    return np.minimum((cum <= v[:, None]).sum(axis=1), prob_rows.shape[1] - 1)


def _top_eigenvectors(
    cov: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 12
) -> np.ndarray:
    """The ``k`` leading eigenvectors of a symmetric PSD matrix, by subspace iteration.

    Only matrix products and thin QR factorisations: as accurate as a full
    ``eigh`` for the leading directions here, and much faster on a busy CPU.
    """
    if cov.shape[0] <= 256:  # small: a direct decomposition is cheapest
        vectors = np.linalg.eigh(cov)[1][:, ::-1]
    else:
        basis = np.linalg.qr(cov @ rng.standard_normal((cov.shape[0], k + 10)))[0]
        for _ in range(n_iter):
            basis = np.linalg.qr(cov @ basis)[0]
        vectors = basis @ np.linalg.eigh(basis.T @ cov @ basis)[1][:, ::-1]
    vectors = vectors[:, :k]
    return np.pad(vectors, ((0, 0), (0, k - vectors.shape[1])))  # zeros if k > rank


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# ------------------------------------------------------------ images


def _resolve_images(images, labels, class_names):
    if images is None and labels is None:
        try:
            from .datasets import load_fashion_mnist
        except (
            ImportError
        ) as exc:  # the loader lives in recsys_lib.datasets (Chapter 2)
            raise ImportError(
                "generate_shop needs product pictures: recsys_lib.datasets.load_fashion_mnist "
                "is not available, so pass images=, labels= (and class_names=) explicitly"
            ) from exc
        data = load_fashion_mnist()
        images, labels = data.images, data.labels
        if class_names is None:
            class_names = data.class_names
    elif images is None or labels is None:
        raise ValueError(
            "pass both images and labels, or neither (to load Fashion-MNIST)"
        )

    images = np.asarray(images)
    if images.ndim != 3 or min(images.shape) < 1:
        raise ValueError(
            f"images must have shape (n_images, height, width), got {images.shape}"
        )
    if images.dtype != np.uint8:
        raise TypeError(
            f"images must be uint8 pixels (0..255), got dtype {images.dtype}"
        )
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels must have shape ({images.shape[0]},) to match images, got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    class_names = tuple(FASHION_MNIST_CLASSES if class_names is None else class_names)
    if not class_names or not all(isinstance(c, str) and c for c in class_names):
        raise ValueError("class_names must be a non-empty list of non-empty strings")
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must be unique, got {class_names}")
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(
            f"labels must lie in [0, {len(class_names)}) to index class_names, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return images, labels.astype(np.int64), class_names


# ------------------------------------------------------------ catalogue


@dataclass
class _Catalogue:
    products: pd.DataFrame
    images: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    quality: np.ndarray
    style: np.ndarray
    popularity: np.ndarray  # standardised log popularity
    pop_weight: np.ndarray  # Zipf weight used by the logging policy
    price_level: np.ndarray
    list_price: np.ndarray
    launch_day: np.ndarray
    brand_tier: np.ndarray
    style_mean: np.ndarray
    style_components: np.ndarray
    style_scale: np.ndarray


def _make_catalogue(cfg, rng, text_rng, images, labels, class_names) -> _Catalogue:
    n, n_classes, d = cfg.n_products, len(class_names), cfg.style_dim
    height, width = images.shape[1:]
    if d > height * width:
        raise ValueError(
            f"style_dim={d} exceeds the number of pixels per image ({height * width})"
        )
    infos = [_class_info(name) for name in class_names]

    # categories and pictures
    present = np.unique(labels)
    category = rng.choice(present, size=n, p=rng.dirichlet(np.full(present.size, 20.0)))
    source = np.empty(n, dtype=np.int64)
    for c in present:  # a loop over classes, not products
        rows = np.flatnonzero(category == c)
        if rows.size:
            pool = np.flatnonzero(labels == c)
            source[rows] = rng.choice(
                pool, size=rows.size, replace=rows.size > pool.size
            )
    shop_images = np.ascontiguousarray(images[source])

    # style = standardised projection of the within-class pixel deviations (PCA)
    pixels = shop_images.reshape(n, -1).astype(np.float64) / 255.0
    class_mean = np.zeros((n_classes, pixels.shape[1]))
    for c in np.unique(category):
        class_mean[c] = pixels[category == c].mean(axis=0)
    resid = pixels - class_mean[category]
    if n < resid.shape[1]:  # fewer products than pixels: use the smaller Gram matrix
        components = resid.T @ _top_eigenvectors(resid @ resid.T, d, rng)
        components /= np.maximum(np.linalg.norm(components, axis=0), 1e-12)
    else:
        components = _top_eigenvectors(resid.T @ resid, d, rng)
    flip = np.sign(components[np.abs(components).argmax(axis=0), np.arange(d)])
    components *= np.where(
        flip == 0, 1.0, flip
    )  # fix the arbitrary sign of each direction
    raw_style = resid @ components
    scale = raw_style.std(axis=0)
    scale[scale == 0] = 1.0
    style = raw_style / scale

    # lightness of the garment -> colour word (with noise)
    ink = pixels > 0.12
    lightness = (pixels * ink).sum(1) / np.maximum(ink.sum(1), 1)
    quantile = (
        np.argsort(np.argsort(lightness, kind="stable"), kind="stable") + 0.5
    ) / n
    quantile = np.clip(
        quantile + cfg.text_noise * 0.5 * rng.standard_normal(n), 0, 0.999
    )
    colour = np.asarray(_COLOURS)[(quantile * len(_COLOURS)).astype(int)]

    # brands: popularity (Zipf) x specialisation in categories
    b = cfg.n_brands
    all_names = [h + t for h in _BRAND_HEADS for t in _BRAND_TAILS]
    brand_names = np.asarray(all_names)[
        rng.choice(len(all_names), size=b, replace=False)
    ]
    brand_tier = rng.standard_normal(b)
    brand_pop = (1.0 / np.arange(1, b + 1) ** 0.8)[rng.permutation(b)]
    mix = (
        rng.dirichlet(np.full(n_classes, 0.7), size=b) * brand_pop[:, None]
    )  # (b, classes)
    brand = _inverse_cdf_rows((mix / mix.sum(axis=0))[:, category].T, rng)

    # quality, price, launch, popularity
    quality = _standardise(0.6 * brand_tier[brand] + 0.8 * rng.standard_normal(n))
    base = np.array([info.base_price for info in infos], dtype=float) * cfg.price_scale
    log_price = (
        np.log(base[category])
        + cfg.price_quality_coef * quality
        + 0.15 * brand_tier[brand]
        + cfg.price_noise * rng.standard_normal(n)
    )
    list_price = np.maximum(np.round(np.exp(log_price)) - 0.01, 0.99)
    price_level = _standardise(np.log(list_price) - np.log(base[category]))
    is_new = rng.random(n) < cfg.new_product_fraction
    launch_day = np.where(
        is_new, rng.integers(1, cfg.n_days, n), -rng.integers(0, 730, n)
    )
    score = (
        0.8 * _standardise(np.log(brand_pop[brand]))
        + 0.5 * quality
        + rng.standard_normal(n)
    )
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, n + 1)
    pop_weight = rank.astype(float) ** -cfg.popularity_skew
    popularity = _standardise(np.log(pop_weight))

    # words that carry the hidden attributes
    tier = np.digitize(
        quality + cfg.text_noise * 2.0 * rng.standard_normal(n), [-0.5, 0.6]
    )
    titles, descriptions, materials = _write_texts(
        cfg, text_rng, infos, category, brand_names[brand], colour, tier, style
    )

    products = pd.DataFrame(
        {
            ITEM_COL: np.arange(n, dtype=np.int64),
            "title": titles,
            "description": descriptions,
            CATEGORY_COL: np.asarray(class_names, dtype=object)[category],
            "category_id": category.astype(np.int64),
            "brand": brand_names[brand],
            "brand_id": brand.astype(np.int64),
            "colour": colour,
            "material": materials,
            PRICE_COL: list_price,
            "launch_day": launch_day.astype(np.int64),
            "image_index": np.arange(n, dtype=np.int64),
            "source_image_index": source,
        }
    )
    return _Catalogue(
        products=products,
        images=shop_images,
        category=category.astype(np.int64),
        brand=brand.astype(np.int64),
        quality=quality,
        style=style,
        popularity=popularity,
        pop_weight=pop_weight,
        price_level=price_level,
        list_price=list_price,
        launch_day=launch_day.astype(np.int64),
        brand_tier=brand_tier,
        style_mean=class_mean,
        style_components=components,
        style_scale=scale,
    )


def _write_texts(cfg, rng, infos, category, brand, colour, tier, style):
    """Titles and descriptions from templates; one short Python pass over products."""
    n, d = style.shape
    n_axes = min(d, len(_STYLE_AXES))
    # the two most pronounced style directions are the ones the copywriter mentions
    order = np.argsort(-np.abs(style[:, :n_axes]), axis=1, kind="stable")
    ax1 = order[:, 0]
    ax2 = order[:, 1] if n_axes > 1 else order[:, 0]
    rows = np.arange(n)
    pole1 = (style[rows, ax1] > 0) ^ (rng.random(n) < cfg.text_noise)
    pole2 = (style[rows, ax2] > 0) ^ (rng.random(n) < cfg.text_noise)
    # with probability text_noise a style word comes from a random direction instead
    rand_ax = rng.random(n) < cfg.text_noise
    ax1 = np.where(rand_ax, rng.integers(0, len(_STYLE_AXES), n), ax1)
    w1, w2 = rng.integers(0, 4, n), rng.integers(0, 4, n)
    w2 = np.where((ax1 == ax2) & (pole1 == pole2) & (w1 == w2), (w2 + 1) % 4, w2)

    k = cfg.text_template_variety
    t_title = rng.integers(0, k, n)
    t_open = rng.integers(0, min(k, len(_OPENERS)), n)
    t_style = rng.integers(0, min(k, len(_STYLE_SENTENCES)), n)
    t_quality = rng.integers(0, 3, n)
    t_filler = rng.integers(0, len(_FILLERS), n)
    t_season = rng.integers(0, 2, n)
    noun_pick = rng.integers(0, 1 << 30, n)
    mat_pick = rng.integers(0, 1 << 30, n)

    titles, descriptions, materials = [], [], []
    for j in range(n):
        info = infos[category[j]]
        noun = info.nouns[noun_pick[j] % len(info.nouns)]
        mats = _MATERIALS[info.group][tier[j]]
        material = mats[mat_pick[j] % len(mats)]
        style1 = _STYLE_AXES[ax1[j]][int(pole1[j])][w1[j]]
        style2 = _STYLE_AXES[ax2[j]][int(pole2[j])][w2[j]]
        plural = noun.endswith("s") and not noun.endswith("ss")
        words = {
            "brand": brand[j],
            "noun": noun,
            "colour": colour[j],
            "material": material,
            "style1": style1,
            "style2": style2,
            "item_a": f"{style1} {noun}"
            if plural
            else f"{_article(style1)} {style1} {noun}",
            "a_style1": f"{_article(style1)} {style1}",
            "a_style2": f"{_article(style2)} {style2}",
            "this": "These" if plural else "This",
            "this_l": "these" if plural else "this",
            "is_": "are" if plural else "is",
            "has": "have" if plural else "has",
            "brings": "bring" if plural else "brings",
        }
        title = _TITLE_TEMPLATES[t_title[j]].format(**words)
        sentences = [
            _OPENERS[t_open[j]].format(**words),
            _STYLE_SENTENCES[t_style[j]].format(**words),
            _QUALITY_SENTENCES[tier[j]][t_quality[j]],
        ]
        if info.season_amp >= 0.5:
            kind = "winter" if abs(info.season_peak - 15) < 60 else "summer"
            sentences.append(_SEASON_SENTENCES[kind][t_season[j]])
        sentences.append(_FILLERS[t_filler[j]])
        titles.append(title[:1].upper() + title[1:])
        descriptions.append(" ".join(s[:1].upper() + s[1:] for s in sentences if s))
        materials.append(material)
    return titles, descriptions, materials


# ------------------------------------------------------------ prices over time


def _season(cfg: ShopConfig, class_names) -> np.ndarray:
    start = pd.Timestamp(cfg.start_date)
    doy = start.day_of_year - 1 + np.arange(cfg.n_days)
    infos = [_class_info(name) for name in class_names]
    amp = np.array([info.season_amp for info in infos])[:, None]
    peak = np.array([info.season_peak for info in infos])[:, None]
    return amp * np.cos(2 * np.pi * (doy[None, :] - peak) / 365.25)


def _weekday_weights(cfg: ShopConfig) -> np.ndarray:
    start = pd.Timestamp(cfg.start_date)
    return _WEEKDAY_WEIGHTS[(start.day_of_week + np.arange(cfg.n_days)) % 7]


def _make_prices(cfg, rng, cat: _Catalogue, season: np.ndarray):
    n, days = cfg.n_products, cfg.n_days
    t = np.arange(days)
    item_season = season[cat.category]  # (n, days)
    # regular prices are revised every four weeks (trend and season), keeping the .99 endings
    trend = rng.normal(0.0, cfg.price_trend_std, n)
    revised = (t // _REPRICE_DAYS) * _REPRICE_DAYS
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
    depth = rng.choice(_PROMO_DISCOUNTS, size=(n, days), p=_PROMO_DISCOUNT_P)
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
        * _weekday_weights(cfg)[None, :]
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


# ------------------------------------------------------------ users


def _make_users(cfg, rng, class_names, stocked: np.ndarray):
    n, n_classes, d = cfg.n_users, len(class_names), cfg.style_dim
    infos = [_class_info(name) for name in class_names]
    age = np.clip(np.rint(18 + rng.gamma(3.0, 7.0, n)), 18, 80).astype(np.int64)
    gender = rng.choice(len(GENDERS), size=n, p=_GENDER_SHARE)
    region = rng.choice(len(REGIONS), size=n, p=_REGION_SHARE)
    segment = rng.choice(len(SEGMENTS), size=n, p=_SEGMENT_SHARE)
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
    k = min(d, _SEGMENT_STYLE.shape[1])
    seg_style[:, :k] = _SEGMENT_STYLE[:, :k]
    style = seg_style[segment] + rng.standard_normal((n, d))
    price_pref = (
        _SEGMENT_PRICE_PREF[segment]
        + _REGION_PRICE_PREF[region]
        + 0.25 * (age - 40) / 15.0
        + 0.5 * rng.standard_normal(n)
    )
    sensitivity = _SEGMENT_SENSITIVITY[segment] * np.exp(0.4 * rng.standard_normal(n))

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


# ------------------------------------------------------------ sessions and events


def _candidate_pools(cat: _Catalogue, n_classes: int):
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
        within = _exclusive_cumsum(w, seg_group) + w
        total = np.repeat(
            within[last], np.diff(np.r_[0, np.flatnonzero(last) + 1])
        )  # run totals
        key = seg_group + within / total
        key[last] = seg_group[last] + 1.0  # exact upper end of every run
        keys.append(key)
    return seg_items, keys[0], keys[1]


def _draw_slates(
    cfg, rng, cat: _Catalogue, n_classes: int, group: np.ndarray, day: np.ndarray
):
    """Impressions (slate index, item, position) of every slate, in blocks of slates."""
    seg_items, key_pop, key_uniform = _candidate_pools(cat, n_classes)
    m = cfg.slate_size * _OVERSAMPLE
    out_slate, out_item, out_pos = (
        [np.zeros(0, np.int64)],
        [np.zeros(0, np.int64)],
        [np.zeros(0, np.int64)],
    )
    for lo in range(0, group.size, _SLATE_CHUNK):
        g = group[lo : lo + _SLATE_CHUNK]
        target = g[:, None] + rng.random((g.size, m))
        popular = rng.random((g.size, m)) < cfg.logging_popular_share
        idx = np.empty((g.size, m), dtype=np.int64)
        idx[popular] = np.searchsorted(key_pop, target[popular], side="right")
        idx[~popular] = np.searchsorted(key_uniform, target[~popular], side="right")
        cand = seg_items[np.minimum(idx, seg_items.size - 1)]
        launched = cat.launch_day[cand] <= day[lo : lo + _SLATE_CHUNK, None]
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


def _simulate(
    cfg, rngs, cat: _Catalogue, truth: ShopTruth, users: pd.DataFrame, n_classes: int
):
    r_sess, r_slate, r_click = rngs
    days = cfg.n_days
    t0 = int(pd.Timestamp(cfg.start_date).value // 10**9)
    signup = users["signup_day"].to_numpy()
    visit_rate = users["visit_rate"].to_numpy()

    # --- how many sessions, on which days and at what time
    w = _weekday_weights(cfg)
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
    hour = r_sess.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    planned = t0 + s_day * 86_400 + hour * 3600 + r_sess.integers(0, 3600, n)
    order = np.lexsort((planned, s_user))
    s_user, s_day, planned = s_user[order], s_day[order], planned[order]
    n_pages = np.minimum(1 + r_sess.poisson(cfg.pages_per_session - 1, n), 20)
    browse = r_sess.random(n) < cfg.category_browse_prob
    intent = _inverse_cdf_rows(truth.user_category_prob[s_user], r_sess)
    s_group = np.where(browse, intent, n_classes)

    # --- slates and impressions
    slate_sess = np.repeat(np.arange(n), n_pages)
    slate_page = np.arange(slate_sess.size) - _segment_starts(slate_sess)
    imp_slate, item, position = _draw_slates(
        cfg, r_slate, cat, n_classes, s_group[slate_sess], s_day[slate_sess]
    )
    imp_sess = slate_sess[imp_slate]
    user = s_user[imp_sess]
    day = s_day[imp_sess]

    # --- the funnel
    affinity = _pair_affinity(truth, cfg, user, item)
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
    clicked = np.flatnonzero(r_click.random(item.size) < examine * _sigmoid(utility))
    a_c = affinity[clicked]
    dwell = np.exp(
        math.log(cfg.dwell_median)
        + cfg.dwell_affinity_weight * a_c
        + cfg.dwell_noise * r_click.standard_normal(a_c.size)
    )
    dwell = np.round(np.clip(dwell, 1.0, 600.0), 1)
    think = 1 + np.minimum(r_click.poisson(4.0, a_c.size), 60)
    p_cart = _sigmoid(cfg.cart_intercept + cfg.cart_affinity_weight * a_c)
    carted_mask = r_click.random(a_c.size) < p_cart
    carted = clicked[carted_mask]
    u_k = user[carted]
    p_buy = _sigmoid(
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
    click_offset = _exclusive_cumsum(step, click_slate) + think
    n_slates = slate_sess.size
    slate_imps = np.bincount(imp_slate, minlength=n_slates)
    slate_dur = (
        5
        + slate_imps
        + np.bincount(click_slate, weights=step, minlength=n_slates).astype(np.int64)
    )
    slate_offset = _exclusive_cumsum(slate_dur, slate_sess)
    browse_dur = np.bincount(slate_sess, weights=slate_dur, minlength=n).astype(
        np.int64
    )
    has_purchase = np.bincount(imp_sess[bought], minlength=n) > 0
    checkout = np.where(has_purchase, 20 + r_sess.poisson(60, n), 0)
    duration = browse_dur + checkout
    # sessions of one user never overlap: start_k = max(planned_k, end_{k-1} + gap)
    before = _exclusive_cumsum(duration + _SESSION_GAP, s_user)
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


# ------------------------------------------------------------ entry point


def _resolve_config(config_or_preset) -> ShopConfig:
    if isinstance(config_or_preset, ShopConfig):
        config_or_preset.validate()
        return config_or_preset
    if isinstance(config_or_preset, str):
        return ShopConfig.preset(config_or_preset)
    raise TypeError(
        f"config_or_preset must be a ShopConfig or a preset name ({', '.join(PRESETS)}), "
        f"got {type(config_or_preset).__name__}"
    )


def generate_shop(
    config_or_preset: ShopConfig | str = "default",
    seed: int = 0,
    images=None,
    labels=None,
    class_names=None,
) -> Shop:
    """Generate a shop (see the module docstring for the story and the tables).

    Args:
        config_or_preset: a :class:`ShopConfig` or a preset name
            (``"tiny"``, ``"default"``, ``"large"``).
        seed: non-negative int; the same seed (and config and images) gives the
            same shop.
        images: ``(n_images, height, width)`` uint8 pictures to take product
            images from. When ``images`` and ``labels`` are both omitted,
            Fashion-MNIST is loaded with
            :func:`recsys_lib.datasets.load_fashion_mnist`.
        labels: ``(n_images,)`` integer class of each picture.
        class_names: the class names ``labels`` index (default: the ten
            Fashion-MNIST names). Only classes with at least one picture are
            used as categories.

    Raises:
        TypeError, ValueError: for a bad config, seed or image arrays.
    """
    config = _resolve_config(config_or_preset)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    images, labels, class_names = _resolve_images(images, labels, class_names)
    n_classes = len(class_names)

    streams = [
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(7)
    ]
    r_cat, r_text, r_price, r_user, r_sess, r_slate, r_click = streams
    cat = _make_catalogue(config, r_cat, r_text, images, labels, class_names)
    season = _season(config, class_names)
    price_history, price, regular = _make_prices(config, r_price, cat, season)
    stocked = np.bincount(cat.category, minlength=n_classes) > 0
    users, user_truth = _make_users(config, r_user, class_names, stocked)
    truth = ShopTruth(
        **user_truth,
        item_category=cat.category,
        item_brand=cat.brand,
        item_quality=cat.quality,
        item_style=cat.style,
        item_popularity=cat.popularity,
        item_price_level=cat.price_level,
        brand_tier=cat.brand_tier,
        style_mean=cat.style_mean,
        style_components=cat.style_components,
        style_scale=cat.style_scale,
        season=season,
        price=price,
        regular_price=regular,
    )
    events, sessions = _simulate(
        config, (r_sess, r_slate, r_click), cat, truth, users, n_classes
    )
    return Shop(
        config=config,
        seed=int(seed),
        class_names=tuple(class_names),
        products=cat.products,
        images=cat.images,
        price_history=price_history,
        users=users,
        sessions=sessions,
        events=events,
        truth=truth,
    )
