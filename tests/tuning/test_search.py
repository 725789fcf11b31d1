"""Optuna searches of Chapter 9: objective, pruning, storage and resume, results."""

import math

import numpy as np
import optuna
import pytest

from recsys_lib.config import ITEM_COL, RATING_COL, USER_COL
from recsys_lib.data.synthetic import make_ratings
from recsys_lib.eval import evaluate_full
from recsys_lib.models import BPRMF, EASE
from recsys_lib.tuning import (
    Float,
    Objective,
    SearchSpace,
    best_trial,
    check_held_out,
    create_study,
    pruning_callback,
    run_search,
    search_stats,
    search_table,
)

N_USERS, N_ITEMS = 150, 60


@pytest.fixture(scope="module")
def split():
    data = make_ratings(
        n_users=N_USERS, n_items=N_ITEMS, mean_ratings_per_user=25, seed=0
    ).ratings
    positives = data[data[RATING_COL] >= 4][[USER_COL, ITEM_COL]]
    held_out = np.random.default_rng(0).random(len(positives)) < 0.2
    return positives[~held_out], positives[held_out]


EASE_SPACE = SearchSpace(l2_reg=Float(1.0, 1e4, log=True))
BPR_SPACE = SearchSpace(lr=Float(1e-4, 0.3, log=True))
BPR_FIXED = {"dim": 8, "epochs": 6, "batch_size": 256, "patience": None}


def test_objective_scores_validation_only_and_keeps_models(split):
    train, valid = split
    objective = Objective(EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS)
    study = create_study("random", seed=0)
    run_search(study, objective, 4, show_progress=False)
    table = search_table(study)
    assert list(table["trial"]) == [0, 1, 2, 3] and (table["state"] == "COMPLETE").all()
    assert (table["epochs"] == 0).all() and (table["fit_seconds"] > 0).all()
    assert table["best_so_far"].is_monotonic_increasing
    best = best_trial(study)
    assert best.value == table["value"].max() == study.best_value
    model = objective.model(best)
    assert model.l2_reg == best.params["l2_reg"]
    assert evaluate_full(model, train, valid)["ndcg@10"] == pytest.approx(best.value)
    assert list(objective.models) == [best.number]  # tie_tolerance 0: only the best
    with pytest.raises(KeyError, match="was not kept"):
        objective.model(next(t for t in study.trials if t.number != best.number))
    # another metric, and an own evaluation function
    recall = Objective(
        EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS, metric="recall@10"
    )
    constant = Objective(
        EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS, evaluate=lambda m: 0.5
    )
    s2 = create_study("random", seed=0)
    run_search(s2, recall, 1, show_progress=False)
    s3 = create_study("random", seed=0)
    run_search(s3, constant, 1, show_progress=False)
    assert s3.best_value == 0.5 and s2.best_value != study.trials[0].value


def test_objective_refuses_to_be_tuned_on_the_test_set(split):
    train, rest = split
    valid, test = rest.iloc[::2], rest.iloc[1::2]
    Objective(EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS, held_out=test)  # fine
    with pytest.raises(ValueError, match=r"valid shares \d+ \(user, item\) pairs"):
        Objective(EASE, EASE_SPACE, train, test, N_USERS, N_ITEMS, held_out=test)
    with pytest.raises(ValueError, match="train shares 2 "):
        check_held_out(
            {"train": train}, train.iloc[:2], N_USERS, N_ITEMS
        )  # a leak into training is caught as well
    with pytest.raises(ValueError, match="held_out"):
        check_held_out({"train": train}, test.assign(item_id=N_ITEMS), N_USERS, N_ITEMS)


def test_objective_checks_its_inputs(split):
    train, valid = split
    with pytest.raises(ValueError, match="unknown parameter 'lr' for EASE"):
        Objective(EASE, BPR_SPACE, train, valid, N_USERS, N_ITEMS)
    with pytest.raises(TypeError, match="space must be a SearchSpace"):
        Objective(EASE, {"l2_reg": [1.0]}, train, valid, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="metric must be one of"):
        Objective(EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS, metric="ndcg@5")
    with pytest.raises(ValueError, match="valid"):
        Objective(EASE, EASE_SPACE, train, valid.iloc[:0], N_USERS, N_ITEMS)
    with pytest.raises(TypeError, match="evaluate must be callable"):
        Objective(EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS, evaluate=1)


def test_pruning_stops_poor_trials_early(split):
    train, valid = split
    objective = Objective(
        BPRMF, BPR_SPACE, train, valid, N_USERS, N_ITEMS, fixed=BPR_FIXED
    )
    study = create_study("random", "median", seed=1, n_startup_trials=2, min_epochs=1)
    run_search(study, objective, 8, show_progress=False)
    table = search_table(study)
    pruned = table[table["state"] == "PRUNED"]
    assert len(pruned) >= 1 and (pruned["epochs"] < BPR_FIXED["epochs"]).all()
    assert pruned["value"].isna().all()
    complete = table[table["state"] == "COMPLETE"]
    assert (complete["epochs"] == BPR_FIXED["epochs"]).all()
    # every epoch was reported: the intermediate values are the validation curve
    for t in study.trials:
        assert sorted(t.intermediate_values) == list(
            range(1, t.user_attrs["epochs"] + 1)
        )
    best = best_trial(study)
    curve = [best.intermediate_values[e] for e in range(1, 7)]
    assert objective.model(best).history.val == pytest.approx(curve)
    stats = search_stats(study)
    assert stats.n_trials == 8 and stats.n_pruned == len(pruned)
    assert stats.n_complete + stats.n_pruned == 8
    assert stats.epochs == table["epochs"].sum() < 8 * BPR_FIXED["epochs"]
    assert stats.best_value == complete["value"].max()


