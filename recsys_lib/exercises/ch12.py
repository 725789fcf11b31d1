"""Exercises of Chapter 12 -- Serving and scaling out."""

from __future__ import annotations

import numpy as np

from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch12.ex1


def _latencies():
    rng = np.random.default_rng(12)
    body = rng.lognormal(mean=1.0, sigma=0.3, size=990)
    tail = rng.uniform(
        40, 80, size=10
    )  # 1 % slow requests (a garbage collection, a lock)
    return rng.permutation(np.concatenate([body, tail]))


def check_ex1(answer):
    if not callable(answer):
        raise NotYet("the answer is a function latency_summary(latencies_ms)")
    lat = _latencies()
    try:
        got = answer(lat.copy())
    except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
        raise NotYet(f"it failed: {err!r}") from err
    if not isinstance(got, dict) or set(got) != {"p50", "p95", "p99", "mean"}:
        raise NotYet("return a dict with the keys 'p50', 'p95', 'p99' and 'mean'")
    want = {f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)}
    want["mean"] = float(lat.mean())
    for key, value in want.items():
        if abs(float(got[key]) - value) > 1e-6 * max(1.0, abs(value)):
            if (
                key.startswith("p")
                and abs(
                    float(got[key])
                    - float(np.sort(lat)[int(len(lat) * int(key[1:]) / 100)])
                )
                < 1e-9
            ):
                raise NotYet(
                    f"{key}: use np.percentile (linear interpolation between ranks)"
                )
            raise NotYet(
                f"{key} should be {value:.3f} ms, got {float(got[key]):.3f}: percentiles of "
                "the latencies, not of their ranks or of a sorted copy's index"
            )
    return (
        f"p50 {want['p50']:.2f} ms, p99 {want['p99']:.2f} ms, mean {want['mean']:.2f} ms: "
        "1 % slow requests pull the mean above the median but leave p50 alone"
    )


def solution_ex1():
    def latency_summary(latencies_ms):
        lat = np.asarray(latencies_ms, dtype=np.float64)
        out = {f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)}
        out["mean"] = float(lat.mean())
        return out

    return latency_summary


def wrong_ex1_mean_only():
    def latency_summary(latencies_ms):
        m = float(np.mean(latencies_ms))
        return {"p50": m, "p95": m, "p99": m, "mean": m}

    return latency_summary


def wrong_ex1_unsorted_index():
    def latency_summary(latencies_ms):  # indexes the unsorted array
        lat = np.asarray(latencies_ms)
        out = {f"p{q}": float(lat[int(len(lat) * q / 100)]) for q in (50, 95, 99)}
        out["mean"] = float(lat.mean())
        return out

    return latency_summary


register(
    Exercise(
        id="ch12.ex1",
        title="p50, p95, p99 and the mean of request latencies",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_mean_only, wrong_ex1_unsorted_index),
    )
)

# ---------------------------------------------------------------- ch12.ex2

_EX2 = {"clients": 32, "latency_ms": 40.0}


def check_ex2(answer):
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("the answer is a number of requests per second") from err
    want = _EX2["clients"] / (_EX2["latency_ms"] / 1000.0)
    if abs(value - want) <= 1e-6 * want:
        return f"{want:.0f} requests/s: throughput = clients / latency (Little's law)"
    if abs(value - _EX2["clients"] / _EX2["latency_ms"]) < 1e-9:
        raise NotYet("the latency is in milliseconds; throughput is per second")
    if abs(value - 1000.0 / _EX2["latency_ms"]) < 1e-9:
        raise NotYet("that is one client's rate; all 32 clients send at once")
    raise NotYet(
        "each client sends its next request when the answer arrives: in one "
        "second one client completes 1 / latency requests"
    )


def solution_ex2():
    clients, latency_s = _EX2["clients"], _EX2["latency_ms"] / 1000.0
    return clients / latency_s  # Little's law: L = lambda * W, so lambda = L / W


register(
    Exercise(
        id="ch12.ex2",
        title="Little's law: throughput of closed-loop clients",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(
            lambda: _EX2["clients"] / _EX2["latency_ms"],
            lambda: 1000.0 / _EX2["latency_ms"],
            lambda: "fast",
        ),
    )
)

# ---------------------------------------------------------------- ch12.ex3


def _rule_cases():
    rng = np.random.default_rng(3)
    cases = []
    for _ in range(20):
        ranked = rng.permutation(40)[:15]
        bought = set(rng.choice(40, size=rng.integers(0, 10), replace=False).tolist())
        k = int(rng.integers(1, 12))
        cases.append((ranked, bought, k))
    cases.append((np.arange(5), {0, 1, 2, 3, 4}, 3))  # everything bought
    return cases


def _reference_rule(ranked, bought, k):
    return [int(i) for i in ranked if int(i) not in bought][:k]


def check_ex3(answer):
    if not callable(answer):
        raise NotYet("the answer is a function not_bought(ranked, bought, k)")
    for ranked, bought, k in _rule_cases():
        try:
            got = [int(i) for i in answer(ranked.copy(), set(bought), k)]
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed: {err!r}") from err
        want = _reference_rule(ranked, bought, k)
        if got == want:
            continue
        if set(got) & bought:
            raise NotYet("a bought item is still in the list")
        if sorted(got) == sorted(want):
            raise NotYet("keep the ranker's order; do not sort")
        if len(got) < len(want):
            raise NotYet(
                "filter first, then cut at k: cutting first leaves fewer than k items"
            )
        raise NotYet("the first k items of the ranked list that the user did not buy")
    return "bought items removed, order kept, k items when there are enough"


def solution_ex3():
    def not_bought(ranked, bought, k):
        return [int(i) for i in ranked if int(i) not in bought][:k]

    return not_bought


def wrong_ex3_cut_first():
    def not_bought(ranked, bought, k):
        return [int(i) for i in ranked[:k] if int(i) not in bought]

    return not_bought


def wrong_ex3_sorted():
    def not_bought(ranked, bought, k):
        return sorted(int(i) for i in ranked if int(i) not in bought)[:k]

    return not_bought


def wrong_ex3_keeps_bought():
    def not_bought(ranked, bought, k):
        return [int(i) for i in ranked][:k]

    return not_bought


register(
    Exercise(
        id="ch12.ex3",
        title="the business rule: never recommend what the user bought",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(wrong_ex3_cut_first, wrong_ex3_sorted, wrong_ex3_keeps_bought),
    )
)
