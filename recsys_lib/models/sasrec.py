"""SASRec: self-attentive sequential recommendation (Kang & McAuley, 2018).

Introduced in Chapter 7 ("Sequence models and the Transformer ranker").

A user's history is a left-padded sequence of item ids. Each position gets
the item's embedding plus a learned position embedding; causal self-attention
blocks let position ``t`` look at items ``<= t`` only; the hidden state at
``t`` is scored against every item embedding (the same table as the input:
tied weights) to predict item ``t + 1``. Training predicts the next item at
*every* position of a sequence at once (see
:class:`recsys_lib.data.NextItemBatches`), as the original does.

Attention is written out by hand, so :meth:`SASRec.attention_maps` can return
the weights for the chapter's attention-map figures; training uses PyTorch's
fused ``scaled_dot_product_attention`` on the same mask, which computes the
same numbers faster.

Differences from the paper, each a common modern choice: pre-layer-norm
blocks (``x + f(LN(x))``, which trains stably without warm-up), a final
layer norm, position ids counted from the *right* (the newest item always
has position ``max_len - 1``, as in the original's left-padded layout, so
trimming leading padding never changes an output), and full-softmax
cross-entropy as the default loss instead of one sampled negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import (
    SequentialRecommender,
    check_fraction,
    check_positive_int,
    check_sequences,
    inference,
    tied_item_logits,
    tied_score_items,
)

__all__ = ["SASRec", "SASRecConfig"]


@dataclass
class SASRecConfig:
    """Hyperparameters of :class:`SASRec`. Introduced in Chapter 7.

    Attributes:
        n_items: catalog size; item ids are ``0..n_items-1`` and ``n_items``
            is the padding id.
        max_len: longest history read (the newest items are kept). 200 is the
            paper's MovieLens-1M value; on ML-100K it covers the whole history
            of ~85% of users.
        dim: embedding / hidden size. The paper uses 50; 64 splits evenly into
            heads and is just as fast on a CPU.
        n_layers: self-attention blocks; the paper found 2 best, more overfit
            on small data.
        n_heads: attention heads; the paper found 1 as good as more. 2 heads
            of 32 cost the same and make attention maps more interesting.
        ffn_dim: hidden size of the position-wise feed-forward net; ``None``
            means ``dim`` (the paper's choice; 4 x dim is the NLP habit).
        dropout: on embeddings, residual branches and inside the
            feed-forward net; 0.2 is the paper's value for dense data such
            as MovieLens.
        attn_dropout: dropout on the attention weights. 0 by default: on a
            CPU it needs a random ``(B, heads, T, T)`` mask per block and
            forces PyTorch off its fused attention kernel, which made a
            training step ~5x slower in our measurements, while the other
            dropouts regularize enough (the paper applies one rate to all).
        init_std: std of the normal initialization of embeddings and linear
            weights (0.02, as in GPT-2 / nanoGPT).
    """

    n_items: int
    max_len: int = 200
    dim: int = 64
    n_layers: int = 2
    n_heads: int = 2
    ffn_dim: int | None = None
    dropout: float = 0.2
    attn_dropout: float = 0.0
    init_std: float = 0.02

    def __post_init__(self) -> None:
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.max_len, "max_len")
        check_positive_int(self.dim, "dim")
        check_positive_int(self.n_layers, "n_layers")
        check_positive_int(self.n_heads, "n_heads")
        if self.dim % self.n_heads:
            raise ValueError(
                f"dim={self.dim} must be a multiple of n_heads={self.n_heads}"
            )
        if self.ffn_dim is None:
            self.ffn_dim = self.dim
        check_positive_int(self.ffn_dim, "ffn_dim")
        check_fraction(self.dropout, "dropout")
        check_fraction(self.attn_dropout, "attn_dropout")

    @classmethod
    def tiny(cls, n_items: int = 10, **overrides) -> SASRecConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        # init_std 0.1: with a handful of items, embeddings drawn with std 0.02
        # start nearly equal, and tied training can collapse them into one.
        base = dict(
            n_items=n_items,
            max_len=12,
            dim=16,
            n_layers=2,
            n_heads=2,
            dropout=0.0,
            init_std=0.1,
        )
        base.update(overrides)
        return cls(**base)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention under a boolean "may attend" mask.

    Introduced in Chapter 7.
    """

    def __init__(self, dim: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(
        self,
        x: torch.Tensor,
        allowed: torch.Tensor,
        need_weights: bool = False,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend.

        Args:
            x: ``(B, T, d)``.
            allowed: bool ``(B, 1, T, T)``; ``allowed[b, 0, i, j]`` says whether
                query ``i`` may look at key ``j``. Every row must allow at
                least one key.
            need_weights: also return the attention weights.
            last_only: compute the output of the last query only (``Tq = 1``),
                all that next-item scoring needs from the last block.

        Returns:
            ``(y, weights)``: ``y`` ``(B, Tq, d)``; ``weights``
            ``(B, heads, Tq, T)`` (before dropout) or ``None``.
        """
        B, T, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(x).split(d, dim=2)  # 3 x (B, T, d)
        if last_only:
            q, allowed = q[:, -1:], allowed[:, :, -1:]  # (B, 1, d), (B, 1, 1, T)
        Tq = q.shape[1]
        q = q.view(B, Tq, h, d // h).transpose(1, 2)  # (B, h, Tq, dh)
        k = k.view(B, T, h, d // h).transpose(1, 2)  # (B, h, T, dh)
        v = v.view(B, T, h, d // h).transpose(1, 2)  # (B, h, T, dh)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)  # (B, h, Tq, T)
            att = att.masked_fill(~allowed, -math.inf).softmax(dim=-1)
            weights = att
            y = F.dropout(att, p, self.training) @ v  # (B, h, Tq, dh)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, Tq, d)  # (B, Tq, d)
        return self.proj(y), weights


class SASRecBlock(nn.Module):
    """Pre-LN transformer block: ``x + Attn(LN(x))``, then ``x + FFN(LN(x))``.

    Introduced in Chapter 7.
    """

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.dim)
        self.attn = CausalSelfAttention(cfg.dim, cfg.n_heads, cfg.attn_dropout)
        self.ln2 = nn.LayerNorm(cfg.dim)
        self.ffn = nn.Sequential(
            nn.Linear(cfg.dim, cfg.ffn_dim),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.ffn_dim, cfg.dim),
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        allowed: torch.Tensor,
        keep: torch.Tensor,
        need_weights: bool = False,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(B, T, d)``, ``allowed`` ``(B, 1, T, T)``, ``keep`` ``(B, T, 1)``.

        With ``last_only`` the block returns the last position only, ``(B, 1, d)``.
        """
        a, weights = self.attn(self.ln1(x), allowed, need_weights, last_only)
        if last_only:
            x, keep = x[:, -1:], keep[:, -1:]  # (B, 1, d), (B, 1, 1)
        x = x + self.drop(a)  # (B, Tq, d)
        x = x + self.drop(self.ffn(self.ln2(x)))  # (B, Tq, d)
        return x * keep, weights  # padded positions stay exactly zero


class SASRec(SequentialRecommender):
    """Self-attentive sequential recommender (Kang & McAuley, 2018).

    Introduced in Chapter 7. See the module docstring for the architecture.

    Args:
        cfg: a :class:`SASRecConfig`.

    Example::

        model = SASRec(SASRecConfig(n_items=1682))
        hidden = model(seq)              # (B, T, 64)
        logits = model.score_last(seq)   # (B, 1682): the next item
    """

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_items = cfg.n_items
        self.max_len = cfg.max_len
        # One extra row for the padding id n_items; it stays zero (padding_idx).
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.dim, padding_idx=cfg.n_items)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.dim)
        self.emb_drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(SASRecBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.apply(self._init)
        with torch.no_grad():
            self.item_emb.weight[cfg.n_items].zero_()

    def _init(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, 0.0, self.cfg.init_std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def _embed(self, seq: torch.Tensor):
        B, T = seq.shape
        keep = (seq != self.n_items).unsqueeze(-1)  # (B, T, 1)
        positions = torch.arange(self.max_len - T, self.max_len)  # (T,) right-aligned
        x = self.item_emb(seq) * math.sqrt(self.cfg.dim) + self.pos_emb(positions)
        x = self.emb_drop(x) * keep  # (B, T, d)
        causal = torch.ones(T, T, dtype=torch.bool).tril()  # (T, T)
        # Query i may see key j <= i if j is a real item; it may always see
        # itself, so padded queries never face an all-masked row (no nan).
        allowed = (causal & keep.transpose(1, 2)) | torch.eye(T, dtype=torch.bool)
        return x, allowed.unsqueeze(1), keep  # (B, T, d), (B, 1, T, T), (B, T, 1)

    def _hidden(self, seq: torch.Tensor, users=None) -> torch.Tensor:
        x, allowed, keep = self._embed(seq)
        for block in self.blocks:
            x, _ = block(x, allowed, keep)
        return self.ln_f(x) * keep  # (B, T, d)

    def _score_last(self, seq: torch.Tensor, users=None) -> torch.Tensor:
        # The last block only needs to compute the newest position.
        x, allowed, keep = self._embed(seq)
        for block in self.blocks[:-1]:
            x, _ = block(x, allowed, keep)
        x, _ = self.blocks[-1](x, allowed, keep, last_only=True)  # (B, 1, d)
        return self.item_logits(self.ln_f(x[:, 0]))  # (B, n_items)

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over all items: ``(..., d) -> (..., n_items)`` (tied embeddings)."""
        return tied_item_logits(hidden, self.item_emb.weight, self.n_items)

    def score_items(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of chosen items: ``hidden (N, d)``, ``items (N,)`` or ``(N, K)``."""
        return tied_score_items(hidden, self.item_emb.weight, items, self.n_items)

    def attention_maps(self, seq) -> list[torch.Tensor]:
        """Attention weights of every block (inference: no_grad, eval mode).

        Args:
            seq: int64 ``(B, T)``, left-padded.

        Returns:
            A list with one float tensor ``(B, heads, T, T)`` per block; row
            ``i`` sums to 1 over the keys ``j <= i`` that are real items. A
            padded query attends to itself only; ignore those rows.
        """
        seq = check_sequences(seq, self.n_items, self.max_len)
        maps = []
        with inference(self):
            x, allowed, keep = self._embed(seq)
            for block in self.blocks:
                x, weights = block(x, allowed, keep, need_weights=True)
                maps.append(weights)
        return maps
