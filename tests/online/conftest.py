"""A tiny ShopSim shop and its environment for the tests of recsys_lib.online."""

import pytest
from fakes import fake_images

from recsys_lib.data import generate_shop
from recsys_lib.online import ShopEnv


@pytest.fixture(scope="package")
def shop():
    images, labels = fake_images()
    return generate_shop("tiny", seed=0, images=images, labels=labels)


@pytest.fixture
def env(shop):
    return ShopEnv(shop, slate_size=4, users_per_round=30, seed=3)
