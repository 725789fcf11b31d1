"""Tests of recsys_lib.data.shopsim: the synthetic shop and its hidden truth."""

import math

import numpy as np
from fakes import fake_images
import pandas as pd
import pytest

from recsys_lib.config import (
    CATEGORY_COL,
    EVENT_COL,
    ITEM_COL,
    PRICE_COL,
    SESSION_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data import fashion_mnist
from recsys_lib.data.shopsim import (
    EVENT_TYPES,
    FASHION_MNIST_CLASSES,
    PRESETS,
    Shop,
    ShopConfig,
    generate_shop,
)
from recsys_lib.data.shopsim.vocab import STYLE_AXES




IMAGES, LABELS = fake_images()


@pytest.fixture(scope="module")
def shop() -> Shop:
    return generate_shop("tiny", seed=0, images=IMAGES, labels=LABELS)


@pytest.fixture(scope="module")
def funnel(shop):
    """The events split by type, each with a key naming its slot in the session."""
    ev = shop.events
    key = ev[SESSION_COL] * 10_000 + ev["page"] * 100 + ev["position"]
    ev = ev.assign(slot=key)
    return {kind: ev[ev[EVENT_COL] == kind] for kind in EVENT_TYPES}


# ------------------------------------------------------------------ shapes


def test_products_and_images(shop):
    cfg = shop.config
    p = shop.products
    assert list(p.columns) == [
        ITEM_COL, "title", "description", CATEGORY_COL, "category_id", "brand", "brand_id",
        "colour", "material", PRICE_COL, "launch_day", "image_index", "source_image_index",
    ]  # fmt: skip
    assert len(p) == cfg.n_products == shop.n_products
    assert (p[ITEM_COL].to_numpy() == np.arange(cfg.n_products)).all()
    assert p[ITEM_COL].dtype == np.int64 and p[PRICE_COL].dtype == np.float64
    assert (
        shop.images.shape == (cfg.n_products, 28, 28) and shop.images.dtype == np.uint8
    )
    # each product shows a real picture of its own class
    np.testing.assert_array_equal(
        shop.images[p["image_index"]], IMAGES[p["source_image_index"]]
    )
    np.testing.assert_array_equal(LABELS[p["source_image_index"]], p["category_id"])
    assert (
        p[CATEGORY_COL] == np.asarray(FASHION_MNIST_CLASSES)[p["category_id"]]
    ).all()
    assert p["brand_id"].between(0, cfg.n_brands - 1).all()
    assert (p[PRICE_COL] > 0).all() and p["launch_day"].lt(cfg.n_days).all()
    assert p["title"].str.len().gt(5).all() and p["description"].str.len().gt(30).all()
    assert p["title"].nunique() > 0.6 * len(p)


def test_users_sessions_prices_columns(shop):
    cfg = shop.config
    u = shop.users
    assert list(u.columns) == [
        USER_COL, "age", "gender", "region", "segment", "signup_day", "price_sensitivity", "visit_rate",
    ]  # fmt: skip
    assert (u[USER_COL].to_numpy() == np.arange(cfg.n_users)).all()
    assert (
        u["age"].between(18, 80).all()
        and u["signup_day"].between(0, cfg.n_days - 1).all()
    )
    assert (u["price_sensitivity"] > 0).all() and (u["visit_rate"] > 0).all()
    t = shop.truth
    assert t.user_category_taste.shape == (cfg.n_users, len(FASHION_MNIST_CLASSES))
    assert t.user_brand_taste.shape == (cfg.n_users, cfg.n_brands)
    assert t.user_style.shape == (cfg.n_users, cfg.style_dim)
    assert t.item_style.shape == (cfg.n_products, cfg.style_dim)
    np.testing.assert_allclose(t.user_category_prob.sum(1), 1.0)

    s = shop.sessions
    assert list(s.columns) == [
        SESSION_COL,
        USER_COL,
        "start",
        "end",
        "day",
        "n_pages",
        "browse_category_id",
    ]
    assert (s[SESSION_COL].to_numpy() == np.arange(len(s))).all()
    assert s["start"].is_monotonic_increasing and (s["end"] >= s["start"]).all()
    assert ((s["start"] - shop.start_timestamp) // 86_400 >= s["day"]).all()

    ph = shop.price_history
    assert list(ph.columns) == [
        ITEM_COL, "day", "date", PRICE_COL, "regular_price", "discount", "on_promo", "units_sold",
    ]  # fmt: skip
    launch = shop.products["launch_day"].clip(lower=0).to_numpy()
    assert len(ph) == int((cfg.n_days - launch).sum())
    assert (ph[PRICE_COL] <= ph["regular_price"] + 1e-9).all() and (
        ph["units_sold"] >= 0
    ).all()
    assert (ph["on_promo"] == (ph["discount"] > 0)).all()
    assert ph["date"].iloc[0] == shop.start_date + pd.Timedelta(
        days=int(ph["day"].iloc[0])
    )


def test_events_columns_and_dtypes(shop):
    ev = shop.events
    assert list(ev.columns) == [
        USER_COL, SESSION_COL, TIMESTAMP_COL, "day", ITEM_COL, EVENT_COL, "page", "position",
        "dwell_time", PRICE_COL,
    ]  # fmt: skip
    for col in (
        USER_COL,
        SESSION_COL,
        TIMESTAMP_COL,
        "day",
        ITEM_COL,
        "page",
        "position",
    ):
        assert ev[col].dtype == np.int64, col
    assert isinstance(ev[EVENT_COL].dtype, pd.CategoricalDtype)
    assert (
        list(ev[EVENT_COL].cat.categories) == list(EVENT_TYPES)
        and ev[EVENT_COL].cat.ordered
    )
    assert ev[TIMESTAMP_COL].is_monotonic_increasing
    assert ev["position"].between(0, shop.config.slate_size - 1).all()
    assert set(ev[EVENT_COL].unique()) == set(EVENT_TYPES)
    assert 3_000 < len(ev) < 20_000  # tiny really is tiny


# ------------------------------------------------------------------ consistency


def test_funnel_order(funnel):
    imp, clk, cart, buy = (funnel[k] for k in EVENT_TYPES)
    imp_by_slot = imp.set_index("slot")
    assert imp_by_slot.index.is_unique
    # clicks only on impressed items, after the impression
    assert clk["slot"].isin(imp_by_slot.index).all()
    assert (
        imp_by_slot.loc[clk["slot"], ITEM_COL].to_numpy() == clk[ITEM_COL].to_numpy()
    ).all()
    assert (
        imp_by_slot.loc[clk["slot"], TIMESTAMP_COL].to_numpy()
        < clk[TIMESTAMP_COL].to_numpy()
    ).all()
    # carts only after a click on the same slot; purchases only of carted slots
    clk_by_slot = clk.set_index("slot")
    assert cart["slot"].isin(clk_by_slot.index).all()
    assert (
        clk_by_slot.loc[cart["slot"], TIMESTAMP_COL].to_numpy()
        < cart[TIMESTAMP_COL].to_numpy()
    ).all()
    cart_by_slot = cart.set_index("slot")
    assert buy["slot"].isin(cart_by_slot.index).all()
    assert (
        cart_by_slot.loc[buy["slot"], TIMESTAMP_COL].to_numpy()
        < buy[TIMESTAMP_COL].to_numpy()
    ).all()
    assert (
        cart_by_slot.loc[buy["slot"], ITEM_COL].to_numpy() == buy[ITEM_COL].to_numpy()
    ).all()
    # dwell time only on clicks
    assert clk["dwell_time"].gt(0).all()
    assert (
        imp["dwell_time"].isna().all()
        and cart["dwell_time"].isna().all()
        and buy["dwell_time"].isna().all()
    )


def test_impressions_follow_the_catalogue_and_the_clock(shop, funnel):
    imp = funnel["impression"]
    launch = shop.products["launch_day"].to_numpy()
    assert (
        launch[imp[ITEM_COL]] <= imp["day"]
    ).all()  # only launched products are shown
    assert not imp.duplicated(
        [SESSION_COL, "page", ITEM_COL]
    ).any()  # no repeats on a page
    # prices in the log are the day's prices
    np.testing.assert_allclose(
        shop.events[PRICE_COL],
        shop.truth.price[shop.events[ITEM_COL], shop.events["day"]],
    )
    # sessions of one user do not overlap
    s = shop.sessions.sort_values([USER_COL, "start"])
    same_user = s[USER_COL].to_numpy()[1:] == s[USER_COL].to_numpy()[:-1]
    assert (
        s["start"].to_numpy()[1:][same_user] > s["end"].to_numpy()[:-1][same_user]
    ).all()
    # every event lies inside its session, which starts on or after the user's sign-up day
    ev = shop.events.merge(
        shop.sessions[[SESSION_COL, USER_COL, "start", "end", "day"]], on=SESSION_COL
    )
    assert (ev[f"{USER_COL}_x"] == ev[f"{USER_COL}_y"]).all() and (
        ev["day_x"] == ev["day_y"]
    ).all()
    assert ev[TIMESTAMP_COL].between(ev["start"], ev["end"]).all()
    signup = shop.users["signup_day"].to_numpy()
    assert (shop.sessions["day"].to_numpy() >= signup[shop.sessions[USER_COL]]).all()
    # category pages show only that category
    browse = shop.sessions.set_index(SESSION_COL)["browse_category_id"]
    cat = shop.products["category_id"].to_numpy()[imp[ITEM_COL]]
    wanted = browse.loc[imp[SESSION_COL]].to_numpy()
    assert ((wanted == -1) | (wanted == cat)).all()


def test_style_is_read_from_the_pictures(shop):
    t = shop.truth
    pixels = shop.images.reshape(shop.n_products, -1) / 255.0
    style = (
        (pixels - t.style_mean[t.item_category]) @ t.style_components / t.style_scale
    )
    np.testing.assert_allclose(style, t.item_style, atol=1e-8)
    np.testing.assert_allclose(t.item_style.std(0), 1.0)


# ------------------------------------------------------------------ determinism


def test_same_seed_same_shop_other_seed_other_shop(shop):
    again = generate_shop("tiny", seed=0, images=IMAGES, labels=LABELS)
    for name in ("products", "price_history", "users", "sessions", "events"):
        pd.testing.assert_frame_equal(getattr(shop, name), getattr(again, name))
    np.testing.assert_array_equal(shop.images, again.images)
    np.testing.assert_array_equal(shop.true_affinity(), again.true_affinity())
    other = generate_shop("tiny", seed=1, images=IMAGES, labels=LABELS)
    assert not shop.events.equals(other.events)
    assert not shop.products.equals(other.products)
    assert not np.array_equal(shop.true_affinity(), other.true_affinity())


# ------------------------------------------------------------------ signal


def test_clicks_follow_the_true_affinity_and_position(shop, funnel):
    imp = funnel["impression"]
    clicked = imp["slot"].isin(funnel["click"]["slot"]).to_numpy()
    affinity = shop.pair_affinity(imp[USER_COL], imp[ITEM_COL])
    high = affinity > np.median(affinity)
    assert clicked[high].mean() > 2 * clicked[~high].mean()
    pos = imp["position"].to_numpy()
    assert clicked[pos <= 1].mean() > 2 * clicked[pos >= 5].mean()  # position bias
    # dwell time is longer on liked products
    clk = funnel["click"]
    assert (
        np.corrcoef(
            clk["dwell_time"], shop.pair_affinity(clk[USER_COL], clk[ITEM_COL])
        )[0, 1]
        > 0.2
    )


def test_purchases_concentrate_on_the_favourite_category(shop, funnel):
    top = shop.truth.user_category_prob.argmax(axis=1)
    cat = shop.products["category_id"].to_numpy()
    buy, imp = funnel["purchase"], funnel["impression"]
    share_bought = (cat[buy[ITEM_COL]] == top[buy[USER_COL]]).mean()
    share_shown = (cat[imp[ITEM_COL]] == top[imp[USER_COL]]).mean()
    assert share_bought > 1.4 * share_shown


def test_text_and_price_carry_the_hidden_attributes(shop):
    t = shop.truth
    text = (shop.products["title"] + " " + shop.products["description"]).str.lower()
    n_axes = min(shop.config.style_dim, len(STYLE_AXES))
    axis = np.abs(t.item_style[:, :n_axes]).argmax(axis=1)
    sign = t.item_style[np.arange(shop.n_products), axis] > 0
    right = [
        any(w in s for w in STYLE_AXES[a][int(p)])
        for s, a, p in zip(text, axis, sign, strict=True)
    ]
    wrong = [
        any(w in s for w in STYLE_AXES[a][1 - int(p)])
        for s, a, p in zip(text, axis, sign, strict=True)
    ]
    assert np.mean(right) > 0.6 and np.mean(right) > 2 * np.mean(wrong)
    level = np.log(shop.products[PRICE_COL]) - np.log(
        shop.products.groupby("category_id")[PRICE_COL].transform("median")
    )
    assert np.corrcoef(level, t.item_quality)[0, 1] > 0.3


def test_promotions_cut_prices_and_raise_sales():
    shop = generate_shop(
        ShopConfig.preset("tiny", promo_rate=0.05), seed=2, images=IMAGES, labels=LABELS
    )
    ph = shop.price_history
    assert ph["on_promo"].mean() > 0.1
    assert (
        ph.loc[ph["on_promo"], PRICE_COL] < ph.loc[ph["on_promo"], "regular_price"]
    ).all()
    per_item = (
        ph.groupby([ITEM_COL, "on_promo"])["units_sold"].mean().unstack().dropna()
    )
    assert (per_item[True] > per_item[False]).mean() > 0.6


# ------------------------------------------------------------------ oracle, summary


def test_true_affinity_matrix_and_pairs(shop):
    full = shop.true_affinity()
    assert full.shape == (shop.n_users, shop.n_products)
    np.testing.assert_allclose(shop.true_affinity(chunk_size=7), full)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, shop.n_users, 50), rng.integers(0, shop.n_products, 50)
    np.testing.assert_allclose(shop.pair_affinity(u, i), full[u, i])
    np.testing.assert_allclose(
        shop.true_affinity(user_ids=[3, 1], item_ids=[5, 0, 2]),
        full[np.ix_([3, 1], [5, 0, 2])],
    )
    with pytest.raises(ValueError, match="user_ids"):
        shop.true_affinity(user_ids=[shop.n_users])
    with pytest.raises(TypeError, match="item_ids"):
        shop.pair_affinity([0], [0.5])


def test_summary_and_repr(shop):
    table = shop.summary()
    assert table.loc["users", "value"] == shop.n_users
    assert table.loc["events", "value"] == len(shop.events)
    assert table.loc["purchase events", "value"] == int(
        (shop.events[EVENT_COL] == "purchase").sum()
    )
    assert table.loc["first day", "value"] == "2024-01-01"
    text = repr(shop)
    assert "120 users" in text and "80 products" in text and "purchase" in text


# ------------------------------------------------------------------ configs and inputs


def test_presets():
    assert set(PRESETS) == {"tiny", "default", "large"}
    tiny, default, large = (ShopConfig.preset(n) for n in ("tiny", "default", "large"))
    assert tiny.n_users < default.n_users < large.n_users
    assert default == ShopConfig()
    assert ShopConfig.preset("tiny", n_users=7).n_users == 7
    with pytest.raises(ValueError, match="unknown ShopSim preset"):
        ShopConfig.preset("huge")
    with pytest.raises(ValueError, match="slate_size"):
        tiny.replace(slate_size=0)


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"n_users": 0}, ValueError, "n_users must be >= 1"),
        ({"n_products": 1.5}, TypeError, "n_products must be an int"),
        ({"n_days": True}, TypeError, "n_days must be an int"),
        ({"n_brands": 10**6}, ValueError, "n_brands"),
        (
            {"category_browse_prob": 1.5},
            ValueError,
            "ShopConfig: category_browse_prob must be <= 1.0",
        ),
        ({"text_noise": -0.1}, ValueError, "text_noise"),
        ({"position_bias": -1}, ValueError, "position_bias"),
        ({"click_noise": math.nan}, ValueError, "click_noise must be a finite number"),
        (
            {"sessions_per_user_per_week": 0},
            ValueError,
            "sessions_per_user_per_week must be > 0",
        ),
        ({"pages_per_session": 0.5}, ValueError, "pages_per_session"),
        ({"text_template_variety": 99}, ValueError, "text_template_variety"),
        ({"click_intercept": "low"}, TypeError, "click_intercept must be a number"),
        ({"start_date": "someday"}, ValueError, "start_date"),
    ],
)
def test_bad_config(changes, error, match):
    with pytest.raises(error, match=match):
        ShopConfig.preset("tiny", **changes)


