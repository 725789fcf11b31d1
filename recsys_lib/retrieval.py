"""Two-stage recommendation: candidate retrieval, nearest-neighbour search, re-ranking.

Introduced in Chapter 8 ("Two-stage recall and ranking"), on the synthetic
shop of :mod:`recsys_lib.shopsim`.

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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from .baselines import _MF, BPRMF
from .config import ITEM_COL, TIMESTAMP_COL, USER_COL
from .evaluation import interactions_to_csr
from .losses import sampled_softmax_loss
from .metrics import _relevant_to_csr
from .models import MF
from .models.base import check_fraction, check_positive_int
from .models.base import inference as _Inference
from .training import History, fit

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

#: Item id of an empty slot in a padded row (``on_short="pad"``); its score is ``-inf``.
PAD_ITEM = -1
#: What to do when a user has fewer than ``k`` items left.
ON_SHORT = ("raise", "pad")
#: Search indexes :func:`make_index` can build.
INDEX_KINDS = ("exact", "flat", "hnsw", "ivf")
_SECONDS_PER_DAY = 86_400


# ================================================================ input checks
def _check_int(value, name: str, low: int = 1) -> int:
    return check_positive_int(value, name, low=low)


def _check_k(k, n_items: int, what: str = "the catalog") -> int:
    """``1 <= k <= n_items``."""
    k = _check_int(k, "k")
    if k > n_items:
        raise ValueError(
            f"k={k} but {what} has only {n_items} items; ask for at most {n_items}"
        )
    return k


def _check_on_short(on_short) -> str:
    if on_short not in ON_SHORT:
        raise ValueError(f"on_short must be one of {ON_SHORT}, got {on_short!r}")
    return on_short


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def _check_users(user_ids, n_users: int | None, name: str = "user_ids") -> np.ndarray:
    """A non-empty 1-D int64 array of ids in ``[0, n_users)``."""
    arr = np.asarray(_to_numpy(user_ids))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (B,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: nobody to recommend for")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer ids, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.min() < 0:
        raise ValueError(f"{name} holds a negative id ({int(arr.min())})")
    if n_users is not None and arr.max() >= n_users:
        raise ValueError(
            f"{name} holds id {int(arr.max())} but only {n_users} users exist "
            f"(ids 0..{n_users - 1})"
        )
    return arr


def _check_vectors(x, name: str, dim: int | None = None) -> np.ndarray:
    """A finite, non-empty, C-contiguous float32 ``(n, d)`` array."""
    x = _to_numpy(x)
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a float array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty, shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{name} has {arr.shape[1]} dimensions but the index holds {dim}-d vectors"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} holds nan or inf ({int(bad.sum())} row(s), first: row "
            f"{int(np.flatnonzero(bad)[0])})"
        )
    return arr


def _check_item_vector(values, name: str, n_items: int | None = None) -> np.ndarray:
    """A finite float64 ``(n_items,)`` array."""
    arr = np.asarray(_to_numpy(values))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_items,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if n_items is not None and arr.size != n_items:
        raise ValueError(f"{name} has {arr.size} entries, expected n_items={n_items}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} holds nan or inf (first at item {int(np.flatnonzero(~np.isfinite(arr))[0])})"
        )
    return arr


def _check_item_ids(arr: np.ndarray, n_items: int | None, name: str) -> None:
    if arr.size == 0:
        return
    if arr.min() < 0:
        raise ValueError(f"{name} holds a negative item id ({int(arr.min())})")
    if n_items is not None and arr.max() >= n_items:
        raise ValueError(
            f"{name} holds item id {int(arr.max())} but the catalog has only "
            f"{n_items} items (ids 0..{n_items - 1})"
        )


# ================================================================ exclusions
def _isin_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Elementwise ``keys in sorted_keys`` (any shape), by binary search."""
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == sorted_keys.size] = 0
    return sorted_keys[pos] == keys


def _rows_to_csr(seqs, n_items: int | None, name: str):
    """``B`` collections of item ids -> sorted, de-duplicated ``(indptr, indices)``."""
    arrays = []
    for row, entry in enumerate(seqs):
        if isinstance(entry, str | bytes) or not hasattr(entry, "__len__"):
            raise TypeError(
                f"{name}[{row}] must be a collection of item ids (set, list or array), "
                f"got {type(entry).__name__}"
            )
        a = np.asarray(
            list(entry) if isinstance(entry, set | frozenset) else _to_numpy(entry)
        )
        if a.ndim != 1:
            raise ValueError(f"{name}[{row}] must be 1-D, got shape {a.shape}")
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(
                f"{name}[{row}] must hold integer item ids, got dtype {a.dtype}"
            )
        a = a.astype(np.int64)
        _check_item_ids(a, n_items, f"{name}[{row}]")
        arrays.append(a)
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    flat = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(arrays), dtype=np.int64), lengths)
    order = np.lexsort((flat, rows))
    rows, flat = rows[order], flat[order]
    keep = np.ones(flat.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (flat[1:] != flat[:-1])
    rows, flat = rows[keep], flat[keep]
    indptr = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(arrays)), out=indptr[1:])
    return indptr, flat


