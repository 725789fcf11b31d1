"""Evaluation: ranking metrics, evaluation protocols and their uncertainty.

Introduced in Chapter 3 ("Measuring a recommender"), the book's yardstick:
every later chapter reports its models with this package.

* :mod:`.metrics` -- top-k accuracy (:func:`ranking_metrics`: precision,
  recall, F1, NDCG, hit rate, MRR, MAP) and beyond-accuracy measures
  (coverage, Gini, diversity, novelty, popularity bias, latency) and
  freshness (:func:`mean_item_age`, Chapter 8);
* :mod:`.topk` -- :func:`full_ranking_topk`, the ranking of the whole
  catalog with seen items masked, for a model, a score function or a score
  matrix;
* :mod:`.protocols` -- :func:`evaluate_full` (the book's default) and
  :func:`evaluate_sampled` (for teaching), each returning a labelled
  :class:`EvalResult`;
* :mod:`.uncertainty` -- :func:`bootstrap_ci`, :func:`paired_bootstrap_test`,
  :func:`summarize_over_seeds`, and the resampling kernel behind them
  (:func:`bootstrap_distribution`, :func:`bootstrap_statistic`).

The conversions of interactions into sparse matrices live in
:mod:`recsys_lib.data.interactions`.
"""

from __future__ import annotations

from .metrics import (
    METRIC_NAMES,
    RankingMetrics,
    catalog_coverage,
    gini_index,
    intra_list_diversity,
    latency_summary,
    mean_item_age,
    novelty,
    popularity_bias,
    ranking_metrics,
)
from .protocols import (
    PROTOCOL_FULL,
    SAMPLERS,
    EvalResult,
    evaluate_full,
    evaluate_sampled,
    sample_negatives,
    sampled_protocol,
)
from .topk import full_ranking_topk
from .uncertainty import (
    ConfidenceInterval,
    PairedTest,
    SeedSummary,
    bootstrap_ci,
    bootstrap_distribution,
    bootstrap_statistic,
    paired_bootstrap_test,
    percentile_interval,
    summarize_over_seeds,
)

__all__ = [
    "METRIC_NAMES",
    "PROTOCOL_FULL",
    "SAMPLERS",
    "ConfidenceInterval",
    "EvalResult",
    "PairedTest",
    "RankingMetrics",
    "SeedSummary",
    "bootstrap_ci",
    "bootstrap_distribution",
    "bootstrap_statistic",
    "catalog_coverage",
    "evaluate_full",
    "evaluate_sampled",
    "full_ranking_topk",
    "gini_index",
    "intra_list_diversity",
    "latency_summary",
    "mean_item_age",
    "novelty",
    "paired_bootstrap_test",
    "percentile_interval",
    "popularity_bias",
    "ranking_metrics",
    "sample_negatives",
    "sampled_protocol",
    "summarize_over_seeds",
]
