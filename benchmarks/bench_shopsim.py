"""Generation speed and memory of ShopSim at growing sizes.

Introduced in Chapter 2. Generates shops of three sizes (``tiny``, the
notebooks' ``default``, and ``5x`` = the default with five times the users,
about 1.5 million events; ``--large`` adds the ``large`` preset, about 3
million events) and prints, for each,

* events and generation time (best of ``--repeats`` runs for the small
  sizes), events per second and microseconds per event;
* peak memory: the largest amount held by Python and NumPy during generation
  (``tracemalloc``, a separate run) and the growth of the process's peak
  resident size (``ru_maxrss``);
* the reference column: each size's cost per event (time and memory) divided by
  the smallest size's -- flat (or falling) ratios mean the cost grows linearly
  with the number of events. ``tiny`` carries fixed costs (image PCA, price
  tables), so its per-event cost is the highest.

Every size runs in a fresh Python process so that peak memory is its own.
Pictures are random ``uint8`` arrays (10 classes x 1,000), so the benchmark
needs no data download.

Run: ``python benchmarks/bench_shopsim.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_lib.data import ShopConfig, generate_shop  # noqa: E402

SIZES = {
    "tiny": lambda: ShopConfig.preset("tiny"),
    "default": lambda: ShopConfig.preset("default"),
    "5x": lambda: ShopConfig.preset("default", n_users=10_000),
    "large": lambda: ShopConfig.preset("large"),
}


def fake_pictures(n_per_class: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    images = rng.integers(0, 256, (labels.size, 28, 28), dtype=np.uint8)
    return images, labels


def measure(size: str, repeats: int, seed: int) -> dict:
    """Run in a worker process: time, traced peak and RSS growth of one size."""
    images, labels = fake_pictures()
    config = SIZES[size]()
    generate_shop(
        "tiny", seed=seed, images=images, labels=labels
    )  # warm up imports and caches
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        shop = generate_shop(config, seed=seed, images=images, labels=labels)
        times.append(time.perf_counter() - start)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    n_events = len(shop.events)
    del shop
    tracemalloc.start()
    generate_shop(config, seed=seed, images=images, labels=labels)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "size": size,
        "users": config.n_users,
        "products": config.n_products,
        "days": config.n_days,
        "events": n_events,
        "seconds": min(times),
        "traced_mb": traced_peak / 2**20,
        "rss_mb": rss_growth / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--large", action="store_true", help="also run the 'large' preset"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timing runs for tiny and default"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(measure(args.worker, args.repeats, args.seed)))
        return 0

    sizes = ["tiny", "default", "5x"] + (["large"] if args.large else [])
    rows = []
    for size in sizes:
        repeats = args.repeats if size in ("tiny", "default") else 1
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            size,
            "--repeats",
            str(repeats),
            "--seed",
            str(args.seed),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"  {size}: {row['events']:,} events in {row['seconds']:.2f} s",
            file=sys.stderr,
        )

    ref = rows[0]
    ref_us = ref["seconds"] / ref["events"] * 1e6
    ref_bytes = ref["traced_mb"] * 2**20 / ref["events"]
    header = (
        f"{'size':>8} {'users':>7} {'products':>8} {'days':>4} {'events':>10} {'seconds':>8} "
        f"{'events/s':>10} {'us/event':>8} {'x ref':>6} {'peak MB':>8} {'RSS+ MB':>8} "
        f"{'B/event':>8} {'x ref':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        us = row["seconds"] / row["events"] * 1e6
        per_event = row["traced_mb"] * 2**20 / row["events"]
        print(
            f"{row['size']:>8} {row['users']:>7,} {row['products']:>8,} {row['days']:>4} "
            f"{row['events']:>10,} {row['seconds']:>8.2f} {row['events'] / row['seconds']:>10,.0f} "
            f"{us:>8.2f} {us / ref_us:>6.2f} {row['traced_mb']:>8.1f} {row['rss_mb']:>8.1f} "
            f"{per_event:>8.0f} {per_event / ref_bytes:>6.2f}"
        )
    print(
        "x ref = cost per event relative to the first size; peak MB = tracemalloc peak during "
        "generation; RSS+ MB = growth of the process's peak resident size."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
