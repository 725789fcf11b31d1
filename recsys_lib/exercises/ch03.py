"""Exercises of Chapter 3 -- Evaluation and honest baselines."""

from __future__ import annotations

import math

import numpy as np

from ..eval import bootstrap_ci, ranking_metrics
from . import Exercise, NotYet, register


def _as_float(answer, what: str) -> float:
    if isinstance(answer, bool):
        raise NotYet(f"the answer is {what}")
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet(f"the answer is {what}") from err
    if not math.isfinite(value):
        raise NotYet(f"the answer must be a finite number ({what})")
    return value


# ---------------------------------------------------------------- ch03.ex1
EX1_RANKED = [7, 3, 9, 1, 5]
EX1_RELEVANT = {1, 3, 5, 8}
EX1_K = 3


def _dcg(gains) -> float:
    return float(sum(g / math.log2(j + 2) for j, g in enumerate(gains)))


def check_ex1(answer):
    value = _as_float(answer, "one number, the NDCG@3 of the list")
    right = solution_ex1()
    hits = [int(i in EX1_RELEVANT) for i in EX1_RANKED]
    mistakes = {
        "the ideal DCG puts min(|R|, k) = 3 hits on top, not |R| = 4: a list of "
        "length 3 cannot hold 4 hits": _dcg(hits[:EX1_K]) / _dcg([1, 1, 1, 1]),
        "only the first k = 3 positions count; items 1 and 5 sit below the cut-off": (
            _dcg(hits) / _dcg([1, 1, 1])
        ),
        "that is the DCG; divide it by the ideal DCG to normalise": _dcg(hits[:EX1_K]),
        "that is precision@3; NDCG weighs each hit by 1 / log2(rank + 1)": 1 / 3,
    }
    if abs(value - right) < 5e-4:
        return f"NDCG@3 = {right:.4f}"
    for hint, wrong in mistakes.items():
        if abs(value - wrong) < 5e-4:
            raise NotYet(hint)
    raise NotYet(
        "DCG = sum over the first 3 positions of hit / log2(rank + 1); the one hit "
        "is item 3 at rank 2. Divide by the DCG of 3 hits at ranks 1, 2, 3."
    )


def solution_ex1():
    import math

    ranked, relevant, k = [7, 3, 9, 1, 5], {1, 3, 5, 8}, 3
    dcg = sum(
        1 / math.log2(r + 1) for r, i in enumerate(ranked[:k], 1) if i in relevant
    )
    idcg = sum(1 / math.log2(r + 1) for r in range(1, min(len(relevant), k) + 1))
    return dcg / idcg


register(
    Exercise(
        id="ch03.ex1",
        title="NDCG@3 by hand",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(
            lambda: (1 / math.log2(3)) / sum(1 / math.log2(r + 1) for r in range(1, 5)),
            lambda: (
                (1 / math.log2(3) + 1 / math.log2(5) + 1 / math.log2(6))
                / (1 + 1 / math.log2(3) + 0.5)
            ),
            lambda: 1 / math.log2(3),
            lambda: 0.5,
            lambda: "high",
        ),
    )
)


# ---------------------------------------------------------------- ch03.ex2
def _ex2_cases():
    rng = np.random.default_rng(3)
    n_users, n_items = 60, 40
    top = np.stack([rng.permutation(n_items)[:12] for _ in range(n_users)])
    relevant = []
    for u in range(n_users):
        size = int(rng.integers(1, 16))  # some users have more relevant items than k
        rel = set(rng.choice(n_items, size=size, replace=False).tolist())
        rel.add(int(top[u, rng.integers(0, 12)]))  # make hits likely
        relevant.append(rel)
    return top, relevant


def check_ex2(recall_at_k):
    if not callable(recall_at_k):
        raise NotYet("the answer is a function recall_at_k(top_items, relevant, k)")
    top, relevant = _ex2_cases()
    n_rel = np.array([len(r) for r in relevant], dtype=float)
    for k in (5, 10):
        try:
            value = _as_float(
                recall_at_k(top.copy(), [set(r) for r in relevant], k),
                "one number: the mean recall@k over users",
            )
        except NotYet:
            raise
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(
                f"it failed on a (60, 12) ranking with k={k}: {err!r}"
            ) from err
        expected = ranking_metrics(top, relevant, k)[f"recall@{k}"]
        if abs(value - expected) < 1e-9:
            continue
        hits_k = np.array(
            [len(set(row[:k]) & r) for row, r in zip(top, relevant, strict=True)]
        )
        hits_all = np.array(
            [len(set(row) & r) for row, r in zip(top, relevant, strict=True)]
        )
        if abs(value - (hits_k / k).mean()) < 1e-9:
            raise NotYet("dividing by k gives precision@k; recall divides by |R|")
        if abs(value - (hits_k / np.minimum(n_rel, k)).mean()) < 1e-9:
            raise NotYet(
                "recall divides by |R| itself, not min(|R|, k): with more relevant "
                "items than places, recall@k cannot reach 1"
            )
        if abs(value - (hits_all / n_rel).mean()) < 1e-9:
            raise NotYet("count hits in the first k columns only (top_items[:, :k])")
        raise NotYet(
            f"for k={k} expected {expected:.4f}, got {value:.4f}: per user, "
            "|top-k ∩ R| / |R|, then the mean over users"
        )
    return "recall@k = |top-k ∩ R| / |R|, averaged over users"


def solution_ex2():
    def recall_at_k(top_items, relevant, k):
        per_user = [
            len(set(row[:k]) & set(rel)) / len(rel)
            for row, rel in zip(top_items, relevant, strict=True)
        ]
        return float(np.mean(per_user))

    return recall_at_k


