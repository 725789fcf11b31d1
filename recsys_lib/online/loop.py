"""The feedback loop: serve, observe, learn, round after round.

Introduced in Chapter 10 ("The feedback loop"). :func:`run_policy` plays a
policy against a :class:`~recsys_lib.online.ShopEnv` for some rounds and
records, per round, what the oracle knows and the shop does not: the true
expected clicks of the slates shown, those of the best slates, their
difference (the *regret*), and how the exposure was spread over the catalog
(:func:`recsys_lib.eval.gini_index`, :func:`recsys_lib.eval.catalog_coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..checks import check_int
from ..eval import catalog_coverage, gini_index
from ..utils import progress
from .env import Feedback, ShopEnv
from .policies import Policy

__all__ = ["RunResult", "run_policy"]


@dataclass
class RunResult:
    """What :func:`run_policy` records, one entry per round. Introduced in Chapter 10.

    Attributes:
        policy: the policy's label.
        expected_clicks: true expected clicks per slate (mean over visitors).
        oracle_clicks: the same for the oracle's slates.
        clicks: observed clicks per slate.
        gini: Gini index of the round's exposure over the catalog.
        coverage: share of the catalog shown at least once in the round.
        log: the :class:`~recsys_lib.online.Feedback` of every round (with
            ``keep_log=True``), else empty.
    """

    policy: str
    expected_clicks: np.ndarray
    oracle_clicks: np.ndarray
    clicks: np.ndarray
    gini: np.ndarray
    coverage: np.ndarray
    log: list[Feedback] = field(default_factory=list)

    @property
    def regret(self) -> np.ndarray:
        """Expected clicks lost per slate against the oracle, per round."""
        return self.oracle_clicks - self.expected_clicks

    @property
    def cumulative_regret(self) -> np.ndarray:
        """Running sum of :attr:`regret` (clicks lost per visitor so far)."""
        return np.cumsum(self.regret)

    def to_frame(self) -> pd.DataFrame:
        """One row per round."""
        return pd.DataFrame(
            {
                "round": np.arange(self.expected_clicks.size),
                "expected_clicks": self.expected_clicks,
                "oracle_clicks": self.oracle_clicks,
                "regret": self.regret,
                "clicks": self.clicks,
                "gini": self.gini,
                "coverage": self.coverage,
            }
        ).assign(policy=self.policy)


def run_policy(
    env: ShopEnv,
    policy: Policy,
    rounds: int,
    *,
    reset: bool = True,
    keep_log: bool = False,
    show_progress: bool = False,
    label: str | None = None,
) -> RunResult:
    """Play ``policy`` for ``rounds`` rounds: act, step, update, record.

    Args:
        env: the environment (reset to its seed first unless ``reset=False``).
        policy: anything with ``act(users) -> Slates`` and ``update(feedback)``.
        rounds: number of rounds (>= 1).
        reset: start the environment at round 0 with its seed, so that every
            policy meets the same visitors and the same random numbers.
        keep_log: keep every round's feedback in ``RunResult.log``.
        show_progress: a progress bar over rounds.
        label: the policy's label in the result (default: its class name).

    Returns:
        A :class:`RunResult`.
    """
    if not isinstance(env, ShopEnv):
        raise TypeError(f"env must be a ShopEnv, got {type(env).__name__}")
    if not (hasattr(policy, "act") and hasattr(policy, "update")):
        raise TypeError(
            f"policy must have act(users) and update(feedback), got {type(policy).__name__}"
        )
    rounds = check_int(rounds, "rounds", low=1)
    if reset:
        env.reset()
    label = label or type(policy).__name__
    out = {k: np.empty(rounds) for k in ("exp", "oracle", "clicks", "gini", "cov")}
    log = []
    steps = range(rounds)
    if show_progress:
        steps = progress(steps, desc=label, total=rounds)
    for t in steps:
        users = env.visitors()
        slates = policy.act(users)
        fb = env.step(users, slates.items, slates.propensities)
        out["exp"][t] = env.expected_clicks(users, fb.items).mean()
        out["oracle"][t] = env.oracle_clicks(users).mean()
        out["clicks"][t] = fb.clicks.sum(axis=1).mean()
        out["gini"][t] = gini_index(fb.items, env.n_items)
        out["cov"][t] = catalog_coverage(fb.items, env.n_items)
        policy.update(fb)
        if keep_log:
            log.append(fb)
    return RunResult(
        label, out["exp"], out["oracle"], out["clicks"], out["gini"], out["cov"], log
    )
