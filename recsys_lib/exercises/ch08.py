"""Exercises of Chapter 8 -- Two-stage recall and ranking."""

from __future__ import annotations

import numpy as np

from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch08.ex1


def _reference_recall(candidates, targets, n):
    cand = np.asarray(candidates)[:, :n]
    return float((cand == np.asarray(targets)[:, None]).any(axis=1).mean())


def context_ex1():
    rng = np.random.default_rng(8)
    n_users, n_items = 50, 40
    candidates = np.stack([rng.permutation(n_items)[:20] for _ in range(n_users)])
    targets = rng.integers(0, n_items, n_users)
    return {"candidates": candidates, "targets": targets}


def check_ex1(answer, candidates, targets):
    if not callable(answer):
        raise NotYet(
            "the answer is a function candidate_recall(candidates, targets, n)"
        )
    for n in (1, 5, 20):
        expected = _reference_recall(candidates, targets, n)
        try:
            value = float(answer(candidates, targets, n))
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"it failed with n={n}: {err!r}") from err
        if abs(value - expected) > 1e-9:
            if (
                n < 20
                and abs(value - _reference_recall(candidates, targets, 20)) < 1e-9
            ):
                raise NotYet("read only the first n candidates of each row")
            raise NotYet(
                "for each user, 1 if the held-out item is among the first n "
                "candidates, else 0; then average over users"
            )
    return f"recall@5 = {_reference_recall(candidates, targets, 5):.3f}"


def solution_ex1(candidates=None, targets=None):
    def candidate_recall(candidates, targets, n):
        cand = np.asarray(candidates)[:, :n]  # (n_users, n)
        hit = (cand == np.asarray(targets)[:, None]).any(axis=1)  # (n_users,)
        return float(hit.mean())

    return candidate_recall


def wrong_ex1_all_columns(candidates=None, targets=None):
    def candidate_recall(candidates, targets, n):
        return float(
            (np.asarray(candidates) == np.asarray(targets)[:, None]).any(1).mean()
        )

    return candidate_recall


def wrong_ex1_per_slot(candidates=None, targets=None):
    def candidate_recall(candidates, targets, n):  # a precision, not a recall
        cand = np.asarray(candidates)[:, :n]
        return float((cand == np.asarray(targets)[:, None]).mean())

    return candidate_recall


register(
    Exercise(
        id="ch08.ex1",
        title="candidate recall@N: does the held-out item reach the ranker?",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_all_columns, wrong_ex1_per_slot, lambda **_: 0.5),
        example_context=context_ex1,
    )
)

# ---------------------------------------------------------------- ch08.ex2


def _reference_mmr(relevance, item_vectors, k, lam):
    rel = np.asarray(relevance, dtype=np.float64)
    x = np.asarray(item_vectors, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    chosen: list[int] = []
    left = list(range(len(rel)))
    while left and len(chosen) < k:
        if chosen:
            penalty = sim[np.ix_(left, chosen)].max(axis=1)
        else:
            penalty = np.zeros(len(left))
        value = lam * rel[left] - (1 - lam) * penalty
        best = left[int(np.argmax(value))]
        chosen.append(best)
        left.remove(best)
    return chosen


def _mmr_case():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 6))
    group = rng.integers(0, 3, 25)
    vectors = centres[group] + 0.3 * rng.normal(size=(25, 6))
    relevance = rng.uniform(0, 1, 25) + 0.5 * (group == 0)
    return relevance, vectors


def check_ex2(answer):
    if not callable(answer):
        raise NotYet("the answer is a function mmr(relevance, item_vectors, k, lam)")
    relevance, vectors = _mmr_case()
    for lam in (1.0, 0.7, 0.3):
        expected = _reference_mmr(relevance, vectors, 8, lam)
        try:
            got = [int(i) for i in answer(relevance, vectors, 8, lam)]
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed with lam={lam}: {err!r}") from err
        if got != expected:
            if lam == 1.0:
                raise NotYet("with lam = 1 MMR is plain ranking by relevance")
            flipped = _reference_mmr(relevance, vectors, 8, 1 - lam)
            if got == flipped:
                raise NotYet("lam weighs relevance, (1 - lam) the similarity penalty")
            raise NotYet(
                "pick greedily: value = lam * relevance - (1 - lam) * (largest cosine "
                "similarity to an item already chosen); the first pick has no penalty"
            )
    return "MMR picks match the reference for lam = 1, 0.7 and 0.3"


