import functools

import pytest
from fakes import implicit_split

from recsys_lib.eval import PROTOCOL_FULL, evaluate_full
from recsys_lib.models import EASE, MF, ItemKNN, MFConfig, NeuralRecommender
from recsys_lib.tuning import TuneResult, tune

N_USERS, N_ITEMS = 400, 200


@pytest.fixture(scope="module")
def split():
    return implicit_split(N_USERS, N_ITEMS)


def ndcg(model, split):
    train, test = split
    return evaluate_full(model, train, test, k=10)["ndcg@10"]


def test_tune_grid_and_budget(split):
    train, valid = split
    result = tune(EASE, {"l2_reg": [1.0, 100.0, 1e5]}, train, valid, N_USERS, N_ITEMS)
    assert isinstance(result, TuneResult) and result.protocol == PROTOCOL_FULL
    assert len(result.table) == 3 and list(result.table.columns[:1]) == ["l2_reg"]
    assert result.table["ndcg@10"].is_monotonic_decreasing
    assert result.best_value == result.table["ndcg@10"].iloc[0]
    assert result.best_params == {"l2_reg": result.table["l2_reg"].iloc[0]}
    assert result.best_value == pytest.approx(ndcg(result.best_model, split))
    assert "fit_s" in result.table and "best_params" in repr(result)

    grid = {"k_neighbors": [5, 20, 50], "shrinkage": [0.0, 10.0]}
    small = tune(
        ItemKNN, grid, train, valid, N_USERS, N_ITEMS, budget=2, metric="recall@10"
    )
    assert len(small.table) == 2 and small.metric == "recall@10"
    again = tune(
        ItemKNN, grid, train, valid, N_USERS, N_ITEMS, budget=2, metric="recall@10"
    )
    assert again.best_params == small.best_params  # the budgeted draw is seeded


def test_tune_tie_tolerance_picks_first_near_best(split):
    train, valid = split
    grid = {"l2_reg": [1e5, 100.0, 1.0]}
    plain = tune(EASE, grid, train, valid, N_USERS, N_ITEMS)
    values = dict(zip(plain.table["l2_reg"], plain.table["ndcg@10"], strict=True))
    first = values[1e5]
    assert plain.best_params["l2_reg"] != 1e5 and first < plain.best_value
    # a tolerance wider than the gap: the first listed value wins
    wide = tune(
        EASE,
        grid,
        train,
        valid,
        N_USERS,
        N_ITEMS,
        tie_tolerance=plain.best_value - first + 1e-9,
    )
    assert wide.best_params == {"l2_reg": 1e5} and wide.best_value == first
    assert wide.best_value == pytest.approx(ndcg(wide.best_model, split))
    # a tolerance narrower than the gap changes nothing
    narrow = tune(
        EASE,
        grid,
        train,
        valid,
        N_USERS,
        N_ITEMS,
        tie_tolerance=(plain.best_value - first) / 2,
    )
    assert narrow.best_params == plain.best_params
    with pytest.raises(ValueError, match="tie_tolerance"):
        tune(EASE, grid, train, valid, N_USERS, N_ITEMS, tie_tolerance=-0.1)
    with pytest.raises(TypeError, match="tie_tolerance"):
        tune(EASE, grid, train, valid, N_USERS, N_ITEMS, tie_tolerance="0.1")


def test_tune_a_neural_model_like_a_baseline(split):
    train, valid = split
    factory = functools.partial(
        NeuralRecommender,
        lambda n_users, n_items: MF(MFConfig.tiny(n_users, n_items, dim=8)),
        epochs=2,
        batch_size=512,
        patience=1,
    )
    result = tune(
        factory,
        {"lr": [0.003, 0.03], "loss": ["bpr"]},
        train,
        valid,
        N_USERS,
        N_ITEMS,
        fit_with_valid=True,  # early stopping on valid
    )
    assert len(result.table) == 2 and set(result.table["lr"]) == {0.003, 0.03}
    best = result.best_model
    assert isinstance(best, NeuralRecommender) and best.lr == result.best_params["lr"]
    assert best.history.val  # fit saw valid
    assert result.best_value == pytest.approx(best.history.best_val)
    assert result.best_value == pytest.approx(ndcg(best, split))


def test_tune_errors(split):
    train, valid = split
    with pytest.raises(ValueError, match="not computed with k=10"):
        tune(EASE, {"l2_reg": [1.0]}, train, valid, N_USERS, N_ITEMS, metric="ndcg@20")
    with pytest.raises(ValueError, match="non-empty list"):
        tune(EASE, {"l2_reg": []}, train, valid, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="non-empty list"):
        tune(EASE, {"l2_reg": 5.0}, train, valid, N_USERS, N_ITEMS)
    with pytest.raises(TypeError, match="dict of lists"):
        tune(EASE, [("l2_reg", [1.0])], train, valid, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="budget"):
        tune(EASE, {"l2_reg": [1.0]}, train, valid, N_USERS, N_ITEMS, budget=0)
    with pytest.raises(ValueError, match="valid is empty"):
        tune(EASE, {"l2_reg": [1.0]}, train, valid.iloc[:0], N_USERS, N_ITEMS)
    with pytest.raises(TypeError, match="valid must be a pandas DataFrame"):
        tune(EASE, {"l2_reg": [1.0]}, train, valid.to_numpy(), N_USERS, N_ITEMS)
