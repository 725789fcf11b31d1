"""Exercises of Chapter 11 -- Trust: cold start, explainability, fairness, privacy, robustness."""

from __future__ import annotations

import numpy as np

from . import Exercise, NotYet, register


def _call(answer, *args):
    try:
        return answer(*args)
    except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
        raise NotYet(f"it failed: {err!r}") from err


# ---------------------------------------------------------------- ch11.ex1


def _reference_kl(p, q, alpha):
    p, q = np.asarray(p, float), np.asarray(q, float)
    q_smooth = (1 - alpha) * q + alpha * p
    keep = p > 0
    return float((p[keep] * np.log(p[keep] / q_smooth[keep])).sum())


_EX1_CASES = [
    ([0.5, 0.5, 0.0], [1.0, 0.0, 0.0], 0.01),
    ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 0.01),
    ([0.7, 0.1, 0.2], [0.1, 0.1, 0.8], 0.05),
    ([0.0, 1.0, 0.0], [0.6, 0.2, 0.2], 0.01),
]


def check_ex1(answer):
    if not callable(answer):
        raise NotYet("the answer is a function calibration_kl(p, q, alpha)")
    for p, q, alpha in _EX1_CASES:
        expected = _reference_kl(p, q, alpha)
        value = _call(answer, np.array(p), np.array(q), alpha)
        try:
            value = float(value)
        except (TypeError, ValueError) as err:
            raise NotYet("return one number per (p, q) pair") from err
        if not np.isfinite(value):
            raise NotYet(
                "the KL is infinite when the list misses a category the user likes: "
                "smooth q with p, q~ = (1 - alpha) q + alpha p"
            )
        if abs(value - expected) > 1e-9:
            reverse = _reference_kl(q, p, alpha)
            if abs(value - reverse) < 1e-9:
                raise NotYet(
                    "KL is not symmetric: it is KL(p || q~), the history first"
                )
            raise NotYet(
                "sum over categories with p > 0 of p * log(p / q~), "
                "with q~ = (1 - alpha) q + alpha p"
            )
    return "a list that mirrors the history scores 0"


def solution_ex1():
    def calibration_kl(p, q, alpha):
        q_smooth = (1 - alpha) * q + alpha * p  # never 0 where p > 0
        keep = p > 0  # 0 * log 0 = 0
        return float((p[keep] * np.log(p[keep] / q_smooth[keep])).sum())

    return calibration_kl


def wrong_ex1_unsmoothed():
    def calibration_kl(p, q, alpha):
        with np.errstate(divide="ignore"):
            keep = p > 0
            return float((p[keep] * np.log(p[keep] / q[keep])).sum())

    return calibration_kl


def wrong_ex1_reversed():
    def calibration_kl(p, q, alpha):
        p_smooth = (1 - alpha) * p + alpha * q
        keep = q > 0
        return float((q[keep] * np.log(q[keep] / p_smooth[keep])).sum())

    return calibration_kl


register(
    Exercise(
        id="ch11.ex1",
        title="Steck's calibration KL between a history and a list",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_unsmoothed, wrong_ex1_reversed, lambda **_: 0.0),
    )
)

# ---------------------------------------------------------------- ch11.ex2


def _ex2_lists():
    rng = np.random.default_rng(11)
    a = np.stack([rng.permutation(30)[:10] for _ in range(40)])
    b = a.copy()
    for row in range(40):  # replace a few items and shuffle the order
        n_new = row % 6
        b[row, :n_new] = 30 + rng.permutation(20)[:n_new]
        b[row] = rng.permutation(b[row])
    return a, b


def _reference_jaccard(a, b):
    inter = np.array([len(set(x) & set(y)) for x, y in zip(a, b, strict=True)])
    return float((inter / (2 * a.shape[1] - inter)).mean())