def test_pruning_callback_reports_and_raises():
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.ThresholdPruner(lower=0.5),
    )
    trial = study.ask()
    report = pruning_callback(trial)

    class H:
        val = [0.9]

    report(1, None, H)  # above the threshold: goes on
    H.val = []
    report(2, None, H)  # no validation value: nothing to report
    H.val = [0.1]
    with pytest.raises(optuna.TrialPruned, match="after epoch 3"):
        report(3, None, H)
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {
        1: 0.9,
        3: 0.1,
    }


def test_study_resumes_from_sqlite(split, tmp_path):
    train, valid = split
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    objective = Objective(EASE, EASE_SPACE, train, valid, N_USERS, N_ITEMS)
    first = create_study("tpe", storage=storage, study_name="ease", seed=0)
    run_search(first, objective, 3, show_progress=False)
    before = [(t.number, t.params, t.value) for t in first.trials]
    del first  # the process could end here

    with pytest.raises(ValueError, match="already exists.*resume=True"):
        create_study("tpe", storage=storage, study_name="ease")
    again = create_study("tpe", storage=storage, study_name="ease", resume=True, seed=1)
    assert [(t.number, t.params, t.value) for t in again.trials] == before
    run_search(again, objective, 5, show_progress=False)  # the budget counts all trials
    assert len(again.trials) == 5
    assert [(t.number, t.params, t.value) for t in again.trials[:3]] == before
    run_search(again, objective, 5, show_progress=False)  # budget reached: nothing runs
    assert len(again.trials) == 5
    # a second "worker" joins the same stored study and sees every trial
    other = create_study("random", storage=storage, study_name="ease", resume=True)
    run_search(other, objective, 7, show_progress=False)
    assert len(again.trials) == len(other.trials) == 7


def test_grid_sampler_visits_the_grid(split):
    train, valid = split
    space = SearchSpace(l2_reg=Float(1.0, 100.0, log=True))
    study = create_study("grid", space=space, grid_points=3, seed=0)
    objective = Objective(EASE, space, train, valid, N_USERS, N_ITEMS)
    run_search(study, objective, 10, show_progress=False)  # the grid stops at 3
    assert sorted(t.params["l2_reg"] for t in study.trials) == pytest.approx(
        [1.0, 10.0, 100.0]
    )


def test_best_trial_breaks_near_ties_by_trial_number():
    study = optuna.create_study(direction="maximize")
    for value in [0.30, 0.405, 0.41, 0.409]:
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": value},
                distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                value=value,
            )
        )
    assert best_trial(study).number == 2
    assert best_trial(study, tie_tolerance=0.01).number == 1
    assert best_trial(study, tie_tolerance=0.2).number == 0
    with pytest.raises(ValueError, match="no complete trial"):
        best_trial(optuna.create_study())
    with pytest.raises(ValueError, match="tie_tolerance must be >= 0"):
        best_trial(study, tie_tolerance=-1)


def test_create_study_and_run_search_errors():
    with pytest.raises(ValueError, match="sampler must be one of"):
        create_study("bayes")
    with pytest.raises(ValueError, match="pruner must be one of"):
        create_study(pruner="early")
    with pytest.raises(ValueError, match="needs space"):
        create_study("grid")
    with pytest.raises(ValueError, match="needs max_epochs"):
        create_study(pruner="hyperband")
    with pytest.raises(TypeError, match="sampler must be one of"):
        create_study(3)
    with pytest.raises(TypeError, match="storage must be a database URL"):
        create_study(storage=3, study_name="x")
    with pytest.raises(ValueError, match="sqlite:///study.db"):
        create_study(storage="study.db", study_name="x")
    with pytest.raises(ValueError, match="needs a study_name"):
        create_study(storage="sqlite:///:memory:")
    for pruner in ["halving", "none"]:
        assert create_study("random", pruner).direction.name == "MAXIMIZE"
    assert isinstance(
        create_study(pruner="hyperband", max_epochs=9).pruner,
        optuna.pruners.HyperbandPruner,
    )
    study = create_study()
    with pytest.raises(ValueError, match="n_trials must be >= 1"):
        run_search(study, lambda t: 1.0, 0)
    with pytest.raises(TypeError, match="objective must be callable"):
        run_search(study, None, 1)
    with pytest.raises(TypeError, match="study must be an optuna Study"):
        run_search("study", lambda t: 1.0, 1)
    assert math.isnan(search_stats(study).best_value)
    assert list(search_table(study).columns[:3]) == ["trial", "state", "value"]
