"""Exercises of Chapter 7 -- Sequence models and the Transformer ranker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..config import ITEM_COL, TIMESTAMP_COL, USER_COL
from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch07.ex1


def check_ex1(causal_mask):
    if not callable(causal_mask):
        raise NotYet("the answer is a function causal_mask(T) -> bool tensor (T, T)")
    for T in (1, 4, 7):
        try:
            m = torch.as_tensor(causal_mask(T))
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"causal_mask({T}) failed: {err!r}") from err
        if tuple(m.shape) != (T, T):
            raise NotYet(
                f"causal_mask({T}) must have shape ({T}, {T}), got {tuple(m.shape)}"
            )
        if m.dtype != torch.bool:
            raise NotYet(
                "return a bool tensor: True means 'query i may attend to key j'"
            )
        want = torch.ones(T, T, dtype=torch.bool).tril()
        if T > 1 and torch.equal(m, want.T):
            raise NotYet(
                "that mask lets each position see the future: rows are queries"
            )
        if not torch.equal(m, want):
            raise NotYet(
                "query i may see keys j <= i (itself included) and nothing later"
            )


def solution_ex1():
    def causal_mask(T):
        return torch.ones(T, T, dtype=torch.bool).tril()  # [i, j] = j <= i

    return causal_mask


register(
    Exercise(
        id="ch07.ex1",
        title="a causal attention mask",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(
            lambda: lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
            lambda: lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
            lambda: lambda T: torch.ones(T, T, dtype=torch.bool),
        ),
    )
)

# ---------------------------------------------------------------- ch07.ex2


def check_ex2(make_pairs):
    if not callable(make_pairs):
        raise NotYet("the answer is a function make_pairs(seq) -> (inputs, targets)")
    seq = np.array([5, 3, 9, 1, 7])
    try:
        inputs, targets = make_pairs(seq)
    except Exception as err:  # noqa: BLE001
        raise NotYet(f"make_pairs failed on {seq.tolist()}: {err!r}") from err
    inputs, targets = np.asarray(inputs).tolist(), np.asarray(targets).tolist()
    if len(inputs) != len(targets):
        raise NotYet(
            "inputs and targets must have the same length: one target per position"
        )
    if inputs == targets:
        raise NotYet("a position must predict the NEXT item, not the item it reads")
    if inputs == [3, 9, 1, 7] and targets == [5, 3, 9, 1]:
        raise NotYet("inputs and targets are swapped: the model reads the past")
    if inputs != [5, 3, 9, 1] or targets != [3, 9, 1, 7]:
        raise NotYet(
            "for [5, 3, 9, 1, 7] expect inputs [5, 3, 9, 1] and targets [3, 9, 1, 7]"
        )


def solution_ex2():
    def make_pairs(seq):
        seq = np.asarray(seq)
        return seq[:-1], seq[1:]  # position t reads s[:t+1] and predicts s[t+1]

    return make_pairs


register(
    Exercise(
        id="ch07.ex2",
        title="all-position next-item training pairs",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(
            lambda: lambda s: (np.asarray(s)[:-1], np.asarray(s)[:-1]),
            lambda: lambda s: (np.asarray(s)[1:], np.asarray(s)[:-1]),
            lambda: lambda s: (np.asarray(s), np.asarray(s)),
        ),
    )
)

# ---------------------------------------------------------------- ch07.ex3


def context_ex3():
    # Item 0 was popular long ago, item 1 is popular lately, item 2 only after the cutoff.
    rows = (
        [(u, 0, t) for u, t in zip(range(8), range(0, 8), strict=True)]
        + [(u, 1, t) for u, t in zip(range(4), range(90, 94), strict=True)]
        + [(u, 3, 95) for u in range(2)]
        + [(u, 2, t) for u, t in zip(range(6), range(101, 107), strict=True)]
    )
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL, TIMESTAMP_COL])
    return {"interactions": df, "cutoff": 100, "window": 20}


def check_ex3(recent_popular, interactions=None, cutoff=None, window=None):
    if not callable(recent_popular):
        raise NotYet("the answer is a function recent_popular(df, cutoff, window, k)")
    if interactions is None:
        ctx = context_ex3()
        interactions, cutoff, window = ctx["interactions"], ctx["cutoff"], ctx["window"]
    try:
        top = [int(i) for i in recent_popular(interactions, cutoff, window, 2)]
    except Exception as err:  # noqa: BLE001
        raise NotYet(f"recent_popular failed: {err!r}") from err
    t = interactions[TIMESTAMP_COL]
    recent = interactions[(t < cutoff) & (t >= cutoff - window)]
    counts = recent[ITEM_COL].value_counts(sort=False)
    want = counts.sort_values(ascending=False, kind="stable").index[:2].tolist()
    future = set(interactions.loc[t >= cutoff, ITEM_COL]) - set(recent[ITEM_COL])
    if future & set(top):
        raise NotYet("you used interactions at or after the cutoff: that is the future")
    if sorted(top) != sorted(int(i) for i in want):
        raise NotYet(
            "count only the interactions with cutoff - window <= time < cutoff "
            "and return the k most frequent items, most frequent first"
        )
    if top[0] != int(want[0]):
        raise NotYet("order the items by count, most frequent first")


def solution_ex3(**_):
    def recent_popular(df, cutoff, window, k):
        t = df[TIMESTAMP_COL]
        recent = df[(t < cutoff) & (t >= cutoff - window)]
        return recent[ITEM_COL].value_counts().index[:k].to_numpy()

    return recent_popular


register(
    Exercise(
        id="ch07.ex3",
        title="popularity in a recent window before a cutoff",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda **_: lambda df, c, w, k: df[ITEM_COL].value_counts().index[:k],
            lambda **_: (
                lambda df, c, w, k: (
                    df[df[TIMESTAMP_COL] >= c - w][ITEM_COL].value_counts().index[:k]
                )
            ),
            lambda **_: (
                lambda df, c, w, k: (
                    df[df[TIMESTAMP_COL] < c][ITEM_COL].value_counts().index[:k]
                )
            ),
        ),
        example_context=context_ex3,
    )
)