def _wrong_ex2(denominator, cut=True):
    def recall_at_k(top_items, relevant, k):
        vals = []
        for row, rel in zip(top_items, relevant, strict=True):
            hits = len(set(row[:k] if cut else row) & set(rel))
            vals.append(hits / denominator(len(rel), k))
        return float(np.mean(vals))

    return recall_at_k


register(
    Exercise(
        id="ch03.ex2",
        title="implement recall@k",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(
            lambda: _wrong_ex2(lambda n, k: k),
            lambda: _wrong_ex2(lambda n, k: min(n, k)),
            lambda: _wrong_ex2(lambda n, k: n, cut=False),
            lambda: 0.3,
        ),
    )
)


# ---------------------------------------------------------------- ch03.ex3
def _ex3_samples():
    rng = np.random.default_rng(7)
    # Per-user NDCG-like values: mostly zeros, some hits (skewed, like real ones).
    a = np.where(rng.random(900) < 0.1, 1 / np.log2(rng.integers(2, 12, 900)), 0.0)
    b = rng.beta(2, 5, size=400)
    return a, b


def check_ex3(bootstrap_interval):
    if not callable(bootstrap_interval):
        raise NotYet(
            "the answer is a function bootstrap_interval(values, n_boot, seed) -> (low, high)"
        )
    for values in _ex3_samples():
        try:
            out = bootstrap_interval(values.copy(), n_boot=5000, seed=1)
            low, high = (float(x) for x in out)
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(
                f"call it as bootstrap_interval(values, n_boot=5000, seed=1); it must "
                f"return two numbers (low, high). It raised {err!r}"
            ) from err
        ref = bootstrap_ci(values, n_boot=20_000, seed=123)
        half = (ref.high - ref.low) / 2
        if not (low <= values.mean() <= high) or high - low <= 1e-12:
            raise NotYet(
                "the interval must contain the mean and have a width: resample the "
                "users WITH replacement (rng.integers(0, n, size=(n_boot, n)))"
            )
        if high - low > 5 * (ref.high - ref.low):
            raise NotYet(
                "far too wide: that is the spread of the users, not of their mean. "
                "Take the mean of each resample, then quantiles of those means"
            )
        if abs(low - ref.low) > 0.1 * half or abs(high - ref.high) > 0.1 * half:
            raise NotYet(
                f"expected about ({ref.low:.4f}, {ref.high:.4f}), got ({low:.4f}, {high:.4f}); "
                "a 95% interval is the 2.5% and 97.5% quantiles of the resampled means"
            )
    return "a percentile bootstrap interval over users"


def solution_ex3():
    def bootstrap_interval(values, n_boot=2000, seed=0):
        rng = np.random.default_rng(seed)
        values = np.asarray(values, dtype=float)
        idx = rng.integers(0, len(values), size=(n_boot, len(values)))  # resample users
        means = values[idx].mean(axis=1)
        low, high = np.quantile(means, [0.025, 0.975])
        return float(low), float(high)

    return bootstrap_interval


def _wrong_ex3_std():
    def bootstrap_interval(values, n_boot=2000, seed=0):
        return values.mean() - 1.96 * values.std(), values.mean() + 1.96 * values.std()

    return bootstrap_interval


def _wrong_ex3_no_replacement():
    def bootstrap_interval(values, n_boot=2000, seed=0):
        rng = np.random.default_rng(seed)
        means = [rng.permutation(values).mean() for _ in range(n_boot)]
        return tuple(np.quantile(means, [0.025, 0.975]))

    return bootstrap_interval


def _wrong_ex3_90():
    def bootstrap_interval(values, n_boot=2000, seed=0):
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(
            axis=1
        )
        return tuple(np.quantile(means, [0.05, 0.95]))

    return bootstrap_interval


register(
    Exercise(
        id="ch03.ex3",
        title="a bootstrap confidence interval",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            _wrong_ex3_std,
            _wrong_ex3_no_replacement,
            _wrong_ex3_90,
            lambda: 0.05,
        ),
    )
)


# ---------------------------------------------------------------- ch03.ex4
def check_ex4(answer):
    try:
        sampled, full = (float(x) for x in answer)
    except (TypeError, ValueError) as err:
        raise NotYet("give a pair (hr_sampled, hr_full) of two numbers") from err
    right_s, right_f = solution_ex4()
    if abs(sampled - right_f) < 1e-6 and abs(full - right_s) < 1e-6:
        raise NotYet(
            "the two numbers are swapped: the sampled protocol is the easy one"
        )
    if abs(sampled - 10 / 100) < 1e-6:
        raise NotYet(
            "the test item is ranked among 100 negatives PLUS itself: 101 candidates"
        )
    if abs(sampled - right_s) > 1e-6:
        raise NotYet(
            "a random scorer puts the test item at a uniformly random rank among the "
            "candidates; HR@10 is the chance that this rank is <= 10"
        )
    if abs(full - right_f) > 1e-6:
        raise NotYet("in full ranking the candidates are all 1,400 unseen items")
    ratio = right_s / right_f
    return f"the sampled protocol hands even a random model a {ratio:.0f}x higher HR@10"


def solution_ex4():
    hr_sampled = 10 / (100 + 1)  # 100 sampled negatives + the test item
    hr_full = 10 / 1400  # every unseen item is a candidate
    return hr_sampled, hr_full


register(
    Exercise(
        id="ch03.ex4",
        title="HR@10 of a random model under two protocols",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda: (0.1, 10 / 1400),
            lambda: (10 / 1400, 10 / 101),
            lambda: (1 / 101, 1 / 1400),
            lambda: 0.099,
        ),
    )
)
