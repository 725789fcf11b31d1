"""The two-tower retrieval model of Chapter 8, its in-batch loss and its training.

Introduced in Chapter 8 ("Two-stage recall and ranking"), where it is the
main candidate source of the retrieval stage (see :mod:`recsys_lib.retrieval`):

* :class:`TwoTowerModel` -- a user tower that reads the user's profile
  features and recent items, an item tower that reads the item's id and
  content features, both ending in L2-normalised vectors; the score is their
  cosine divided by a temperature. It follows the library's recommender
  protocol (:mod:`recsys_lib.models.base`): ``score(user_ids, items=None)``
  returns a float32 tensor and ``recommend`` comes from
  :class:`~recsys_lib.models.base.RecommendMixin`, so it is evaluated like
  any other model; :class:`recsys_lib.retrieval.TwoTowerRetriever` searches
  its item vectors with an index;
* :func:`in_batch_softmax_loss` -- the other items of a batch as negatives,
  with the logQ correction of Yi et al. (2019);
* :func:`train_two_tower` -- one example per interaction whose history is
  the items *before* it, batches from a ``torch`` ``DataLoader``, minimised
  with :func:`recsys_lib.training.fit`;
* :func:`build_histories` -- each user's newest items, left-padded with
  ``n_items``: the serving-time input of the user tower and of
  :class:`recsys_lib.retrieval.RecentCategoryRetriever`.

(Chapter 5's multimodal two-tower, trained on sampled negatives for cold
items, is :mod:`recsys_lib.models.multimodal_two_tower`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from ..checks import INT_DTYPES, check_fraction, check_int, check_number
from ..config import TIMESTAMP_COL
from ..data.sequences import build_sequences, pad_sequences
from ..training import History, fit
from .base import RecommendMixin, inference
from .losses import sampled_softmax_loss

__all__ = [
    "TwoTowerConfig",
    "TwoTowerModel",
    "build_histories",
    "check_histories",
    "in_batch_softmax_loss",
    "train_two_tower",
]


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


# ================================================================ histories
def build_histories(
    interactions: pd.DataFrame,
    n_users: int,
    n_items: int,
    max_len: int,
    time_col: str | None = TIMESTAMP_COL,
) -> np.ndarray:
    """Each user's last ``max_len`` items, left-padded with ``n_items``.

    Introduced in Chapter 8. The serving-time input of
    :class:`TwoTowerModel` and :class:`recsys_lib.retrieval.RecentCategoryRetriever`.
    The users' sequences come from
    :func:`recsys_lib.data.sequences.build_sequences` and are padded by
    :func:`recsys_lib.data.sequences.pad_sequences`.

    Args:
        interactions: DataFrame with ``user_id``, ``item_id`` and (unless
            ``time_col=None``, then the row order is the time order) a time
            column; ties keep the row order.
        n_users, n_items: id ranges.
        max_len: items kept per user (the newest).

    Returns:
        int64 ``(n_users, max_len)``; row ``u`` is ``[pad, ..., oldest, ...,
        newest]``; a user without interactions gets a row of padding only.

    Raises:
        TypeError, ValueError: as :func:`recsys_lib.data.sequences.build_sequences`.
    """
    max_len = check_int(max_len, "max_len", low=1)
    seqs = build_sequences(interactions, n_users, n_items, time_col=time_col)
    out = np.full((seqs.n_users, max_len), n_items, dtype=np.int64)
    active = np.flatnonzero(seqs.lengths > 0)  # pad_sequences needs >= 1 item
    if active.size:
        rows = [seqs.sequences[u] for u in active]
        out[active] = pad_sequences(rows, max_len, n_items, width=max_len).numpy()
    return out


def check_histories(histories, n_users: int | None, n_items: int) -> np.ndarray:
    """Histories as :func:`build_histories` makes them, as an int64 array.

    Raises:
        TypeError: for non-integer ids.
        ValueError: for a wrong shape, a wrong number of rows (``n_users``,
            unless ``None``) or ids outside ``0..n_items`` (``n_items`` is
            the padding id).
    """
    h = np.asarray(_to_numpy(histories))
    if h.ndim != 2:
        raise ValueError(
            f"histories must be 2-D (n_users, max_len), got shape {h.shape}; "
            "build them with build_histories"
        )
    if h.shape[1] == 0:
        raise ValueError("histories has no columns")
    if not np.issubdtype(h.dtype, np.integer):
        raise TypeError(f"histories must hold integer item ids, got dtype {h.dtype}")
    if n_users is not None and h.shape[0] != n_users:
        raise ValueError(f"histories has {h.shape[0]} rows, expected n_users={n_users}")
    if h.size and (h.min() < 0 or h.max() > n_items):
        raise ValueError(
            f"histories must hold item ids 0..{n_items - 1} and the padding id "
            f"{n_items}, got values {int(h.min())}..{int(h.max())}"
        )
    return h.astype(np.int64)


# ================================================================ the model
@dataclass
class TwoTowerConfig:
    """Hyperparameters of :class:`TwoTowerModel`. Introduced in Chapter 8.

    Attributes:
        n_users, n_items: id ranges.
        user_feat_dim: width of the dense user profile features (0 = none).
        item_feat_dim: width of the dense item content features (0 = none).
        id_dim: size of the item-id embeddings (used for the item itself
            and, averaged, for the user's history).
        dim: size of the final, L2-normalised user and item vectors; 32-64
            is plenty for thousands of items and keeps ANN search cheap.
        hidden: hidden layer widths of each tower's MLP (``()`` = one
            linear layer).
        max_history: history items the user tower reads (the newest).
        temperature: scores are ``cos(u, v) / temperature``; a small value
            (0.05) sharpens the softmax over the in-batch items, the usual
            choice for normalised two-tower models (Yi et al., 2019).
        dropout: after each hidden layer.
        share_embeddings: the history and the item tower share one item
            embedding table (fewer parameters, and items in a history move
            together with the items they predict).
        init_std: std of the normal initialization of the embeddings.
    """

    n_users: int
    n_items: int
    user_feat_dim: int = 0
    item_feat_dim: int = 0
    id_dim: int = 32
    dim: int = 32
    hidden: tuple[int, ...] = (64,)
    max_history: int = 20
    temperature: float = 0.05
    dropout: float = 0.0
    share_embeddings: bool = True
    init_std: float = 0.05

    def __post_init__(self) -> None:
        check_int(self.n_users, "n_users", low=1)
        check_int(self.n_items, "n_items", low=1)
        check_int(self.user_feat_dim, "user_feat_dim", low=0)
        check_int(self.item_feat_dim, "item_feat_dim", low=0)
        check_int(self.id_dim, "id_dim", low=1)
        check_int(self.dim, "dim", low=1)
        check_int(self.max_history, "max_history", low=1)
        self.hidden = tuple(self.hidden)
        for w in self.hidden:
            check_int(w, "hidden entries", low=1)
        check_fraction(self.dropout, "dropout")
        check_number(self.temperature, "temperature", low=0.0, low_open=True)

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> TwoTowerConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = dict(
            n_users=n_users,
            n_items=n_items,
            user_feat_dim=3,
            item_feat_dim=4,
            id_dim=8,
            dim=8,
            hidden=(16,),
            max_history=5,
            temperature=0.1,
        )
        return cls(**{**base, **overrides})


def _mlp(
    in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for w in hidden:
        layers += [nn.Linear(width, w), nn.ReLU(), nn.Dropout(dropout)]
        width = w
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _feature_table(x, shape: tuple[int, int], name: str) -> torch.Tensor:
    t = torch.as_tensor(_to_numpy(x))
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got dtype {t.dtype}")
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} holds nan or inf")
    return t.float().clone()


class TwoTowerModel(RecommendMixin, nn.Module):
    """A two-tower retrieval model. Introduced in Chapter 8.

    * **user tower**: ``[user profile features; mean of the embeddings of
      the user's last max_history items]`` -> MLP -> L2 normalisation. The
      mean ignores padding (``n_items``); a user without history gets a zero
      history part (her vector then comes from the profile alone);
    * **item tower**: ``[item-id embedding; item content features]`` -> MLP
      -> L2 normalisation;
    * score ``s(u, i) = u . v_i / temperature`` (a cosine, sharpened).

    Because users are described by what they did rather than by an id
    embedding, a user's vector follows her latest clicks without retraining.
    Train with :func:`train_two_tower` (in-batch sampled softmax with the
    logQ correction); retrieve with
    :class:`recsys_lib.retrieval.TwoTowerRetriever`.

    Args:
        cfg: a :class:`TwoTowerConfig`.
        user_features: float ``(n_users, user_feat_dim)``, needed when
            ``user_feat_dim > 0`` (or set later with :meth:`set_feature_tables`).
        item_features: float ``(n_items, item_feat_dim)``, likewise.

    Shape:
        ``forward(user_ids (B,), histories (B, T), item_ids (B,)) -> (B,)`` logits.
    """

    def __init__(
        self, cfg: TwoTowerConfig, user_features=None, item_features=None
    ) -> None:
        super().__init__()
        if not isinstance(cfg, TwoTowerConfig):
            raise TypeError(f"cfg must be a TwoTowerConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        self.history_embedding = nn.Embedding(
            cfg.n_items + 1, cfg.id_dim, padding_idx=cfg.n_items
        )
        nn.init.normal_(self.history_embedding.weight, 0.0, cfg.init_std)
        with torch.no_grad():
            self.history_embedding.weight[cfg.n_items].zero_()
        if cfg.share_embeddings:
            self.item_embedding = None
        else:
            self.item_embedding = nn.Embedding(cfg.n_items, cfg.id_dim)
            nn.init.normal_(self.item_embedding.weight, 0.0, cfg.init_std)
        self.user_mlp = _mlp(
            cfg.id_dim + cfg.user_feat_dim, cfg.hidden, cfg.dim, cfg.dropout
        )
        self.item_mlp = _mlp(
            cfg.id_dim + cfg.item_feat_dim, cfg.hidden, cfg.dim, cfg.dropout
        )
        self.register_buffer("user_table", None)
        self.register_buffer("item_table", None)
        self.register_buffer(
            "histories",
            torch.full((cfg.n_users, cfg.max_history), cfg.n_items, dtype=torch.int64),
        )
        self.set_feature_tables(user_features, item_features)

    # ------------------------------------------------------------ state
    def set_feature_tables(
        self, user_features=None, item_features=None
    ) -> TwoTowerModel:
        """Store the feature tables ``(n_users, Fu)`` / ``(n_items, Fi)``."""
        cfg = self.cfg
        for table, rows, cols, attr in (
            (user_features, cfg.n_users, cfg.user_feat_dim, "user_table"),
            (item_features, cfg.n_items, cfg.item_feat_dim, "item_table"),
        ):
            name = attr.replace("_table", "_features")
            if table is None:
                continue
            if cols == 0:
                raise ValueError(
                    f"{name} given but the config says {name[:4]}_feat_dim=0"
                )
            setattr(self, attr, _feature_table(table, (rows, cols), name))
        return self

    def set_histories(self, histories) -> TwoTowerModel:
        """Store every user's serving history, int ``(n_users, max_history)``.

        Left-padded with ``n_items``, as :func:`build_histories` makes them.
        """
        h = check_histories(histories, self.n_users, self.n_items)
        if h.shape[1] != self.cfg.max_history:
            raise ValueError(
                f"histories has {h.shape[1]} columns, expected max_history="
                f"{self.cfg.max_history}"
            )
        self.histories = torch.from_numpy(h.copy())
        return self

    @property
    def has_history(self) -> np.ndarray:
        """bool ``(n_users,)``: users whose stored history holds at least one item."""
        return (self.histories < self.n_items).any(dim=1).numpy()

    # ------------------------------------------------------------ towers
    def _table(self, table, ids, dim: int, name: str):
        if dim == 0:
            return None
        if table is None:
            raise ValueError(
                f"{name} are missing: pass them to the model or call set_feature_tables"
            )
        return table[ids]

    def _ids(self, ids, n: int, name: str) -> torch.Tensor:
        t = torch.as_tensor(_to_numpy(ids))
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"{name} is empty")
        if t.dtype not in INT_DTYPES:
            raise TypeError(f"{name} must hold integer ids, got dtype {t.dtype}")
        t = t.long()
        if int(t.min()) < 0 or int(t.max()) >= n:
            raise ValueError(
                f"{name} must lie in [0, {n}), got {int(t.min())}..{int(t.max())}"
            )
        return t

    def encode_users(self, user_ids, histories) -> torch.Tensor:
        """L2-normalised user vectors ``(B, dim)`` from ids (for features) and histories.

        Args:
            user_ids: int ``(B,)``.
            histories: int ``(B, T)`` item ids with padding ``n_items`` (any
                order; the mean ignores padding).
        """
        users = self._ids(user_ids, self.n_users, "user_ids")
        hist = torch.as_tensor(_to_numpy(histories))
        if hist.dim() != 2 or hist.shape[0] != users.numel():
            raise ValueError(
                f"histories must have shape (B, T) with B={users.numel()}, got "
                f"{tuple(hist.shape)}"
            )
        if hist.dtype.is_floating_point or hist.dtype == torch.bool:
            raise TypeError(f"histories must hold integer item ids, got {hist.dtype}")
        hist = hist.long()
        if hist.numel() and (int(hist.min()) < 0 or int(hist.max()) > self.n_items):
            raise ValueError(
                f"histories must hold ids 0..{self.n_items - 1} or the padding id "
                f"{self.n_items}"
            )
        present = (hist < self.n_items).unsqueeze(-1).float()  # (B, T, 1)
        emb = self.history_embedding(hist)  # (B, T, id_dim); padding rows are 0
        mean = emb.sum(1) / present.sum(1).clamp(min=1.0)  # (B, id_dim)
        parts = [mean]
        feats = self._table(
            self.user_table, users, self.cfg.user_feat_dim, "user features"
        )
        if feats is not None:
            parts.append(feats)
        return F.normalize(self.user_mlp(torch.cat(parts, dim=1)), dim=1)

    def encode_items(self, item_ids) -> torch.Tensor:
        """L2-normalised item vectors ``(B, dim)``."""
        items = self._ids(item_ids, self.n_items, "item_ids")
        table = self.item_embedding or self.history_embedding
        parts = [table(items)]
        feats = self._table(
            self.item_table, items, self.cfg.item_feat_dim, "item features"
        )
        if feats is not None:
            parts.append(feats)
        return F.normalize(self.item_mlp(torch.cat(parts, dim=1)), dim=1)

    def forward(self, user_ids, histories, item_ids) -> torch.Tensor:
        """Logits ``cos(u, v) / temperature`` of matching pairs, ``(B,)``."""
        u = self.encode_users(user_ids, histories)
        v = self.encode_items(item_ids)
        if u.shape[0] != v.shape[0]:
            raise ValueError(
                f"{u.shape[0]} users but {v.shape[0]} items; give one per user"
            )
        return (u * v).sum(1) / self.cfg.temperature

    # ------------------------------------------------------------ inference
    def user_vectors(self, user_ids) -> torch.Tensor:
        """Vectors ``(B, dim)`` of users from their stored histories (inference)."""
        users = self._ids(user_ids, self.n_users, "user_ids")
        with inference(self):
            return self.encode_users(users, self.histories[users])

    def item_vectors(self, batch_size: int = 4096) -> torch.Tensor:
        """Vectors ``(n_items, dim)`` of every item (inference)."""
        with inference(self):
            return torch.cat(
                [
                    self.encode_items(
                        torch.arange(lo, min(lo + batch_size, self.n_items))
                    )
                    for lo in range(0, self.n_items, batch_size)
                ]
            )

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Logits of every item (or of ``items``) for some users, for inference.

        The recommender protocol's ``score``: float32 ``(B, n_items)`` (or
        ``(B, len(items))``), from the users' stored histories; what
        :func:`recsys_lib.eval.evaluate_full` and ``recommend`` use.
        """
        logits = self.user_vectors(user_ids) @ self.item_vectors().T
        return self._select_items(logits / self.cfg.temperature, items)


# ================================================================ training
def _training_examples(
    interactions, n_users: int, n_items: int, max_len: int, time_col
):
    """``(users (N,), histories (N, L), items (N,))``: each interaction and the items before it."""
    seqs = build_sequences(interactions, n_users, n_items, time_col=time_col)
    lengths = seqs.lengths
    items = np.concatenate(seqs.sequences) if lengths.sum() else np.zeros(0, np.int64)
    users = np.repeat(np.arange(seqs.n_users), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(items.size) - starts  # position within the user's sequence
    hist = np.full((items.size, max_len), n_items, dtype=np.int64)
    for s in range(1, max_len + 1):  # column max_len - s holds the s-th previous item
        ok = pos >= s
        hist[ok, max_len - s] = items[np.flatnonzero(ok) - s]
    # The target itself (e.g. a click before the purchase of the same item) is
    # hidden from its own history, so the model cannot learn "repeat the input".
    hist[hist == items[:, None]] = n_items
    return users, hist, items


class _EvenBatchSampler(Sampler):
    """One permutation per epoch from a NumPy generator, cut into even batches.

    ``np.array_split`` makes batch sizes differ by at most one, so that no
    batch has a single row (an in-batch softmax needs two). The data loaders
    of :mod:`recsys_lib.data.loaders` cut fixed-size batches instead, whose
    last batch may hold one row; this order is Chapter 8's.
    """

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n = n
        self.n_batches = max(1, math.ceil(n / batch_size))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        order = self.rng.permutation(self.n)
        for idx in np.array_split(order, self.n_batches):
            yield torch.from_numpy(idx)


def in_batch_softmax_loss(
    model: TwoTowerModel, batch, log_q: torch.Tensor | None = None
) -> torch.Tensor:
    r"""In-batch sampled softmax of a two-tower model, optionally logQ-corrected.

    Row ``i`` of a batch of ``B`` pairs ``(user_i, item_i)`` treats the other
    ``B - 1`` items of the batch as its negatives:
    :math:`L_i = -z_{ii} + \log\sum_j e^{z_{ij}}` with
    :math:`z_{ij} = s(u_i, v_j) - \log q_j`, where :math:`q_j` is the
    probability of item ``j`` being in a batch (its share of the training
    positives). Popular items are in-batch negatives more often; without the
    correction the model learns to push them down too hard (Yi et al., 2019).
    Copies of a row's own item among its negatives are removed.
    Computed with :func:`recsys_lib.models.losses.sampled_softmax_loss`.
    """
    users, hist, items = batch
    u = model.encode_users(users, hist)
    v = model.encode_items(items)
    B = items.numel()
    if B < 2:
        raise ValueError("an in-batch softmax needs at least 2 rows per batch")
    logits = u @ v.T / model.cfg.temperature  # (B, B)
    off = ~torch.eye(B, dtype=torch.bool)
    pos = logits.diagonal()
    neg = logits[off].view(B, B - 1)
    neg_items = items.expand(B, B)[off].view(B, B - 1)
    hit = neg_items == items.unsqueeze(1)
    if log_q is None:
        return sampled_softmax_loss(pos, neg, hit_mask=hit)
    return sampled_softmax_loss(pos, neg, log_q[items], log_q[neg_items], hit_mask=hit)


def train_two_tower(
    model: TwoTowerModel,
    interactions: pd.DataFrame,
    epochs: int = 5,
    *,
    batch_size: int = 256,
    lr: float = 0.005,
    weight_decay: float = 0.0,
    logq_correction: bool = True,
    seed: int = 0,
    time_col: str | None = TIMESTAMP_COL,
    set_histories: bool = True,
    show_progress: bool = False,
) -> History:
    """Train a :class:`TwoTowerModel` with an in-batch sampled softmax.

    Introduced in Chapter 8. Every interaction ``(u, i)`` becomes one
    example whose history is the user's ``max_history`` items *before* it
    (never the item itself), so training sees what serving will see. Loss:
    :func:`in_batch_softmax_loss` with the logQ correction (``q`` = each item's
    share of the training interactions), minimised with AdamW through
    :func:`recsys_lib.training.fit`. The same ``seed`` (and the same initial
    weights: seed torch before building the model) gives the same model.

    Args:
        model: the model.
        interactions: DataFrame with ``user_id``, ``item_id`` and a time
            column (``time_col=None``: the row order is the time order).
        epochs: passes over the interactions.
        batch_size: pairs per batch (= 1 positive + ``B - 1`` negatives per
            row); batches are split evenly, so none has a single row.
        lr, weight_decay: AdamW settings.
        logq_correction: subtract ``log q`` (recommended).
        seed: shuffling and dropout.
        time_col: the time column.
        set_histories: afterwards store each user's last ``max_history``
            items of ``interactions`` as her serving history
            (:meth:`TwoTowerModel.set_histories`).
        show_progress: a progress bar over epochs.

    Returns:
        the :class:`recsys_lib.training.History` (``train_loss`` per epoch).

    Raises:
        TypeError, ValueError: for a bad model or frame, ids out of range,
            fewer than 2 interactions, or bad settings.
    """
    if not isinstance(model, TwoTowerModel):
        raise TypeError(f"model must be a TwoTowerModel, got {type(model).__name__}")
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a DataFrame, got {type(interactions).__name__}"
        )
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=2)
    seed = check_int(seed, "seed", low=0)
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    cfg = model.cfg
    users, hist, items = _training_examples(
        interactions, cfg.n_users, cfg.n_items, cfg.max_history, time_col
    )
    if items.size < 2:
        raise ValueError(
            f"interactions has {items.size} row(s); an in-batch softmax needs at least 2"
        )
    log_q = None
    if logq_correction:
        counts = np.bincount(items, minlength=cfg.n_items).astype(np.float64)
        with np.errstate(divide="ignore"):
            log_q = torch.from_numpy(np.log(counts / counts.sum()).astype(np.float32))
    loader = DataLoader(  # re-iterable: every pass is one epoch in a new order
        TensorDataset(*(torch.from_numpy(a) for a in (users, hist, items))),
        sampler=_EvenBatchSampler(items.size, batch_size, seed),
        batch_size=None,  # the sampler yields whole batches of positions
        generator=torch.Generator().manual_seed(seed),  # never the global one
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def loss_fn(net: TwoTowerModel, batch) -> torch.Tensor:
        return in_batch_softmax_loss(net, batch, log_q)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the global generator
        history = fit(
            model,
            loader,
            loss_fn,
            optimizer,
            epochs=epochs,
            show_progress=show_progress,
            desc="two-tower",
        )
    if set_histories:
        model.set_histories(
            build_histories(
                interactions, cfg.n_users, cfg.n_items, cfg.max_history, time_col
            )
        )
    return history
