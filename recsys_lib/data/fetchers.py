"""Every real data set by name, and :func:`fetch`, which fills the cache.

Introduced in Chapter 2; ``make data`` runs :func:`fetch` through
``python -m recsys_lib.data fetch``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .fashion_mnist import FASHION_MNIST, load_fashion_mnist
from .fine_food import FINE_FOOD, load_fine_food_reviews
from .movielens import (
    ML100K,
    ML_LATEST_SMALL,
    load_movielens_100k,
    load_movielens_latest_small,
)
from .open_bandit import OPEN_BANDIT, load_open_bandit

_log = logging.getLogger(__name__)

__all__ = ["FETCHERS", "fetch"]

#: name -> callable that makes sure the data set is in the cache (and loads it).
FETCHERS: dict[str, Callable[[], Any]] = {
    ML100K: load_movielens_100k,
    FASHION_MNIST: load_fashion_mnist,
    ML_LATEST_SMALL: load_movielens_latest_small,
    FINE_FOOD: load_fine_food_reviews,
    OPEN_BANDIT: load_open_bandit,
}


def fetch(names: list[str] | None = None) -> list[str]:
    """Fetch the named data sets (all registered ones by default) into the cache.

    Introduced in Chapter 2; ``make data`` runs it through the command line.

    Raises:
        KeyError: for an unknown name.
        DatasetError: if a data set cannot be fetched from any source.
    """
    names = list(FETCHERS) if not names else list(names)
    unknown = [n for n in names if n not in FETCHERS]
    if unknown:
        raise KeyError(f"unknown data set(s) {unknown}; known: {sorted(FETCHERS)}")
    for name in names:
        start = time.perf_counter()
        data = FETCHERS[name]()
        source = getattr(data, "source", "?")
        _log.info(
            "%s: ready in %.1f s (source: %s)",
            name,
            time.perf_counter() - start,
            source,
        )
    return names