def check_ex2(answer):
    if not callable(answer):
        raise NotYet("the answer is a function mean_jaccard(top_a, top_b)")
    a, b = _ex2_lists()
    value = float(_call(answer, a, b))
    expected = _reference_jaccard(a, b)
    if abs(value - expected) > 1e-9:
        inter = np.array([len(set(x) & set(y)) for x, y in zip(a, b, strict=True)])
        if abs(value - float((inter / a.shape[1]).mean())) < 1e-9:
            raise NotYet("that is the overlap |A & B| / k; Jaccard divides by |A | B|")
        if abs(value - float((a == b).mean())) < 1e-9:
            raise NotYet("compare the sets of items, not position by position")
        raise NotYet("per user |A & B| / |A | B|, then the mean over users")
    return f"mean Jaccard = {expected:.3f}"


def solution_ex2():
    def mean_jaccard(top_a, top_b):
        values = []
        for a, b in zip(top_a, top_b, strict=True):
            a, b = set(a.tolist()), set(b.tolist())
            values.append(len(a & b) / len(a | b))
        return float(np.mean(values))

    return mean_jaccard


def wrong_ex2_overlap():
    def mean_jaccard(top_a, top_b):
        return float(
            np.mean(
                [
                    len(set(a) & set(b)) / len(a)
                    for a, b in zip(top_a, top_b, strict=True)
                ]
            )
        )

    return mean_jaccard


def wrong_ex2_positional():
    def mean_jaccard(top_a, top_b):
        return float((np.asarray(top_a) == np.asarray(top_b)).mean())

    return mean_jaccard


register(
    Exercise(
        id="ch11.ex2",
        title="stability: the mean Jaccard overlap of two top-k lists",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_overlap, wrong_ex2_positional, lambda **_: 1.0),
    )
)

# ---------------------------------------------------------------- ch11.ex3


def _ex3_losses():
    rng = np.random.default_rng(3)
    members = rng.gamma(2.0, 0.15, 500)  # an overfit model: small training losses
    others = rng.gamma(2.0, 0.35, 500)
    return members, others


def _reference_advantage(members, others):
    t = members.mean()
    return float((members <= t).mean() - (others <= t).mean())


def check_ex3(answer):
    if not callable(answer):
        raise NotYet("the answer is a function advantage(member_losses, other_losses)")
    m, o = _ex3_losses()
    value = float(_call(answer, m, o))
    expected = _reference_advantage(m, o)
    if abs(value - expected) > 1e-9:
        if abs(value - float((m <= m.mean()).mean())) < 1e-9:
            raise NotYet(
                "subtract the false-positive rate: non-members flagged as members"
            )
        t = o.mean()
        if abs(value - float((m <= t).mean() - (o <= t).mean())) < 1e-9:
            raise NotYet(
                "the attacker knows the *training* loss: threshold at the members' mean"
            )
        if abs(value + expected) < 1e-9:
            raise NotYet(
                "guess 'member' when the loss is small (<= threshold), not large"
            )
        raise NotYet(
            "threshold t = mean member loss; TPR = share of members with loss <= t, FPR = same for non-members; TPR - FPR"
        )
    return f"advantage = {expected:.3f}"


def solution_ex3():
    def advantage(member_losses, other_losses):
        t = member_losses.mean()  # the average training loss
        tpr = (member_losses <= t).mean()  # members caught
        fpr = (other_losses <= t).mean()  # non-members wrongly flagged
        return float(tpr - fpr)

    return advantage


def wrong_ex3_tpr_only():
    def advantage(member_losses, other_losses):
        return float((member_losses <= member_losses.mean()).mean())

    return advantage


def wrong_ex3_flipped():
    def advantage(member_losses, other_losses):
        t = member_losses.mean()
        return float((member_losses > t).mean() - (other_losses > t).mean())

    return advantage


register(
    Exercise(
        id="ch11.ex3",
        title="the loss-threshold membership-inference advantage",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(wrong_ex3_tpr_only, wrong_ex3_flipped, lambda **_: 0.0),
    )
)
