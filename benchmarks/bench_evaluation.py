"""Throughput of full-ranking evaluation: recsys_lib versus simple references.

Introduced in Chapter 3. Measures users per second for the whole pipeline --
scoring, masking the train items, picking the top k and computing the
metrics -- at two catalog sizes, for

* ``recsys_lib``: :func:`recsys_lib.eval.evaluate_full` (batched
  scoring, ``-inf`` masking and ``torch.topk``, vectorized metrics);
* ``loop``: a per-user Python loop (score one user, mask, ``np.argsort`` the
  whole catalog, metrics with Python sets) -- the obvious implementation;
* ``argsort``: batched like ``recsys_lib`` but with a full ``np.argsort`` of
  every row instead of ``topk``.

The scores come from a random matrix-factorization model (``dim=32``), so
scoring costs what it costs for a real embedding model. The references run on
a subset of users (``--ref-users``) to keep the script well under a minute;
torch uses one thread by default (``--threads``), like the references;
users/s is a rate, so the numbers stay comparable. The references' NDCG is
checked against recsys_lib's on that subset.

Run: ``python benchmarks/bench_evaluation.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.data import interactions_to_csr  # noqa: E402
from recsys_lib.eval import (
    evaluate_full,
    latency_summary,  # noqa: E402
)


def make_data(
    n_users: int, n_items: int, n_train: int, n_test: int, dim: int, seed: int
):
    """Random disjoint train/test items per user and a random MF model."""
    rng = np.random.default_rng(seed)
    n_each = n_train + n_test
    picks = np.stack(
        [rng.choice(n_items, size=n_each, replace=False) for _ in range(n_users)]
    )
    users = np.repeat(np.arange(n_users), n_each).reshape(n_users, n_each)
    train = interactions_to_csr(
        (users[:, :n_train].ravel(), picks[:, :n_train].ravel()), n_users, n_items
    )
    test = interactions_to_csr(
        (users[:, n_train:].ravel(), picks[:, n_train:].ravel()), n_users, n_items
    )
    g = torch.Generator().manual_seed(seed)
    user_emb = torch.randn(n_users, dim, generator=g)
    item_emb = torch.randn(n_items, dim, generator=g)
    return train, test, user_emb, item_emb


def reference_loop(user_emb, item_emb, train, test, users, k):
    """Per user: score, mask, full argsort, metrics with Python sets."""
    U, V = user_emb.numpy(), item_emb.numpy()
    ndcgs, seconds = [], []
    discounts = [1.0 / math.log2(r + 2) for r in range(k)]
    for u in users:
        start = time.perf_counter()
        scores = V @ U[u]
        seen = train.indices[train.indptr[u] : train.indptr[u + 1]]
        scores[seen] = -np.inf
        top = np.argsort(-scores)[:k]
        relevant = set(test.indices[test.indptr[u] : test.indptr[u + 1]].tolist())
        dcg = sum(
            d
            for d, item in zip(discounts, top.tolist(), strict=True)
            if item in relevant
        )
        ndcgs.append(dcg / sum(discounts[: min(len(relevant), k)]))
        seconds.append(time.perf_counter() - start)
    return float(np.mean(ndcgs)), np.array(seconds)


def reference_argsort(user_emb, item_emb, train, test, users, k, batch_size):
    """Batched like recsys_lib, but a full np.argsort of each row."""
    U, V = user_emb.numpy(), item_emb.numpy()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcgs = []
    for lo in range(0, users.size, batch_size):
        batch = users[lo : lo + batch_size]
        scores = U[batch] @ V.T
        scores[train[batch].nonzero()] = -np.inf
        top = np.argsort(-scores, axis=1)[:, :k]
        rel = test[batch].toarray().astype(bool)
        hits = np.take_along_axis(rel, top, axis=1)
        idcg = np.cumsum(discounts)[np.minimum(rel.sum(1), k) - 1]
        ndcgs.append((hits @ discounts) / idcg)
    return float(np.concatenate(ndcgs).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6000)
    parser.add_argument("--items", type=int, nargs="+", default=[4000, 40000])
    parser.add_argument(
        "--ref-users", type=int, default=1000, help="users for the references"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: like the single-threaded references, and steady on "
        "a busy machine; 0 = torch's default)",
    )
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    print(
        f"full-ranking evaluation throughput: {args.users} users, k={args.k}, "
        f"20 train / 5 test items per user, MF scores (dim 32), "
        f"torch threads={torch.get_num_threads()}"
    )
    header = f"{'items':>7} | {'method':<10} | {'users':>6} | {'users/s':>9} | {'ratio':>6} | ndcg@k"
    print(header)
    print("-" * len(header))
    print("(ratio = recsys_lib users/s divided by that method's users/s)")
    for n_items in args.items:
        train, test, U, V = make_data(args.users, n_items, 20, 5, 32, args.seed)

        def score_fn(batch, U=U, V=V):
            return U[torch.from_numpy(batch)] @ V.T

        evaluate_full(score_fn, train, test, k=args.k, users=np.arange(64))  # warm-up
        start = time.perf_counter()
        result = evaluate_full(
            score_fn, train, test, k=args.k, batch_size=args.batch_size
        )
        ours = args.users / (time.perf_counter() - start)
        name = f"ndcg@{args.k}"
        print(
            f"{n_items:>7} | {'recsys_lib':<10} | {args.users:>6} | {ours:>9,.0f} | {1.0:>6.1f} "
            f"| {result[name]:.4f}"
        )

        sub = np.arange(min(args.ref_users, args.users))
        ours_sub = result.per_user[name][: sub.size].mean()
        start = time.perf_counter()
        loop_ndcg, per_user_s = reference_loop(U, V, train, test, sub, args.k)
        loop = sub.size / (time.perf_counter() - start)
        print(
            f"{n_items:>7} | {'loop':<10} | {sub.size:>6} | {loop:>9,.0f} | {ours / loop:>6.1f} "
            f"| {loop_ndcg:.4f} (recsys_lib on the same users: {ours_sub:.4f})"
        )
        start = time.perf_counter()
        sort_ndcg = reference_argsort(U, V, train, test, sub, args.k, args.batch_size)
        full_sort = sub.size / (time.perf_counter() - start)
        print(
            f"{n_items:>7} | {'argsort':<10} | {sub.size:>6} | {full_sort:>9,.0f} "
            f"| {ours / full_sort:>6.1f} | {sort_ndcg:.4f}"
        )
        lat = latency_summary(per_user_s)
        print(
            f"{'':>7}   loop latency per user: p50 {lat['p50_ms']:.2f} ms, "
            f"p99 {lat['p99_ms']:.2f} ms, mean {lat['mean_ms']:.2f} ms"
        )
        for got in (loop_ndcg, sort_ndcg):
            if abs(got - ours_sub) > 1e-3:
                print(f"WARNING: reference NDCG {got:.6f} differs from {ours_sub:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
