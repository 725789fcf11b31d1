"""Data: real data sets, their cleaning, splits, and synthetic data with a known truth.

Introduced in Chapter 2 ("Data collection and preprocessing") and used by
every later chapter:

* **Real data sets**, each fetched through a chain of sources and cached
  (:mod:`.sources`): :func:`load_movielens_100k`,
  :func:`load_movielens_latest_small`, :func:`load_fashion_mnist`, and
  Chapter 14's :func:`load_fine_food_reviews`. ``python -m recsys_lib.data
  fetch`` (``make data``) fills the cache; :data:`FETCHERS` names them.
* **Cleaning** that never drops anything silently: the steps of
  :mod:`.cleaning`, :mod:`.corrections` and :mod:`.kcore` record what they
  did in a :class:`QualityReport`; :func:`map_ids` / :class:`IdMapper` turn
  raw IDs into row numbers; :mod:`.frames` holds the shared column checks.
* **Splits** (:mod:`.splits`): :func:`random_split`, :func:`leave_last_out`,
  :func:`temporal_split`, each returning a :class:`Split`; Chapter 7's
  next-item split of user sequences (:mod:`.sequences`); and Chapter 9's
  cross-validation folds (:mod:`.folds`): :func:`time_folds` (expanding or
  rolling windows, never training on the future) and :func:`random_folds`.
* **Interactions as matrices** (:mod:`.interactions`):
  :func:`interactions_to_csr` and friends, used by evaluation and models.
* **Training data** (:mod:`.loaders`): PyTorch ``Dataset``/``DataLoader``
  pieces and the one :class:`NegativeSampler`.
* **Synthetic data**: :func:`make_ratings` (Chapter 1's small table with a
  known affinity) and :func:`generate_shop` (ShopSim, the synthetic fashion
  shop of most chapters, :mod:`.shopsim`).
"""

from __future__ import annotations

from .cleaning import (
    drop_duplicates,
    drop_missing,
    drop_outlier_users,
    keep_events,
    validate_interactions,
)
from .corrections import (
    clip_ratings,
    normalize_ids,
    normalize_ratings,
    sort_by_time,
    to_implicit,
)
from .fashion_mnist import FASHION_MNIST_CLASSES, FashionMNIST, load_fashion_mnist
from .fetchers import FETCHERS, fetch
from .fine_food import FINE_FOOD, FineFoodReviews, load_fine_food_reviews
from .folds import WINDOWS, Fold, random_folds, time_folds
from .ids import IdMapper, map_ids
from .interactions import (
    exclusions_to_csr,
    hit_matrix,
    interactions_to_csr,
    relevant_to_csr,
    resize_rows,
)
from .kcore import k_core_filter
from .loaders import (
    BucketBatchSampler,
    NegativeSampler,
    PairDataset,
    ShuffledBatchSampler,
    pair_loader,
    seed_worker,
)
from .movielens import (
    ML100K_GENRES,
    MovieLens100K,
    MovieLensLatestSmall,
    load_movielens_100k,
    load_movielens_latest_small,
)
from .open_bandit import OPEN_BANDIT, OpenBanditSample, load_open_bandit
from .report import QualityReport, QualityStep
from .sequences import (
    NextItemBatch,
    NextItemBatches,
    NextItemDataset,
    NextItemSplit,
    UserSequences,
    build_sequences,
    next_item_split,
    pad_sequences,
)
from .shopsim import EVENT_TYPES, Shop, ShopConfig, ShopTruth, generate_shop
from .sources import DatasetError
from .splits import Split, leave_last_out, random_split, temporal_split
from .synthetic import SyntheticRatings, make_ratings

__all__ = [
    "EVENT_TYPES",
    "FASHION_MNIST_CLASSES",
    "FETCHERS",
    "FINE_FOOD",
    "ML100K_GENRES",
    "OPEN_BANDIT",
    "WINDOWS",
    "BucketBatchSampler",
    "DatasetError",
    "FashionMNIST",
    "FineFoodReviews",
    "Fold",
    "IdMapper",
    "MovieLens100K",
    "MovieLensLatestSmall",
    "NegativeSampler",
    "NextItemBatch",
    "NextItemBatches",
    "NextItemDataset",
    "NextItemSplit",
    "OpenBanditSample",
    "PairDataset",
    "QualityReport",
    "QualityStep",
    "Shop",
    "ShopConfig",
    "ShopTruth",
    "ShuffledBatchSampler",
    "Split",
    "SyntheticRatings",
    "UserSequences",
    "build_sequences",
    "clip_ratings",
    "drop_duplicates",
    "drop_missing",
    "drop_outlier_users",
    "exclusions_to_csr",
    "fetch",
    "generate_shop",
    "hit_matrix",
    "interactions_to_csr",
    "k_core_filter",
    "keep_events",
    "leave_last_out",
    "load_fashion_mnist",
    "load_fine_food_reviews",
    "load_movielens_100k",
    "load_movielens_latest_small",
    "load_open_bandit",
    "make_ratings",
    "map_ids",
    "next_item_split",
    "normalize_ids",
    "normalize_ratings",
    "pad_sequences",
    "pair_loader",
    "random_folds",
    "random_split",
    "relevant_to_csr",
    "resize_rows",
    "seed_worker",
    "sort_by_time",
    "temporal_split",
    "time_folds",
    "to_implicit",
    "validate_interactions",
]
