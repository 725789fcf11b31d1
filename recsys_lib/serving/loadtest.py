"""A small load test: concurrent clients against the service on loopback.

Introduced in Chapter 12 ("Serving and scaling out"). :func:`run_load_test`
opens ``concurrency`` clients (asyncio tasks sharing one ``httpx`` async
client), each sending ``GET /recommend`` requests back to back until
``n_requests`` are done or ``max_seconds`` have passed -- the test is bounded
in both. Every answer's ``Server-Timing`` header gives the server-side time
of each stage, so the latency a client sees can be split into queueing and
network (client minus server) and the stages themselves.

:func:`load_test_table` summarises several runs: throughput and p50/p95/p99
latency per stage. Timings depend on the machine and on what else runs on
it; compare them side by side in one run, never with a fixed number.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from .app import SERVER_STAGES

__all__ = ["LoadTestResult", "load_test_table", "parse_server_timing", "run_load_test"]


def parse_server_timing(header: str) -> dict[str, float]:
    """``"a;dur=1.5, b;dur=2"`` -> ``{"a": 1.5, "b": 2.0}`` (milliseconds).

    Introduced in Chapter 12.

    Raises:
        TypeError: if ``header`` is not a string.
        ValueError: for an entry without a numeric ``dur``.
    """
    if not isinstance(header, str):
        raise TypeError(f"header must be a string, got {type(header).__name__}")
    out: dict[str, float] = {}
    for entry in filter(None, (e.strip() for e in header.split(","))):
        name, *params = (p.strip() for p in entry.split(";"))
        durs = [p[4:] for p in params if p.startswith("dur=")]
        try:
            out[name] = float(durs[0])
        except (IndexError, ValueError) as err:
            raise ValueError(
                f"Server-Timing entry {entry!r} has no numeric dur"
            ) from err
    return out


@dataclass
class LoadTestResult:
    """One load-test run. Introduced in Chapter 12.

    Attributes:
        concurrency: clients sending at once.
        wall_s: seconds from the first request to the last answer.
        latency_ms: float ``(n,)`` client-side latency of every request.
        status: int ``(n,)`` HTTP status codes (``0`` = no answer).
        n_items: int ``(n,)`` products in each answer.
        stage_ms: ``(n, stages)`` server-side milliseconds per stage.
        stopped_by_time: True if ``max_seconds`` ended the run.
        failures: ``{kind: count}`` of failed requests, e.g.
            ``{"ReadTimeout": 2, "status 500": 1}`` (empty if all succeeded).
    """

    concurrency: int
    wall_s: float
    latency_ms: np.ndarray
    status: np.ndarray
    n_items: np.ndarray
    stage_ms: pd.DataFrame
    stopped_by_time: bool
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def n_requests(self) -> int:
        return int(self.status.size)

    @property
    def n_ok(self) -> int:
        return int((self.status == 200).sum())

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.n_ok / self.wall_s if self.wall_s > 0 else 0.0

    def percentiles(self, q=(50, 95, 99)) -> pd.DataFrame:
        """Milliseconds at the percentiles ``q`` of the client latency, of
        each server stage, of the server total and of the rest (queueing and
        transport: client minus server)."""
        ok = self.status == 200
        stages = self.stage_ms[ok]
        total = stages.sum(axis=1).to_numpy()
        cols = {name: stages[name].to_numpy() for name in stages.columns}
        cols["server total"] = total
        cols["queue + transport"] = self.latency_ms[ok] - total
        cols["client"] = self.latency_ms[ok]
        return pd.DataFrame(
            {
                name: [float(np.percentile(v, p)) if v.size else np.nan for p in q]
                for name, v in cols.items()
            },
            index=pd.Index([f"p{p}" for p in q], name="percentile"),
        ).T


async def _run(base_url, users, concurrency, n_requests, k, max_seconds, timeout_s):
    latency = np.full(n_requests, np.nan)
    status = np.zeros(n_requests, dtype=np.int64)
    n_items = np.zeros(n_requests, dtype=np.int64)
    stages = np.full((n_requests, len(SERVER_STAGES)), np.nan)
    failures: Counter = Counter()
    counter = iter(range(n_requests))
    done = [0]
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    start = time.perf_counter()
    deadline = start + max_seconds

    async def client(http: httpx.AsyncClient) -> None:
        for n in counter:  # shared: each request index is taken by one client
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            try:
                r = await http.get(
                    "/recommend", params={"user_id": int(users[n]), "k": k}
                )
            except httpx.HTTPError as err:
                status[n] = 0
                failures[type(err).__name__] += 1
            else:
                status[n] = r.status_code
                if r.status_code == 200:
                    timing = parse_server_timing(r.headers.get("server-timing", ""))
                    stages[n] = [timing.get(s, np.nan) for s in SERVER_STAGES]
                    n_items[n] = len(r.json()["items"])
                else:
                    failures[f"status {r.status_code}"] += 1
            latency[n] = (time.perf_counter() - t0) * 1e3
            done[0] = n + 1

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=timeout_s
    ) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    wall = time.perf_counter() - start
    sent = ~np.isnan(latency)
    return (
        wall,
        latency[sent],
        status[sent],
        n_items[sent],
        stages[sent],
        not sent.all(),
        dict(failures),
    )


def run_load_test(
    base_url: str,
    user_ids,
    *,
    concurrency: int,
    n_requests: int,
    k: int = 10,
    max_seconds: float = 30.0,
    timeout_s: float = 30.0,
    seed: int = 0,
) -> LoadTestResult:
    """Send ``n_requests`` ``GET /recommend`` requests from ``concurrency`` clients.

    Introduced in Chapter 12. Users are drawn uniformly (with replacement,
    seeded) from ``user_ids``. The run stops after ``n_requests`` requests
    or ``max_seconds``, whichever comes first. Safe to call from a Jupyter
    notebook (the event loop runs in its own thread).

    Args:
        base_url: e.g. ``"http://127.0.0.1:8123"`` (loopback only: the test
            refuses other hosts, so it can never load someone's server).
        user_ids: the users to ask for.
        concurrency: clients sending at once (>= 1).
        n_requests: the most requests to send (>= 1).
        k: products per request.
        max_seconds: the longest the run may take.
        timeout_s: per-request timeout.
        seed: the draw of users.

    Raises:
        TypeError, ValueError: for bad settings or a non-loopback URL.
    """
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, got {type(base_url).__name__}")
    host = httpx.URL(base_url).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load tests run on loopback only; base_url host is {host!r}")
    concurrency = check_int(concurrency, "concurrency", low=1)
    n_requests = check_int(n_requests, "n_requests", low=1)
    k = check_int(k, "k", low=1)
    max_seconds = check_number(max_seconds, "max_seconds", low=0.0, low_open=True)
    timeout_s = check_number(timeout_s, "timeout_s", low=0.0, low_open=True)
    pool = np.asarray(user_ids)
    if pool.ndim != 1 or pool.size == 0 or not np.issubdtype(pool.dtype, np.integer):
        raise ValueError("user_ids must be a non-empty 1-D array of integer ids")
    users = np.random.default_rng(check_int(seed, "seed", low=0)).choice(
        pool, n_requests
    )
    box: dict = {}

    def target() -> None:
        try:
            box["out"] = asyncio.run(
                _run(
                    base_url, users, concurrency, n_requests, k, max_seconds, timeout_s
                )
            )
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller
            box["error"] = err

    thread = threading.Thread(target=target, name="load-test")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    wall, latency, status, n_items, stages, by_time, failures = box["out"]
    return LoadTestResult(
        concurrency=concurrency,
        wall_s=wall,
        latency_ms=latency,
        status=status,
        n_items=n_items,
        stage_ms=pd.DataFrame(stages, columns=list(SERVER_STAGES)),
        stopped_by_time=by_time,
        failures=failures,
    )


def load_test_table(results) -> pd.DataFrame:
    """One row per run: requests, errors, throughput and p50/p95/p99 of the
    client latency and of every server stage (milliseconds).

    Introduced in Chapter 12.
    """
    results = list(results)
    if not results or not all(isinstance(r, LoadTestResult) for r in results):
        raise TypeError("results must be a non-empty list of LoadTestResult")
    rows = []
    for r in results:
        pct = r.percentiles()
        row = {
            "clients": r.concurrency,
            "requests": r.n_requests,
            "errors": r.n_requests - r.n_ok,
            "req/s": r.throughput,
        }
        for name in pct.index:
            for p in pct.columns:
                row[(name, p)] = pct.loc[name, p]
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("clients")
    return frame
