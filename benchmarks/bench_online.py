"""Simulator speed of ShopEnv at three sizes, as ratios against the smallest.

Introduced in Chapter 10. For each size (users x products of the ShopSim
shop, visitors per round) the benchmark plays rounds of a uniform-random
policy (``visitors`` -> ``act`` -> ``step`` -> the oracle's expected clicks)
and prints

* simulator steps per second, a *step* being one visitor shown one slate
  (users x rounds), best of ``--repeats`` runs;
* the same for Thompson sampling over a Beta-Bernoulli belief (act, step and
  the posterior update), the policy the chapter runs most;
* the ratio of each rate to the smallest size's, and the same ratio for
  visitor x catalogue products per second: every step scores (or draws) the
  whole catalogue for its visitor, so the per-step cost grows with the
  catalogue; a flat normalized ratio means the vectorized environment and
  policies cost the same per (visitor, product) whatever the batch.

Shop generation and the one-off oracle (the best slate of every shopper) are
not timed. Pictures are random ``uint8`` arrays, so no data download is
needed.

Run: ``python benchmarks/bench_online.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.data import ShopConfig, generate_shop  # noqa: E402
from recsys_lib.online import (  # noqa: E402
    BetaBernoulli,
    ShopEnv,
    ThompsonSampling,
    UniformRandom,
)

#: name -> (shop users, shop products, visitors per round)
SIZES = {
    "small": (1_000, 100, 100),
    "medium": (2_000, 1_000, 1_000),
    "large": (10_000, 2_000, 5_000),
}


def fake_pictures(n_per_class: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    images = rng.integers(0, 256, (labels.size, 28, 28), dtype=np.uint8)
    return images, labels


def steps_per_second(env: ShopEnv, make_policy, rounds: int, repeats: int) -> float:
    """Best rate over ``repeats`` runs of ``rounds`` rounds (visitors x rounds / s)."""
    best = np.inf
    for r in range(repeats):
        env.reset(seed=r)
        policy = make_policy(r)
        start = time.perf_counter()
        for _ in range(rounds):
            users = env.visitors()
            slates = policy.act(users)
            fb = env.step(users, slates.items, slates.propensities)
            env.expected_clicks(users, fb.items)
            policy.update(fb)
        best = min(best, time.perf_counter() - start)
    return rounds * env.users_per_round / best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (best)")
    parser.add_argument("--slate", type=int, default=10, help="slate size")
    args = parser.parse_args(argv)
    images, labels = fake_pictures()
    print(
        f"ShopEnv steps per second (one step = one visitor shown a slate of "
        f"{args.slate}); best of {args.repeats} runs of {args.rounds} rounds; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}"
    )
    header = (
        f"{'size':>7} | {'users':>6} | {'items':>6} | {'visitors':>8} | "
        f"{'uniform steps/s':>15} | {'ratio':>5} | {'per item':>8} | "
        f"{'Thompson steps/s':>16} | {'ratio':>5} | {'per item':>8}"
    )
    print(header)
    print("-" * len(header))
    base = None
    for name, (n_users, n_items, visitors) in SIZES.items():
        config = ShopConfig.preset(
            "default", n_users=n_users, n_products=n_items, n_days=28
        )
        shop = generate_shop(config, seed=0, images=images, labels=labels)
        env = ShopEnv(shop, slate_size=args.slate, users_per_round=visitors, seed=0)
        env.oracle_clicks([0])  # the one-off oracle, not timed
        uniform = steps_per_second(
            env,
            lambda s, n=n_items: UniformRandom(n, args.slate, seed=s),
            args.rounds,
            args.repeats,
        )
        thompson = steps_per_second(
            env,
            lambda s, u=n_users, n=n_items: ThompsonSampling(
                BetaBernoulli(u, n, position_bias=0.8), args.slate, seed=s
            ),
            args.rounds,
            args.repeats,
        )
        if base is None:
            base = (uniform, thompson, n_items)
        scale = n_items / base[2]
        print(
            f"{name:>7} | {n_users:>6,} | {n_items:>6,} | {visitors:>8,} | "
            f"{uniform:>15,.0f} | {uniform / base[0]:>5.2f} | "
            f"{uniform * scale / base[0]:>8.2f} | "
            f"{thompson:>16,.0f} | {thompson / base[1]:>5.2f} | "
            f"{thompson * scale / base[1]:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
