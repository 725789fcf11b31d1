"""Exercises of Chapter 10 -- The feedback loop."""

from __future__ import annotations

import numpy as np

from . import Exercise, NotYet, register


def _call(answer, *args):
    try:
        return answer(*args)
    except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
        raise NotYet(f"it failed: {err!r}") from err


# ---------------------------------------------------------------- ch10.ex1


def _ips_case(seed: int):
    rng = np.random.default_rng(seed)
    n = 400
    p0 = rng.choice([0.05, 0.2, 0.5], size=n)
    p1 = rng.choice([0.0, 0.1, 0.6, 1.0], size=n)
    r = (rng.random(n) < 0.3).astype(float)
    return r, p1, p0


def check_ex1(answer):
    if not callable(answer):
        raise NotYet("the answer is a function ips_estimate(rewards, p_new, p_log)")
    for seed in (0, 1):
        r, p1, p0 = _ips_case(seed)
        expected = float(np.mean(r * p1 / p0))
        value = float(_call(answer, r, p1, p0))
        if abs(value - expected) < 1e-9:
            continue
        if abs(value - float(np.sum(r * p1 / p0) / np.sum(p1 / p0))) < 1e-9:
            raise NotYet(
                "you divided by the sum of the weights: that is self-normalized "
                "IPS (SNIPS). Plain IPS divides by the number of logged rounds."
            )
        if (
            abs(value - float(np.mean(r * p0 / p1.clip(1e-12)))) < 1e-6
            or abs(value - float(np.mean(r * p1 * p0))) < 1e-9
        ):
            raise NotYet(
                "the weight is p_new / p_log: rounds the logging policy rarely "
                "played but the new policy likes count more"
            )
        raise NotYet(
            "weight each logged reward by p_new / p_log, then average over all "
            "logged rounds (rounds the new policy would never play count as 0)"
        )
    return f"IPS = {float(np.mean(_ips_case(0)[0] * _ips_case(0)[1] / _ips_case(0)[2])):.3f}"


def solution_ex1():
    def ips_estimate(rewards, p_new, p_log):
        w = np.asarray(p_new, dtype=float) / np.asarray(p_log, dtype=float)
        return float(np.mean(w * np.asarray(rewards, dtype=float)))

    return ips_estimate


def wrong_ex1_snips():
    return lambda r, p1, p0: float(np.sum(r * p1 / p0) / np.sum(p1 / p0))


def wrong_ex1_times():
    return lambda r, p1, p0: float(np.mean(r * p1 * p0))


def wrong_ex1_matched_only():
    return lambda r, p1, p0: float(np.mean(r[p1 > 0]))


register(
    Exercise(
        id="ch10.ex1",
        title="inverse propensity scoring from scratch",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_snips, wrong_ex1_times, wrong_ex1_matched_only),
    )
)

# ---------------------------------------------------------------- ch10.ex2


def _eps_case():
    rng = np.random.default_rng(10)
    greedy = np.stack([rng.permutation(20)[:4] for _ in range(30)])
    shown = greedy.copy()
    explore = rng.random(30) < 0.5
    shown[explore] = np.stack([rng.permutation(20)[:4] for _ in range(explore.sum())])
    return shown, greedy


def check_ex2(answer):
    if not callable(answer):
        raise NotYet(
            "the answer is a function "
            "eps_greedy_propensity(shown, greedy, epsilon, n_items)"
        )
    shown, greedy = _eps_case()
    for eps in (0.1, 0.5, 1.0):
        expected = eps / 20 + (1 - eps) * (shown == greedy)
        value = np.asarray(_call(answer, shown, greedy, eps, 20), dtype=float)
        if value.shape != shown.shape:
            raise NotYet(f"return one propensity per slot, shape {shown.shape}")
        if np.allclose(value, expected, atol=1e-12):
            continue
        if np.allclose(value, np.where(shown == greedy, 1 - eps, eps / 20)):
            raise NotYet(
                "the greedy item can also come out of the random slate: at its "
                "slot it has (1 - epsilon) + epsilon / n_items"
            )
        if np.allclose(value, eps + (1 - eps) * (shown == greedy)):
            raise NotYet(
                "a random slate puts a given item in a given slot with "
                "probability 1 / n_items, not 1"
            )
        raise NotYet(
            "with probability 1 - epsilon the slot holds the greedy item; with "
            "probability epsilon a uniformly random one (each item 1 / n_items)"
        )
    return "propensities match for epsilon = 0.1, 0.5 and 1"


