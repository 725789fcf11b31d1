"""How much did each checked number move between runs, and how much room is left?

``make portability`` runs every notebook under several CPU settings (other
vector kernels, thread counts, BLAS kernels) with ``RECSYS_CHECK_LOG`` set, so
each run leaves a JSON-lines file with every ``recsys_lib.testing`` check it
made. This script lines the runs up check by check and prints, for each one:

* ``spread``: how far the checked value moved across the runs (max - min);
* ``room``: the smallest distance, in any run, between the value and the edge
  of its band (for a claim "A > B + margin", the distance to B + margin);
* ``room/spread``: how many times the observed variation fits in the room.

A band is well chosen when the room is several times the spread (the claim
survives other machines) and the band is still narrow enough that a broken
model falls outside it (checked separately by deliberately breaking a result).
Checks whose room is less than ``--factor`` times their spread are listed as
TIGHT; any check that failed in some run is listed as FAILED.

Usage::

    python tests/tolerance_report.py .cache/portability/*.jsonl [--factor 3]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path


def _load(path: Path) -> list[dict]:
    records = []
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        key = (r["notebook"], r["name"])
        r["occurrence"] = counts[key]  # the same name may be checked in a loop
        counts[key] += 1
        records.append(r)
    return records


def _values(r: dict) -> list[float]:
    v = r["value"]
    return [float(x) for x in v] if isinstance(v, list) else [float(v)]


def _room(r: dict) -> float:
    """Distance from the value to the nearest edge of its band (>= 0 when passed)."""
    low, high = float(r["low"]), float(r["high"])
    vals = _values(r)
    if r["kind"] == "contains":  # the interval must cover a point
        return min(r["low"] - vals[0], vals[1] - r["low"])
    if r["kind"] == "above":  # the whole interval above a bound
        return vals[0] - low
    if r["kind"] == "below":
        return high - vals[1]
    v = vals[0]
    if r["kind"] == "small":
        return high - abs(v)
    return min(v - low, high - v)


def report(paths: list[Path], factor: float = 3.0, out=sys.stdout) -> int:
    """Print the report; return the number of FAILED checks."""
    runs = {p.stem: _load(p) for p in paths}
    if not runs:
        raise SystemExit("no log files given")
    by_check: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for run, records in runs.items():
        for r in records:
            by_check[(r["notebook"], r["name"], r["occurrence"])][run] = r
    rows = []
    for key, per_run in by_check.items():
        values = [_values(r) for r in per_run.values()]
        spread = max(
            max(v[i] for v in values) - min(v[i] for v in values)
            for i in range(len(values[0]))
        )
        room = min(_room(r) for r in per_run.values())
        failed = [run for run, r in per_run.items() if not r["passed"]]
        missing = [run for run in runs if run not in per_run]
        ratio = math.inf if spread == 0 else room / spread
        rows.append((key, per_run, spread, room, ratio, failed, missing))
    rows.sort(key=lambda row: (not row[5], row[4]))

    n_fail = sum(bool(row[5]) for row in rows)
    n_tight = sum(not row[5] and row[4] < factor for row in rows)
    n_moved = sum(row[2] > 0 for row in rows)
    print(f"runs: {', '.join(runs)}", file=out)
    print(
        f"{len(rows)} checks; {n_moved} moved between runs; "
        f"{n_fail} FAILED in some run; {n_tight} TIGHT (room < {factor:g} x spread)",
        file=out,
    )
    print(
        f"\n{'status':7s} {'notebook':34s} {'check':58s} {'value':>11s} "
        f"{'spread':>9s} {'room':>9s} {'room/spread':>11s}",
        file=out,
    )
    for (notebook, name, occ), per_run, spread, room, ratio, failed, missing in rows:
        status = "FAILED" if failed else ("TIGHT" if ratio < factor else "ok")
        first = next(iter(per_run.values()))
        value = _values(first)
        shown = (
            f"{value[0]:.4g}" if len(value) == 1 else f"[{value[0]:.3g},{value[1]:.3g}]"
        )
        label = name if occ == 0 else f"{name} (#{occ + 1})"
        print(
            f"{status:7s} {notebook[:34]:34s} {label[:58]:58s} {shown:>11s} "
            f"{spread:9.2g} {room:9.2g} {ratio:11.3g}"
            + (f"  failed in: {', '.join(failed)}" if failed else "")
            + (f"  missing in: {', '.join(missing)}" if missing else ""),
            file=out,
        )
    return n_fail


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", type=Path, help="JSON-lines check logs")
    parser.add_argument(
        "--factor",
        type=float,
        default=3.0,
        help="flag checks whose room is below this multiple of their spread",
    )
    args = parser.parse_args(argv)
    return 1 if report(args.logs, args.factor) else 0


if __name__ == "__main__":
    raise SystemExit(main())
