"""Top-k item search for retrieval: exact (torch) versus approximate (faiss).

Introduced in Chapter 8 (two-stage recall and ranking); the numbers come back
in Chapter 12 (serving). For catalogs of 10k, 100k and 1M item vectors
(d = 64, float32, seeded) and queries drawn the same way, it measures top-10
maximum-inner-product search with

* ``exact 1q``: :class:`recsys_lib.retrieval.ExactIndex`, one query at a time
  (a matrix-vector product and ``torch.topk``) -- what one request costs;
* ``exact batch``: the same index, ``--batch`` queries per call (matrix
  products, items in chunks of 65,536), reported per query -- throughput;
* ``hnsw ef=E``: :class:`recsys_lib.retrieval.FaissIndex` ``"hnsw"``
  (``M=16``, ``efConstruction=64``: a cheap graph, as random vectors make
  graphs slow to build) searched one query at a time with ``efSearch=E``;
* ``ivf np=P``: ``"ivf"`` (IVF-Flat, ``nlist = sqrt(n)`` k-means lists)
  scanning ``P`` lists per query, one query at a time.

Reported per row: index build time, p50/p99 latency per query, queries per
second, recall@10 against the exact top 10 (:func:`recall_vs_exact`), and two
ratios side by side: ``speed-up`` = exact 1q p50 / this row's time per query,
and, for exact search, ``x compute`` = time per query / compute bound, where
the compute bound is ``2 n d`` FLOPs divided by the machine's single-precision
matrix-multiply rate measured here (a 2048^3 ``torch.mm``), and ``x memory`` =
time per query / (``4 n d`` bytes read at the memory bandwidth measured here,
summing a 256 MB tensor). One query is a matrix-vector product: it reads every
item vector once for two FLOPs per float, so it is memory-bound and far from
the compute bound; batching queries turns it into a matrix product.

Random Gaussian vectors are the worst case for approximate search: they have
no cluster structure for an index to exploit, and in 64 dimensions all
inner products are alike. ``--data clustered`` (on by default for sizes up
to 100k) adds catalogs drawn around ``n / 100`` centres, closer to real
embeddings, where recall is much higher at the same settings.

Searches use ``--threads`` threads (default 1: one request per core, steady
on a busy machine); index builds use ``--build-threads`` (default: all
cores). Most of the run is building the 1M-item HNSW graph on random
vectors (about 1.5 minutes with 2 build threads, 3.5 minutes with one): the
whole default run takes about 2 minutes on a quiet 2-core CPU and about 4
with ``--build-threads 1``;
``--sizes 10000 100000`` skips 1M and takes well under a minute.

Run: ``python benchmarks/bench_ann.py`` (options: ``--help``). A recorded
run and what it shows: ``benchmarks/RESULTS_ann.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.retrieval import ExactIndex, FaissIndex, recall_vs_exact  # noqa: E402


def make_vectors(n: int, d: int, kind: str, seed: int, n_queries: int):
    """Seeded item vectors ``(n, d)`` and queries ``(n_queries, d)``, float32."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        items = rng.standard_normal((n, d), dtype=np.float32)
        queries = rng.standard_normal((n_queries, d), dtype=np.float32)
        return items, queries
    n_centres = max(10, n // 100)
    centres = rng.standard_normal((n_centres, d), dtype=np.float32)
    items = centres[rng.integers(0, n_centres, n)]
    items += 0.3 * rng.standard_normal((n, d), dtype=np.float32)
    queries = centres[rng.integers(0, n_centres, n_queries)]
    queries += 0.3 * rng.standard_normal((n_queries, d), dtype=np.float32)
    return items, queries


def matmul_flops(size: int = 2048, reps: int = 5) -> float:
    """Best single-precision FLOP/s of a ``size^3`` torch matrix product."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g)
    b = torch.randn(size, size, generator=g)
    torch.mm(a, b)  # warm-up
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def read_bandwidth(n_bytes: int = 256 * 2**20, reps: int = 5) -> float:
    """Best bytes/s of summing a float32 tensor of ``n_bytes`` (one streaming read)."""
    x = torch.ones(n_bytes // 4)
    x.sum()
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - start)
    return n_bytes / best


def per_query(index, queries: np.ndarray, k: int, warmup: int = 5):
    """Search one query at a time: ids ``(Q, k)`` and seconds per query ``(Q,)``."""
    for i in range(min(warmup, len(queries))):
        index.search(queries[i : i + 1], k)
    ids = np.empty((len(queries), k), dtype=np.int64)
    seconds = np.empty(len(queries))
    for i in range(len(queries)):
        start = time.perf_counter()
        _, ids[i] = index.search(queries[i : i + 1], k)
        seconds[i] = time.perf_counter() - start
    return ids, seconds


def build(kind: str, items: np.ndarray, build_threads: int, threads: int, **params):
    import faiss

    faiss.omp_set_num_threads(build_threads)
    index = FaissIndex(items, kind, **params)
    faiss.omp_set_num_threads(threads)
    return index


def run_catalog(n: int, data: str, args, flops: float, bandwidth: float) -> None:
    """Every method on one catalog; prints one table row per method."""
    d, k = args.dim, args.k
    items, queries = make_vectors(n, d, data, args.seed, max(args.queries, args.batch))
    q1 = queries[: args.queries]
    compute_bound = 2.0 * n * d / flops
    memory_bound = 4.0 * n * d / bandwidth

    def row(method, build_s, seconds, recall, speedup, ratios=True):
        ms = seconds * 1000.0
        per = float(np.median(seconds))
        extra = (
            f"{per / compute_bound:>9.1f} | {per / memory_bound:>8.2f}"
            if ratios
            else f"{'-':>9} | {'-':>8}"
        )
        p99 = f"{np.percentile(ms, 99):>8.3f}" if seconds.size > 1 else f"{'-':>8}"
        print(
            f"{n:>9,} | {data:<9} | {method:<12} | {build_s:>7.2f} | "
            f"{np.median(ms):>8.3f} | {p99} | {1.0 / per:>9,.0f} | "
            f"{recall:>9.3f} | {speedup:>8.1f} | {extra}",
            flush=True,
        )

    exact = ExactIndex(items, query_batch=256, item_chunk=65_536)
    exact_ids, exact_s = per_query(exact, q1, k)
    exact_p50 = float(np.median(exact_s))
    row("exact 1q", 0.0, exact_s, 1.0, 1.0)
    exact.search(queries[:8], k)  # warm-up
    start = time.perf_counter()
    _, batch_ids = exact.search(queries[: args.batch], k)
    batch_per = np.array([(time.perf_counter() - start) / args.batch])
    row(
        f"exact b{args.batch}",
        0.0,
        batch_per,
        recall_vs_exact(batch_ids[: args.queries], exact_ids),
        exact_p50 / batch_per[0],
    )
    hnsw = build(
        "hnsw",
        items,
        args.build_threads,
        args.threads,
        M=args.hnsw_m,
        ef_construction=args.ef_construction,
    )
    for ef in args.ef:
        hnsw.ef_search = ef
        ids, secs = per_query(hnsw, q1, k)
        row(
            f"hnsw ef={ef}",
            hnsw.build_seconds,
            secs,
            recall_vs_exact(ids, exact_ids),
            exact_p50 / np.median(secs),
            ratios=False,
        )
    del hnsw
    nlist = max(1, int(round(math.sqrt(n))))
    ivf = build("ivf", items, args.build_threads, args.threads, nlist=nlist)
    for nprobe in args.nprobe:
        ivf.nprobe = min(nprobe, nlist)
        ids, secs = per_query(ivf, q1, k)
        row(
            f"ivf np={ivf.nprobe}",
            ivf.build_seconds,
            secs,
            recall_vs_exact(ids, exact_ids),
            exact_p50 / np.median(secs),
            ratios=False,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument(
        "--data",
        nargs="+",
        choices=["random", "clustered"],
        default=["random", "clustered"],
    )
    parser.add_argument(
        "--clustered-max",
        type=int,
        default=100_000,
        help="largest catalog also run with clustered vectors",
    )
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--queries", type=int, default=200, help="queries timed one at a time"
    )
    parser.add_argument(
        "--batch", type=int, default=1024, help="queries of the batched exact run"
    )
    parser.add_argument("--ef", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[4, 32, 128])
    parser.add_argument("--hnsw-m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="threads for searches")
    parser.add_argument(
        "--build-threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads for faiss index builds",
    )
    args = parser.parse_args(argv)
    import faiss

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    flops = matmul_flops()
    bandwidth = read_bandwidth()
    d, k = args.dim, args.k
    print(
        f"top-{k} maximum-inner-product search, d={d}, float32; {args.queries} queries "
        f"timed one at a time, batched exact with {args.batch} queries; search threads="
        f"{args.threads}, build threads={args.build_threads}; torch {torch.__version__}, "
        f"faiss {faiss.__version__}"
    )
    print(
        f"machine: sgemm {flops / 1e9:.1f} GFLOP/s (2048^3 torch.mm), "
        f"read bandwidth {bandwidth / 1e9:.1f} GB/s (sum of 256 MB)"
    )
    print(
        "speed-up = exact 1q p50 / time per query; x compute = exact time per query / "
        "(2 n d FLOP at the sgemm rate); x memory = exact time per query / (4 n d bytes "
        "at the read bandwidth)"
    )
    header = (
        f"{'items':>9} | {'data':<9} | {'method':<12} | {'build s':>7} | {'p50 ms':>8} | "
        f"{'p99 ms':>8} | {'queries/s':>9} | {'recall@10':>9} | {'speed-up':>8} | "
        f"{'x compute':>9} | {'x memory':>8}"
    )
    print(header)
    print("-" * len(header))
    total_start = time.perf_counter()
    for n in args.sizes:
        for data in args.data:
            if data == "clustered" and n > args.clustered_max:
                continue
            run_catalog(n, data, args, flops, bandwidth)
    print(
        f"(ivf: nlist = sqrt(n) lists; hnsw: M={args.hnsw_m}, "
        f"efConstruction={args.ef_construction}; total {time.perf_counter() - total_start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
