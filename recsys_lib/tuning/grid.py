"""Grid search with the same budget and protocol for every model.

Introduced in Chapter 3 ("Measuring a recommender"). Comparing a tuned new
model against untuned baselines is the most common flaw in published
comparisons; :func:`tune` gives every model the same treatment. It works for
any :class:`~recsys_lib.models.base.Recommender`: the baselines, BPR-MF, and
(Chapter 6) a PyTorch model wrapped in
:class:`~recsys_lib.models.NeuralRecommender`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..eval.metrics import METRIC_NAMES
from ..eval.protocols import PROTOCOL_FULL, evaluate_full
from ..models.base import Recommender, check_interactions

__all__ = ["TuneResult", "tune"]


class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        best_params: the winning hyperparameters.
        best_value: their validation value of ``metric``.
        metric: the metric that was maximized, e.g. ``"ndcg@10"``.
        table: DataFrame with one row per configuration (its parameters,
            every metric at ``k``, fit and evaluation seconds), best first.
        best_model: the winning model, fitted on ``train``.
        protocol: how the validation numbers were made.
    """

    def __init__(
        self, best_params, best_value, metric, table, best_model, protocol
    ) -> None:
        self.best_params = best_params
        self.best_value = best_value
        self.metric = metric
        self.table = table
        self.best_model = best_model
        self.protocol = protocol

    def __repr__(self) -> str:
        return (
            f"TuneResult(best_params={self.best_params}, {self.metric}={self.best_value:.4f}, "
            f"configs={len(self.table)}, protocol={self.protocol!r})"
        )


def _grid(param_grid: Mapping[str, list], budget: int | None, seed: int) -> list[dict]:
    """The configurations of the grid, or a seeded draw of ``budget`` of them."""
    if not isinstance(param_grid, Mapping):
        raise TypeError(
            f"param_grid must be a dict of lists, got {type(param_grid).__name__}"
        )
    for name, values in param_grid.items():
        if (
            isinstance(values, str)
            or not isinstance(values, list | tuple)
            or not values
        ):
            raise ValueError(
                f"param_grid[{name!r}] must be a non-empty list, got {values!r}"
            )
    names = list(param_grid)
    configs = [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*param_grid.values())
    ]
    if budget is not None:
        budget = check_int(budget, "budget", low=1)
        if budget < len(configs):
            pick = np.sort(
                np.random.default_rng(seed).choice(len(configs), budget, replace=False)
            )
            configs = [configs[i] for i in pick]
    return configs


def tune(
    model_factory: Callable[..., Recommender],
    param_grid: Mapping[str, list],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_users: int,
    n_items: int,
    k: int = 10,
    metric: str = "ndcg@10",
    budget: int | None = None,
    seed: int = 0,
    tie_tolerance: float = 0.0,
    fit_with_valid: bool = False,
) -> TuneResult:
    """Grid search with the same budget and protocol for every model.

    Introduced in Chapter 3. Each configuration is fitted on ``train`` and
    scored by full ranking (train items masked) on ``valid``.

    Args:
        model_factory: called as ``model_factory(**params)`` and returning an
            unfitted recommender (a class such as ``EASE`` works, and so does
            ``functools.partial(NeuralRecommender, build)``).
        param_grid: ``{name: [values, ...]}``; the grid is the product of
            the lists.
        train: training interactions (DataFrame with ``user_id``/``item_id``).
        valid: validation interactions, disjoint from ``train``.
        n_users, n_items: id ranges.
        k: cut-off of the validation metrics.
        metric: the metric to maximize; must be one of the metrics at ``k``.
        budget: evaluate at most this many configurations, drawn at random
            (seeded) from the grid when it is larger; ``None`` = whole grid.
            Give every model the same budget for a fair comparison.
        seed: seed of that draw.
        tie_tolerance: configurations whose validation value is within this
            much of the best count as tied, and the *first* of them in grid
            order wins. Two configurations that differ in the last digits
            (which another CPU or thread count can change) then cannot swap
            places, so the chosen model is the same on every machine. List the
            simplest or most regularized value first in each grid list. 0
            picks the best value (the first on an exact tie).
        fit_with_valid: call ``model.fit(train, n_users, n_items,
            valid=valid)``, for models that early-stop on the validation
            interactions (``BPRMF``, ``NeuralRecommender`` with ``patience``);
            the configurations are compared on ``valid`` either way.

    Returns:
        A :class:`TuneResult`.

    Raises:
        TypeError: for a grid that is not a dict, or a ``tie_tolerance``
            that is not a number.
        ValueError: for an empty grid, a grid value that is not a list, an
            unknown metric, ``budget < 1``, a negative ``tie_tolerance`` or
            bad ``valid`` interactions.
    """
    k = check_int(k, "k", low=1)
    valid_metrics = [f"{name}@{k}" for name in METRIC_NAMES]
    if metric not in valid_metrics:
        raise ValueError(
            f"metric {metric!r} is not computed with k={k}; use one of {valid_metrics}"
        )
    configs = _grid(param_grid, budget, seed)
    tie_tolerance = check_number(tie_tolerance, "tie_tolerance", low=0.0)
    check_interactions(valid, n_users, n_items, name="valid")  # fail before fitting
    extra = {"valid": valid} if fit_with_valid else {}
    rows, values, models = [], [], {}  # models: only those still within the tie band
    for params in configs:
        model = model_factory(**params)
        start = time.perf_counter()
        model.fit(train, n_users, n_items, **extra)
        fit_s = time.perf_counter() - start
        result = evaluate_full(model, train, valid, k=k, n_items=n_items)
        value = result[metric]
        rows.append(
            {**params, **result.metrics, "fit_s": fit_s, "eval_s": result.seconds}
        )
        values.append(value)
        models[len(values) - 1] = model
        top = max(values)
        models = {i: m for i, m in models.items() if values[i] >= top - tie_tolerance}
    chosen = next(i for i, v in enumerate(values) if v >= top - tie_tolerance)
    best, best_model, best_params = values[chosen], models[chosen], configs[chosen]
    table = (
        pd.DataFrame(rows)
        .sort_values(metric, ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    return TuneResult(
        best_params, float(best), metric, table, best_model, PROTOCOL_FULL
    )