def solution_ex2():
    def mmr(relevance, item_vectors, k, lam):
        rel = np.asarray(relevance, dtype=np.float64)
        x = np.asarray(item_vectors, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        sim = x @ x.T  # cosine similarity between candidates
        chosen, left = [], list(range(len(rel)))
        while left and len(chosen) < k:
            penalty = (
                sim[np.ix_(left, chosen)].max(axis=1) if chosen else np.zeros(len(left))
            )
            best = left[int(np.argmax(lam * rel[left] - (1 - lam) * penalty))]
            chosen.append(best)
            left.remove(best)
        return chosen

    return mmr


def wrong_ex2_mean():
    def mmr(relevance, item_vectors, k, lam):  # mean instead of max similarity
        rel = np.asarray(relevance, dtype=np.float64)
        x = np.asarray(item_vectors, dtype=np.float64)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        sim = x @ x.T
        chosen, left = [], list(range(len(rel)))
        while left and len(chosen) < k:
            penalty = (
                sim[np.ix_(left, chosen)].mean(axis=1)
                if chosen
                else np.zeros(len(left))
            )
            best = left[int(np.argmax(lam * rel[left] - (1 - lam) * penalty))]
            chosen.append(best)
            left.remove(best)
        return chosen

    return mmr


def wrong_ex2_topk():
    def mmr(relevance, item_vectors, k, lam):  # ignores diversity
        return list(np.argsort(-np.asarray(relevance), kind="stable")[:k])

    return mmr


register(
    Exercise(
        id="ch08.ex2",
        title="maximal marginal relevance (MMR) re-ranking",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_mean, wrong_ex2_topk),
    )
)

# ---------------------------------------------------------------- ch08.ex3


def _reference_merge(lists, quotas, n):
    out: list[int] = []
    present: set[int] = set()
    for items, quota in zip(lists, quotas, strict=True):
        taken = 0
        for item in items:
            if taken >= quota or len(out) >= n:
                break
            if int(item) not in present:
                present.add(int(item))
                out.append(int(item))
                taken += 1
    return out


_MERGE_CASES = (
    ([[5, 3, 9, 1], [3, 7, 5, 2, 8], [9, 4, 6]], [2, 3, 2], 10),
    ([[1, 2, 3], [1, 2, 3, 4, 5]], [3, 3], 5),
    ([[1, 2, 3], [4, 5, 6], [7, 8]], [3, 3, 2], 4),
)


def check_ex3(answer):
    if not callable(answer):
        raise NotYet("the answer is a function merge_candidates(lists, quotas, n)")
    for lists, quotas, n in _MERGE_CASES:
        expected = _reference_merge(lists, quotas, n)
        try:
            got = [int(i) for i in answer(lists, quotas, n)]
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed on {lists}: {err!r}") from err
        if got != expected:
            if len(set(got)) < len(got):
                raise NotYet("an item appears twice: skip items already merged")
            if len(got) > n:
                raise NotYet("return at most n items")
            raise NotYet(
                "go through the sources in order; each adds up to its quota of items "
                "not merged yet (duplicates do not use up the quota); stop at n"
            )
    return "dedup, quotas and the cut at n all right"


def solution_ex3():
    def merge_candidates(lists, quotas, n):
        out, present = [], set()
        for items, quota in zip(lists, quotas, strict=True):
            taken = 0
            for item in items:
                if taken >= quota or len(out) >= n:
                    break
                if item not in present:  # a duplicate does not use up the quota
                    present.add(item)
                    out.append(item)
                    taken += 1
        return out

    return merge_candidates


def wrong_ex3_quota_counts_duplicates():
    def merge_candidates(lists, quotas, n):
        out = []
        for items, quota in zip(lists, quotas, strict=True):
            out += [i for i in items[:quota] if i not in out]
        return out[:n]

    return merge_candidates


def wrong_ex3_no_dedup():
    def merge_candidates(lists, quotas, n):
        out = []
        for items, quota in zip(lists, quotas, strict=True):
            out += list(items[:quota])
        return out[:n]

    return merge_candidates


register(
    Exercise(
        id="ch08.ex3",
        title="merge candidate lists with de-duplication and quotas",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(wrong_ex3_quota_counts_duplicates, wrong_ex3_no_dedup),
    )
)

# ---------------------------------------------------------------- ch08.ex4

_EX4 = dict(n_items=1_000_000, dim=64, n_queries=1000, flops_per_second=1e11)


def check_ex4(answer):
    expected = (
        2 * _EX4["n_items"] * _EX4["dim"] * _EX4["n_queries"] / _EX4["flops_per_second"]
    )
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.number):
        raise NotYet("the answer is one number: seconds for the whole batch of queries")
    value = float(answer)
    if abs(value - expected) <= 0.01 * expected:
        return f"{expected:.2f} s, i.e. {expected / _EX4['n_queries'] * 1e3:.2f} ms per query"
    if abs(value - expected / 2) <= 0.01 * expected:
        raise NotYet("a multiply-add is 2 floating-point operations")
    if abs(value - expected * 1e3) <= 10 * expected:
        raise NotYet("the answer is in seconds, not milliseconds")
    if abs(value - expected / _EX4["n_queries"]) <= 0.01 * expected:
        raise NotYet("that is per query: give the time for all 1,000 queries")
    raise NotYet(
        "count the operations of Q @ E.T: (n_queries x dim) times (dim x n_items), "
        "then divide by the machine's floating-point operations per second"
    )


