"""Two-stage recommendation: candidate retrieval, nearest-neighbour search, re-ranking.

Introduced in Chapter 8 ("Two-stage recall and ranking"), on the synthetic
shop of :mod:`recsys_lib.data.shopsim`.

A shop cannot run its best model on every product for every request. It
works in stages:

1. **retrieval** (recall): cheap *sources* each propose a few hundred
   candidates -- a two-tower model (:class:`TwoTowerModel`,
   :class:`TwoTowerRetriever`), matrix factorization (:class:`MFRetriever`),
   popularity (:class:`PopularityRetriever`) and "more from the categories you
   just looked at" (:class:`RecentCategoryRetriever`).
   :class:`MergedRetriever` merges sources with quotas or round-robin, drops
   duplicates, records which source proposed each candidate and sends users
   without history to a fallback source;
2. **ranking**: an expensive model, e.g.
   :class:`recsys_lib.models.FeatureMLPRanker`, scores only the candidates;
3. **re-ranking**: business rules (:func:`apply_business_rules`: in stock,
   not already bought, at most ``m`` per category) and diversity
   (:func:`mmr_rerank`, maximal marginal relevance).

:class:`Pipeline` runs the three stages, times each one and keeps the
candidate sets, so that a chapter can report candidate recall@N (does the
held-out item reach the ranker at all? :func:`candidate_recall`), the final
NDCG@10 and the latency of every stage.

The retriever interface
-----------------------
Every retriever has ``retrieve(user_ids, k, exclude=None, on_short="raise")``
and returns a :class:`Candidates`, which unpacks like a pair::

    items, scores = retriever.retrieve(user_ids, k=100, exclude=train)

* ``items``: int64 ``(B, k)`` item ids, best first, no repeats in a row;
  ``scores``: float32 ``(B, k)`` on the source's own scale (scores of two
  sources are not comparable; the ranking stage re-scores everything).
* ``exclude``: items never to return, e.g. those a user already bought. One of

  - a ``DataFrame`` with ``user_id``/``item_id`` columns or a scipy sparse
    ``(n_users, n_items)`` matrix -- rows are looked up by **user id**;
  - a ``dict`` ``{user_id: collection of item ids}``;
  - a ``list`` (or tuple) of ``B`` collections, one per entry of
    ``user_ids``, aligned by **position**.

* fewer than ``k`` items left (after ``exclude``, or because a rule-based
  source has no more candidates for that user): with ``on_short="raise"``
  (the default) a ``ValueError`` names the user and how many items were
  available; with ``on_short="pad"`` the row ends with :data:`PAD_ITEM`
  (``-1``) entries whose score is ``-inf``. Padding is always at the end of a
  row, so ``items[u][items[u] >= 0]`` are the real candidates.

Nearest-neighbour search
------------------------
Embedding retrievers find the items with the largest inner product
``user . item`` with a *search index* built on the item vectors:
:class:`ExactIndex` (brute force: a batched matrix product and
``torch.topk``; exact) or :class:`FaissIndex` (faiss HNSW or IVF graphs and
clusters; approximate, much faster on large catalogs). Both have
``search(queries (Q, d), k) -> (scores (Q, k) float32, ids (Q, k) int64)``,
best first; :func:`recall_vs_exact` measures what an approximate index misses.
``benchmarks/bench_ann.py`` measures both on 10k to 1M items.

The package
-----------
* :mod:`.candidates` -- :class:`Candidates`, exclusions and the shared checks;
* :mod:`.index` -- :class:`ExactIndex`, :class:`FaissIndex`, :func:`make_index`,
  :func:`recall_vs_exact`;
* :mod:`.retrievers` -- :class:`Retriever` and the sources, among them
  :class:`ScoreRetriever`: any scorer of the library's recommender protocol
  (:mod:`recsys_lib.models.base`) is a retriever through it;
* :mod:`.merge` -- :func:`merge_candidates`, :class:`MergedRetriever`;
* :mod:`.rerank` -- :func:`mmr_rerank`, :func:`apply_business_rules`;
* :mod:`.pipeline` -- :func:`candidate_recall`, :class:`Pipeline`,
  :func:`two_stage_recommend`.

The two-tower model itself (:class:`TwoTowerModel`, :func:`train_two_tower`,
:func:`in_batch_softmax_loss`, :func:`build_histories`) lives with the other
models in :mod:`recsys_lib.models.two_tower`; it is re-exported here.
"""

from __future__ import annotations

from ..models.two_tower import (
    TwoTowerConfig,
    TwoTowerModel,
    build_histories,
    in_batch_softmax_loss,
    train_two_tower,
)
from .candidates import ON_SHORT, PAD_ITEM, Candidates
from .index import INDEX_KINDS, ExactIndex, FaissIndex, make_index, recall_vs_exact
from .merge import MergedRetriever, merge_candidates
from .pipeline import Pipeline, PipelineResult, candidate_recall, two_stage_recommend
from .rerank import apply_business_rules, mmr_rerank
from .retrievers import (
    EmbeddingRetriever,
    MFRetriever,
    PopularityRetriever,
    RecentCategoryRetriever,
    Retriever,
    ScoreRetriever,
    TwoTowerRetriever,
    item_popularity,
)

__all__ = [
    "INDEX_KINDS",
    "ON_SHORT",
    "PAD_ITEM",
    "Candidates",
    "EmbeddingRetriever",
    "ExactIndex",
    "FaissIndex",
    "MFRetriever",
    "MergedRetriever",
    "Pipeline",
    "PipelineResult",
    "PopularityRetriever",
    "RecentCategoryRetriever",
    "Retriever",
    "ScoreRetriever",
    "TwoTowerConfig",
    "TwoTowerModel",
    "TwoTowerRetriever",
    "apply_business_rules",
    "build_histories",
    "candidate_recall",
    "in_batch_softmax_loss",
    "item_popularity",
    "make_index",
    "merge_candidates",
    "mmr_rerank",
    "recall_vs_exact",
    "train_two_tower",
    "two_stage_recommend",
]
