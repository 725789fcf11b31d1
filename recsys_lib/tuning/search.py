"""Hyperparameter search with Optuna: a checked space, one objective, pruning, storage.

Introduced in Chapter 9 ("Model optimization"). Chapter 3's :func:`~.grid.tune`
tries a fixed list of configurations; here a *sampler* proposes them one by
one (random, a grid, or TPE, which learns from the trials so far), a *pruner*
stops a trial whose validation curve trails the others, and a *storage*
(``sqlite:///...``) keeps the study on disk, so a search can be resumed and
run by several worker processes at once.

* a :class:`~.space.SearchSpace` (:mod:`.space`) describes what is searched
  and refuses nonsense before any trial runs;
* :class:`Objective` fits any recommender factory on ``train`` and returns
  its full-ranking metric on ``valid`` (never on test). Every epoch of a
  model that trains with :func:`recsys_lib.training.fit` reports its
  validation value to Optuna (:func:`pruning_callback`), so a pruner can stop
  it early.
* :func:`create_study` builds the study from names (``"tpe"``, ``"median"``,
  ...), :func:`run_search` runs it to a budget of finished trials (again
  after an interruption), and :func:`search_table`, :func:`search_stats` and
  :func:`best_trial` read the result; :func:`best_trial` breaks near-ties in
  favour of the earliest trial, like :func:`~.grid.tune`'s ``tie_tolerance``.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Callable, Mapping
from typing import NamedTuple

import pandas as pd

with warnings.catch_warnings():
    # Optuna imports ``tqdm.auto``, which warns on stderr in a Jupyter kernel without
    # ipywidgets. The book's progress bars are plain text (utils.progress_bar), so
    # the warning is noise -- and nbval counts any stderr as a failed cell.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import optuna
    from optuna.trial import TrialState

from ..checks import check_choice, check_int, check_number
from ..data.interactions import interactions_to_csr
from ..eval.metrics import METRIC_NAMES
from ..eval.protocols import evaluate_full
from ..models.base import check_interactions
from ..training import epoch_callback
from ..utils import progress_bar
from .space import SearchSpace, check_fixed

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "Objective",
    "SearchStats",
    "best_trial",
    "check_held_out",
    "create_study",
    "pruning_callback",
    "run_search",
    "search_stats",
    "search_table",
]

#: Samplers :func:`create_study` knows by name.
SAMPLERS = ("tpe", "random", "grid")
#: Pruners :func:`create_study` knows by name (``"none"`` never prunes).
PRUNERS = ("none", "median", "halving", "hyperband")
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


# ---------------------------------------------------------------- the objective
def check_held_out(
    parts: Mapping[str, pd.DataFrame],
    held_out: pd.DataFrame,
    n_users: int,
    n_items: int,
) -> None:
    """Refuse data that share a (user, item) pair with ``held_out`` (the test set).

    Introduced in Chapter 9. A search must be scored on validation data only;
    a test pair in ``train`` leaks the answer into the model, and a test pair
    in ``valid`` means the search is tuned on the test set.

    Args:
        parts: ``{name: interactions}`` the search uses (train, valid).
        held_out: the interactions kept for the final evaluation.
        n_users, n_items: id ranges.

    Raises:
        ValueError: naming the part and how many of its pairs are held out.
    """
    check_interactions(held_out, n_users, n_items, name="held_out")
    test = interactions_to_csr(held_out, n_users, n_items, name="held_out")
    test.data[:] = 1
    for name, part in parts.items():
        seen = interactions_to_csr(part, n_users, n_items, name=name)
        shared = seen.multiply(test).nnz
        if shared:
            raise ValueError(
                f"{name} shares {shared} (user, item) pairs with held_out (the test "
                f"set): a search that sees test pairs is tuned on the test set; "
                "score the search on validation data only"
            )


def pruning_callback(trial: optuna.Trial) -> Callable:
    """An epoch callback that reports validation values to ``trial`` and prunes.

    Introduced in Chapter 9. For :func:`recsys_lib.training.fit` (``on_epoch``)
    or :func:`recsys_lib.training.epoch_callback`: after each epoch with a
    validation value it calls ``trial.report(value, epoch)``, and raises
    ``optuna.TrialPruned`` when the study's pruner says the trial trails.
    """

    def report(epoch: int, model, history) -> None:
        if history.val:
            trial.report(float(history.val[-1]), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    return report


class Objective:
    """``objective(trial) -> float``: one configuration, fitted on train, scored on valid.

    Introduced in Chapter 9. Each call draws a configuration from ``space``,
    builds ``factory(**fixed, **params)``, fits it on ``train`` (with
    ``valid=valid`` when ``fit_with_valid``, so models such as
    :class:`~recsys_lib.models.NeuralRecommender` early-stop and report each
    epoch's validation NDCG@10 to the pruner) and returns ``metric`` by full
    ranking on ``valid`` with the train items masked. The test set is never
    seen. Each trial records the user attributes ``epochs`` (epochs trained,
    0 for closed-form models) and ``fit_seconds``.

    Args:
        factory: returns an unfitted recommender; its parameter names are
            checked against ``space`` and ``fixed`` first.
        space: a :class:`SearchSpace`.
        train, valid: interactions (DataFrames with ``user_id``/``item_id``).
        n_users, n_items: id ranges.
        fixed: parameters every trial gets unchanged.
        k, metric: the validation metric to maximize (``"ndcg@10"``).
        fit_with_valid: pass ``valid`` to ``fit`` (early stopping, pruning);
            ``None`` (default) passes it to every model whose ``fit`` takes a
            ``valid`` argument.
        evaluate: ``evaluate(model) -> float`` replaces the default
            validation score (for models scored another way, e.g. from
            sequences); it must use validation data only.
        tie_tolerance: keep the fitted models of the trials within this much
            of the best value (see :meth:`model`), so :func:`best_trial` with
            the same tolerance finds its model without refitting.
        held_out: interactions the search must never see (the test set).
            If ``train`` or ``valid`` shares a (user, item) pair with them,
            the objective refuses to be built: a search scored on the test
            set would report a tuned, optimistic test number.

    Raises:
        TypeError, ValueError: for arguments of the wrong kind or range, a
            parameter the factory does not take, or data that overlap
            ``held_out``.

    Attributes:
        models: ``{trial number: fitted model}`` of the kept trials.
    """

    def __init__(
        self,
        factory: Callable,
        space: SearchSpace,
        train: pd.DataFrame,
        valid: pd.DataFrame,
        n_users: int,
        n_items: int,
        *,
        fixed: Mapping | None = None,
        k: int = 10,
        metric: str = "ndcg@10",
        fit_with_valid: bool | None = None,
        evaluate: Callable | None = None,
        tie_tolerance: float = 0.0,
        held_out: pd.DataFrame | None = None,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
        self.fixed = check_fixed(fixed)
        space.check_factory(factory, self.fixed)
        self.factory, self.space = factory, space
        self.n_users = check_int(n_users, "n_users", low=1)
        self.n_items = check_int(n_items, "n_items", low=1)
        self.k = check_int(k, "k", low=1)
        metrics = [f"{name}@{self.k}" for name in METRIC_NAMES]
        self.metric = check_choice(metric, "metric", metrics)
        if evaluate is not None and not callable(evaluate):
            raise TypeError(f"evaluate must be callable, got {type(evaluate).__name__}")
        self.evaluate = evaluate
        self.fit_with_valid = None if fit_with_valid is None else bool(fit_with_valid)
        self.tie_tolerance = check_number(tie_tolerance, "tie_tolerance", low=0.0)
        check_interactions(valid, self.n_users, self.n_items, name="valid")
        if held_out is not None:
            check_held_out(
                {"train": train, "valid": valid}, held_out, self.n_users, self.n_items
            )
        self.train, self.valid = train, valid
        self.models: dict[int, object] = {}
        self._values: dict[int, float] = {}

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        model = self.factory(**self.fixed, **params)
        with_valid = self.fit_with_valid
        if with_valid is None:
            with_valid = "valid" in inspect.signature(model.fit).parameters
        extra = {"valid": self.valid} if with_valid else {}
        seen = {"epochs": 0}
        report = pruning_callback(trial)

        def hook(epoch: int, net, history) -> None:
            seen["epochs"] = epoch
            report(epoch, net, history)

        start = time.perf_counter()
        try:
            with epoch_callback(hook):
                model.fit(self.train, self.n_users, self.n_items, **extra)
        finally:
            trial.set_user_attr("epochs", seen["epochs"])
            trial.set_user_attr("fit_seconds", time.perf_counter() - start)
        if self.evaluate is not None:
            value = float(self.evaluate(model))
        else:
            value = evaluate_full(
                model, self.train, self.valid, k=self.k, n_items=self.n_items
            )[self.metric]
        self._keep(trial.number, value, model)
        return value

    def _keep(self, number: int, value: float, model) -> None:
        if not math.isfinite(value):
            return
        self._values[number] = value
        top = max(self._values.values())
        if value >= top - self.tie_tolerance:
            self.models[number] = model
        self.models = {
            n: m
            for n, m in self.models.items()
            if self._values[n] >= top - self.tie_tolerance
        }

    def model(self, trial: optuna.trial.FrozenTrial | int):
        """The fitted model of a kept trial (one within ``tie_tolerance`` of the best).

        Raises:
            KeyError: for a trial this objective did not keep (another
                worker's, or one too far below the best: refit it).
        """
        number = trial if isinstance(trial, int) else trial.number
        if number not in self.models:
            raise KeyError(
                f"trial {number} was not kept (kept: {sorted(self.models)}); refit "
                "its params, or use the same tie_tolerance as best_trial"
            )
        return self.models[number]


# ---------------------------------------------------------------- studies
def create_study(
    sampler: str | optuna.samplers.BaseSampler = "tpe",
    pruner: str | optuna.pruners.BasePruner = "none",
    *,
    seed: int = 0,
    space: SearchSpace | None = None,
    grid_points: int | Mapping[str, int] = 3,
    n_startup_trials: int = 5,
    min_epochs: int = 2,
    max_epochs: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
) -> optuna.Study:
    """A study that maximizes the validation metric. Introduced in Chapter 9.

    Args:
        sampler: ``"tpe"`` (Tree-structured Parzen Estimator: random for
            ``n_startup_trials``, then guided by the trials so far),
            ``"random"``, ``"grid"`` (the grid of ``space.grid(grid_points)``,
            visited in a seeded random order) or an Optuna sampler.
        pruner: ``"none"``, ``"median"`` (stop a trial whose best value so
            far is below the median of the complete trials at that epoch, once
            ``n_startup_trials`` trials are complete, from epoch
            ``min_epochs`` on), ``"halving"`` (successive halving: keep the
            best third at epochs ``min_epochs``, 3 x ``min_epochs``, ...),
            ``"hyperband"`` (several halving brackets; needs ``max_epochs``)
            or an Optuna pruner.
        seed: seeds the sampler.
        space, grid_points: for ``sampler="grid"``.
        n_startup_trials: trials before TPE models the results and before
            the median pruner prunes.
        min_epochs: the first epoch at which a trial can be pruned (>= 1).
        max_epochs: the most epochs a trial trains (for ``"hyperband"``).
        storage: ``None`` (in memory) or a database URL such as
            ``"sqlite:///study.db"``: the study is saved there after every
            trial, and other processes can join it.
        study_name: the study's name in ``storage`` (required with it).
        resume: load the study of that name if it exists (else create it).

    Raises:
        TypeError: for arguments of the wrong kind.
        ValueError: for an unknown sampler or pruner name, a grid without a
            space, hyperband without ``max_epochs``, a storage without a
            study name, or an existing study when ``resume=False``.
    """
    seed = check_int(seed, "seed", low=0)
    n_startup_trials = check_int(n_startup_trials, "n_startup_trials", low=0)
    min_epochs = check_int(min_epochs, "min_epochs", low=1)
    if isinstance(sampler, str):
        check_choice(sampler, "sampler", SAMPLERS)
        if sampler == "grid":
            if not isinstance(space, SearchSpace):
                raise ValueError("sampler='grid' needs space=SearchSpace(...)")
            sampler = optuna.samplers.GridSampler(space.grid(grid_points), seed=seed)
        elif sampler == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=n_startup_trials
            )
    elif not isinstance(sampler, optuna.samplers.BaseSampler):
        raise TypeError(
            f"sampler must be one of {SAMPLERS} or an optuna sampler, got "
            f"{type(sampler).__name__}"
        )
    if isinstance(pruner, str):
        check_choice(pruner, "pruner", PRUNERS)
        if pruner == "median":
            pruner = optuna.pruners.MedianPruner(
                n_startup_trials=n_startup_trials, n_warmup_steps=min_epochs
            )
        elif pruner == "halving":
            pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=min_epochs)
        elif pruner == "hyperband":
            if max_epochs is None:
                raise ValueError("pruner='hyperband' needs max_epochs")
            pruner = optuna.pruners.HyperbandPruner(
                min_resource=min_epochs,
                max_resource=check_int(max_epochs, "max_epochs", low=1),
            )
        else:
            pruner = optuna.pruners.NopPruner()
    elif not isinstance(pruner, optuna.pruners.BasePruner):
        raise TypeError(
            f"pruner must be one of {PRUNERS} or an optuna pruner, got "
            f"{type(pruner).__name__}"
        )
    if storage is not None:
        if not isinstance(storage, str):
            raise TypeError(
                f"storage must be a database URL such as 'sqlite:///study.db', got "
                f"{type(storage).__name__}"
            )
        if "://" not in storage:
            raise ValueError(
                f"storage {storage!r} is not a database URL; write 'sqlite:///{storage}'"
            )
        if not isinstance(study_name, str) or not study_name:
            raise ValueError(
                "a study in a storage needs a study_name to be found again"
            )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line
    try:
        return optuna.create_study(
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            study_name=study_name,
            direction="maximize",
            load_if_exists=bool(resume),
        )
    except optuna.exceptions.DuplicatedStudyError as err:
        raise ValueError(
            f"a study named {study_name!r} already exists in {storage}; pass "
            "resume=True to continue it"
        ) from err
    finally:
        optuna.logging.set_verbosity(verbosity)


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=_FINISHED))


def run_search(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    *,
    timeout: float | None = None,
    show_progress: bool = True,
    desc: str = "search",
) -> optuna.Study:
    """Run ``study`` until it holds ``n_trials`` finished (complete or pruned) trials.

    Introduced in Chapter 9. The budget counts the trials *of the study*, so
    calling this again after an interruption (a study in a storage, loaded
    with ``create_study(..., resume=True)``) runs only the missing trials,
    and several workers calling it on one stored study stop together at the
    budget (one trial more per extra worker at most). Optuna's own log lines
    are silenced while it runs; a progress bar counts the trials.

    Returns:
        The study.
    """
    if not isinstance(study, optuna.Study):
        raise TypeError(f"study must be an optuna Study, got {type(study).__name__}")
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    n_trials = check_int(n_trials, "n_trials", low=1)
    if timeout is not None:
        timeout = check_number(timeout, "timeout", low=0.0, low_open=True)
    done = _finished(study)
    if done >= n_trials:
        return study
    bar = progress_bar(total=n_trials, desc=desc, disable=not show_progress)
    bar.update(done)
    budget = optuna.study.MaxTrialsCallback(n_trials, states=_FINISHED)

    def tick(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        bar.update(1)

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study.optimize(
            objective,
            n_trials=n_trials - done,
            timeout=timeout,
            callbacks=[budget, tick],
            catch=(),
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
        bar.close()
    return study


# ---------------------------------------------------------------- results
class SearchStats(NamedTuple):
    """Summary of a study (:func:`search_stats`). Introduced in Chapter 9."""

    n_trials: int
    n_complete: int
    n_pruned: int
    best_value: float
    epochs: int
    fit_seconds: float


def search_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, params and user attributes.

    Introduced in Chapter 9. Columns: ``trial``, ``state`` (``"COMPLETE"``,
    ``"PRUNED"``, ...), ``value`` (NaN for pruned trials), ``best_so_far``
    (the running best of the complete trials), one column per parameter and
    per user attribute (``epochs``, ``fit_seconds``, ...).
    """
    if not isinstance(study, optuna.Study):
        raise TypeError(f"study must be an optuna Study, got {type(study).__name__}")
    rows = []
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.state == TrialState.COMPLETE else math.nan
        rows.append(
            {"trial": t.number, "state": t.state.name, "value": value}
            | dict(t.params)
            | dict(t.user_attrs)
        )
    table = pd.DataFrame(rows)
    if not len(table):
        return pd.DataFrame(columns=["trial", "state", "value", "best_so_far"])
    table = table.sort_values("trial", kind="stable").reset_index(drop=True)
    table.insert(3, "best_so_far", table["value"].cummax())
    return table


def search_stats(study: optuna.Study) -> SearchStats:
    """Counts, the best value, and the epochs and fit time the trials used."""
    table = search_table(study)
    states = table["state"] if len(table) else pd.Series([], dtype=object)
    complete = table[states == "COMPLETE"]
    return SearchStats(
        n_trials=int(len(table)),
        n_complete=int(len(complete)),
        n_pruned=int((states == "PRUNED").sum()),
        best_value=float(complete["value"].max()) if len(complete) else math.nan,
        epochs=int(table["epochs"].sum()) if "epochs" in table else 0,
        fit_seconds=float(table["fit_seconds"].sum())
        if "fit_seconds" in table
        else 0.0,
    )


def best_trial(
    study: optuna.Study, tie_tolerance: float = 0.0
) -> optuna.trial.FrozenTrial:
    """The earliest complete trial within ``tie_tolerance`` of the best value.

    Introduced in Chapter 9. Two trials whose validation values differ in the
    last digits (which another CPU can change) must not swap places, so the
    winner is the first trial, by number, whose value is at least
    ``best - tie_tolerance``; 0 gives the best value (the first on an exact tie).

    Raises:
        ValueError: if the study has no complete trial.
    """
    tie_tolerance = check_number(tie_tolerance, "tie_tolerance", low=0.0)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    complete = [t for t in complete if t.value is not None and math.isfinite(t.value)]
    if not complete:
        raise ValueError("the study has no complete trial yet")
    top = max(t.value for t in complete)
    return min(
        (t for t in complete if t.value >= top - tie_tolerance), key=lambda t: t.number
    )
