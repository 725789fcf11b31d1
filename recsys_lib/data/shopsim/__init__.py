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

The code follows the story: :mod:`.config` (the knobs), :mod:`.vocab` (the
words), :mod:`.catalogue` (1), :mod:`.market` (2), :mod:`.shoppers` (3),
:mod:`.shop` (the outputs and the oracle, 4), :mod:`.sessions` (5 and 6);
:func:`generate_shop` runs them in order.
"""

from __future__ import annotations

import numpy as np

from ...checks import check_int
from ..fashion_mnist import FASHION_MNIST_CLASSES
from .catalogue import make_catalogue, resolve_images
from .config import PRESETS, ShopConfig
from .market import make_prices, season_index
from .sessions import simulate
from .shop import Shop, ShopTruth
from .shoppers import make_users
from .vocab import EVENT_TYPES, GENDERS, REGIONS, SEGMENTS

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
            :func:`recsys_lib.data.load_fashion_mnist`.
        labels: ``(n_images,)`` integer class of each picture.
        class_names: the class names ``labels`` index (default: the ten
            Fashion-MNIST names). Only classes with at least one picture are
            used as categories.

    Raises:
        TypeError, ValueError: for a bad config, seed or image arrays.
    """
    config = _resolve_config(config_or_preset)
    seed = check_int(seed, "seed", low=0, where="generate_shop")
    images, labels, class_names = resolve_images(images, labels, class_names)
    n_classes = len(class_names)

    streams = [
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(7)
    ]
    r_cat, r_text, r_price, r_user, r_sess, r_slate, r_click = streams
    cat = make_catalogue(config, r_cat, r_text, images, labels, class_names)
    season = season_index(config, class_names)
    price_history, price, regular = make_prices(config, r_price, cat, season)
    stocked = np.bincount(cat.category, minlength=n_classes) > 0
    users, user_truth = make_users(config, r_user, class_names, stocked)
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
    events, sessions = simulate(
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