class _Exclusion:
    """Items to exclude for each of ``B`` rows, as a CSR ``(indptr, indices)``."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, width: int) -> None:
        self.indptr = indptr.astype(np.int64)
        self.indices = indices.astype(np.int64)
        self.width = int(width)
        self.counts = np.diff(self.indptr)
        self.rows = np.repeat(np.arange(self.counts.size, dtype=np.int64), self.counts)
        self.keys = self.rows * self.width + self.indices  # sorted

    @property
    def n_rows(self) -> int:
        return self.counts.size

    @classmethod
    def build(
        cls,
        exclude,
        users: np.ndarray | None,
        n_items: int | None,
        n_rows: int,
        name: str = "exclude",
    ) -> _Exclusion | None:
        if exclude is None:
            return None
        if isinstance(exclude, _Exclusion):
            if exclude.n_rows != n_rows:
                raise ValueError(f"{name} has {exclude.n_rows} rows, expected {n_rows}")
            return exclude
        keyed = sp.issparse(exclude) or isinstance(exclude, pd.DataFrame | Mapping)
        if keyed and users is None:
            raise ValueError(
                f"{name} is keyed by user id, so user_ids must be given too "
                "(or pass one collection per row as a list)"
            )
        if sp.issparse(exclude) or isinstance(exclude, pd.DataFrame):
            csr = interactions_to_csr(exclude, n_items=n_items, name=name)
            if csr.shape[0] <= users.max():  # users without any row: nothing to drop
                pad = np.full(int(users.max()) + 1 - csr.shape[0], csr.indptr[-1])
                csr = sp.csr_matrix(
                    (csr.data, csr.indices, np.concatenate([csr.indptr, pad])),
                    shape=(int(users.max()) + 1, csr.shape[1]),
                )
            sub = csr[users]
            indptr, indices = sub.indptr, sub.indices
            width = csr.shape[1]
        elif isinstance(exclude, Mapping):
            for key in exclude:
                if isinstance(key, bool) or not isinstance(key, int | np.integer):
                    raise TypeError(
                        f"{name} keys must be integer user ids, got {type(key).__name__}: "
                        f"{key!r}"
                    )
                if key < 0:
                    raise ValueError(f"{name} has a negative user id key ({key})")
            indptr, indices = _rows_to_csr(
                [exclude.get(int(u), ()) for u in users], n_items, name
            )
            width = n_items
        elif isinstance(exclude, list | tuple) or (
            isinstance(exclude, np.ndarray) and exclude.dtype == object
        ):
            if len(exclude) != n_rows:
                raise ValueError(
                    f"{name} has {len(exclude)} entries but there are {n_rows} users; a "
                    "list gives one collection per entry of user_ids (by position). For "
                    "exclusions keyed by user id pass a dict, a DataFrame or a sparse matrix"
                )
            indptr, indices = _rows_to_csr(exclude, n_items, name)
            width = n_items
        else:
            raise TypeError(
                f"{name} must be None, a DataFrame with '{USER_COL}'/'{ITEM_COL}', a scipy "
                "sparse (n_users, n_items) matrix, a dict {user_id: item ids} or a list "
                f"of one collection per user; got {type(exclude).__name__}"
            )
        if width is None:
            width = int(indices.max()) + 1 if indices.size else 1
        return cls(np.asarray(indptr), np.asarray(indices), width)

    def subset(self, idx: np.ndarray) -> _Exclusion:
        """The rows ``idx`` (positions), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        starts, lengths = self.indptr[idx], self.counts[idx]
        indptr = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return _Exclusion(indptr, self.indices[pos], self.width)

    def contains(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Is ``items[...]`` excluded for row ``rows[...]``? (same shapes)."""
        inside = (items >= 0) & (items < self.width)
        keys = rows * self.width + np.where(inside, items, 0)
        return inside & _isin_sorted(keys, self.keys)


def _compact(items: np.ndarray, scores: np.ndarray, keep: np.ndarray, width: int):
    """Move the kept entries of each row to the front (order kept), pad, cut to width."""
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    kept = np.take_along_axis(keep, order, axis=1)
    items = np.where(kept, np.take_along_axis(items, order, axis=1), PAD_ITEM)
    scores = np.where(kept, np.take_along_axis(scores, order, axis=1), -np.inf)
    if items.shape[1] < width:  # fewer columns than asked: pad on the right
        extra = width - items.shape[1]
        items = np.pad(items, ((0, 0), (0, extra)), constant_values=PAD_ITEM)
        scores = np.pad(scores, ((0, 0), (0, extra)), constant_values=-np.inf)
    return items.astype(np.int64), scores.astype(np.float32)


def _handle_short(items: np.ndarray, users, k: int, on_short: str, who: str) -> None:
    n_valid = (items >= 0).sum(axis=1)
    short = np.flatnonzero(n_valid < k)
    if short.size and on_short == "raise":
        row = int(short[0])
        user = int(users[row]) if users is not None else row
        raise ValueError(
            f"{who}: {short.size} user(s) have fewer than k={k} items available "
            f"(e.g. user {user}: {int(n_valid[row])}) after exclusions; ask for fewer, "
            "or pass on_short='pad' to fill the rows with -1 (score -inf)"
        )


# ================================================================ candidates
@dataclass
class Candidates:
    """What a retriever returns. Introduced in Chapter 8.

    Unpacks like the pair ``items, scores = retriever.retrieve(...)``.

    Attributes:
        items: int64 ``(B, k)`` item ids, best first; :data:`PAD_ITEM` (``-1``)
            marks empty slots, always at the end of a row.
        scores: float32 ``(B, k)``, each source on its own scale; ``-inf`` at
            empty slots.
        source: int64 ``(B, k)``: index into ``source_names`` of the source
            that proposed each candidate (``-1`` at empty slots).
        source_names: the names of the sources.
        fallback: bool ``(B,)``: True for users served by the cold-start
            fallback of a :class:`MergedRetriever`.
        user_ids: int64 ``(B,)``, the users of the rows.
    """

    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    fallback: np.ndarray
    user_ids: np.ndarray

    def __iter__(self):
        yield self.items
        yield self.scores

    def __len__(self) -> int:
        return self.items.shape[0]

    @property
    def n_valid(self) -> np.ndarray:
        """int64 ``(B,)``: real (non-padding) candidates per row."""
        return (self.items >= 0).sum(axis=1)

    def from_source(self, name: str) -> np.ndarray:
        """bool ``(B, k)``: which candidates come from source ``name``."""
        if name not in self.source_names:
            raise ValueError(
                f"unknown source {name!r}; the sources are {list(self.source_names)}"
            )
        return self.source == self.source_names.index(name)

    def source_counts(self) -> dict[str, int]:
        """Number of candidates from each source (all rows together)."""
        counts = np.bincount(
            self.source[self.source >= 0], minlength=len(self.source_names)
        )
        return {n: int(c) for n, c in zip(self.source_names, counts, strict=True)}

    def __repr__(self) -> str:
        B, k = self.items.shape
        return (
            f"Candidates({B} users x {k}, sources={list(self.source_names)}, "
            f"fallback users={int(self.fallback.sum())}, padded slots="
            f"{int((self.items < 0).sum())})"
        )


def _single_source(items, scores, users, name: str) -> Candidates:
    return Candidates(
        items=items,
        scores=scores,
        source=np.where(items >= 0, 0, -1).astype(np.int64),
        source_names=(name,),
        fallback=np.zeros(items.shape[0], dtype=bool),
        user_ids=users,
    )


# ================================================================ search indexes
class ExactIndex:
    """Brute-force maximum-inner-product search. Introduced in Chapter 8.

    ``search`` scores every item for a batch of queries with one matrix
    product and keeps the best ``k`` with ``torch.topk``: exact, and the
    reference that approximate indexes are measured against. Memory is
    bounded by searching ``query_batch`` queries at a time and, with
    ``item_chunk``, the items in chunks (the top ``k`` of every chunk are
    merged): at most ``query_batch * min(item_chunk, n_items)`` floats.

    Args:
        vectors: float ``(n_items, d)`` item vectors (kept as float32).
        query_batch: queries per matrix product.
        item_chunk: items per chunk, or ``None`` for all at once.
    """

    kind = "exact"

    def __init__(
        self, vectors, query_batch: int = 1024, item_chunk: int | None = None
    ) -> None:
        self.vectors = torch.from_numpy(_check_vectors(vectors, "vectors"))
        self.query_batch = _check_int(query_batch, "query_batch")
        self.item_chunk = (
            None if item_chunk is None else _check_int(item_chunk, "item_chunk")
        )
        self.build_seconds = 0.0

    @property
    def n_items(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __repr__(self) -> str:
        return f"ExactIndex({self.n_items} items, d={self.dim})"

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items with the largest inner product with each query.

        Args:
            queries: float ``(Q, d)``.
            k: ``1 <= k <= n_items``.

        Returns:
            ``(scores, ids)``: float32 ``(Q, k)`` inner products and int64
            ``(Q, k)`` item ids, best first.

        Raises:
            TypeError, ValueError: for non-float, empty or non-finite queries,
                a dimension mismatch, or ``k`` outside ``[1, n_items]``.
        """
        q = torch.from_numpy(_check_vectors(queries, "queries", self.dim))
        k = _check_k(k, self.n_items, "the index")
        n, chunk = self.n_items, self.item_chunk or self.n_items
        out_s, out_i = [], []
        for lo in range(0, q.shape[0], self.query_batch):
            qb = q[lo : lo + self.query_batch]  # (b, d)
            if chunk >= n:
                s, i = torch.topk(qb @ self.vectors.T, k, dim=1)  # (b, k)
            else:
                parts_s, parts_i = [], []
                for start in range(0, n, chunk):
                    block = self.vectors[start : start + chunk]  # (c, d)
                    s, i = torch.topk(qb @ block.T, min(k, block.shape[0]), dim=1)
                    parts_s.append(s)
                    parts_i.append(i + start)
                s_all, i_all = torch.cat(parts_s, 1), torch.cat(parts_i, 1)
                s, pos = torch.topk(s_all, k, dim=1)
                i = torch.gather(i_all, 1, pos)
            out_s.append(s)
            out_i.append(i)
        return torch.cat(out_s).numpy(), torch.cat(out_i).numpy().astype(np.int64)


class FaissIndex:
    """Approximate maximum-inner-product search with faiss. Introduced in Chapter 8.

    Three kinds (all with the inner product as the score):

    * ``"hnsw"`` -- a Hierarchical Navigable Small World graph (Malkov &
      Yashunin, 2018): every item is linked to ``M`` near neighbours; a
      search walks the graph greedily, keeping the ``ef_search`` best nodes
      seen. Larger ``ef_search`` = higher recall, slower search;
    * ``"ivf"`` -- an inverted file: k-means splits the items into ``nlist``
      clusters; a search scans only the ``nprobe`` clusters whose centroids
      score best. Larger ``nprobe`` = higher recall, slower search;
    * ``"flat"`` -- faiss's exact brute force, a reference.

    Args:
        vectors: float ``(n_items, d)`` item vectors.
        kind: ``"hnsw"``, ``"ivf"`` or ``"flat"``.
        M: HNSW links per node (32 is faiss's usual choice).
        ef_construction: HNSW candidate list while building (higher = better
            graph, slower build).
        ef_search: HNSW candidate list while searching (faiss uses at least
            ``k``); change it later with the ``ef_search`` attribute.
        nlist: IVF clusters; default ``min(4 sqrt(n), n / 39)`` (faiss wants
            39 training points per cluster).
        nprobe: IVF clusters scanned per query; change it later with the
            ``nprobe`` attribute.
        seed: seed of the IVF k-means.

    Attributes:
        build_seconds: wall time of building (training and adding).

    Note:
        faiss searches with all the threads OpenMP gives it; set
        ``faiss.omp_set_num_threads(n)`` to control that (a global switch).
    """

    def __init__(
        self,
        vectors,
        kind: str = "hnsw",
        *,
        M: int = 32,
        ef_construction: int = 200,
        ef_search: int = 64,
        nlist: int | None = None,
        nprobe: int = 8,
        seed: int = 0,
    ) -> None:
        import faiss  # imported here: only this class needs it

        x = _check_vectors(vectors, "vectors")
        n, d = x.shape
        if kind not in ("hnsw", "ivf", "flat"):
            raise ValueError(f"kind must be 'hnsw', 'ivf' or 'flat', got {kind!r}")
        self.kind = kind
        self._n, self._d = n, d
        start = time.perf_counter()
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(
                d, _check_int(M, "M", low=2), faiss.METRIC_INNER_PRODUCT
            )
            index.hnsw.efConstruction = _check_int(ef_construction, "ef_construction")
            index.hnsw.efSearch = _check_int(ef_search, "ef_search")
            index.add(x)
        elif kind == "ivf":
            if nlist is None:
                nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
            nlist = _check_int(nlist, "nlist")
            if nlist > n:
                raise ValueError(f"nlist={nlist} clusters but only {n} vectors")
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = _check_int(seed, "seed", low=0)
            index.train(x)
            index.add(x)
            index.nprobe = min(_check_int(nprobe, "nprobe"), nlist)
            self._quantizer = quantizer  # keep it alive as long as the index
        else:
            index = faiss.IndexFlatIP(d)
            index.add(x)
        self.build_seconds = time.perf_counter() - start
        self.index = index

    @property
    def n_items(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._d

    @property
    def ef_search(self) -> int:
        """HNSW search breadth (``"hnsw"`` only)."""
        self._need("hnsw", "ef_search")
        return int(self.index.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._need("hnsw", "ef_search")
        self.index.hnsw.efSearch = _check_int(value, "ef_search")

    @property
    def nprobe(self) -> int:
        """IVF clusters scanned per query (``"ivf"`` only)."""
        self._need("ivf", "nprobe")
        return int(self.index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._need("ivf", "nprobe")
        value = _check_int(value, "nprobe")
        if value > self.index.nlist:
            raise ValueError(
                f"nprobe={value} but the index has {self.index.nlist} lists"
            )
        self.index.nprobe = value

    def _need(self, kind: str, what: str) -> None:
        if self.kind != kind:
            raise AttributeError(
                f"{what} is a parameter of {kind!r} indexes, not {self.kind!r}"
            )

    def __repr__(self) -> str:
        extra = {
            "hnsw": lambda: (
                f", M={self.index.hnsw.nb_neighbors(1)}, ef_search={self.ef_search}"
            ),
            "ivf": lambda: f", nlist={self.index.nlist}, nprobe={self.nprobe}",
            "flat": lambda: "",
        }[self.kind]()
        return f"FaissIndex({self.kind}, {self.n_items} items, d={self.dim}{extra})"

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximately the ``k`` best items per query; see :meth:`ExactIndex.search`.

        An approximate index may find fewer than ``k`` items (IVF with a
        small ``nprobe``); missing slots hold id ``-1`` and score ``-inf``.
        """
        q = _check_vectors(queries, "queries", self.dim)
        k = _check_k(k, self.n_items, "the index")
        scores, ids = self.index.search(q, k)
        ids = ids.astype(np.int64)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids


def make_index(vectors, kind: str = "exact", **params):
    """Build a search index over item vectors by name. Introduced in Chapter 8.

    ``"exact"`` gives an :class:`ExactIndex`; ``"hnsw"``, ``"ivf"`` and
    ``"flat"`` a :class:`FaissIndex`; ``params`` go to the constructor.
    """
    if kind == "exact":
        return ExactIndex(vectors, **params)
    if kind in INDEX_KINDS:
        return FaissIndex(vectors, kind, **params)
    raise ValueError(f"index kind must be one of {INDEX_KINDS}, got {kind!r}")


def recall_vs_exact(approx_ids, exact_ids, per_query: bool = False):
    """Share of the exact top-k that an approximate search found.

    Introduced in Chapter 8. For each query,
    ``|approx ∩ exact| / k`` with ``k = exact_ids.shape[1]``; ``-1`` (missing)
    entries of ``approx_ids`` never count.

    Args:
        approx_ids: int ``(Q, k)`` ids from the approximate index.
        exact_ids: int ``(Q, k)`` ids from :class:`ExactIndex` (no ``-1``).
        per_query: return the ``(Q,)`` array instead of its mean.

    Raises:
        TypeError, ValueError: for non-integer ids, different shapes, empty
            input, or ``-1`` (or other negative ids) in ``exact_ids``.
    """
    a, e = np.asarray(_to_numpy(approx_ids)), np.asarray(_to_numpy(exact_ids))
    for arr, name in ((a, "approx_ids"), (e, "exact_ids")):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (Q, k), got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty, shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer ids, got dtype {arr.dtype}")
    if a.shape != e.shape:
        raise ValueError(
            f"approx_ids has shape {a.shape} but exact_ids has shape {e.shape}; "
            "search the same queries with the same k"
        )
    if e.min() < 0:
        raise ValueError(
            "exact_ids holds negative ids; an exact search finds every slot"
        )
    k = e.shape[1]
    hits = (a[:, :, None] == e[:, None, :]).any(axis=2) & (a >= 0)  # (Q, k)
    per = hits.sum(axis=1) / k
    return per if per_query else float(per.mean())


def _search_excluding(index, queries, k: int, excl: _Exclusion | None, n_items: int):
    """Top-k of an index with excluded items removed (fetch enough extra, filter)."""
    extra = int(excl.counts.max()) if excl is not None and excl.n_rows else 0
    fetch = min(n_items, k + extra)
    scores, ids = index.search(queries, fetch)
    keep = ids >= 0
    if excl is not None:
        rows = np.arange(ids.shape[0])[:, None]
        keep &= ~excl.contains(np.broadcast_to(rows, ids.shape), ids)
    return _compact(ids, scores, keep, k)


# ================================================================ retrievers
class Retriever:
    """Base class of candidate sources. Introduced in Chapter 8.

    Subclasses set ``name``, ``n_items`` and ``n_users`` (``None`` = any
    non-negative user id) and implement
    ``_retrieve_batch(users (b,), k, excl) -> (items (b, k), scores (b, k))``
    with padding (``-1``, ``-inf``) at the end of short rows; excluded items
    must already be gone. :meth:`retrieve` does the checks, batching and the
    short-row policy.
    """

    name: str = "retriever"
    n_items: int
    n_users: int | None = None
    #: users per internal batch (bounds the ``(batch, n_items)`` score matrices).
    batch_size: int = 1024

    def retrieve(
        self, user_ids, k: int, exclude=None, on_short: str = "raise"
    ) -> Candidates:
        """Top-``k`` candidates per user; see the module docstring.

        Args:
            user_ids: int ``(B,)`` user ids (repeats allowed).
            k: candidates per user, ``1 <= k <= n_items``.
            exclude: items never to return (module docstring lists the forms).
            on_short: ``"raise"`` or ``"pad"``: what to do when a user has
                fewer than ``k`` items available.

        Returns:
            :class:`Candidates` (unpacks as ``items, scores``).

        Raises:
            TypeError, ValueError: for bad ids, ``k``, ``exclude`` or
                ``on_short``, and (``on_short="raise"``) users with fewer than
                ``k`` items available.
        """
        users = _check_users(user_ids, self.n_users)
        k = _check_k(k, self.n_items)
        _check_on_short(on_short)
        excl = _Exclusion.build(exclude, users, self.n_items, users.size)
        B = users.size
        items = np.empty((B, k), dtype=np.int64)
        scores = np.empty((B, k), dtype=np.float32)
        step = self._rows_per_batch()
        for lo in range(0, B, step):
            hi = min(B, lo + step)
            sub = None if excl is None else excl.subset(np.arange(lo, hi))
            items[lo:hi], scores[lo:hi] = self._retrieve_batch(users[lo:hi], k, sub)
        _handle_short(items, users, k, on_short, f"{type(self).__name__} {self.name!r}")
        return _single_source(items, scores, users, self.name)

    def _rows_per_batch(self) -> int:
        return self.batch_size

    def _retrieve_batch(self, users, k, excl):
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n_items={self.n_items})"


def _stable_topk(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.topk`` of each row with ties broken by the smaller column index.

    ``torch.topk`` leaves the order of equal scores to the implementation; rule
    sources (popularity, categories) have many ties, and their candidates
    should not depend on it.
    """
    v, _ = torch.topk(s, k, dim=1)
    kth = v[:, -1:]  # (b, 1)
    above, tied = s > kth, s == kth
    need = k - above.sum(dim=1, keepdim=True)
    chosen = above | (tied & (tied.cumsum(dim=1) <= need))  # exactly k per row
    idx = chosen.nonzero()[:, 1].view(s.shape[0], k)  # ascending ids in each row
    vals = s.gather(1, idx)
    order = torch.sort(vals, dim=1, descending=True, stable=True).indices
    return vals.gather(1, order), idx.gather(1, order)


class _ScoreRetriever(Retriever):
    """A retriever that scores the whole catalog: ``-inf`` = not a candidate.

    Ties are broken by the smaller item id. Users are scored in batches of at
    most ``2**24 / n_items`` rows (a 64 MB float32 score matrix).
    """

    def _rows_per_batch(self) -> int:
        return max(1, min(self.batch_size, (1 << 24) // self.n_items))

    def _score_matrix(self, users: np.ndarray) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover

    def _retrieve_batch(self, users, k, excl):
        s = self._score_matrix(users).clone()  # (b, n_items); the copy is ours
        if torch.isnan(s).any():
            row = int(torch.isnan(s).any(dim=1).nonzero()[0, 0])
            raise ValueError(
                f"{self.name}: the scores of user {int(users[row])} hold nan"
            )
        if excl is not None and excl.indices.size:
            s[torch.from_numpy(excl.rows), torch.from_numpy(excl.indices)] = -torch.inf
        top_s, top_i = _stable_topk(s, k)
        top_s, top_i = top_s.numpy(), top_i.numpy().astype(np.int64)
        valid = np.isfinite(top_s)  # -inf sorts last: padding ends up at the end
        return np.where(valid, top_i, PAD_ITEM), np.where(valid, top_s, -np.inf).astype(
            np.float32
        )


def item_popularity(
    interactions,
    n_items: int,
    window_days: float | None = None,
    now: float | None = None,
) -> np.ndarray:
    """Interactions per item, optionally only in a recent window.

    Introduced in Chapter 8.

    Args:
        interactions: DataFrame with ``item_id`` (and ``timestamp`` in Unix
            seconds for a window); filter the event types first (e.g. clicks
            and purchases only).
        n_items: catalog size.
        window_days: count only events in the last ``window_days`` days
            before ``now``; ``None`` counts everything.
        now: end of the window (Unix seconds); default the latest timestamp.

    Returns:
        float64 ``(n_items,)`` counts.

    Raises:
        TypeError, ValueError: for a missing column, non-integer or
            out-of-range ids, an empty frame or a bad window.
    """
    n_items = _check_int(n_items, "n_items")
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a DataFrame, got {type(interactions).__name__}"
        )
    if len(interactions) == 0:
        raise ValueError("interactions is empty: no popularity to count")
    if ITEM_COL not in interactions.columns:
        raise ValueError(f"interactions has no '{ITEM_COL}' column")
    items = interactions[ITEM_COL].to_numpy()
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(
            f"interactions['{ITEM_COL}'] must hold integers, got {items.dtype}"
        )
    items = items.astype(np.int64)
    _check_item_ids(items, n_items, f"interactions['{ITEM_COL}']")
    if window_days is not None:
        if isinstance(window_days, bool) or not isinstance(
            window_days, int | float | np.integer | np.floating
        ):
            raise TypeError(
                f"window_days must be a number, got {type(window_days).__name__}"
            )
        if not (math.isfinite(window_days) and window_days > 0):
            raise ValueError(
                f"window_days must be a finite number > 0, got {window_days}"
            )
        if TIMESTAMP_COL not in interactions.columns:
            raise ValueError(f"a window needs a '{TIMESTAMP_COL}' column")
        t = interactions[TIMESTAMP_COL].to_numpy(dtype=np.float64)
        if np.isnan(t).any():
            raise ValueError(f"interactions['{TIMESTAMP_COL}'] holds missing values")
        end = float(t.max()) if now is None else float(now)
        items = items[(t > end - window_days * _SECONDS_PER_DAY) & (t <= end)]
    return np.bincount(items, minlength=n_items).astype(np.float64)


class PopularityRetriever(_ScoreRetriever):
    """The most popular items, the same for everyone. Introduced in Chapter 8.

    The classic cold-start fallback: it needs no history. Use
    :func:`item_popularity` for all-time or recent-window counts.

    Args:
        popularity: float ``(n_items,)`` scores (e.g. counts); every item
            is a candidate.
        name: the source's name.
    """

    def __init__(self, popularity, name: str = "popularity") -> None:
        self.popularity = torch.from_numpy(
            _check_item_vector(popularity, "popularity").astype(np.float32)
        )
        self.n_items = self.popularity.numel()
        self.name = name

    def _score_matrix(self, users):
        return self.popularity.expand(users.size, -1)


def build_histories(
    interactions: pd.DataFrame,
    n_users: int,
    n_items: int,
    max_len: int,
    time_col: str | None = TIMESTAMP_COL,
) -> np.ndarray:
    """Each user's last ``max_len`` items, left-padded with ``n_items``.

    Introduced in Chapter 8. The serving-time input of
    :class:`TwoTowerModel` and :class:`RecentCategoryRetriever`.

    Args:
        interactions: DataFrame with ``user_id``, ``item_id`` and (unless
            ``time_col=None``, then the row order is the time order) a time
            column; ties keep the row order.
        n_users, n_items: id ranges.
        max_len: items kept per user (the newest).

    Returns:
        int64 ``(n_users, max_len)``; row ``u`` is ``[pad, ..., oldest, ...,
        newest]``; a user without interactions gets a row of padding only.

    Raises:
        TypeError, ValueError: as :func:`recsys_lib.sequences.build_sequences`.
    """
    from .sequences import build_sequences

    max_len = _check_int(max_len, "max_len")
    seqs = build_sequences(interactions, n_users, n_items, time_col=time_col)
    out = np.full((seqs.n_users, max_len), n_items, dtype=np.int64)
    for u, s in enumerate(seqs.sequences):
        tail = s[-max_len:]
        if tail.size:
            out[u, max_len - tail.size :] = tail
    return out


def _check_histories(histories, n_users: int | None, n_items: int) -> np.ndarray:
    h = np.asarray(_to_numpy(histories))
    if h.ndim != 2:
        raise ValueError(
            f"histories must be 2-D (n_users, max_len), got shape {h.shape}; "
            "build them with build_histories"
        )
    if h.shape[1] == 0:
        raise ValueError("histories has no columns")
    if not np.issubdtype(h.dtype, np.integer):
        raise TypeError(f"histories must hold integer item ids, got dtype {h.dtype}")
    if n_users is not None and h.shape[0] != n_users:
        raise ValueError(f"histories has {h.shape[0]} rows, expected n_users={n_users}")
    if h.size and (h.min() < 0 or h.max() > n_items):
        raise ValueError(
            f"histories must hold item ids 0..{n_items - 1} and the padding id "
            f"{n_items}, got values {int(h.min())}..{int(h.max())}"
        )
    return h.astype(np.int64)


class RecentCategoryRetriever(_ScoreRetriever):
    """ "More from the categories you just looked at." Introduced in Chapter 8.

    The candidates of user ``u`` are the items of the categories of her last
    ``n_recent`` viewed items, scored

    .. math:: s(u, i) = P(c_i \\mid u) \\, P(i \\mid c_i)

    with :math:`P(c \\mid u)` the share of the last ``n_recent`` views in
    category ``c`` and :math:`P(i \\mid c)` the item's share of its category's
    popularity: pick a category as the user recently did, then a popular item
    in it. A user without views has no candidate (``on_short`` decides;
    :class:`MergedRetriever` sends such users to a fallback).

    Args:
        item_categories: int ``(n_items,)`` category of each item.
        popularity: float ``(n_items,)`` non-negative popularity (e.g.
            :func:`item_popularity`).
        histories: int ``(n_users, L)`` recent items, left-padded with
            ``n_items`` (:func:`build_histories`).
        n_recent: how many of the newest history items to look at.
        name: the source's name.
    """

    def __init__(
        self,
        item_categories,
        popularity,
        histories,
        n_recent: int = 5,
        name: str = "recent_category",
    ) -> None:
        cats = np.asarray(_to_numpy(item_categories))
        if cats.ndim != 1 or cats.size == 0:
            raise ValueError(
                f"item_categories must be 1-D (n_items,), got shape {cats.shape}"
            )
        if not np.issubdtype(cats.dtype, np.integer):
            raise TypeError(
                f"item_categories must hold integer codes, got {cats.dtype}"
            )
        if cats.min() < 0:
            raise ValueError("item_categories holds negative codes")
        n_items = cats.size
        pop = _check_item_vector(popularity, "popularity", n_items)
        if (pop < 0).any():
            raise ValueError("popularity must be >= 0")
        hist = _check_histories(histories, None, n_items)
        self.n_recent = _check_int(n_recent, "n_recent")
        self.n_items, self.n_users, self.name = n_items, hist.shape[0], name
        n_cats = int(cats.max()) + 1
        recent = hist[:, -self.n_recent :]  # (n_users, n_recent), newest last
        seen = recent < n_items
        counts = np.zeros((self.n_users, n_cats))
        rows = np.repeat(np.arange(self.n_users), seen.sum(axis=1))
        np.add.at(counts, (rows, cats[recent[seen]]), 1.0)
        self.user_category_share = counts / np.maximum(
            seen.sum(axis=1, keepdims=True), 1
        )
        cat_total = np.bincount(cats, weights=pop, minlength=n_cats)
        self.item_share = np.where(
            cat_total[cats] > 0, pop / np.maximum(cat_total[cats], 1e-300), 0.0
        ).astype(np.float32)
        self.item_categories = cats.astype(np.int64)

    @property
    def has_history(self) -> np.ndarray:
        """bool ``(n_users,)``: users with at least one recent view."""
        return self.user_category_share.sum(axis=1) > 0

    def _score_matrix(self, users):
        share = self.user_category_share[users].astype(np.float32)
        share = share[:, self.item_categories]  # (b, n_items)
        scores = np.where(share > 0, share * self.item_share, np.float32(-np.inf))
        return torch.from_numpy(scores)


class EmbeddingRetriever(Retriever):
    """Items with the largest ``user_vector . item_vector``. Introduced in Chapter 8.

    The search runs on an index over the item vectors (:class:`ExactIndex`
    by default, or a :class:`FaissIndex`). Excluded items are removed by
    fetching ``k + (most exclusions of a user in the batch)`` items and
    filtering, which is exact for an exact index.

    Args:
        user_vectors: float ``(n_users, d)``, or a function
            ``f(user_ids (b,) int64) -> (b, d)`` (then give ``n_users``).
        item_vectors: float ``(n_items, d)``.
        index: ``"exact"``, ``"hnsw"``, ``"ivf"``, ``"flat"`` or an index
            object already built on ``item_vectors`` (with ``search``,
            ``n_items`` and ``dim``).
        index_params: keyword arguments of :func:`make_index`.
        n_users: number of users when ``user_vectors`` is a function.
        name: the source's name.
    """

    def __init__(
        self,
        user_vectors,
        item_vectors,
        index="exact",
        index_params: dict | None = None,
        n_users: int | None = None,
        name: str = "embedding",
    ) -> None:
        self.item_vectors = _check_vectors(item_vectors, "item_vectors")
        self.n_items, d = self.item_vectors.shape
        if callable(user_vectors):
            self._user_fn = user_vectors
            self.user_vectors = None
            self.n_users = None if n_users is None else _check_int(n_users, "n_users")
        else:
            self.user_vectors = _check_vectors(user_vectors, "user_vectors", d)
            self._user_fn = None
            self.n_users = self.user_vectors.shape[0]
        if isinstance(index, str):
            self.index = make_index(self.item_vectors, index, **(index_params or {}))
        else:
            if index_params:
                raise ValueError("index_params only apply when index is a kind name")
            if not hasattr(index, "search"):
                raise TypeError(
                    f"index must be a kind name {INDEX_KINDS} or an index with .search, "
                    f"got {type(index).__name__}"
                )
            if (index.n_items, index.dim) != (self.n_items, d):
                raise ValueError(
                    f"the index holds {index.n_items} vectors of dimension {index.dim}, "
                    f"but item_vectors has shape {self.item_vectors.shape}"
                )
            self.index = index
        self.name = name

    def query_vectors(self, user_ids) -> np.ndarray:
        """float32 ``(B, d)`` query vectors of some users."""
        users = _check_users(user_ids, self.n_users)
        if self._user_fn is None:
            return self.user_vectors[users]
        return _check_vectors(self._user_fn(users), "user vectors", self.index.dim)

    def _retrieve_batch(self, users, k, excl):
        q = self.query_vectors(users)
        if q.shape[0] != users.size:
            raise ValueError(
                f"the user-vector function returned {q.shape[0]} rows for {users.size} users"
            )
        return _search_excluding(self.index, q, k, excl, self.n_items)


class MFRetriever(EmbeddingRetriever):
    """Dot-product retrieval with a matrix-factorization model. Introduced in Chapter 8.

    Wraps a :class:`recsys_lib.models.MF` or a fitted
    :class:`recsys_lib.baselines.BPRMF` (scores ``p_u . q_i + b_i`` plus
    per-user terms); for other dot-product models pass their vectors to
    :class:`EmbeddingRetriever`. The item bias ``b_i`` becomes one
    more dimension -- items ``[q_i, b_i]``, users ``[p_u, 1]`` -- so that the
    inner product is the model's score up to per-user terms, which do not
    change a user's ranking: retrieval returns exactly the model's top k.

    Args:
        model: the trained model.
        index, index_params: as in :class:`EmbeddingRetriever`.
        name: the source's name.
    """

    def __init__(
        self, model, index="exact", index_params: dict | None = None, name: str = "mf"
    ) -> None:
        if isinstance(model, BPRMF):
            if model.model is None:
                raise ValueError("this BPRMF is not fitted yet; call .fit first")
            model = model.model
        if not isinstance(model, MF | _MF):
            raise TypeError(
                f"MFRetriever needs a recsys_lib.models.MF or baselines.BPRMF, got "
                f"{type(model).__name__} (GMF, MLP, NeuMF and the feature ranker score "
                "through layers, not a dot product); for other dot-product models "
                "pass their vectors to EmbeddingRetriever"
            )
        with torch.no_grad():
            users = model.user.weight.detach().float().cpu()
            items = model.item.weight.detach().float().cpu()
            bias = getattr(model, "item_bias", None)
            if isinstance(bias, nn.Embedding):
                bias = bias.weight.squeeze(-1)
            if bias is not None:
                bias = bias.detach().float().cpu().reshape(-1, 1)  # (n_items, 1)
                items = torch.cat([items, bias], dim=1)
                users = torch.cat([users, torch.ones(users.shape[0], 1)], dim=1)
        super().__init__(users.numpy(), items.numpy(), index, index_params, name=name)


# ================================================================ the two-tower model
@dataclass
class TwoTowerConfig:
    """Hyperparameters of :class:`TwoTowerModel`. Introduced in Chapter 8.

    Attributes:
        n_users, n_items: id ranges.
        user_feat_dim: width of the dense user profile features (0 = none).
        item_feat_dim: width of the dense item content features (0 = none).
        id_dim: size of the item-id embeddings (used for the item itself
            and, averaged, for the user's history).
        dim: size of the final, L2-normalised user and item vectors; 32-64
            is plenty for thousands of items and keeps ANN search cheap.
        hidden: hidden layer widths of each tower's MLP (``()`` = one
            linear layer).
        max_history: history items the user tower reads (the newest).
        temperature: scores are ``cos(u, v) / temperature``; a small value
            (0.05) sharpens the softmax over the in-batch items, the usual
            choice for normalised two-tower models (Yi et al., 2019).
        dropout: after each hidden layer.
        share_embeddings: the history and the item tower share one item
            embedding table (fewer parameters, and items in a history move
            together with the items they predict).
        init_std: std of the normal initialization of the embeddings.
    """

    n_users: int
    n_items: int
    user_feat_dim: int = 0
    item_feat_dim: int = 0
    id_dim: int = 32
    dim: int = 32
    hidden: tuple[int, ...] = (64,)
    max_history: int = 20
    temperature: float = 0.05
    dropout: float = 0.0
    share_embeddings: bool = True
    init_std: float = 0.05

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.user_feat_dim, "user_feat_dim", low=0)
        check_positive_int(self.item_feat_dim, "item_feat_dim", low=0)
        check_positive_int(self.id_dim, "id_dim")
        check_positive_int(self.dim, "dim")
        check_positive_int(self.max_history, "max_history")
        self.hidden = tuple(self.hidden)
        for w in self.hidden:
            check_positive_int(w, "hidden entries")
        check_fraction(self.dropout, "dropout")
        t = self.temperature
        if (
            isinstance(t, bool)
            or not isinstance(t, int | float)
            or not (math.isfinite(t) and t > 0)
        ):
            raise ValueError(f"temperature must be a finite number > 0, got {t!r}")

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> TwoTowerConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = dict(
            n_users=n_users,
            n_items=n_items,
            user_feat_dim=3,
            item_feat_dim=4,
            id_dim=8,
            dim=8,
            hidden=(16,),
            max_history=5,
            temperature=0.1,
        )
        return cls(**{**base, **overrides})


def _mlp(
    in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for w in hidden:
        layers += [nn.Linear(width, w), nn.ReLU(), nn.Dropout(dropout)]
        width = w
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _feature_table(x, shape: tuple[int, int], name: str) -> torch.Tensor:
    t = torch.as_tensor(_to_numpy(x))
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got dtype {t.dtype}")
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} holds nan or inf")
    return t.float().clone()


class TwoTowerModel(nn.Module):
    """A two-tower retrieval model. Introduced in Chapter 8.

    * **user tower**: ``[user profile features; mean of the embeddings of
      the user's last max_history items]`` -> MLP -> L2 normalisation. The
      mean ignores padding (``n_items``); a user without history gets a zero
      history part (her vector then comes from the profile alone);
    * **item tower**: ``[item-id embedding; item content features]`` -> MLP
      -> L2 normalisation;
    * score ``s(u, i) = u . v_i / temperature`` (a cosine, sharpened).

    Because users are described by what they did rather than by an id
    embedding, a user's vector follows her latest clicks without retraining.
    Train with :func:`train_two_tower` (in-batch sampled softmax with the
    logQ correction); retrieve with :class:`TwoTowerRetriever`.

    Args:
        cfg: a :class:`TwoTowerConfig`.
        user_features: float ``(n_users, user_feat_dim)``, needed when
            ``user_feat_dim > 0`` (or set later with :meth:`set_feature_tables`).
        item_features: float ``(n_items, item_feat_dim)``, likewise.

    Shape:
        ``forward(user_ids (B,), histories (B, T), item_ids (B,)) -> (B,)`` logits.
    """

    def __init__(
        self, cfg: TwoTowerConfig, user_features=None, item_features=None
    ) -> None:
        super().__init__()
        if not isinstance(cfg, TwoTowerConfig):
            raise TypeError(f"cfg must be a TwoTowerConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        self.history_embedding = nn.Embedding(
            cfg.n_items + 1, cfg.id_dim, padding_idx=cfg.n_items
        )
        nn.init.normal_(self.history_embedding.weight, 0.0, cfg.init_std)
        with torch.no_grad():
            self.history_embedding.weight[cfg.n_items].zero_()
        if cfg.share_embeddings:
            self.item_embedding = None
        else:
            self.item_embedding = nn.Embedding(cfg.n_items, cfg.id_dim)
            nn.init.normal_(self.item_embedding.weight, 0.0, cfg.init_std)
        self.user_mlp = _mlp(
            cfg.id_dim + cfg.user_feat_dim, cfg.hidden, cfg.dim, cfg.dropout
        )
        self.item_mlp = _mlp(
            cfg.id_dim + cfg.item_feat_dim, cfg.hidden, cfg.dim, cfg.dropout
        )
        self.register_buffer("user_table", None)
        self.register_buffer("item_table", None)
        self.register_buffer(
            "histories",
            torch.full((cfg.n_users, cfg.max_history), cfg.n_items, dtype=torch.int64),
        )
        self.set_feature_tables(user_features, item_features)

    # ------------------------------------------------------------ state
    def set_feature_tables(
        self, user_features=None, item_features=None
    ) -> TwoTowerModel:
        """Store the feature tables ``(n_users, Fu)`` / ``(n_items, Fi)``."""
        cfg = self.cfg
        for table, rows, cols, attr in (
            (user_features, cfg.n_users, cfg.user_feat_dim, "user_table"),
            (item_features, cfg.n_items, cfg.item_feat_dim, "item_table"),
        ):
            name = attr.replace("_table", "_features")
            if table is None:
                continue
            if cols == 0:
                raise ValueError(
                    f"{name} given but the config says {name[:4]}_feat_dim=0"
                )
            setattr(self, attr, _feature_table(table, (rows, cols), name))
        return self

    def set_histories(self, histories) -> TwoTowerModel:
        """Store every user's serving history, int ``(n_users, max_history)``.

        Left-padded with ``n_items``, as :func:`build_histories` makes them.
        """
        h = _check_histories(histories, self.n_users, self.n_items)
        if h.shape[1] != self.cfg.max_history:
            raise ValueError(
                f"histories has {h.shape[1]} columns, expected max_history="
                f"{self.cfg.max_history}"
            )
        self.histories = torch.from_numpy(h.copy())
        return self

    @property
    def has_history(self) -> np.ndarray:
        """bool ``(n_users,)``: users whose stored history holds at least one item."""
        return (self.histories < self.n_items).any(dim=1).numpy()

    # ------------------------------------------------------------ towers
    def _table(self, table, ids, dim: int, name: str):
        if dim == 0:
            return None
        if table is None:
            raise ValueError(
                f"{name} are missing: pass them to the model or call set_feature_tables"
            )
        return table[ids]

    def _ids(self, ids, n: int, name: str) -> torch.Tensor:
        t = torch.as_tensor(_to_numpy(ids))
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"{name} is empty")
        if t.dtype not in (
            torch.int64,
            torch.int32,
            torch.int16,
            torch.uint8,
            torch.int8,
        ):
            raise TypeError(f"{name} must hold integer ids, got dtype {t.dtype}")
        t = t.long()
        if int(t.min()) < 0 or int(t.max()) >= n:
            raise ValueError(
                f"{name} must lie in [0, {n}), got {int(t.min())}..{int(t.max())}"
            )
        return t

    def encode_users(self, user_ids, histories) -> torch.Tensor:
        """L2-normalised user vectors ``(B, dim)`` from ids (for features) and histories.

        Args:
            user_ids: int ``(B,)``.
            histories: int ``(B, T)`` item ids with padding ``n_items`` (any
                order; the mean ignores padding).
        """
        users = self._ids(user_ids, self.n_users, "user_ids")
        hist = torch.as_tensor(_to_numpy(histories))
        if hist.dim() != 2 or hist.shape[0] != users.numel():
            raise ValueError(
                f"histories must have shape (B, T) with B={users.numel()}, got "
                f"{tuple(hist.shape)}"
            )
        if hist.dtype.is_floating_point or hist.dtype == torch.bool:
            raise TypeError(f"histories must hold integer item ids, got {hist.dtype}")
        hist = hist.long()
        if hist.numel() and (int(hist.min()) < 0 or int(hist.max()) > self.n_items):
            raise ValueError(
                f"histories must hold ids 0..{self.n_items - 1} or the padding id "
                f"{self.n_items}"
            )
        present = (hist < self.n_items).unsqueeze(-1).float()  # (B, T, 1)
        emb = self.history_embedding(hist)  # (B, T, id_dim); padding rows are 0
        mean = emb.sum(1) / present.sum(1).clamp(min=1.0)  # (B, id_dim)
        parts = [mean]
        feats = self._table(
            self.user_table, users, self.cfg.user_feat_dim, "user features"
        )
        if feats is not None:
            parts.append(feats)
        return F.normalize(self.user_mlp(torch.cat(parts, dim=1)), dim=1)

    def encode_items(self, item_ids) -> torch.Tensor:
        """L2-normalised item vectors ``(B, dim)``."""
        items = self._ids(item_ids, self.n_items, "item_ids")
        table = self.item_embedding or self.history_embedding
        parts = [table(items)]
        feats = self._table(
            self.item_table, items, self.cfg.item_feat_dim, "item features"
        )
        if feats is not None:
            parts.append(feats)
        return F.normalize(self.item_mlp(torch.cat(parts, dim=1)), dim=1)

    def forward(self, user_ids, histories, item_ids) -> torch.Tensor:
        """Logits ``cos(u, v) / temperature`` of matching pairs, ``(B,)``."""
        u = self.encode_users(user_ids, histories)
        v = self.encode_items(item_ids)
        if u.shape[0] != v.shape[0]:
            raise ValueError(
                f"{u.shape[0]} users but {v.shape[0]} items; give one per user"
            )
        return (u * v).sum(1) / self.cfg.temperature

    # ------------------------------------------------------------ inference
    def user_vectors(self, user_ids) -> torch.Tensor:
        """Vectors ``(B, dim)`` of users from their stored histories (inference)."""
        users = self._ids(user_ids, self.n_users, "user_ids")
        with _Inference(self):
            return self.encode_users(users, self.histories[users])

    def item_vectors(self, batch_size: int = 4096) -> torch.Tensor:
        """Vectors ``(n_items, dim)`` of every item (inference)."""
        with _Inference(self):
            return torch.cat(
                [
                    self.encode_items(
                        torch.arange(lo, min(lo + batch_size, self.n_items))
                    )
                    for lo in range(0, self.n_items, batch_size)
                ]
            )

    def score(self, user_ids) -> torch.Tensor:
        """Logits of every item ``(B, n_items)``, for :func:`recsys_lib.evaluation.evaluate_full`."""
        return (
            self.user_vectors(user_ids) @ self.item_vectors().T / self.cfg.temperature
        )


def _training_examples(
    interactions, n_users: int, n_items: int, max_len: int, time_col
):
    """``(users (N,), histories (N, L), items (N,))``: each interaction with the items before it."""
    from .sequences import build_sequences

    seqs = build_sequences(interactions, n_users, n_items, time_col=time_col)
    lengths = seqs.lengths
    items = np.concatenate(seqs.sequences) if lengths.sum() else np.zeros(0, np.int64)
    users = np.repeat(np.arange(seqs.n_users), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(items.size) - starts  # position within the user's sequence
    hist = np.full((items.size, max_len), n_items, dtype=np.int64)
    for s in range(1, max_len + 1):  # column max_len - s holds the s-th previous item
        ok = pos >= s
        hist[ok, max_len - s] = items[np.flatnonzero(ok) - s]
    # The target itself (e.g. a click before the purchase of the same item) is
    # hidden from its own history, so the model cannot learn "repeat the input".
    hist[hist == items[:, None]] = n_items
    return users, hist, items


class _InBatchLoader:
    """Re-iterable shuffled batches ``(users, histories, items)``, none of size 1."""

    def __init__(self, users, hist, items, batch_size: int, seed: int) -> None:
        self.users = torch.from_numpy(users)
        self.hist = torch.from_numpy(hist)
        self.items = torch.from_numpy(items)
        self.n = users.size
        self.n_batches = max(1, math.ceil(self.n / batch_size))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        order = self.rng.permutation(self.n)
        # array_split: sizes differ by at most one, so no batch has a single row
        for idx in np.array_split(order, self.n_batches):
            idx = torch.from_numpy(idx)
            yield self.users[idx], self.hist[idx], self.items[idx]


def in_batch_softmax_loss(
    model: TwoTowerModel, batch, log_q: torch.Tensor | None = None
) -> torch.Tensor:
    r"""In-batch sampled softmax of a two-tower model, optionally logQ-corrected.

    Row ``i`` of a batch of ``B`` pairs ``(user_i, item_i)`` treats the other
    ``B - 1`` items of the batch as its negatives:
    :math:`L_i = -z_{ii} + \log\sum_j e^{z_{ij}}` with
    :math:`z_{ij} = s(u_i, v_j) - \log q_j`, where :math:`q_j` is the
    probability of item ``j`` being in a batch (its share of the training
    positives). Popular items are in-batch negatives more often; without the
    correction the model learns to push them down too hard (Yi et al., 2019).
    Copies of a row's own item among its negatives are removed.
    Computed with :func:`recsys_lib.losses.sampled_softmax_loss`.
    """
    users, hist, items = batch
    u = model.encode_users(users, hist)
    v = model.encode_items(items)
    B = items.numel()
    if B < 2:
        raise ValueError("an in-batch softmax needs at least 2 rows per batch")
    logits = u @ v.T / model.cfg.temperature  # (B, B)
    off = ~torch.eye(B, dtype=torch.bool)
    pos = logits.diagonal()
    neg = logits[off].view(B, B - 1)
    neg_items = items.expand(B, B)[off].view(B, B - 1)
    hit = neg_items == items.unsqueeze(1)
    if log_q is None:
        return sampled_softmax_loss(pos, neg, hit_mask=hit)
    return sampled_softmax_loss(pos, neg, log_q[items], log_q[neg_items], hit_mask=hit)


def train_two_tower(
    model: TwoTowerModel,
    interactions: pd.DataFrame,
    epochs: int = 5,
    *,
    batch_size: int = 256,
    lr: float = 0.005,
    weight_decay: float = 0.0,
    logq_correction: bool = True,
    seed: int = 0,
    time_col: str | None = TIMESTAMP_COL,
    set_histories: bool = True,
    show_progress: bool = False,
) -> History:
    """Train a :class:`TwoTowerModel` with an in-batch sampled softmax.

    Introduced in Chapter 8. Every interaction ``(u, i)`` becomes one
    example whose history is the user's ``max_history`` items *before* it
    (never the item itself), so training sees what serving will see. Loss:
    :func:`in_batch_softmax_loss` with the logQ correction (``q`` = each item's
    share of the training interactions), minimised with AdamW through
    :func:`recsys_lib.training.fit`. The same ``seed`` (and the same initial
    weights: seed torch before building the model) gives the same model.

    Args:
        model: the model.
        interactions: DataFrame with ``user_id``, ``item_id`` and a time
            column (``time_col=None``: the row order is the time order).
        epochs: passes over the interactions.
        batch_size: pairs per batch (= 1 positive + ``B - 1`` negatives per
            row); batches are split evenly, so none has a single row.
        lr, weight_decay: AdamW settings.
        logq_correction: subtract ``log q`` (recommended).
        seed: shuffling and dropout.
        time_col: the time column.
        set_histories: afterwards store each user's last ``max_history``
            items of ``interactions`` as her serving history
            (:meth:`TwoTowerModel.set_histories`).
        show_progress: a progress bar over epochs.

    Returns:
        the :class:`recsys_lib.training.History` (``train_loss`` per epoch).

    Raises:
        TypeError, ValueError: for a bad model or frame, ids out of range,
            fewer than 2 interactions, or bad settings.
    """
    if not isinstance(model, TwoTowerModel):
        raise TypeError(f"model must be a TwoTowerModel, got {type(model).__name__}")
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a DataFrame, got {type(interactions).__name__}"
        )
    epochs = _check_int(epochs, "epochs")
    batch_size = _check_int(batch_size, "batch_size", low=2)
    seed = _check_int(seed, "seed", low=0)
    for value, name, low in ((lr, "lr", "> 0"), (weight_decay, "weight_decay", ">= 0")):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
            or (value == 0 and name == "lr")
        ):
            raise ValueError(f"{name} must be a finite number {low}, got {value!r}")
    cfg = model.cfg
    users, hist, items = _training_examples(
        interactions, cfg.n_users, cfg.n_items, cfg.max_history, time_col
    )
    if items.size < 2:
        raise ValueError(
            f"interactions has {items.size} row(s); an in-batch softmax needs at least 2"
        )
    log_q = None
    if logq_correction:
        counts = np.bincount(items, minlength=cfg.n_items).astype(np.float64)
        with np.errstate(divide="ignore"):
            log_q = torch.from_numpy(np.log(counts / counts.sum()).astype(np.float32))
    loader = _InBatchLoader(users, hist, items, batch_size, seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def loss_fn(net: TwoTowerModel, batch) -> torch.Tensor:
        return in_batch_softmax_loss(net, batch, log_q)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the global generator
        history = fit(
            model,
            loader,
            loss_fn,
            optimizer,
            epochs=epochs,
            show_progress=show_progress,
            desc="two-tower",
        )
    if set_histories:
        model.set_histories(
            build_histories(
                interactions, cfg.n_users, cfg.n_items, cfg.max_history, time_col
            )
        )
    return history


class TwoTowerRetriever(EmbeddingRetriever):
    """Retrieval with a trained :class:`TwoTowerModel`. Introduced in Chapter 8.

    Item vectors are computed once, when the retriever is built (build it
    again after more training); user vectors are computed per request from
    the model's stored histories, so a new click (:meth:`TwoTowerModel.set_histories`)
    changes the candidates at once. Scores are cosine similarities.

    Args:
        model: the trained model.
        index, index_params: as in :class:`EmbeddingRetriever`.
        name: the source's name.
    """

    def __init__(
        self,
        model: TwoTowerModel,
        index="exact",
        index_params: dict | None = None,
        name: str = "two_tower",
    ) -> None:
        if not isinstance(model, TwoTowerModel):
            raise TypeError(
                f"model must be a TwoTowerModel, got {type(model).__name__}"
            )
        self.model = model
        super().__init__(
            lambda users: model.user_vectors(users).numpy(),
            model.item_vectors().numpy(),
            index,
            index_params,
            n_users=model.n_users,
            name=name,
        )


# ================================================================ merging sources
def _largest_remainder(weights: np.ndarray, k: int) -> np.ndarray:
    """Integer quotas summing to ``k``, proportional to ``weights``."""
    raw = weights / weights.sum() * k
    quota = np.floor(raw).astype(np.int64)
    left = k - int(quota.sum())
    order = np.argsort(-(raw - quota), kind="stable")
    quota[order[:left]] += 1
    return quota


def _first_in_row(keys: np.ndarray) -> np.ndarray:
    """bool, same shape: is ``keys[r, j]`` the first occurrence of its value in row r?"""
    order = np.argsort(keys, axis=1, kind="stable")
    srt = np.take_along_axis(keys, order, axis=1)
    first_sorted = np.ones(keys.shape, dtype=bool)
    first_sorted[:, 1:] = srt[:, 1:] != srt[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first


def merge_candidates(
    lists: Sequence[tuple[np.ndarray, np.ndarray]],
    k: int,
    quotas: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the candidate lists of several sources, without duplicates.

    Introduced in Chapter 8.

    * with ``quotas`` (relative shares, scaled to integers summing to ``k`` by
      the largest-remainder rule): source 0 contributes its best
      ``quota_0`` items, then source 1 its best ``quota_1`` items *not taken
      yet*, and so on; if a source runs out, the free places are filled
      round-robin from what the sources have left;
    * without: round-robin -- the best of each source in turn, then the
      second best, ..., skipping items already taken.

    Args:
        lists: one ``(items (B, k_s), scores (B, k_s))`` pair per source, with
            ``-1`` padding at the end of rows.
        k: length of the merged lists.
        quotas: one non-negative share per source, or ``None``.

    Returns:
        ``(items (B, k), scores (B, k), source (B, k))``: source index of each
        entry; ``-1``/``-inf``/``-1`` where nothing was left.
    """
    if len(lists) == 0:
        raise ValueError("merge_candidates needs at least one source")
    k = _check_int(k, "k")
    B = lists[0][0].shape[0]
    S = len(lists)
    for s, (it, sc) in enumerate(lists):
        if it.ndim != 2 or it.shape[0] != B or sc.shape != it.shape:
            raise ValueError(
                f"source {s}: items {it.shape} and scores {sc.shape} must be (B={B}, k_s)"
            )
    width = int(max(int(it.max()) for it, _ in lists)) + 1
    width = max(width, 1)
    rows = np.arange(B, dtype=np.int64)[:, None]
    filled = np.zeros(B, dtype=np.int64)
    taken = np.zeros(0, dtype=np.int64)  # sorted keys row * width + item
    out_rows, out_pos, out_items, out_scores, out_src = [], [], [], [], []

    def take(mask, items, scores, source, rank):
        r = np.broadcast_to(rows, mask.shape)[mask]
        pos = filled[r] + rank[mask] - 1
        out_rows.append(r)
        out_pos.append(pos)
        out_items.append(items[mask])
        out_scores.append(scores[mask])
        out_src.append(np.broadcast_to(source, mask.shape)[mask])

    if quotas is not None:
        shares = np.asarray(quotas, dtype=np.float64)
        if shares.shape != (S,):
            raise ValueError(
                f"quotas has shape {shares.shape}, expected one per source ({S},)"
            )
        if not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() == 0:
            raise ValueError(
                f"quotas must be finite, >= 0 and not all 0, got {shares.tolist()}"
            )
        q = _largest_remainder(shares, k)
        for s, (it, sc) in enumerate(lists):
            if q[s] == 0:
                continue
            keys = rows * width + np.maximum(it, 0)
            new = (it >= 0) & ~_isin_sorted(keys, taken)
            rank = np.cumsum(new, axis=1)
            chosen = new & (rank <= q[s])
            take(chosen, it, sc, np.int64(s), rank)
            taken = np.sort(np.concatenate([taken, keys[chosen]]))
            filled += chosen.sum(axis=1)
    if (filled < k).any():  # round-robin over everything left
        kmax = max(it.shape[1] for it, _ in lists)
        its = np.full((B, kmax, S), PAD_ITEM, dtype=np.int64)
        scs = np.full((B, kmax, S), -np.inf, dtype=np.float32)
        for s, (it, sc) in enumerate(lists):
            its[:, : it.shape[1], s], scs[:, : it.shape[1], s] = it, sc
        src = np.broadcast_to(np.arange(S, dtype=np.int64), (B, kmax, S)).reshape(B, -1)
        its, scs = its.reshape(B, -1), scs.reshape(B, -1)
        keys = rows * width + np.maximum(its, 0)
        new = (
            (its >= 0)
            & ~_isin_sorted(keys, taken)
            & _first_in_row(np.where(its >= 0, its, -1))
        )
        rank = np.cumsum(new, axis=1)
        chosen = new & (rank <= (k - filled)[:, None])
        take(chosen, its, scs, src, rank)
        filled += chosen.sum(axis=1)
    items = np.full((B, k), PAD_ITEM, dtype=np.int64)
    scores = np.full((B, k), -np.inf, dtype=np.float32)
    source = np.full((B, k), -1, dtype=np.int64)
    r, p = np.concatenate(out_rows), np.concatenate(out_pos)
    items[r, p] = np.concatenate(out_items)
    scores[r, p] = np.concatenate(out_scores)
    source[r, p] = np.concatenate(out_src)
    return items, scores, source


class MergedRetriever(Retriever):
    """Several candidate sources merged into one list. Introduced in Chapter 8.

    Each source retrieves ``k`` candidates (excluded items removed); the
    lists are merged by :func:`merge_candidates` (quotas or round-robin, no
    duplicates), and every candidate remembers its source
    (:attr:`Candidates.source`), so that a chapter can measure what each
    source contributes.

    **Cold start**: users for whom ``has_history`` is False are not sent to
    the sources at all (an MF or two-tower vector of a user without history
    is noise) but to the ``fallback`` source; their rows have
    ``Candidates.fallback = True`` and the fallback's name as source.

    Args:
        sources: ``{name: retriever}``, in priority order (quota mode takes
            them in this order).
        quotas: ``{name: share}`` for every source (relative shares, e.g.
            ``{"two_tower": 2, "mf": 1, "popularity": 1}`` = half, a quarter, a
            quarter), or ``None`` for round-robin.
        fallback: the cold-start source: the name of one of ``sources`` or a
            separate retriever (its ``name`` is used).
        has_history: bool ``(n_users,)``, True for users the sources can
            serve; needed with ``fallback``.
        name: this retriever's name.
    """

    def __init__(
        self,
        sources: Mapping[str, Retriever],
        quotas: Mapping[str, float] | None = None,
        fallback: str | Retriever | None = None,
        has_history=None,
        name: str = "merged",
    ) -> None:
        if not isinstance(sources, Mapping) or len(sources) == 0:
            raise TypeError("sources must be a non-empty dict {name: retriever}")
        for key, r in sources.items():
            if not isinstance(key, str):
                raise TypeError(f"source names must be strings, got {key!r}")
            if not isinstance(r, Retriever):
                raise TypeError(
                    f"source {key!r} is a {type(r).__name__}, not a Retriever"
                )
        sizes = {key: r.n_items for key, r in sources.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the sources disagree on the catalog size: {sizes}")
        self.sources = dict(sources)
        self.n_items = next(iter(sizes.values()))
        self.name = name
        if quotas is not None:
            if not isinstance(quotas, Mapping):
                raise TypeError(
                    f"quotas must be a dict {{name: share}}, got {type(quotas).__name__}"
                )
            if set(quotas) != set(sources):
                raise ValueError(
                    f"quotas must name every source exactly: sources {sorted(sources)}, "
                    f"quotas {sorted(quotas)}"
                )
            shares = []
            for key in sources:
                v = quotas[key]
                if (
                    isinstance(v, bool)
                    or not isinstance(v, int | float | np.integer | np.floating)
                    or not math.isfinite(v)
                    or v < 0
                ):
                    raise ValueError(
                        f"quota of {key!r} must be a finite number >= 0, got {v!r}"
                    )
                shares.append(float(v))
            if sum(shares) == 0:
                raise ValueError("quotas are all 0: no source would contribute")
            self.quotas = np.array(shares)
        else:
            self.quotas = None
        if isinstance(fallback, str):
            if fallback not in sources:
                raise ValueError(
                    f"fallback {fallback!r} is not one of the sources {list(sources)}"
                )
            self.fallback_name, self.fallback = fallback, sources[fallback]
        elif isinstance(fallback, Retriever):
            if fallback.n_items != self.n_items:
                raise ValueError(
                    f"the fallback has {fallback.n_items} items, the sources {self.n_items}"
                )
            if fallback.name in sources and sources[fallback.name] is not fallback:
                raise ValueError(
                    f"the fallback's name {fallback.name!r} is already used by another source"
                )
            self.fallback_name, self.fallback = fallback.name, fallback
        elif fallback is None:
            self.fallback_name, self.fallback = None, None
        else:
            raise TypeError(
                f"fallback must be a source name, a Retriever or None, got {type(fallback).__name__}"
            )
        if (fallback is None) != (has_history is None):
            raise ValueError(
                "give fallback and has_history together: has_history says who falls back"
            )
        if has_history is not None:
            h = np.asarray(_to_numpy(has_history))
            if h.ndim != 1 or h.dtype != bool:
                raise TypeError(
                    f"has_history must be a 1-D bool array (n_users,), got {h.dtype} {h.shape}"
                )
            self.has_history = h
            self.n_users = h.size
        else:
            self.has_history = None
            known = [r.n_users for r in sources.values() if r.n_users is not None]
            self.n_users = min(known) if known else None
        names = list(sources)
        if self.fallback_name is not None and self.fallback_name not in names:
            names.append(self.fallback_name)
        self.source_names = tuple(names)

    def retrieve(
        self, user_ids, k: int, exclude=None, on_short: str = "raise"
    ) -> Candidates:
        """Merged top-``k`` candidates; see :meth:`Retriever.retrieve`.

        Returns:
            :class:`Candidates` with ``source`` and ``fallback`` filled in.
        """
        users = _check_users(user_ids, self.n_users)
        k = _check_k(k, self.n_items)
        _check_on_short(on_short)
        B = users.size
        excl = _Exclusion.build(exclude, users, self.n_items, B)
        warm = (
            np.ones(B, dtype=bool)
            if self.has_history is None
            else self.has_history[users]
        )
        items = np.full((B, k), PAD_ITEM, dtype=np.int64)
        scores = np.full((B, k), -np.inf, dtype=np.float32)
        source = np.full((B, k), -1, dtype=np.int64)
        idx = np.flatnonzero(warm)
        if idx.size:
            sub = None if excl is None else excl.subset(idx)
            lists = [
                tuple(r.retrieve(users[idx], k, sub, on_short="pad"))
                for r in self.sources.values()
            ]
            items[idx], scores[idx], source[idx] = merge_candidates(
                lists, k, self.quotas
            )
        idx = np.flatnonzero(~warm)
        if idx.size:
            sub = None if excl is None else excl.subset(idx)
            fb = self.fallback.retrieve(users[idx], k, sub, on_short="pad")
            items[idx], scores[idx] = fb.items, fb.scores
            source[idx] = np.where(
                fb.items >= 0, self.source_names.index(self.fallback_name), -1
            )
        _handle_short(items, users, k, on_short, f"MergedRetriever {self.name!r}")
        return Candidates(items, scores, source, self.source_names, ~warm, users)

    def __repr__(self) -> str:
        mode = (
            "round-robin" if self.quotas is None else f"quotas {self.quotas.tolist()}"
        )
        return f"MergedRetriever({list(self.sources)}, {mode}, fallback={self.fallback_name!r})"


# ================================================================ re-ranking
def _check_candidates(candidates, scores, n_items: int | None = None):
    """``(items (B, C) int64, scores (B, C) float64)``; -1 = padding."""
    items = np.asarray(_to_numpy(candidates))
    sc = np.asarray(_to_numpy(scores))
    if items.ndim != 2:
        raise ValueError(f"candidates must be 2-D (B, C), got shape {items.shape}")
    if items.shape[0] == 0 or items.shape[1] == 0:
        raise ValueError(f"candidates is empty, shape {items.shape}")
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(
            f"candidates must hold integer item ids, got dtype {items.dtype}"
        )
    if sc.shape != items.shape:
        raise ValueError(
            f"scores has shape {sc.shape} but candidates has shape {items.shape}"
        )
    if not np.issubdtype(sc.dtype, np.floating) and not np.issubdtype(
        sc.dtype, np.integer
    ):
        raise TypeError(f"scores must be numeric, got dtype {sc.dtype}")
    items = items.astype(np.int64)
    sc = sc.astype(np.float64)
    if (items < PAD_ITEM).any():
        raise ValueError("candidates holds negative ids other than the padding id -1")
    valid = items >= 0
    if n_items is not None and items.max() >= n_items:
        raise ValueError(
            f"candidates holds item id {int(items.max())} but the catalog has {n_items} items"
        )
    if np.isnan(sc[valid]).any():
        row = int(np.flatnonzero(np.isnan(np.where(valid, sc, 0.0)).any(axis=1))[0])
        raise ValueError(f"scores hold nan (first in row {row})")
    dup = ~_first_in_row(np.where(valid, items, -1)) & valid
    if dup.any():
        row = int(np.flatnonzero(dup.any(axis=1))[0])
        raise ValueError(
            f"candidates row {row} repeats an item; candidates must be unique"
        )
    return items, sc, valid


def mmr_rerank(
    candidates,
    scores,
    item_vectors,
    lambda_: float = 0.5,
    k: int = 10,
    normalize: bool = True,
    on_short: str = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Maximal marginal relevance re-ranking (Carbonell & Goldstein, 1998).

    Introduced in Chapter 8. Greedily builds each list: the next item is

    .. math:: \arg\max_{i \notin S} \; \lambda\, r_i
              - (1 - \lambda) \max_{j \in S} \cos(v_i, v_j)

    where ``r`` is the relevance score and ``S`` the items chosen so far.
    ``lambda_ = 1`` keeps the relevance order; smaller values trade
    relevance for items unlike the ones already shown. Ties go to the
    earlier candidate.

    Args:
        candidates: int ``(B, C)`` item ids (``-1`` = padding, never chosen).
        scores: float ``(B, C)`` relevance (e.g. the ranker's logits).
        item_vectors: float ``(n_items, d)``; similarity is their cosine
            (the rows of candidates must not be all zero).
        lambda_: in ``[0, 1]``.
        k: list length, ``1 <= k <= C``.
        normalize: min-max scale each row's relevance to ``[0, 1]`` first,
            so that ``lambda_`` means the same whatever the score scale
            (cosines lie in ``[-1, 1]``).
        on_short: rows with fewer than ``k`` real candidates: ``"raise"``
            or ``"pad"`` (``-1``, score ``-inf``).

    Returns:
        ``(items (B, k) int64, scores (B, k) float32)``: the chosen items and
        their original relevance scores, in the order chosen.

    Raises:
        TypeError, ValueError: for bad shapes or dtypes, nan scores, ids out
            of range, repeated candidates, ``lambda_`` outside ``[0, 1]``, bad
            ``k``, zero vectors, or short rows with ``on_short="raise"``.
    """
    V = _check_vectors(item_vectors, "item_vectors").astype(np.float64)
    items, sc, valid = _check_candidates(candidates, scores, V.shape[0])
    if (
        isinstance(lambda_, bool)
        or not isinstance(lambda_, int | float | np.floating)
        or not 0.0 <= float(lambda_) <= 1.0
    ):
        raise ValueError(f"lambda_ must be a number in [0, 1], got {lambda_!r}")
    lam = float(lambda_)
    B, C = items.shape
    k = _check_k(k, C, "each candidate list")
    _check_on_short(on_short)
    _handle_short(np.where(valid, items, -1), None, k, on_short, "mmr_rerank")
    norms = np.linalg.norm(V, axis=1)
    used = np.unique(items[valid])
    if (norms[used] == 0).any():
        raise ValueError(
            f"item {int(used[norms[used] == 0][0])} has an all-zero vector; its cosine is undefined"
        )
    unit = V / np.where(norms > 0, norms, 1.0)[:, None]
    vecs = unit[np.maximum(items, 0)]  # (B, C, d)
    rel = np.where(valid, sc, 0.0)
    if normalize:
        lo = np.where(valid, sc, np.inf).min(axis=1, keepdims=True)
        hi = np.where(valid, sc, -np.inf).max(axis=1, keepdims=True)
        span = np.where(hi > lo, hi - lo, 1.0)
        rel = np.where(valid, (sc - lo) / span, 0.0)
    available = valid.copy()
    max_sim = np.zeros((B, C))
    out_items = np.full((B, k), PAD_ITEM, dtype=np.int64)
    out_scores = np.full((B, k), -np.inf, dtype=np.float32)
    rows = np.arange(B)
    for step in range(k):
        penalty = max_sim if step else 0.0
        obj = np.where(available, lam * rel - (1.0 - lam) * penalty, -np.inf)
        pick = obj.argmax(axis=1)  # first maximum: ties go to the earlier candidate
        ok = available[rows, pick]
        out_items[ok, step] = items[rows[ok], pick[ok]]
        out_scores[ok, step] = sc[rows[ok], pick[ok]]
        available[rows, pick] = False
        sim = np.einsum("bcd,bd->bc", vecs, vecs[rows, pick])  # (B, C)
        max_sim = np.maximum(max_sim, sim) if step else sim
    return out_items, out_scores


def apply_business_rules(
    candidates,
    scores,
    *,
    in_stock=None,
    exclude=None,
    user_ids=None,
    item_categories=None,
    max_per_category: int | None = None,
    k: int | None = None,
    on_short: str = "pad",
) -> tuple[np.ndarray, np.ndarray]:
    """Drop candidates that break shop rules, keeping the order of the rest.

    Introduced in Chapter 8. Three rules, applied together:

    * ``in_stock``: drop items marked False;
    * ``exclude``: drop items a user must not see again (e.g. bought); any
      form :meth:`Retriever.retrieve` accepts -- the forms keyed by user id
      need ``user_ids``;
    * ``max_per_category``: keep at most this many items of one category
      per list (the best ones, in list order); needs ``item_categories``.

    Args:
        candidates: int ``(B, C)`` item ids, best first (``-1`` = padding).
        scores: float ``(B, C)``.
        in_stock: bool ``(n_items,)``.
        exclude: see above.
        user_ids: int ``(B,)``, the users of the rows.
        item_categories: int ``(n_items,)``.
        max_per_category: a positive int.
        k: length of the output rows (default ``C``).
        on_short: ``"pad"`` (default: rules often remove items, the rest is
            padded with ``-1``/``-inf``) or ``"raise"`` for rows with fewer than
            ``k`` items left.

    Returns:
        ``(items (B, k) int64, scores (B, k) float32)``.

    Raises:
        TypeError, ValueError: for bad shapes, dtypes or ids, a rule without
            what it needs, or short rows with ``on_short="raise"``.
    """
    n_items = None
    stock = None
    if in_stock is not None:
        stock = np.asarray(_to_numpy(in_stock))
        if stock.ndim != 1 or stock.dtype != bool:
            raise TypeError(
                f"in_stock must be a 1-D bool array (n_items,), got {stock.dtype} {stock.shape}"
            )
        n_items = stock.size
    cats = None
    if max_per_category is not None:
        max_per_category = _check_int(max_per_category, "max_per_category")
        if item_categories is None:
            raise ValueError("max_per_category needs item_categories")
    if item_categories is not None:
        cats = np.asarray(_to_numpy(item_categories))
        if cats.ndim != 1 or not np.issubdtype(cats.dtype, np.integer):
            raise TypeError(
                f"item_categories must be a 1-D integer array, got {cats.dtype} {cats.shape}"
            )
        if n_items is not None and cats.size != n_items:
            raise ValueError(
                f"item_categories has {cats.size} entries but in_stock has {n_items}"
            )
        n_items = cats.size
    items, sc, valid = _check_candidates(candidates, scores, n_items)
    B, C = items.shape
    k = C if k is None else _check_int(k, "k")
    _check_on_short(on_short)
    users = None if user_ids is None else _check_users(user_ids, None)
    if users is not None and users.size != B:
        raise ValueError(
            f"user_ids has {users.size} entries but candidates has {B} rows"
        )
    keep = valid.copy()
    if stock is not None:
        keep &= stock[np.maximum(items, 0)]
    excl = _Exclusion.build(exclude, users, n_items, B)
    if excl is not None:
        rows = np.broadcast_to(np.arange(B)[:, None], items.shape)
        keep &= ~excl.contains(rows, items)
    if max_per_category is not None:
        c = np.where(keep, cats[np.maximum(items, 0)], -1)
        # rank of each entry among the kept entries of its category, in list order
        order = np.argsort(c, axis=1, kind="stable")
        srt = np.take_along_axis(c, order, axis=1)
        pos = np.broadcast_to(np.arange(C), (B, C))
        start = np.maximum.accumulate(
            np.where(np.c_[np.ones((B, 1), bool), srt[:, 1:] != srt[:, :-1]], pos, 0),
            axis=1,
        )
        rank_sorted = pos - start
        rank = np.empty_like(rank_sorted)
        np.put_along_axis(rank, order, rank_sorted, axis=1)
        keep &= rank < max_per_category
    out_items, out_scores = _compact(items, sc, keep, k)
    _handle_short(out_items, users, k, on_short, "apply_business_rules")
    return out_items, out_scores


# ================================================================ the pipeline
def candidate_recall(candidates, relevant, per_user: bool = False):
    """Share of each user's relevant items that are among her candidates.

    Introduced in Chapter 8: recall@N of the retrieval stage -- an item that
    is not a candidate can never be recommended, whatever the ranker does.

    Args:
        candidates: int ``(B, N)`` (``-1`` = padding) or a :class:`Candidates`.
        relevant: ``B`` collections of relevant item ids (e.g. the held-out
            item), or a sparse ``(B, n_items)`` matrix.
        per_user: return the ``(B,)`` array instead of its mean.

    Raises:
        TypeError, ValueError: for bad shapes or ids, or a user without
            relevant items (recall is undefined for her).
    """
    if isinstance(candidates, Candidates):
        candidates = candidates.items
    items = np.asarray(_to_numpy(candidates))
    if items.ndim != 2 or items.size == 0:
        raise ValueError(
            f"candidates must be a non-empty 2-D array, got shape {items.shape}"
        )
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(f"candidates must hold integer ids, got dtype {items.dtype}")
    items = items.astype(np.int64)
    indptr, indices = _relevant_to_csr(relevant, items.shape[0])
    n_rel = np.diff(indptr)
    if (n_rel == 0).any():
        row = int(np.flatnonzero(n_rel == 0)[0])
        raise ValueError(
            f"{int((n_rel == 0).sum())} user(s) have no relevant item (first: row {row}); "
            "recall is undefined for them -- drop them"
        )
    excl = _Exclusion(indptr, indices, max(int(indices.max()), int(items.max())) + 1)
    rows = np.broadcast_to(np.arange(items.shape[0])[:, None], items.shape)
    hits = excl.contains(rows, items).sum(axis=1)  # candidates are unique in a row
    per = hits / n_rel
    return per if per_user else float(per.mean())


@dataclass
class PipelineResult:
    """What :class:`Pipeline` returns. Introduced in Chapter 8.

    Attributes:
        user_ids: int64 ``(B,)``.
        items: int64 ``(B, k)`` final recommendations (``-1`` = padding).
        scores: float32 ``(B, k)`` their scores (ranker scores, or the
            re-ranker's).
        candidates: the retrieval stage's :class:`Candidates` ``(B, N)``.
        ranked_items: int64 ``(B, N)`` the candidates in the ranker's order.
        ranked_scores: float32 ``(B, N)`` the ranker's scores.
        stage_seconds: ``{"retrieval", "ranking", "reranking"}`` -> float
            array with the wall time of every batch of users.
        batch_sizes: int64 array, users per batch.
    """

    user_ids: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    candidates: Candidates
    ranked_items: np.ndarray
    ranked_scores: np.ndarray
    stage_seconds: dict[str, np.ndarray] = field(repr=False)
    batch_sizes: np.ndarray = field(repr=False)

    def candidate_recall(self, relevant, per_user: bool = False):
        """:func:`candidate_recall` of the retrieval stage."""
        return candidate_recall(self.candidates.items, relevant, per_user)

    def latency(self) -> pd.DataFrame:
        """Per stage: total seconds, ms per user, and p50/p99 ms per batch.

        With ``batch_size=1`` a batch is one request, so p50/p99 are request
        latencies.
        """
        stages = dict(self.stage_seconds)
        stages["total"] = sum(self.stage_seconds.values())  # per batch, all stages
        n = int(self.batch_sizes.sum())
        rows = {}
        for stage, t in stages.items():
            ms = np.asarray(t) * 1000.0
            rows[stage] = {
                "total_s": float(ms.sum() / 1000.0),
                "ms_per_user": float(ms.sum() / n),
                "p50_ms_per_batch": float(np.percentile(ms, 50)),
                "p99_ms_per_batch": float(np.percentile(ms, 99)),
            }
        return pd.DataFrame(rows).T


def _rank(ranker, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 18):
    """Scores ``(b, N)`` of the ranker for every valid candidate; ``-inf`` at padding."""
    valid = items >= 0
    r, c = np.nonzero(valid)
    out = np.full(items.shape, -np.inf, dtype=np.float32)
    if r.size == 0:
        return out
    pair_u, pair_i = torch.from_numpy(users[r]), torch.from_numpy(items[r, c])
    parts = []
    ctx = _Inference(ranker) if isinstance(ranker, nn.Module) else torch.no_grad()
    with ctx:
        for lo in range(0, pair_u.numel(), chunk):
            s = ranker(pair_u[lo : lo + chunk], pair_i[lo : lo + chunk])
            s = np.asarray(_to_numpy(s), dtype=np.float32).reshape(-1)
            if s.size != min(chunk, pair_u.numel() - lo):
                raise ValueError(
                    f"the ranker returned {s.size} scores for {min(chunk, pair_u.numel() - lo)} "
                    "pairs; it must score (user_ids (M,), item_ids (M,)) -> (M,)"
                )
            parts.append(s)
    s = np.concatenate(parts)
    if np.isnan(s).any():
        raise ValueError("the ranker returned nan scores")
    out[r, c] = s
    return out


@dataclass
class Pipeline:
    """Retrieval -> ranking -> re-ranking, timed stage by stage. Introduced in Chapter 8.

    Attributes:
        retriever: any :class:`Retriever` (often a :class:`MergedRetriever`).
        ranker: scores pairs, ``ranker(user_ids, item_ids) -> (M,)`` with
            int64 tensors ``(M,)`` (a tensor or array back), e.g. a
            :class:`recsys_lib.models.FeatureMLPRanker` (run in eval mode
            under ``no_grad``); ``None`` keeps the retrieval order.
        n_candidates: candidates per user (``N``).
        k: final list length.
        rerank: ``None`` (the ranker's top k), or a function
            ``rerank(user_ids (b,), items (b, N), scores (b, N), k) ->
            (items (b, k), scores (b, k))``, e.g.
            ``lambda u, i, s, k: mmr_rerank(i, s, item_vectors, 0.7, k)``.
        batch_size: users per batch; ``1`` times every request alone.
        on_short: passed to retrieval.
    """

    retriever: Retriever
    ranker: Callable | None = None
    n_candidates: int = 100
    k: int = 10
    rerank: Callable | None = None
    batch_size: int = 256
    on_short: str = "raise"

    def __post_init__(self) -> None:
        if not isinstance(self.retriever, Retriever):
            raise TypeError(
                f"retriever must be a Retriever, got {type(self.retriever).__name__}"
            )
        if self.ranker is not None and not callable(self.ranker):
            raise TypeError(
                "ranker must be callable: ranker(user_ids, item_ids) -> scores"
            )
        if self.rerank is not None and not callable(self.rerank):
            raise TypeError(
                "rerank must be callable: rerank(user_ids, items, scores, k)"
            )
        self.n_candidates = _check_k(self.n_candidates, self.retriever.n_items)
        self.k = _check_int(self.k, "k")
        if self.k > self.n_candidates:
            raise ValueError(
                f"k={self.k} is larger than n_candidates={self.n_candidates}"
            )
        self.batch_size = _check_int(self.batch_size, "batch_size")
        _check_on_short(self.on_short)

    def recommend(self, user_ids, exclude=None) -> PipelineResult:
        """Run the three stages for ``user_ids``; ``exclude`` goes to retrieval."""
        users = _check_users(user_ids, self.retriever.n_users)
        B, N, k = users.size, self.n_candidates, self.k
        excl = _Exclusion.build(exclude, users, self.retriever.n_items, B)
        cand_parts, ranked_i, ranked_s, final_i, final_s = [], [], [], [], []
        times = {"retrieval": [], "ranking": [], "reranking": []}
        sizes = []
        for lo in range(0, B, self.batch_size):
            idx = np.arange(lo, min(B, lo + self.batch_size))
            u = users[idx]
            sub = None if excl is None else excl.subset(idx)
            t0 = time.perf_counter()
            cand = self.retriever.retrieve(u, N, sub, on_short=self.on_short)
            t1 = time.perf_counter()
            if self.ranker is None:
                scores = np.where(
                    cand.items >= 0, -np.arange(N, dtype=np.float32), -np.inf
                ).astype(np.float32)
            else:
                scores = _rank(self.ranker, u, cand.items)
            order = np.argsort(-scores, axis=1, kind="stable")
            r_items = np.take_along_axis(cand.items, order, axis=1)
            r_scores = np.take_along_axis(scores, order, axis=1)
            t2 = time.perf_counter()
            if self.rerank is None:
                f_items, f_scores = r_items[:, :k], r_scores[:, :k]
            else:
                f_items, f_scores = self.rerank(u, r_items, r_scores, k)
                f_items, f_scores = np.asarray(f_items), np.asarray(f_scores)
                if f_items.shape != (u.size, k) or f_scores.shape != (u.size, k):
                    raise ValueError(
                        f"rerank returned shapes {f_items.shape} and {f_scores.shape}, "
                        f"expected ({u.size}, {k})"
                    )
            t3 = time.perf_counter()
            times["retrieval"].append(t1 - t0)
            times["ranking"].append(t2 - t1)
            times["reranking"].append(t3 - t2)
            sizes.append(u.size)
            cand_parts.append(cand)
            ranked_i.append(r_items)
            ranked_s.append(r_scores)
            final_i.append(f_items)
            final_s.append(f_scores)
        first = cand_parts[0]
        candidates = Candidates(
            np.concatenate([c.items for c in cand_parts]),
            np.concatenate([c.scores for c in cand_parts]),
            np.concatenate([c.source for c in cand_parts]),
            first.source_names,
            np.concatenate([c.fallback for c in cand_parts]),
            users,
        )
        return PipelineResult(
            user_ids=users,
            items=np.concatenate(final_i).astype(np.int64),
            scores=np.concatenate(final_s).astype(np.float32),
            candidates=candidates,
            ranked_items=np.concatenate(ranked_i),
            ranked_scores=np.concatenate(ranked_s),
            stage_seconds={s: np.array(t) for s, t in times.items()},
            batch_sizes=np.array(sizes, dtype=np.int64),
        )


def two_stage_recommend(
    retriever: Retriever,
    user_ids,
    ranker: Callable | None = None,
    *,
    n_candidates: int = 100,
    k: int = 10,
    exclude=None,
    rerank: Callable | None = None,
    batch_size: int = 256,
    on_short: str = "raise",
) -> PipelineResult:
    """One call of :class:`Pipeline`: ``Pipeline(...).recommend(user_ids, exclude)``.

    Introduced in Chapter 8.
    """
    pipe = Pipeline(retriever, ranker, n_candidates, k, rerank, batch_size, on_short)
    return pipe.recommend(user_ids, exclude)
