"""``python -m recsys_lib.data fetch [NAME ...]``: fill the data cache.

Introduced in Chapter 2; ``make data`` runs it. Without names it fetches every
data set of :data:`recsys_lib.data.FETCHERS`. Failures are printed as one
message naming what to do (no traceback) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

from ..config import data_dir
from . import FETCHERS, fetch
from .sources import DatasetError

__all__ = ["main"]


def main(argv: list[str] | None = None, prog: str = "python -m recsys_lib.data") -> int:
    """Run the command line; return the exit status (0 on success, 1 on failure)."""
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="fetch data sets into the cache")
    p_fetch.add_argument(
        "names", nargs="*", help=f"data sets (default: all): {', '.join(FETCHERS)}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            done = fetch(args.names)
    except (KeyError, DatasetError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    print(f"data ready in {data_dir()}: {', '.join(done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
