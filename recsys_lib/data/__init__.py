"""Data: real data sets, cleaning, splits and synthetic data.

Introduced in Chapter 2. (Being assembled from ``recsys_lib.datasets``,
``preprocessing``, ``splits``, ``synthetic`` and ``shopsim``.)
"""

from __future__ import annotations

from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST, load_fashion_mnist
from .fetchers import FETCHERS, fetch
from .fine_food import FINE_FOOD, FineFoodReviews, load_fine_food_reviews
from .movielens import (
    ML100K_GENRES,
    MovieLens100K,
    MovieLensLatestSmall,
    load_movielens_100k,
    load_movielens_latest_small,
)
from .sources import DatasetError

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FETCHERS",
    "FINE_FOOD",
    "ML100K_GENRES",
    "DatasetError",
    "FashionMNIST",
    "FineFoodReviews",
    "MovieLens100K",
    "MovieLensLatestSmall",
    "fetch",
    "load_fashion_mnist",
    "load_fine_food_reviews",
    "load_movielens_100k",
    "load_movielens_latest_small",
]
