"""Trials per minute of a hyperparameter search, with and without pruning.

Introduced in Chapter 9. Runs the same TPE search of BPR-MF (learning rate, L2
penalty, factors; up to ``--epochs`` epochs with early stopping, patience 3)
on MovieLens-100K positives (rating >= 4, 5-core, leave-last-out; validation
NDCG@10 by full ranking), once without a pruner and once with the median
pruner, each with ``--trials`` trials and the same sampler seed, and prints
side by side: trials per minute, epochs trained, the best validation NDCG@10,
and the ratios (pruned / plain). Wall-clock rates depend on the machine and
its load; read the ratios. The data must be in the cache (``make data``).

Run: ``python benchmarks/bench_tuning.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import optuna
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.data import (  # noqa: E402
    k_core_filter,
    leave_last_out,
    load_movielens_100k,
    map_ids,
    to_implicit,
)
from recsys_lib.models import BPRMF  # noqa: E402
from recsys_lib.tuning import (  # noqa: E402
    Categorical,
    Float,
    Objective,
    SearchSpace,
    create_study,
    run_search,
    search_stats,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="trials per search")
    parser.add_argument("--epochs", type=int, default=30, help="max epochs per trial")
    parser.add_argument("--startup", type=int, default=8, help="random trials first")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    positives = to_implicit(load_movielens_100k().ratings, threshold=4)
    data, mapper = map_ids(k_core_filter(positives, user_k=5, item_k=5))
    train, valid, test = leave_last_out(data)
    space = SearchSpace(
        lr=Float(1e-3, 1e-1, log=True),
        weight_decay=Float(1e-4, 1e-1, log=True),
        dim=Categorical([16, 32, 64]),
    )
    fixed = {"epochs": args.epochs, "patience": 3, "batch_size": 1024}
    rows = {}
    for pruner in ("none", "median"):
        objective = Objective(
            BPRMF,
            space,
            train,
            valid,
            mapper.n_users,
            mapper.n_items,
            fixed=fixed,
            held_out=test,
        )
        study = create_study(
            "tpe",
            pruner,
            seed=args.seed,
            n_startup_trials=args.startup,
            min_epochs=2,
        )
        start = time.perf_counter()
        run_search(study, objective, args.trials, desc=f"pruner={pruner}")
        seconds = time.perf_counter() - start
        stats = search_stats(study)
        rows[pruner] = {
            "trials/min": 60 * stats.n_trials / seconds,
            "seconds": seconds,
            "pruned": stats.n_pruned,
            "epochs": stats.epochs,
            "best NDCG@10": stats.best_value,
        }

    print(
        f"BPR-MF TPE search on MovieLens-100K ({mapper.n_users} users, "
        f"{mapper.n_items} items): {args.trials} trials, up to {args.epochs} epochs, "
        f"{args.startup} startup trials, seed {args.seed}, torch threads "
        f"{args.threads}; torch {torch.__version__}, optuna {optuna.__version__}, "
        f"{platform.processor() or platform.machine()}"
    )
    header = f"{'':14s}{'no pruning':>14s}{'median pruner':>16s}{'pruned/plain':>14s}"
    print(header)
    print("-" * len(header))
    for key, fmt in (
        ("trials/min", "{:14.1f}"),
        ("seconds", "{:14.1f}"),
        ("pruned", "{:14d}"),
        ("epochs", "{:14d}"),
        ("best NDCG@10", "{:14.4f}"),
    ):
        a, b = rows["none"][key], rows["median"][key]
        ratio = f"{b / a:14.2f}" if a else f"{'-':>14s}"
        print(f"{key:14s}{fmt.format(a)}{fmt.format(b):>16s}{ratio}")


if __name__ == "__main__":
    main()