def solution_ex4():
    n, d, q, peak = (
        _EX4[k] for k in ("n_items", "dim", "n_queries", "flops_per_second")
    )
    return 2 * n * d * q / peak  # one multiply and one add per (query, item, dim)


register(
    Exercise(
        id="ch08.ex4",
        title="the compute-bound time of exact top-k by matrix product",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda **_: 0.64,
            lambda **_: 1280.0,
            lambda **_: 0.00128,
            lambda **_: "1.28 s",
        ),
    )
)

# ---------------------------------------------------------------- ch08.ex6


def _reference_psi(train_values, serve_values, bins=10, eps=1e-4):
    a, b = np.asarray(train_values, float), np.asarray(serve_values, float)
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
    q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return float(((q - p) * np.log(q / p)).sum())


def _psi_cases():
    rng = np.random.default_rng(8)
    train = rng.normal(size=4000)
    return {
        "shifted mean": (train, rng.normal(0.5, 1.0, 3000)),
        "same distribution": (train, rng.normal(size=3000)),
        "serving values above every training value": (train, rng.normal(6.0, 0.1, 500)),
        "a one-hot column, 5 % ones at training, 20 % at serving": (
            (rng.random(4000) < 0.05).astype(float),
            (rng.random(3000) < 0.2).astype(float),
        ),
    }


def check_ex6(answer):
    if not callable(answer):
        raise NotYet(
            "the answer is a function psi(train_values, serve_values, bins=10)"
        )
    for case, (a, b) in _psi_cases().items():
        expected = _reference_psi(a, b)
        try:
            value = float(answer(a, b))
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"it failed on the case '{case}': {err!r}") from err
        if not np.isfinite(value):
            raise NotYet(
                f"'{case}' gives {value}: an empty bin makes log(q / p) infinite; "
                "floor both shares at eps = 1e-4"
            )
        if abs(value - expected) > 1e-6 * max(1.0, abs(expected)):
            raise NotYet(
                f"'{case}': got {value:.4f}, expected {expected:.4f}; bin at the deciles "
                "of the training values (np.quantile; equal deciles merge), and sum "
                "(q - p) * ln(q / p) over the bins"
            )
    a, b = _psi_cases()["shifted mean"]
    return f"PSI of a half-standard-deviation shift = {_reference_psi(a, b):.3f}"


def solution_ex6():
    def psi(train_values, serve_values, bins=10, eps=1e-4):
        a = np.asarray(train_values, dtype=float)
        b = np.asarray(serve_values, dtype=float)
        # inner deciles of the training values; equal ones (a point mass) merge
        edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
        p = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
        q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
        p, q = np.maximum(p, eps), np.maximum(q, eps)  # no empty bin: log stays finite
        return float(((q - p) * np.log(q / p)).sum())

    return psi


def wrong_ex6_equal_width():
    def psi(train_values, serve_values, bins=10, eps=1e-4):
        a, b = np.asarray(train_values, float), np.asarray(serve_values, float)
        edges = np.linspace(a.min(), a.max(), bins + 1)[1:-1]
        p = np.bincount(np.searchsorted(edges, a), minlength=bins) / len(a)
        q = np.bincount(np.searchsorted(edges, b), minlength=bins) / len(b)
        p, q = np.maximum(p, eps), np.maximum(q, eps)
        return float(((q - p) * np.log(q / p)).sum())

    return psi


def wrong_ex6_kl_only():
    def psi(train_values, serve_values, bins=10, eps=1e-4):
        a, b = np.asarray(train_values, float), np.asarray(serve_values, float)
        edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
        p = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
        q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
        p, q = np.maximum(p, eps), np.maximum(q, eps)
        return float((q * np.log(q / p)).sum())

    return psi


def wrong_ex6_no_floor():
    def psi(train_values, serve_values, bins=10):
        a, b = np.asarray(train_values, float), np.asarray(serve_values, float)
        edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
        p = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
        q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(((q - p) * np.log(q / p)).sum())

    return psi


register(
    Exercise(
        id="ch08.ex6",
        title="the population stability index of a feature, training vs serving",
        check=check_ex6,
        solution=solution_ex6,
        wrong_answers=(
            wrong_ex6_equal_width,
            wrong_ex6_kl_only,
            wrong_ex6_no_floor,
            lambda **_: 0.1,
        ),
    )
)
