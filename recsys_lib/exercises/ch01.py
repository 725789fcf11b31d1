"""Exercises of Chapter 1 -- The recommendation problem."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..config import RATING_COL
from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch01.ex1


def check_ex1(answer):
    try:
        shape = tuple(int(d) for d in answer)
    except (TypeError, ValueError) as err:
        raise NotYet("give the shape as a tuple of ints, e.g. (3, 4)") from err
    if shape == (64,) or shape == (64, 1):
        raise NotYet(
            "that would be the shape without broadcasting; subtract the tensors and look"
        )
    if shape != (64, 64):
        raise NotYet(
            "NumPy/PyTorch broadcasting aligns trailing dimensions: (64, 1) with (64,)"
        )


def solution_ex1():
    pred = torch.zeros(64, 1)  # what the model returns: (B, 1)
    target = torch.zeros(64)  # what the data loader yields: (B,)
    return tuple((pred - target).shape)


register(
    Exercise(
        id="ch01.ex1",
        title="the shape of a broadcast loss",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(lambda: (64, 1), lambda: (64,), lambda: "64x64"),
    )
)

# ---------------------------------------------------------------- ch01.ex2


def check_ex2(safe_mse):
    if not callable(safe_mse):
        raise NotYet("the answer is a function safe_mse(pred, target)")
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(16, generator=g), torch.randn(16, generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = safe_mse(pred, target)
        except Exception as err:  # noqa: BLE001 - any failure on good input is a wrong answer
            raise NotYet(f"it failed on two tensors of shape (16,): {err!r}") from err
        expected = ((pred - target) ** 2).mean()
        if not isinstance(value, torch.Tensor) or not torch.allclose(value, expected):
            raise NotYet(
                "on equal shapes it must return the mean of the squared differences"
            )
        try:
            safe_mse(pred[:, None], target)
        except ValueError:
            return "shape mismatches now fail loudly"
        except Exception as err:  # noqa: BLE001
            raise NotYet(
                f"raise ValueError (not {type(err).__name__}) on a shape mismatch"
            ) from err
    raise NotYet(
        "safe_mse(pred of shape (16, 1), target of shape (16,)) must raise ValueError"
    )


def solution_ex2():
    def safe_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(
                f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ"
            )
        return ((pred - target) ** 2).mean()

    return safe_mse


def wrong_ex2_plain_mse():
    return torch.nn.functional.mse_loss  # warns, but broadcasts


def wrong_ex2_sum():
    def safe_mse(pred, target):
        if pred.shape != target.shape:
            raise ValueError("shapes differ")
        return ((pred - target) ** 2).sum()

    return safe_mse


register(
    Exercise(
        id="ch01.ex2",
        title="a loss that refuses to broadcast",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_plain_mse, wrong_ex2_sum, lambda: 0.5),
    )
)

# ---------------------------------------------------------------- ch01.ex3


def check_ex3(answer, train, test):
    expected = solution_ex3(train, test)
    leaked = float(np.sqrt(((test[RATING_COL] - test[RATING_COL].mean()) ** 2).mean()))
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("the answer is one number, the test RMSE") from err
    if abs(value - leaked) < 1e-9 and abs(leaked - expected) > 1e-9:
        raise NotYet(
            "you used the mean of the TEST ratings: that is leakage; use the training mean"
        )
    if abs(value - expected) > 1e-6:
        raise NotYet(
            "predict the training mean for every test rating, then take the root of the mean squared error"
        )
    return f"RMSE = {expected:.4f}; every model in this chapter must beat it"


def solution_ex3(train, test):
    prediction = train[RATING_COL].mean()
    return float(np.sqrt(((test[RATING_COL] - prediction) ** 2).mean()))


def context_ex3():
    from ..data import make_ratings

    df = make_ratings(n_users=40, n_items=30, mean_ratings_per_user=8, seed=2).ratings
    return {"train": df.iloc[: len(df) * 4 // 5], "test": df.iloc[len(df) * 4 // 5 :]}


register(
    Exercise(
        id="ch01.ex3",
        title="the RMSE of the global-mean baseline",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda train, test: float(
                np.sqrt(((test[RATING_COL] - test[RATING_COL].mean()) ** 2).mean())
            ),
            lambda train, test: float(
                ((test[RATING_COL] - train[RATING_COL].mean()) ** 2).mean()
            ),
            lambda train, test: "low",
        ),
        example_context=context_ex3,
    )
)