def solution_ex2():
    def eps_greedy_propensity(shown, greedy, epsilon, n_items):
        same = np.asarray(shown) == np.asarray(greedy)  # (B, K)
        return epsilon / n_items + (1.0 - epsilon) * same

    return eps_greedy_propensity


def wrong_ex2_no_overlap():
    return lambda s, g, e, n: np.where(np.asarray(s) == g, 1 - e, e / n)


def wrong_ex2_no_division():
    return lambda s, g, e, n: e + (1 - e) * (np.asarray(s) == g)


def wrong_ex2_uniform():
    return lambda s, g, e, n: np.full(np.shape(s), 1.0 / n)


register(
    Exercise(
        id="ch10.ex2",
        title="the propensities an epsilon-greedy policy must log",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_no_overlap, wrong_ex2_no_division, wrong_ex2_uniform),
    )
)

# ---------------------------------------------------------------- ch10.ex3


def _regret_case():
    rng = np.random.default_rng(3)
    attraction = rng.uniform(0.0, 0.6, (8, 15))
    examination = 1.0 / (1.0 + np.arange(4)) ** 0.8
    slates = np.stack([rng.permutation(15)[:4] for _ in range(8)])
    return attraction, examination, slates


def _reference_regret(attraction, examination, slates):
    k = slates.shape[1]
    best = -np.sort(-attraction, axis=1)[:, :k] @ examination
    shown = np.take_along_axis(attraction, slates, axis=1) @ examination
    return best - shown


def check_ex3(answer):
    if not callable(answer):
        raise NotYet("the answer is a function regret(attraction, examination, slates)")
    att, theta, slates = _regret_case()
    expected = _reference_regret(att, theta, slates)
    value = np.asarray(_call(answer, att, theta, slates), dtype=float)
    if value.shape != expected.shape:
        raise NotYet(f"return one regret per user, shape {expected.shape}")
    if np.allclose(value, expected, atol=1e-12):
        return f"mean regret {expected.mean():.3f} expected clicks per slate"
    flat = theta.copy()
    flat[:] = 1.0
    if np.allclose(value, _reference_regret(att, flat, slates)):
        raise NotYet(
            "weigh each slot by its examination probability: a good item low "
            "on the page is seen less often"
        )
    rev = -np.sort(att, axis=1)[:, ::-1][:, :4] @ theta
    if np.allclose(value, -rev - np.take_along_axis(att, slates, 1) @ theta):
        raise NotYet("the oracle puts the most attractive item in the top slot")
    if (value < -1e-12).any():
        raise NotYet("regret is never negative: nothing beats the oracle's slate")
    raise NotYet(
        "regret = oracle's expected clicks (the k most attractive items, best "
        "first, each times its slot's examination) - the slate's expected clicks"
    )


def solution_ex3():
    def regret(attraction, examination, slates):
        k = slates.shape[1]
        best = -np.sort(-attraction, axis=1)[:, :k]  # best first
        oracle = best @ examination
        shown = np.take_along_axis(attraction, slates, axis=1) @ examination
        return oracle - shown

    return regret


def wrong_ex3_no_examination():
    def regret(att, theta, slates):
        k = slates.shape[1]
        return -np.sort(-att, 1)[:, :k].sum(1) - np.take_along_axis(att, slates, 1).sum(
            1
        )

    return regret


def wrong_ex3_worst_first():
    def regret(att, theta, slates):
        k = slates.shape[1]
        oracle = np.sort(att, 1)[:, ::-1][:, :k][:, ::-1] @ theta
        return oracle - np.take_along_axis(att, slates, 1) @ theta

    return regret


register(
    Exercise(
        id="ch10.ex3",
        title="regret of a slate against the oracle",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(wrong_ex3_no_examination, wrong_ex3_worst_first),
    )
)
