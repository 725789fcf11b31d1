"""The search space of Chapter 9: clear errors before any trial runs."""

import functools

import optuna
import pytest

from recsys_lib.models import BPRMF, EASE, MF, MFConfig, NeuralRecommender
from recsys_lib.tuning import Categorical, Float, Int, SearchSpace


def test_dimensions_suggest_within_their_ranges():
    space = SearchSpace(
        lr=Float(1e-3, 0.1, log=True),
        dropout=Float(0.0, 0.5, step=0.1),
        dim=Int(8, 64, log=True),
        layers=Int(1, 5, step=2),
        loss=Categorical(["bpr", "softmax"]),
    )
    assert list(space) == ["lr", "dropout", "dim", "layers", "loss"] and len(space) == 5
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        params = space.suggest(study.ask())
        assert 1e-3 <= params["lr"] <= 0.1 and 8 <= params["dim"] <= 64
        assert params["layers"] in (1, 3, 5) and params["loss"] in ("bpr", "softmax")
        assert round(params["dropout"] * 10) == pytest.approx(params["dropout"] * 10)
    assert "Float(0.001, 0.1, log=True)" in repr(space)


def test_grid_values():
    space = SearchSpace(
        {
            "lr": Float(1e-3, 1e-1, log=True),
            "dim": Int(16, 64),
            "x": Categorical([1, 2]),
        }
    )
    grid = space.grid({"lr": 3})
    assert grid["lr"] == pytest.approx([1e-3, 1e-2, 1e-1])
    assert grid["dim"] == [16, 40, 64] and grid["x"] == [1, 2]
    assert space.grid(2)["dim"] == [16, 64]
    assert Int(1, 3).grid(10) == [1, 2, 3]  # no repeats
    assert Float(0.0, 1.0, step=0.5).grid(5) == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="unknown parameter.*'lrr'"):
        space.grid({"lrr": 3})
    with pytest.raises(ValueError, match="points must be >= 2"):
        space.grid(1)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Float(0.1, 0.1), ValueError, "empty range: low == high"),
        (lambda: Float(1.0, 0.1), ValueError, "empty range: low=1.0 is above high=0.1"),
        (lambda: Int(5, 2), ValueError, "empty range"),
        (lambda: Int(3, 3), ValueError, "fixed parameter"),
        (lambda: Float(0.0, 1.0, log=True), ValueError, "log scale needs low > 0"),
        (lambda: Int(0, 8, log=True), ValueError, "log scale needs low >= 1"),
        (lambda: Float(0.0, 1.0, step=2.0), ValueError, "wider than the range"),
        (lambda: Float(0.1, 1.0, step=0.1, log=True), ValueError, "cannot be combined"),
        (lambda: Int(0, 10, step=3), ValueError, "not a multiple of step=3"),
        (lambda: Float("0.1", 1.0), TypeError, "low must be a number"),
        (lambda: Float(0.1, float("inf")), ValueError, "finite"),
        (lambda: Int(1.0, 4), TypeError, "low must be an int"),
        (lambda: Int(1, 4, log=1), TypeError, "log must be True or False"),
        (lambda: Categorical([]), ValueError, "empty list of choices"),
        (lambda: Categorical("abc"), TypeError, "choices must be a list"),
        (lambda: Categorical([1, 1]), ValueError, "repeated"),
        (
            lambda: Categorical([[1, 2]]),
            TypeError,
            "must be None, bool, int, float or str",
        ),
        (lambda: SearchSpace(), ValueError, "no parameters"),
        (
            lambda: SearchSpace(lr=[0.1, 0.01]),
            TypeError,
            r"Categorical\(\[0.1, 0.01\]\)",
        ),
        (lambda: SearchSpace(lr=0.1), TypeError, "must be a Float, Int or Categorical"),
        (lambda: SearchSpace({1: Float(0, 1)}), TypeError, "names are strings"),
        (lambda: SearchSpace({"l r": Float(0, 1)}), ValueError, "not a keyword"),
        (lambda: SearchSpace([("lr", Float(0, 1))]), TypeError, "must be a dict"),
    ],
)
def test_bad_definitions_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_check_factory_names_unknown_parameters():
    space = SearchSpace(lr=Float(1e-3, 0.1, log=True), weight_decay=Float(1e-6, 1.0))
    space.check_factory(BPRMF)  # both are BPRMF parameters
    space.check_factory(BPRMF, fixed={"dim": 8, "epochs": 2})
    with pytest.raises(
        ValueError, match="unknown parameter 'l2_reg' for BPRMF; it takes dim, lr"
    ):
        SearchSpace(l2_reg=Float(1.0, 10.0)).check_factory(BPRMF)
    with pytest.raises(
        ValueError, match="unknown parameter 'lr' for EASE; it takes l2_reg"
    ):
        space.check_factory(EASE)
    with pytest.raises(ValueError, match="unknown parameter 'dimm'"):
        space.check_factory(BPRMF, fixed={"dimm": 8})
    with pytest.raises(ValueError, match=r"\['lr'\] are both fixed and searched"):
        space.check_factory(BPRMF, fixed={"lr": 0.1})
    # functools.partial keeps the signature; **kwargs accepts anything
    build = functools.partial(NeuralRecommender, lambda u, i: MF(MFConfig.tiny(u, i)))
    space.check_factory(build)
    space.check_factory(lambda **params: BPRMF(**params))
    with pytest.raises(TypeError, match="factory must be callable"):
        space.check_factory("BPRMF")
    with pytest.raises(TypeError, match="fixed must be a dict"):
        space.check_factory(BPRMF, fixed=[("dim", 8)])
