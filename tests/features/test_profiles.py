import math

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import EVENT_COL, ITEM_COL, SESSION_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data import generate_shop
from recsys_lib.eval import full_ranking_topk
from recsys_lib.features.profiles import (
    EVENT_WEIGHTS,
    SECONDS_PER_DAY,
    UNKNOWN,
    CategoryVocab,
    DemographicEmbedding,
    DemographicEncoder,
    OnlineProfile,
    ProfileScorer,
    affinity_profiles,
    age_bucket,
    blend_profiles,
    brand_loyalty,
    category_affinity,
    decay_weights,
    event_weights,
    last_session_profiles,
    one_hot,
    price_sensitivity,
    rfm_features,
)
from recsys_lib.models.base import Recommendations

from .helpers import assert_close, fake_images

DAY = SECONDS_PER_DAY
T0 = 1_700_000_000


@pytest.fixture(scope="module")
def shop():
    images, labels = fake_images()
    return generate_shop("tiny", seed=0, images=images, labels=labels)


def log(rows, columns=(USER_COL, ITEM_COL, EVENT_COL, TIMESTAMP_COL)):
    return pd.DataFrame(rows, columns=list(columns))


# ------------------------------------------------------------------ static features
def test_one_hot_and_bad_codes():
    out = one_hot(np.array([0, 2, 1]), 3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[0, 2, 1]])
    with pytest.raises(ValueError, match="lie in"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="integers"):
        one_hot(np.array([0.5]), 3)
    # wrong kind -> TypeError, wrong range -> ValueError (recsys_lib.checks)
    with pytest.raises(TypeError, match="n_classes must be an int"):
        one_hot(np.array([0]), 3.0)
    with pytest.raises(ValueError, match="n_classes must be >= 1"):
        one_hot(np.array([], dtype=np.int64), 0)


def test_age_bucket_labels_missing_and_negative():
    out = age_bucket([7, 17, 18, 24, 25, 49, 56, 80, None, float("nan")])
    assert list(out[:8]) == [
        "<18",
        "<18",
        "18-24",
        "18-24",
        "25-34",
        "45-49",
        "56+",
        "56+",
    ]
    assert out[8] is None and out[9] is None
    with pytest.raises(ValueError, match=">= 0"):
        age_bucket([-1])


def test_category_vocab_unknown_handled_explicitly():
    vocab = CategoryVocab.fit(["b", "a", "b", "c"], name="occupation", min_count=1)
    assert vocab.categories == ("a", "b", "c") and vocab.size == 4
    np.testing.assert_array_equal(vocab.encode(["a", "zzz", None, "c"]), [1, 0, 0, 3])
    assert vocab.decode([0, 2]) == [UNKNOWN, "b"]
    with pytest.raises(ValueError, match="occupation: unknown or missing value.*'zzz'"):
        vocab.encode(["a", "zzz"], unknown="error")
    rare = CategoryVocab.fit(["b", "a", "b"], min_count=2)
    assert rare.categories == ("b",) and rare.encode(["a"])[0] == 0


def test_demographic_encoder_on_shop_users(shop):
    users = shop.users
    enc = DemographicEncoder(("age", "gender", "region", "segment")).fit(users)
    X = enc.one_hot(users)
    assert X.shape == (len(users), sum(enc.cardinalities))
    np.testing.assert_array_equal(X.sum(axis=1), 4)  # one 1 per column block
    assert "gender=<unk>" in enc.feature_names and len(enc.feature_names) == X.shape[1]
    # a region never seen in training goes to the explicit <unk> column
    new = users.head(2).assign(region=["Atlantis", "North"])
    row = enc.one_hot(new)[0]
    assert row[enc.feature_names.index("region=<unk>")] == 1
    strict = DemographicEncoder(("region",), unknown="error").fit(users)
    with pytest.raises(ValueError, match="'Atlantis'"):
        strict.codes(new)
    with pytest.raises(ValueError, match="no 'occupation' column"):
        DemographicEncoder(("occupation",)).fit(users)
    with pytest.raises(RuntimeError, match="not fitted"):
        DemographicEncoder().codes(users)


