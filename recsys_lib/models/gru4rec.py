"""GRU4Rec: a recurrent next-item model (Hidasi et al., 2016).

Introduced in Chapter 7 ("Sequence models and the Transformer ranker"), as
the recurrent baseline that SASRec is compared with.

Items are embedded, a GRU reads them oldest first, and the hidden state at
each position is scored against the item embeddings (tied weights, through a
linear map when the GRU is wider than the embeddings). Training uses the
same all-positions batches and losses as SASRec, not the original's
session-parallel mini-batches, so the two models differ only in the encoder.

Left padding and a GRU do not mix on their own: a GRU's state changes even on
an all-zero input. The batch is therefore packed
(``pack_padded_sequence``), so each row starts from a zero state at its first
real item and padding never touches the computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .base import (
    SequentialRecommender,
    check_fraction,
    check_positive_int,
    tied_item_logits,
    tied_score_items,
)

__all__ = ["GRU4Rec", "GRU4RecConfig"]


@dataclass
class GRU4RecConfig:
    """Hyperparameters of :class:`GRU4Rec`. Introduced in Chapter 7.

    Attributes:
        n_items: catalog size; ``n_items`` is the padding id.
        max_len: longest history read (the newest items are kept); the same
            200 as SASRec so both see the same data.
        dim: item embedding size, 64 as for SASRec.
        hidden: GRU state size; ``None`` means ``dim`` (then no projection
            is needed for the tied output). The paper uses 100.
        n_layers: stacked GRU layers; the paper found one best.
        dropout: on the embeddings and on the GRU output; 0.25 is moderate
            regularization -- tune it per data set in [0, 0.5].
        init_std: std of the normal initialization of the item embeddings.
    """

    n_items: int
    max_len: int = 200
    dim: int = 64
    hidden: int | None = None
    n_layers: int = 1
    dropout: float = 0.25
    init_std: float = 0.02

    def __post_init__(self) -> None:
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.max_len, "max_len")
        check_positive_int(self.dim, "dim")
        if self.hidden is None:
            self.hidden = self.dim
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.n_layers, "n_layers")
        check_fraction(self.dropout, "dropout")

    @classmethod
    def tiny(cls, n_items: int = 10, **overrides) -> GRU4RecConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = dict(n_items=n_items, max_len=12, dim=16, dropout=0.0)
        return cls(**{**base, **overrides})


class GRU4Rec(SequentialRecommender):
    """Embedding -> GRU -> tied output. Introduced in Chapter 7.

    ``forward(seq (B, T)) -> (B, T, dim)`` hidden states (zero at padding);
    ``score_last(seq) -> (B, n_items)``.
    """

    def __init__(self, cfg: GRU4RecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_items, self.max_len = cfg.n_items, cfg.max_len
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.dim, padding_idx=cfg.n_items)
        nn.init.normal_(self.item_emb.weight, 0.0, cfg.init_std)
        with torch.no_grad():
            self.item_emb.weight[cfg.n_items].zero_()
        self.gru = nn.GRU(cfg.dim, cfg.hidden, cfg.n_layers, batch_first=True)
        self.proj = nn.Linear(cfg.hidden, cfg.dim) if cfg.hidden != cfg.dim else None
        self.drop = nn.Dropout(cfg.dropout)

    def _hidden(self, seq: torch.Tensor, users=None) -> torch.Tensor:
        B, T = seq.shape
        lengths = (seq != self.n_items).sum(1)  # (B,)
        # Left-padded -> right-padded: row b is rolled left by its padding T - L_b.
        shift = (T - lengths).unsqueeze(1)  # (B, 1)
        cols = torch.arange(T).unsqueeze(0)  # (1, T)
        to_right = (cols + shift) % T  # (B, T)
        x = self.drop(self.item_emb(seq.gather(1, to_right)))  # (B, T, dim)
        packed = pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, H)
        back = (cols - shift) % T  # (B, T): right-padded -> left-padded
        out = out.gather(1, back.unsqueeze(-1).expand(-1, -1, out.shape[-1]))
        if self.proj is not None:
            out = self.proj(out)  # (B, T, dim)
        keep = (seq != self.n_items).unsqueeze(-1)  # (B, T, 1)
        return self.drop(out) * keep  # (B, T, dim)

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over all items: ``(..., dim) -> (..., n_items)`` (tied embeddings)."""
        return tied_item_logits(hidden, self.item_emb.weight, self.n_items)

    def score_items(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of chosen items: ``hidden (N, dim)``, ``items (N,)`` or ``(N, K)``."""
        return tied_score_items(hidden, self.item_emb.weight, items, self.n_items)
