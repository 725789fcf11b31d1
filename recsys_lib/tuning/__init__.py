"""Tuning: the same budget and protocol for every recommender.

Introduced in Chapter 3 and extended in Chapter 9 ("Model optimization"):

* :mod:`.grid` (Chapter 3) -- :func:`tune`, a grid search with the same
  budget for every model and near-ties broken in grid order;
* :mod:`.space` (Chapter 9) -- a checked :class:`SearchSpace` of
  :class:`Float`, :class:`Int` and :class:`Categorical` parameters;
* :mod:`.search` (Chapter 9) -- Optuna searches: an :class:`Objective` that
  fits any recommender on train and scores validation NDCG only, per-epoch pruning
  (:func:`pruning_callback`), studies stored in SQLite that resume and take
  several workers (:func:`create_study`, :func:`run_search`), and their
  results (:func:`search_table`, :func:`search_stats`, :func:`best_trial`).
"""

from __future__ import annotations

from .grid import TuneResult, tune
from .search import (
    PRUNERS,
    SAMPLERS,
    Objective,
    SearchStats,
    best_trial,
    check_held_out,
    create_study,
    pruning_callback,
    run_search,
    search_stats,
    search_table,
)
from .space import Categorical, Float, Int, SearchSpace

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "Categorical",
    "Float",
    "Int",
    "Objective",
    "SearchSpace",
    "SearchStats",
    "TuneResult",
    "best_trial",
    "check_held_out",
    "create_study",
    "pruning_callback",
    "run_search",
    "search_stats",
    "search_table",
    "tune",
]
