"""Nearest-neighbour search over item vectors: exact and approximate (faiss).

Introduced in Chapter 8 ("Two-stage recall and ranking"). Embedding
retrievers find the items with the largest inner product ``user . item``
with a *search index* built on the item vectors:

* :class:`ExactIndex` -- brute force: a batched matrix product and
  ``torch.topk``; exact, the reference;
* :class:`FaissIndex` -- faiss HNSW graphs or IVF clusters; approximate, much
  faster on large catalogs.

Both have ``search(queries (Q, d), k) -> (scores (Q, k) float32, ids (Q, k)
int64)``, best first; :func:`make_index` builds one by name and
:func:`recall_vs_exact` measures what an approximate index misses.
``benchmarks/bench_ann.py`` measures both on 10k to 1M items.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..checks import check_int
from .candidates import _check_k, _check_vectors, _to_numpy

__all__ = ["INDEX_KINDS", "ExactIndex", "FaissIndex", "make_index", "recall_vs_exact"]

#: Search indexes :func:`make_index` can build.
INDEX_KINDS = ("exact", "flat", "hnsw", "ivf")


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
        self.query_batch = check_int(query_batch, "query_batch", low=1)
        self.item_chunk = (
            None if item_chunk is None else check_int(item_chunk, "item_chunk", low=1)
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
                d, check_int(M, "M", low=2), faiss.METRIC_INNER_PRODUCT
            )
            index.hnsw.efConstruction = check_int(
                ef_construction, "ef_construction", low=1
            )
            index.hnsw.efSearch = check_int(ef_search, "ef_search", low=1)
            index.add(x)
        elif kind == "ivf":
            if nlist is None:
                nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
            nlist = check_int(nlist, "nlist", low=1)
            if nlist > n:
                raise ValueError(f"nlist={nlist} clusters but only {n} vectors")
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = check_int(seed, "seed", low=0)
            index.train(x)
            index.add(x)
            index.nprobe = min(check_int(nprobe, "nprobe", low=1), nlist)
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
        self.index.hnsw.efSearch = check_int(value, "ef_search", low=1)

    @property
    def nprobe(self) -> int:
        """IVF clusters scanned per query (``"ivf"`` only)."""
        self._need("ivf", "nprobe")
        return int(self.index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._need("ivf", "nprobe")
        value = check_int(value, "nprobe", low=1)
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
