"""Where a recommendation request's time goes: in-process, over HTTP, under load.

Introduced in Chapter 12 (serving and scaling out). For catalogs of 1k, 10k
and 100k items (untrained models of the chapter's shapes: speed does not
depend on the weights), it measures

* ``in-process``: :meth:`recsys_lib.serving.ShopService.recommend` called
  directly, one user at a time -- retrieval (two-tower + popularity, exact
  or HNSW search), ranking (the feature ranker on 100 candidates), rules;
* ``http c=C``: the same service behind :func:`recsys_lib.serving.create_app`,
  in a separate uvicorn process on loopback, with ``C`` concurrent asyncio
  clients (:func:`recsys_lib.serving.run_load_test`), impressions logged to
  SQLite;
* ``ranker``: the ranker on 100 candidates, eager PyTorch against ONNX
  Runtime (:func:`recsys_lib.serving.export_ranker`);
* ``store``: events written to the SQLite store one per transaction against
  100 per transaction.

Reported per row: p50/p99 milliseconds, requests (or calls, or events) per
second, and ``x in-process`` = this row's p50 / the in-process p50 of the
same catalog, so the ratios can be read side by side (the cost of HTTP,
JSON, logging and queueing on top of the model). Everything runs with one
torch thread per process. Default run: about 3 minutes on a quiet 2-core
CPU (``--sizes 1000 10000`` takes about one).

Run: ``python benchmarks/bench_serving.py`` (options: ``--help``). A recorded
run and what it shows: ``benchmarks/RESULTS_serving.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.models import FeatureMLPRanker, RankerConfig  # noqa: E402
from recsys_lib.retrieval import TwoTowerConfig, TwoTowerModel, build_histories  # noqa: E402
from recsys_lib.serving import (  # noqa: E402
    Catalog,
    EventStore,
    ShopService,
    export_ranker,
    load_exported,
    run_load_test,
    save_service,
    serve_in_process,
)


def build_service(n_items: int, n_users: int, index: str, seed: int = 0) -> ShopService:
    """Untrained models with the shapes of Chapter 12's service."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_cats, fu, fi = 12, 40, 14
    tt = TwoTowerModel(
        TwoTowerConfig(
            n_users=n_users, n_items=n_items, user_feat_dim=fu, item_feat_dim=fi
        ),
        user_features=torch.randn(n_users, fu),
        item_features=torch.randn(n_items, fi),
    )
    users = np.repeat(np.arange(n_users), 10)
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.integers(0, n_items, users.size),
            "timestamp": np.arange(users.size),
        }
    )
    tt.set_histories(build_histories(frame, n_users, n_items, tt.cfg.max_history))
    ranker = FeatureMLPRanker(
        RankerConfig(
            n_users=n_users,
            n_items=n_items,
            user_feat_dim=fu,
            item_feat_dim=fi,
            id_dim=16,
            hidden=(64, 32),
        )
    ).set_feature_tables(torch.randn(n_users, fu), torch.randn(n_items, fi))
    catalog = Catalog(
        titles=[f"product {i}" for i in range(n_items)],
        prices=rng.uniform(5, 200, n_items).round(2),
        categories=rng.integers(0, n_cats, n_items),
        category_names=[f"category {c}" for c in range(n_cats)],
        images=rng.integers(0, 256, (n_items, 28, 28), dtype=np.uint8),
    )
    pop = np.sort(rng.random(n_items).astype(np.float32))[::-1].copy()
    return ShopService(tt.eval(), ranker.eval(), catalog, pop, index=index)


def timed(fn, repeats: int) -> np.ndarray:
    fn()
    out = np.empty(repeats)
    for r in range(repeats):
        t0 = time.perf_counter()
        fn()
        out[r] = (time.perf_counter() - t0) * 1e3
    return out


def row(size, what, ms, per_s, base):
    p50 = float(np.percentile(ms, 50))
    return {
        "items": size,
        "what": what,
        "p50 ms": p50,
        "p99 ms": float(np.percentile(ms, 99)),
        "per s": per_s,
        "x in-process": p50 / base if base else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--index", default="exact", help="exact or hnsw")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=300, help="per load level")
    parser.add_argument("--repeats", type=int, default=200, help="in-process calls")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"Chapter 12 serving benchmark: {args.users} users, index={args.index}, k=10, "
        f"100 candidates; torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}; 1 torch thread per process"
    )
    rows = []
    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    for n in args.sizes:
        service = build_service(n, args.users, args.index)
        users = rng.integers(0, args.users, args.repeats + 1)
        it = iter(users)
        ms = timed(
            lambda it=it, service=service: service.recommend(int(next(it)), 10),
            args.repeats,
        )
        base = float(np.percentile(ms, 50))
        rows.append(row(n, "in-process", ms, 1e3 / ms.mean(), base))
        with tempfile.TemporaryDirectory() as tmp:
            bundle = save_service(service, Path(tmp) / "bundle")
            with serve_in_process(bundle, Path(tmp) / "events.db") as url:
                for c in args.clients:
                    r = run_load_test(
                        url,
                        np.arange(args.users),
                        concurrency=c,
                        n_requests=args.requests,
                        max_seconds=120,
                    )
                    if r.n_ok != r.n_requests:
                        raise RuntimeError(
                            f"{r.n_requests - r.n_ok} requests failed at c={c}"
                        )
                    rows.append(row(n, f"http c={c}", r.latency_ms, r.throughput, base))
            graph = load_exported(export_ranker(service.ranker, Path(tmp) / "r.onnx"))
        u = np.zeros(100, dtype=np.int64)
        i = rng.integers(0, n, 100)

        def eager(service=service, u=u, i=i):
            with torch.no_grad():
                service.ranker(torch.from_numpy(u), torch.from_numpy(i))

        ms = timed(eager, args.repeats)
        rows.append(row(n, "ranker eager", ms, 1e3 / ms.mean(), base))
        ms = timed(lambda graph=graph, u=u, i=i: graph(u, i), args.repeats)
        rows.append(row(n, "ranker onnx", ms, 1e3 / ms.mean(), base))
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "e.db") as store:
        ev = {"user_id": 1, "item_id": 2, "event": "impression"}
        ms = timed(lambda: store.log(1, 2, "impression"), 500)
        rows.append(row(0, "store 1/tx", ms, 1e3 / ms.mean(), 0))
        ms = timed(lambda: store.log_many([ev] * 100), 100)
        rows.append(row(0, "store 100/tx", ms, 100 * 1e3 / ms.mean(), 0))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    print(
        f"(per s: requests, calls or events per second; total {time.perf_counter() - t_start:.0f} s)"
    )


if __name__ == "__main__":
    main()
