"""Moved to :mod:`recsys_lib.eval` (ranking metrics: :mod:`recsys_lib.eval.metrics`).

This shim goes away once the notebooks, exercises and benchmarks import from
there. The private names below serve library modules that have not switched
yet: ``_check_k`` (baselines; use :func:`recsys_lib.checks.check_int`) and
``_relevant_to_csr`` (retrieval; use
:func:`recsys_lib.data.interactions.relevant_to_csr`).
"""

from __future__ import annotations

from .checks import check_int
from .data.interactions import relevant_to_csr as _relevant_to_csr  # noqa: F401
from .eval.metrics import (
    catalog_coverage,
    gini_index,
    intra_list_diversity,
    latency_summary,
    novelty,
    popularity_bias,
    ranking_metrics,
)

__all__ = [
    "catalog_coverage",
    "gini_index",
    "intra_list_diversity",
    "latency_summary",
    "novelty",
    "popularity_bias",
    "ranking_metrics",
]


def _check_k(k, name: str = "k") -> int:
    """An int ``>= 1`` (the old helper's contract; now :func:`check_int`)."""
    return check_int(k, name, low=1)