def test_bad_arguments():
    with pytest.raises(TypeError, match="config_or_preset"):
        generate_shop(3, images=IMAGES, labels=LABELS)
    with pytest.raises(ValueError, match="seed"):
        generate_shop("tiny", seed=-1, images=IMAGES, labels=LABELS)
    with pytest.raises(TypeError, match="uint8"):
        generate_shop("tiny", images=IMAGES.astype(np.float32), labels=LABELS)
    with pytest.raises(ValueError, match="shape"):
        generate_shop("tiny", images=IMAGES.reshape(len(IMAGES), -1), labels=LABELS)
    with pytest.raises(ValueError, match="labels must have shape"):
        generate_shop("tiny", images=IMAGES, labels=LABELS[:-1])
    with pytest.raises(ValueError, match="labels must lie"):
        generate_shop("tiny", images=IMAGES, labels=LABELS + 1)
    with pytest.raises(ValueError, match="both images and labels"):
        generate_shop("tiny", images=IMAGES)
    with pytest.raises(ValueError, match="unique"):
        generate_shop("tiny", images=IMAGES, labels=LABELS, class_names=["a"] * 10)


def test_custom_classes_and_small_pictures():
    images, labels = fake_images(n_per_class=5, n_classes=3, seed=1)
    images = images[:, :8, :8].copy()
    shop = generate_shop(
        ShopConfig.preset("tiny", n_products=30),
        seed=0,
        images=images,
        labels=labels,
        class_names=["cap", "scarf", "glove"],
    )
    assert set(shop.products[CATEGORY_COL]) <= {"cap", "scarf", "glove"}
    assert shop.images.shape == (30, 8, 8)
    assert len(shop.events) > 0


def test_loads_fashion_mnist_lazily(monkeypatch):
    class Data:
        images, labels, class_names = IMAGES, LABELS, list(FASHION_MNIST_CLASSES)

    calls = []
    monkeypatch.setattr(
        fashion_mnist, "load_fashion_mnist", lambda: calls.append(1) or Data()
    )
    shop = generate_shop("tiny", seed=0)
    assert calls == [1]
    pd.testing.assert_frame_equal(
        shop.events, generate_shop("tiny", seed=0, images=IMAGES, labels=LABELS).events
    )
