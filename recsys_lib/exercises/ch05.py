"""Exercises of Chapter 5 -- Multimodal data fusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..config import ITEM_COL, USER_COL
from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch05.ex1


def _reference_rate(embeddings, categories, k):
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)  # a product is not its own neighbour
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    cats = np.asarray(categories)
    return float((cats[top] == cats[:, None]).mean())


def context_ex1():
    rng = np.random.default_rng(5)
    categories = rng.integers(0, 4, 60)
    centres = rng.normal(size=(4, 8))
    # Vectors of very different lengths: cosine and dot product disagree.
    scale = rng.uniform(0.2, 5.0, size=(60, 1))
    embeddings = (centres[categories] + 1.2 * rng.normal(size=(60, 8))) * scale
    return {"embeddings": embeddings, "categories": categories}


def check_ex1(answer, embeddings, categories):
    if not callable(answer):
        raise NotYet(
            "the answer is a function neighbour_category_rate(embeddings, categories, k)"
        )
    for k in (1, 5):
        expected = _reference_rate(embeddings, categories, k)
        try:
            value = float(answer(embeddings, categories, k))
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"it failed with k={k}: {err!r}") from err
        if abs(value - expected) > 1e-6:
            x = np.asarray(embeddings, dtype=np.float64)
            with_self = x / np.linalg.norm(x, axis=1, keepdims=True)
            sim = with_self @ with_self.T
            top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
            cats = np.asarray(categories)
            if abs(value - float((cats[top] == cats[:, None]).mean())) < 1e-6:
                raise NotYet("each product is its own nearest neighbour: leave it out")
            raise NotYet(
                "use the cosine similarity (normalise the rows first), drop the product "
                "itself, keep the k most similar and average 'same category' over all "
                "products and neighbours"
            )
    return f"rate with k=5: {_reference_rate(embeddings, categories, 5):.3f}"


def solution_ex1(embeddings=None, categories=None):
    def neighbour_category_rate(embeddings, categories, k):
        x = np.asarray(embeddings, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        sim = x @ x.T  # cosine similarity (n, n)
        np.fill_diagonal(sim, -np.inf)  # not its own neighbour
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (n, k)
        cats = np.asarray(categories)
        return float((cats[top] == cats[:, None]).mean())

    return neighbour_category_rate


def wrong_ex1_self(embeddings=None, categories=None):
    def rate(embeddings, categories, k):
        x = np.asarray(embeddings, dtype=np.float64)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        top = np.argsort(-(x @ x.T), axis=1, kind="stable")[:, :k]
        cats = np.asarray(categories)
        return float((cats[top] == cats[:, None]).mean())

    return rate


def wrong_ex1_dot(embeddings=None, categories=None):
    def rate(embeddings, categories, k):
        x = np.asarray(embeddings, dtype=np.float64)
        sim = x @ x.T  # dot product: long vectors are everybody's neighbour
        np.fill_diagonal(sim, -np.inf)
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        cats = np.asarray(categories)
        return float((cats[top] == cats[:, None]).mean())

    return rate


register(
    Exercise(
        id="ch05.ex1",
        title="how often text neighbours share a category",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_self, wrong_ex1_dot, lambda **_: 0.5),
        example_context=context_ex1,
    )
)

# ---------------------------------------------------------------- ch05.ex2


def check_ex2(answer):
    if not callable(answer):
        raise NotYet("the answer is a function masked_mean(xs, mask)")
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(5, 3, generator=g) for _ in range(3)]
    mask = torch.tensor(
        [[1, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]], dtype=torch.bool
    )
    garbage = [x.clone() for x in xs]
    for m in range(3):
        garbage[m][~mask[:, m]] = float("nan")  # missing entries hold nan
    stacked = torch.stack(xs, 1)  # (B, M, d)
    w = mask.float().unsqueeze(-1)
    expected = (stacked * w).sum(1) / w.sum(1)
    try:
        value = answer(garbage, mask)
    except Exception as err:  # noqa: BLE001
        raise NotYet(f"it failed on 3 modalities of shape (5, 3): {err!r}") from err
    if not isinstance(value, torch.Tensor) or tuple(value.shape) != (5, 3):
        raise NotYet("return a tensor of shape (B, d) = (5, 3)")
    if torch.isnan(value).any():
        raise NotYet(
            "nan leaked through: 0 * nan is nan, so replace missing entries "
            "(torch.where) instead of multiplying them by 0"
        )
    if torch.allclose(value, (stacked * w).sum(1) / 3):
        raise NotYet("divide by the number of PRESENT modalities, not by M")
    if not torch.allclose(value, expected, atol=1e-6):
        raise NotYet("average, per row, only the modalities whose mask is True")
    return "missing modalities neither count nor leak"


def solution_ex2():
    def masked_mean(xs, mask):
        x = torch.stack(xs, dim=1)  # (B, M, d)
        present = mask.bool().unsqueeze(-1)  # (B, M, 1)
        x = torch.where(present, x, torch.zeros(()))  # nan-safe, unlike x * mask
        return x.sum(dim=1) / present.sum(dim=1).clamp(min=1)

    return masked_mean


def wrong_ex2_multiply():
    def masked_mean(xs, mask):
        x = torch.stack(xs, 1) * mask.float().unsqueeze(-1)  # nan * 0 = nan
        return x.sum(1) / mask.float().sum(1, keepdim=True)

    return masked_mean


def wrong_ex2_divide_by_m():
    def masked_mean(xs, mask):
        x = torch.where(mask.unsqueeze(-1), torch.stack(xs, 1), torch.zeros(()))
        return x.mean(1)

    return masked_mean


register(
    Exercise(
        id="ch05.ex2",
        title="a fusion that ignores missing modalities",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_multiply, wrong_ex2_divide_by_m, lambda: "mean"),
    )
)

# ---------------------------------------------------------------- ch05.ex3


def context_ex3():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {USER_COL: rng.integers(0, 50, n), ITEM_COL: rng.integers(0, 40, n)}
    ).drop_duplicates(ignore_index=True)
    return {"interactions": df}


def check_ex3(answer, interactions):
    if not callable(answer):
        raise NotYet(
            "the answer is a function cold_item_split(interactions, cold_frac, seed)"
        )
    try:
        train, test = answer(interactions, 0.25, 0)
    except Exception as err:  # noqa: BLE001
        raise NotYet(f"it failed: {err!r}") from err
    for name, part in (("train", train), ("test", test)):
        if not isinstance(part, pd.DataFrame) or ITEM_COL not in part.columns:
            raise NotYet(f"{name} must be a DataFrame with an '{ITEM_COL}' column")
    if len(train) + len(test) != len(interactions):
        raise NotYet("every interaction goes to exactly one part")
    shared = set(train[ITEM_COL]) & set(test[ITEM_COL])
    if shared:
        raise NotYet(
            f"{len(shared)} test items also occur in train: hold out whole ITEMS, "
            "with all their interactions, not random rows"
        )
    n_items = interactions[ITEM_COL].nunique()
    n_cold = test[ITEM_COL].nunique()
    if not 0.15 * n_items <= n_cold <= 0.35 * n_items:
        raise NotYet(
            f"about 25% of the items should be cold, got {n_cold} of {n_items}"
        )
    return f"{n_cold} cold items, none of them seen in training"


def solution_ex3(interactions=None):
    def cold_item_split(interactions, cold_frac, seed):
        rng = np.random.default_rng(seed)
        items = np.unique(interactions[ITEM_COL])
        cold = rng.choice(items, int(round(cold_frac * items.size)), replace=False)
        is_cold = interactions[ITEM_COL].isin(cold)
        return interactions[~is_cold], interactions[is_cold]

    return cold_item_split


def wrong_ex3_rows(interactions=None):
    def cold_item_split(interactions, cold_frac, seed):
        test = interactions.sample(frac=cold_frac, random_state=seed)
        return interactions.drop(test.index), test

    return cold_item_split


register(
    Exercise(
        id="ch05.ex3",
        title="a split with truly cold items",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            wrong_ex3_rows,
            lambda interactions: (interactions, interactions),
        ),
        example_context=context_ex3,
    )
)
