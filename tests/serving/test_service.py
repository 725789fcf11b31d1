"""Tests of recsys_lib.serving.service: ShopService and Catalog."""

import numpy as np
import pytest

from recsys_lib.data import ShopConfig, generate_shop
from recsys_lib.serving import Catalog, ShopService

from .helpers import COLD_USER, N_ITEMS, N_USERS, tiny_catalog, tiny_service


def test_warm_recommendations_follow_the_rules():
    service = tiny_service(max_per_category=2)
    cats = service.catalog.categories
    for user in range(N_USERS - 1):
        served = service.recommend(user, 6, exclude=[0, 1, 2])
        assert not served.cold_start
        assert served.items.size == 6 and np.unique(served.items).size == 6
        assert not np.isin(served.items, [0, 1, 2]).any()
        assert np.bincount(cats[served.items]).max() <= 2
        assert np.all(np.diff(served.scores) <= 0)  # best first
        assert set(served.stage_ms) == {"retrieval", "ranking", "rules"}


def test_ranker_decides_the_order():
    service = tiny_service()
    served = service.recommend(0, 5)
    import torch

    with torch.no_grad():
        s = service.ranker(
            torch.zeros(5, dtype=torch.long), torch.from_numpy(served.items)
        )
    np.testing.assert_allclose(served.scores, s.numpy(), rtol=1e-6)


def test_without_ranker_keeps_retrieval_order():
    served = tiny_service(ranker=False).recommend(0, 5)
    assert served.items.size == 5


def test_out_of_stock_items_never_shown():
    service = tiny_service()
    service.catalog.in_stock[:] = True
    service.catalog.in_stock[::2] = False
    for user in (0, COLD_USER, 10**6):
        assert (service.recommend(user, 5).items % 2 == 1).all()


def test_cold_start_and_clicks():
    service = tiny_service()
    assert not service.has_history(COLD_USER) and not service.is_known(N_USERS)
    assert service.recommend(N_USERS + 5, 3).cold_start
    service.record_click(N_USERS + 5, 4)  # unknown user: ignored, no error
    service.record_click(COLD_USER, 4)
    service.record_click(COLD_USER, 9)
    assert service.history(COLD_USER).tolist() == [4, 9]
    assert not service.recommend(COLD_USER, 3).cold_start


def test_short_list_when_everything_is_excluded():
    service = tiny_service()
    served = service.recommend(0, 5, exclude=range(N_ITEMS - 2))
    assert set(served.items) <= {N_ITEMS - 2, N_ITEMS - 1}


def test_bad_arguments():
    service = tiny_service()
    with pytest.raises(ValueError, match="user_id must be >= 0"):
        service.recommend(-1, 3)
    with pytest.raises(ValueError, match="k must be <= 30"):
        service.recommend(0, N_ITEMS + 1)
    with pytest.raises(TypeError, match="k must be an int"):
        service.recommend(0, 2.0)
    with pytest.raises(ValueError, match="exclude holds ids outside"):
        service.recommend(0, 3, exclude=[N_ITEMS])
    with pytest.raises(ValueError, match="item_id must be <= 29"):
        service.record_click(0, N_ITEMS)
    base = tiny_service()
    with pytest.raises(TypeError, match="two_tower must be a TwoTowerModel"):
        ShopService(None, base.ranker, base.catalog, base.popularity)
    with pytest.raises(TypeError, match="ranker must be a FeatureMLPRanker"):
        ShopService(base.two_tower, "ranker", base.catalog, base.popularity)
    with pytest.raises(ValueError, match="popularity must be finite"):
        ShopService(base.two_tower, base.ranker, base.catalog, np.ones(3))
    with pytest.raises(ValueError, match="catalog has 10 items"):
        ShopService(base.two_tower, base.ranker, tiny_catalog(10), base.popularity)
    with pytest.raises(ValueError, match="n_candidates must be <= 30"):
        ShopService(
            base.two_tower, base.ranker, base.catalog, base.popularity, n_candidates=31
        )
    with pytest.raises(ValueError, match="popularity_share"):
        ShopService(
            base.two_tower,
            base.ranker,
            base.catalog,
            base.popularity,
            n_candidates=20,
            popularity_share=1.0,
        )


def test_catalog_checks_and_shop():
    c = tiny_catalog()
    with pytest.raises(TypeError, match="titles must be a list of strings"):
        Catalog("abc", c.prices, c.categories, c.category_names, c.images)
    with pytest.raises(ValueError, match="prices has 3 rows"):
        Catalog(c.titles, c.prices[:3], c.categories, c.category_names, c.images)
    with pytest.raises(TypeError, match="images must be uint8"):
        Catalog(
            c.titles, c.prices, c.categories, c.category_names, c.images.astype(float)
        )
    with pytest.raises(ValueError, match="categories must lie in"):
        Catalog(c.titles, c.prices, c.categories, ["one"], c.images)
    with pytest.raises(ValueError, match="prices must be finite"):
        Catalog(c.titles, -c.prices, c.categories, c.category_names, c.images)
    shop = generate_shop(ShopConfig.preset("tiny"), seed=0)
    cat = Catalog.from_shop(shop)
    assert cat.n_items == shop.n_products and cat.images.shape[1:] == (28, 28)
    assert cat.category_names[cat.categories[0]] == shop.products["category"].iloc[0]