def test_demographic_embedding_shapes_and_errors(shop):
    enc = DemographicEncoder(("age", "gender")).fit(shop.users)
    torch.manual_seed(0)
    emb = enc.embedding(dim=[3, 2])
    codes = torch.from_numpy(enc.codes(shop.users))
    out = emb(codes)
    assert out.shape == (len(shop.users), 5) and emb.out_dim == 5
    # code 0 (<unk>) has its own learned row
    unk = emb(torch.zeros(1, 2, dtype=torch.int64))
    assert_close(unk[0, :3], emb.tables[0].weight[0])
    with pytest.raises(ValueError, match="must lie in"):
        emb(torch.tensor([[99, 0]]))
    with pytest.raises(ValueError, match="shape"):
        emb(torch.tensor([[0, 0, 0]]))
    with pytest.raises(ValueError, match="empty"):
        emb(torch.zeros(0, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="integer"):
        DemographicEmbedding([3, 3])(torch.zeros(1, 2))


# ------------------------------------------------------------------ weights and decay
def test_event_weights_and_decay():
    ev = log([(0, 0, "click", T0), (0, 1, "purchase", T0)])
    np.testing.assert_array_equal(event_weights(ev), [1.0, 5.0])
    np.testing.assert_array_equal(event_weights(ev, weights=None), [1.0, 1.0])
    with pytest.raises(ValueError, match="'wishlist'"):
        event_weights(log([(0, 0, "wishlist", T0)]))
    w = decay_weights([T0, T0 - 7 * DAY, T0 - 14 * DAY], now=T0, half_life_days=7)
    np.testing.assert_allclose(w, [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(decay_weights([T0 - DAY], T0, None), [1.0])
    with pytest.raises(ValueError, match="after now"):
        decay_weights([T0 + 1], now=T0, half_life_days=7)
    with pytest.raises(ValueError, match="half_life_days"):
        decay_weights([T0], now=T0, half_life_days=0)


# ------------------------------------------------------------------ behavioural profiles
def test_affinity_by_hand():
    # item categories: item 0 -> 0, item 1 -> 1, item 2 -> 1
    cats = np.array([0, 1, 1])
    ev = log(
        [
            (0, 0, "purchase", T0 - 7 * DAY),  # 5 * 0.5 = 2.5 on category 0
            (0, 1, "click", T0),  # 1 on category 1
            (0, 2, "impression", T0),  # weight 0
            (1, 2, "impression", T0),  # user 1: impressions only
        ]
    )
    raw = category_affinity(ev, cats, n_users=3, half_life_days=7, normalize=None)
    np.testing.assert_allclose(raw, [[2.5, 1.0], [0, 0], [0, 0]])
    mean, W = category_affinity(
        ev, cats, n_users=3, half_life_days=7, return_weight=True
    )
    np.testing.assert_allclose(mean[0], [2.5 / 3.5, 1 / 3.5])
    np.testing.assert_allclose(W, [3.5, 0, 0])
    np.testing.assert_array_equal(mean[1:], 0)  # no weight -> zero row, not nan
    l2 = category_affinity(ev, cats, n_users=3, half_life_days=7, normalize="l2")
    np.testing.assert_allclose(np.linalg.norm(l2[0]), 1.0)


def test_category_affinity_on_shop_is_a_distribution(shop):
    cats = shop.products["category_id"].to_numpy()
    A, W = category_affinity(
        shop.events,
        cats,
        10,
        n_users=shop.n_users,
        half_life_days=7,
        return_weight=True,
    )
    assert A.shape == (shop.n_users, 10)
    np.testing.assert_allclose(A[W > 0].sum(axis=1), 1.0)
    assert (A >= 0).all()


def test_profile_bad_inputs():
    X = np.eye(2)
    ok = log([(0, 0, "click", T0)])
    with pytest.raises(ValueError, match="empty"):
        affinity_profiles(ok.iloc[:0], X)
    with pytest.raises(ValueError, match="items holds id 5"):
        affinity_profiles(log([(0, 5, "click", T0)]), X)
    with pytest.raises(ValueError, match="timestamps"):
        affinity_profiles(log([(0, 0, "click", float("nan"))]), X)
    with pytest.raises(TypeError, match="integers"):
        affinity_profiles(ok.assign(user_id=[0.5]), X)
    with pytest.raises(ValueError, match="nan"):
        affinity_profiles(ok, np.array([[np.nan, 0], [0, 1]]))
    with pytest.raises(ValueError, match="after now"):
        affinity_profiles(ok, X, now=T0 - 1)
    with pytest.raises(ValueError, match="normalize"):
        affinity_profiles(ok, X, normalize="softmax")


def test_last_session_and_blend():
    X = np.eye(3)
    ev = pd.DataFrame(
        {
            USER_COL: [0, 0, 0, 1],
            SESSION_COL: [10, 10, 11, 12],
            ITEM_COL: [0, 0, 1, 2],
            EVENT_COL: ["purchase", "click", "click", "click"],
            TIMESTAMP_COL: [T0, T0 + 60, T0 + DAY, T0],
        }
    )
    short = last_session_profiles(ev, X, n_users=3)
    np.testing.assert_allclose(short, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    long = affinity_profiles(ev, X, n_users=3, half_life_days=None)
    np.testing.assert_allclose(long[0], [6 / 7, 1 / 7, 0])
    mixed = blend_profiles(long, short, alpha=0.25)
    np.testing.assert_allclose(mixed[0], 0.75 * long[0] + 0.25 * short[0])
    np.testing.assert_allclose(mixed[2], long[2])  # no session: long-term kept
    np.testing.assert_allclose(blend_profiles(long, short, 0.0), long)
    with pytest.raises(ValueError, match="alpha"):
        blend_profiles(long, short, 1.5)
    with pytest.raises(ValueError, match="shape"):
        blend_profiles(long, short[:2])


def test_price_sensitivity_brand_loyalty_rfm_by_hand():
    cats = np.array([0, 0, 0, 1])
    prices = np.array([10.0, 20.0, 40.0, 100.0])  # medians: cat 0 -> 20, cat 1 -> 100
    brands = np.array([0, 0, 1, 1])
    ev = pd.DataFrame(
        {
            USER_COL: [0, 0, 1, 1, 1],
            SESSION_COL: [1, 1, 2, 3, 3],
            ITEM_COL: [2, 3, 0, 0, 2],
            EVENT_COL: ["purchase", "purchase", "purchase", "click", "purchase"],
            TIMESTAMP_COL: [T0, T0, T0, T0 + DAY, T0 + DAY],
            "price": [40.0, 100.0, 5.0, 10.0, 40.0],
        }
    )
    ps = price_sensitivity(ev, cats, prices, n_users=3)
    np.testing.assert_allclose(
        ps["price_index"][0], (1.0 + 0.0) / 2
    )  # 2x and 1x median
    np.testing.assert_allclose(ps["price_index"][1], (-2.0 + 1.0) / 2)
    assert math.isnan(ps["price_index"][2]) and ps["n_priced"].tolist() == [2, 2, 0]

    bl = brand_loyalty(ev, brands, n_users=3, half_life_days=None)
    # user 0: purchase of brand 1 (item 2) and brand 1 (item 3) -> loyal
    assert bl.loc[0, "top_brand"] == 1 and bl.loc[0, "top_share"] == 1.0
    assert bl.loc[0, "entropy"] == 0.0
    # user 1: brand 0 weight 5 + 1, brand 1 weight 5
    np.testing.assert_allclose(bl.loc[1, "top_share"], 6 / 11)
    assert bl.loc[2, "top_brand"] == -1 and math.isnan(bl.loc[2, "entropy"])

    rfm = rfm_features(ev, n_users=3)
    np.testing.assert_allclose(rfm["recency_days"][:2], [1.0, 0.0])
    assert rfm["frequency"].tolist() == [1, 2, 0]  # orders = sessions with a purchase
    np.testing.assert_allclose(rfm["monetary"], [140.0, 45.0, 0.0])
    assert math.isnan(rfm["recency_days"][2])


# ------------------------------------------------------------------ online == batch
@pytest.mark.parametrize("normalize", ["mean", None])
def test_online_profile_equals_batch_on_replayed_shop_log(shop, normalize):
    X = one_hot(shop.products["category_id"].to_numpy(), 10)
    batch = affinity_profiles(
        shop.events, X, shop.n_users, half_life_days=3, normalize=normalize
    )
    online = OnlineProfile(X, shop.n_users, half_life_days=3, normalize=normalize)
    online.update_from(shop.events)
    assert online.n_events == len(shop.events)
    np.testing.assert_allclose(online.vectors(), batch, rtol=1e-12, atol=1e-12)
    # read later: everything decays by the same factor
    later = shop.events[TIMESTAMP_COL].max() + 5 * DAY
    batch_later = affinity_profiles(
        shop.events, X, shop.n_users, half_life_days=3, now=later, normalize=normalize
    )
    np.testing.assert_allclose(
        online.vectors(now=later), batch_later, rtol=1e-12, atol=1e-12
    )


def test_online_profile_order_only_matters_per_user(shop):
    X = one_hot(shop.products["category_id"].to_numpy(), 10)
    ev = shop.events.sort_values([USER_COL, TIMESTAMP_COL], kind="stable")
    a = OnlineProfile(X, shop.n_users, half_life_days=3).update_from(ev)
    b = OnlineProfile(X, shop.n_users, half_life_days=3).update_from(shop.events)
    np.testing.assert_allclose(a.vectors(), b.vectors(), rtol=1e-12)


def test_online_profile_rejects_out_of_order_and_unknown_events():
    online = OnlineProfile(np.eye(2), n_users=2, half_life_days=1)
    online.update(0, 0, "click", T0)
    online.update(1, 1, "click", T0 - DAY)  # another user's clock is independent
    with pytest.raises(ValueError, match="out of order.*user 0"):
        online.update(0, 1, "click", T0 - 1)
    with pytest.raises(ValueError, match="'like'"):
        online.update(0, 1, "like", T0 + 1)
    with pytest.raises(ValueError, match="user_id"):
        online.update(5, 1, "click", T0 + 1)
    with pytest.raises(ValueError, match="before the last event"):
        online.vectors(now=T0 - 10)
    np.testing.assert_allclose(online.total_weight(now=T0 + DAY), [0.5, 0.25])


# ------------------------------------------------------------------ scoring
def test_profile_scorer_with_full_ranking(shop):
    cats = shop.products["category_id"].to_numpy()
    X = one_hot(cats, 10)
    A = category_affinity(shop.events, cats, 10, n_users=shop.n_users)
    pop = np.bincount(shop.events[ITEM_COL], minlength=shop.n_products)
    scorer = ProfileScorer(A, X, item_bias=1e-6 * pop)
    scores = scorer.score(np.array([0, 1, 2]))
    assert isinstance(scores, torch.Tensor)  # the Recommender protocol
    assert scores.shape == (3, shop.n_products) and scores.dtype == torch.float32
    expected = A[[0, 1, 2]].astype(np.float32) @ X.T + (1e-6 * pop).astype(np.float32)
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-6)
    top = full_ranking_topk(scorer, k=5)
    assert top.shape == (shop.n_users, 5)
    # a user's top item lies in her favourite category (users without ties)
    best2 = np.sort(A, axis=1)[:, -2:]
    active = np.flatnonzero(best2[:, 1] - best2[:, 0] > 1e-3)
    assert active.size > shop.n_users // 2
    np.testing.assert_array_equal(cats[top[active, 0]], A[active].argmax(axis=1))
    with pytest.raises(ValueError, match="features"):
        ProfileScorer(A, X[:, :3])
    with pytest.raises(ValueError, match=f"user_ids holds id {shop.n_users}"):
        scorer.score(np.array([shop.n_users]))
    with pytest.raises(TypeError, match="integer"):
        scorer.score(np.array([0.5]))


def test_profile_scorer_follows_the_recommender_protocol(shop):
    cats = shop.products["category_id"].to_numpy()
    A = category_affinity(shop.events, cats, 10, n_users=shop.n_users)
    pop = np.bincount(shop.events[ITEM_COL], minlength=shop.n_products)
    scorer = ProfileScorer(A, one_hot(cats, 10), item_bias=1e-6 * pop)
    users = np.array([3, 0, 7])
    full = scorer.score(users)
    items = np.array([5, 0, 2])
    np.testing.assert_array_equal(scorer.score(users, items), full[:, items])
    seen = shop.events[[USER_COL, ITEM_COL]].drop_duplicates()
    rec = scorer.recommend(users, k=4, exclude=seen)
    assert isinstance(rec, Recommendations) and rec.items.shape == (3, 4)
    for row, u in zip(rec.items, users, strict=True):
        assert not set(row) & set(seen.loc[seen[USER_COL] == u, ITEM_COL])
    # best first, and the scores are the model's
    assert (np.diff(rec.scores, axis=1) <= 0).all()
    np.testing.assert_allclose(
        rec.scores, np.take_along_axis(full.numpy(), rec.items, axis=1)
    )


def test_default_event_weights_order():
    w = EVENT_WEIGHTS
    assert w["purchase"] > w["add_to_cart"] > w["click"] > w["impression"] == 0


def test_wrong_kinds_raise_type_errors():
    """The convention of recsys_lib.checks: TypeError for a wrong kind of value."""
    with pytest.raises(TypeError, match="min_count must be an int"):
        CategoryVocab.fit(["a"], min_count=True)
    with pytest.raises(TypeError, match="n_users must be an int"):
        OnlineProfile(np.eye(2), n_users="2")
    with pytest.raises(TypeError, match="half_life_days"):
        decay_weights([T0], now=T0, half_life_days="7")
    with pytest.raises(TypeError, match="alpha must be a number"):
        blend_profiles(np.eye(2), np.eye(2), alpha="0.5")
    with pytest.raises(TypeError, match="dim must be an int"):
        DemographicEmbedding([3, 3], dim=[2, 2.5])
    with pytest.raises(ValueError, match="unknown must be one of"):
        DemographicEncoder(("age",), unknown="drop")
    with pytest.raises(ValueError, match="normalize must be one of"):
        OnlineProfile(np.eye(2), n_users=2, normalize="softmax")
