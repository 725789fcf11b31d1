"""Exercises of Chapter 13 -- Smart customer service."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch13.ex1


def _tricky_scores():
    """Score rows with ties, including an all-zero row (a query with no known word)."""
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 4, size=(40, 6)).astype(float)
    scores[0] = 0.0
    true = rng.integers(0, 6, size=40)
    return scores, true


def check_ex1(acc_mrr):
    if not callable(acc_mrr):
        raise NotYet(
            "the answer is a function acc_mrr(scores, true_idx) -> (accuracy@1, MRR)"
        )
    scores, true = _tricky_scores()
    try:
        got = tuple(float(v) for v in acc_mrr(scores, true))
    except Exception as err:  # noqa: BLE001 - any failure on good input is a wrong answer
        raise NotYet(f"it failed on a (40, 6) score matrix: {err!r}") from err
    if len(got) != 2:
        raise NotYet("return two numbers: (accuracy@1, MRR)")
    expected = solution_ex1()(scores, true)
    optimistic = _optimistic(scores, true)
    if np.allclose(got, optimistic) and not np.allclose(got, expected):
        raise NotYet(
            "ties are counted in the true intent's favour: a matcher that scores every "
            "intent 0 would look perfect. Count every intent scoring >= the true one"
        )
    if not np.allclose(got, expected):
        raise NotYet(
            "rank = number of intents whose score is >= the true intent's score (1 = best); "
            "accuracy@1 = share of rank 1, MRR = mean of 1 / rank"
        )
    return (
        f"accuracy@1 = {expected[0]:.3f}, MRR = {expected[1]:.3f} on the check's scores"
    )


def _optimistic(scores, true):
    t = scores[np.arange(len(true)), true]
    ranks = 1 + (scores > t[:, None]).sum(axis=1)
    return float((ranks == 1).mean()), float((1 / ranks).mean())


def solution_ex1():
    def acc_mrr(scores, true_idx):
        scores = np.asarray(scores)
        true_score = scores[np.arange(len(true_idx)), true_idx]
        ranks = (scores >= true_score[:, None]).sum(axis=1)  # ties count against us
        return float((ranks == 1).mean()), float((1.0 / ranks).mean())

    return acc_mrr


def wrong_ex1_optimistic():
    return _optimistic


def wrong_ex1_argmax():
    def acc_mrr(scores, true_idx):
        ranks = 1 + (
            np.asarray(scores)
            > np.asarray(scores)[np.arange(len(true_idx)), true_idx][:, None]
        ).sum(1)
        return float((np.argmax(scores, axis=1) == true_idx).mean()), float(
            (1 / ranks).mean()
        )

    return acc_mrr


register(
    Exercise(
        id="ch13.ex1",
        title="accuracy@1 and MRR with honest ties",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_optimistic, wrong_ex1_argmax, lambda: (0.5, 0.6)),
    )
)

# ---------------------------------------------------------------- ch13.ex2


def _reference_info_nce(za, zp, temperature):
    logits = za @ zp.T / temperature
    target = torch.arange(za.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def check_ex2(info_nce):
    if not callable(info_nce):
        raise NotYet(
            "the answer is a function info_nce(za, zp, temperature) -> scalar tensor"
        )
    g = torch.Generator().manual_seed(3)
    za = F.normalize(torch.randn(8, 16, generator=g), dim=1)
    zp = F.normalize(za + 0.5 * torch.randn(8, 16, generator=g), dim=1)
    zp_asym = zp.clone()
    zp_asym[0] = za[1]  # makes the two directions differ clearly
    for a, p, t in [(za, zp, 0.05), (za, zp_asym, 0.1), (za, zp, 1.0)]:
        try:
            value = info_nce(a, p, t)
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed on two (8, 16) tensors: {err!r}") from err
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise NotYet("return a scalar tensor (so that .backward() works)")
        expected = _reference_info_nce(a, p, t)
        one_way = F.cross_entropy(a @ p.T / t, torch.arange(8))
        if torch.allclose(value, one_way, atol=1e-5) and not torch.allclose(
            value, expected, atol=1e-5
        ):
            raise NotYet(
                "that is only anchors -> positives; average it with positives -> anchors (the transposed logits)"
            )
        if not torch.allclose(value, expected, atol=1e-5):
            raise NotYet(
                "logits = za @ zp.T / temperature; the diagonal holds the positives; "
                "average the cross-entropy of the rows and of the columns"
            )
    return "every other pair of the batch served as a negative"


def solution_ex2():
    def info_nce(za, zp, temperature):
        logits = za @ zp.T / temperature  # (B, B); row i's positive is column i
        target = torch.arange(za.shape[0])
        return 0.5 * (
            F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
        )

    return info_nce


def wrong_ex2_one_way():
    return lambda za, zp, t: F.cross_entropy(za @ zp.T / t, torch.arange(za.shape[0]))


def wrong_ex2_no_temperature():
    return lambda za, zp, t: _reference_info_nce(za, zp, 1.0)


def wrong_ex2_mse():
    return lambda za, zp, t: ((za - zp) ** 2).sum(1).mean()


register(
    Exercise(
        id="ch13.ex2",
        title="the in-batch-negatives (InfoNCE) loss",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_one_way, wrong_ex2_no_temperature, wrong_ex2_mse),
    )
)

# ---------------------------------------------------------------- ch13.ex3


def _lowest_threshold(conf, ok, answered_counts_as, target=0.9):
    order = np.argsort(-conf, kind="stable")
    c = conf[order]
    hits = np.cumsum(ok[order])
    denom = np.cumsum(answered_counts_as[order])
    last = np.r_[c[1:] != c[:-1], True]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = hits / denom
    good = last & (prec >= target) & (denom > 0)
    return float(c[good].min()) if good.any() else float(np.nextafter(c.max(), np.inf))


def check_ex3(answer, conf, correct, in_scope):
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("the answer is one number, the threshold") from err
    conf, correct, in_scope = (np.asarray(a) for a in (conf, correct, in_scope))
    expected = solution_ex3(conf, correct, in_scope)
    ignoring_oos = _lowest_threshold(conf, correct, in_scope)
    if abs(value - ignoring_oos) < 1e-9 and abs(ignoring_oos - expected) > 1e-9:
        raise NotYet(
            "you measured precision on in-scope questions only; an out-of-scope question that gets "
            "an answer is a wrong answer too"
        )
    if abs(value - float(conf.max())) < 1e-9 and abs(expected - value) > 1e-9:
        raise NotYet(
            "that answers only the single most confident question; find the LOWEST threshold that works"
        )
    if abs(value - expected) > 1e-9:
        raise NotYet(
            "sort by confidence, compute the precision of answering everything at or above each "
            "value, and keep the lowest value whose precision is >= 0.9"
        )
    return f"threshold {expected:.4f}"


def solution_ex3(conf, correct, in_scope):
    conf = np.asarray(conf, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    best = np.inf
    for t in np.unique(conf):
        answered = conf >= t
        # answered out-of-scope questions are never correct, so they lower the precision
        if correct[answered].mean() >= 0.9:
            best = min(best, t)
    return float(best) if np.isfinite(best) else float(np.nextafter(conf.max(), np.inf))


def context_ex3():
    rng = np.random.default_rng(5)
    n_in, n_out = 120, 60
    in_scope = np.r_[np.ones(n_in, bool), np.zeros(n_out, bool)]
    conf = np.r_[rng.uniform(0.3, 0.9, n_in), rng.uniform(0.1, 0.6, n_out)].round(4)
    correct = in_scope & (rng.random(n_in + n_out) < 0.3 + conf)
    return {"conf": conf, "correct": correct, "in_scope": in_scope}


register(
    Exercise(
        id="ch13.ex3",
        title="the hand-off threshold for 90 % precision",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda conf, correct, in_scope: _lowest_threshold(
                np.asarray(conf), np.asarray(correct), np.asarray(in_scope)
            ),
            lambda conf, correct, in_scope: float(np.max(conf)),
            lambda conf, correct, in_scope: float(np.median(conf)),
        ),
        example_context=context_ex3,
    )
)

# ---------------------------------------------------------------- ch13.ex4

_ORDER_ID = re.compile(r"SO-\d{6}")


def _cases(orders_table):
    users = sorted(orders_table["user_id"].unique().tolist())
    ids = orders_table["order_id"].tolist()
    cases = []
    for k, u in enumerate(users[:40]):
        cases.append((u, "where is my order?"))
        cases.append(
            (u, f"where is {ids[(7 * k) % len(ids)]}?")
        )  # often someone else's order
        own = orders_table.loc[orders_table["user_id"] == u, "order_id"].iloc[0]
        cases.append((u, f"what about {own}"))
    cases.append((max(users) + 1, "where is my order?"))  # a user without orders
    cases.append((users[0], "where is SO-999999?"))  # an order nobody has
    return cases


def check_ex4(order_reply, orders_table):
    if not callable(order_reply):
        raise NotYet(
            "the answer is a function order_reply(orders_table, user_id, question)"
        )
    reference = solution_ex4()
    owner = dict(zip(orders_table["order_id"], orders_table["user_id"], strict=True))
    for user, question in _cases(orders_table):
        try:
            got = order_reply(orders_table, user, question)
        except Exception as err:  # noqa: BLE001
            raise NotYet(
                f"it failed for user {user} and {question!r}: {err!r}"
            ) from err
        if got is not None and owner.get(got) != user:
            raise NotYet(
                f"user {user} asked {question!r} and got order {got}, which is not theirs: a data leak. "
                "Check who owns an order before talking about it"
            )
        want = reference(orders_table, user, question)
        if got != want:
            raise NotYet(
                f"user {user} asked {question!r}: expected {want!r}, got {got!r}. Without an order id "
                "in the question, use the user's latest order (None if there is none)"
            )
    return "only the user's own orders ever come back"


def solution_ex4(orders_table=None):
    def order_reply(orders_table, user_id, question):
        mine = orders_table[orders_table["user_id"] == user_id]  # filter FIRST
        asked = _ORDER_ID.findall(question)
        if asked:
            return asked[0] if asked[0] in set(mine["order_id"]) else None
        if mine.empty:
            return None
        return mine.sort_values(["placed", "order_id"]).iloc[-1]["order_id"]

    return order_reply


def wrong_ex4_trusts_the_question():
    def order_reply(orders_table, user_id, question):
        asked = _ORDER_ID.findall(question)
        if asked:
            return asked[0]  # whoever owns it
        mine = orders_table[orders_table["user_id"] == user_id]
        return (
            None
            if mine.empty
            else mine.sort_values(["placed", "order_id"]).iloc[-1]["order_id"]
        )

    return order_reply


def wrong_ex4_global_latest():
    def order_reply(orders_table, user_id, question):
        return orders_table.sort_values(["placed", "order_id"]).iloc[-1]["order_id"]

    return order_reply


def context_ex4():
    rng = np.random.default_rng(11)
    n = 60
    return {
        "orders_table": pd.DataFrame(
            {
                "order_id": [f"SO-{k:06d}" for k in range(0, 3 * n, 3)],
                "user_id": rng.integers(0, 15, n),
                "placed": pd.Timestamp("2024-01-01")
                + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
            }
        )
    }


register(
    Exercise(
        id="ch13.ex4",
        title="a leak-proof order lookup",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda orders_table: wrong_ex4_trusts_the_question(),
            lambda orders_table: wrong_ex4_global_latest(),
            lambda orders_table: "SO-000000",
        ),
        example_context=context_ex4,
    )
)
