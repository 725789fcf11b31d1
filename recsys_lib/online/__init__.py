"""The feedback loop: online learning, bandits and off-policy evaluation.

Introduced in Chapter 10 ("The feedback loop"). Shoppers react to what they
are shown, and those reactions are the next training data. This package
closes the loop on the synthetic shop of Chapter 2, whose hidden truth lets
us measure what real logs never show:

* :mod:`.env` -- :class:`ShopEnv`, ShopSim as a seeded, vectorized
  environment: show slates, get clicks and purchases drawn from the true
  affinity with position bias, with the serving policy's propensities
  logged; the oracle's expected clicks of any slate or policy;
  :func:`logged_impressions` turns the shop's history into labelled
  impressions;
* :mod:`.beliefs` -- what a bandit believes: :class:`BetaBernoulli` (one
  posterior per product) and :class:`LinearGaussian` (LinUCB's per-product
  ridge regression on shopper features), both position-corrected;
* :mod:`.policies` -- :class:`Greedy`, :class:`EpsilonGreedy`,
  :class:`ThompsonSampling`, :class:`UCB` and :class:`UniformRandom`, each
  with the per-slot probabilities off-policy evaluation needs;
* :mod:`.updates` -- :class:`OnlineMF`, matrix factorization on labelled
  impressions, frozen, updated incrementally or retrained every round;
* :mod:`.loop` -- :func:`run_policy` plays a policy for some rounds and
  records regret, clicks and exposure (Gini, coverage) per round;
* :mod:`.ope` -- IPS, SNIPS, the direct method and doubly robust estimates
  of a new policy's value from logged data, with clipping and bootstrap
  intervals.
"""

from __future__ import annotations

from .beliefs import BetaBernoulli, LinearGaussian, as_observations
from .env import (
    Feedback,
    ShopEnv,
    check_propensities,
    check_slates,
    concat_feedback,
    examination_curve,
    logged_impressions,
)
from .loop import RunResult, run_policy
from .ope import (
    ESTIMATORS,
    OPEEstimate,
    direct_method,
    doubly_robust,
    estimate_policy_value,
    importance_weights,
    ips,
    policy_terms,
    snips,
)
from .policies import (
    UCB,
    EpsilonGreedy,
    Greedy,
    Policy,
    Slates,
    ThompsonSampling,
    UniformRandom,
    top_k,
)
from .updates import UPDATE_MODES, OnlineMF

__all__ = [
    "ESTIMATORS",
    "UCB",
    "UPDATE_MODES",
    "BetaBernoulli",
    "EpsilonGreedy",
    "Feedback",
    "Greedy",
    "LinearGaussian",
    "OPEEstimate",
    "OnlineMF",
    "Policy",
    "RunResult",
    "ShopEnv",
    "Slates",
    "ThompsonSampling",
    "UniformRandom",
    "as_observations",
    "check_propensities",
    "check_slates",
    "concat_feedback",
    "direct_method",
    "doubly_robust",
    "estimate_policy_value",
    "examination_curve",
    "importance_weights",
    "ips",
    "logged_impressions",
    "policy_terms",
    "run_policy",
    "snips",
    "top_k",
]
