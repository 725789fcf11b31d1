"""Moved to :mod:`recsys_lib.data`; this shim goes away once the notebooks import from there.

``python -m recsys_lib.datasets fetch`` (the Makefile's ``make data``) still
works: it runs ``python -m recsys_lib.data fetch``.
"""

from __future__ import annotations

import sys

from .data import (
    FASHION_MNIST_CLASSES,
    FETCHERS,
    ML100K_GENRES,
    DatasetError,
    FashionMNIST,
    MovieLens100K,
    MovieLensLatestSmall,
    fetch,
    load_fashion_mnist,
    load_movielens_100k,
    load_movielens_latest_small,
)
from .data.__main__ import main

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FETCHERS",
    "ML100K_GENRES",
    "DatasetError",
    "FashionMNIST",
    "MovieLens100K",
    "MovieLensLatestSmall",
    "fetch",
    "load_fashion_mnist",
    "load_movielens_100k",
    "load_movielens_latest_small",
    "main",
]

if __name__ == "__main__":
    sys.exit(main(prog="python -m recsys_lib.datasets"))
