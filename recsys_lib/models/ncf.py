"""Neural collaborative filtering: GMF, MLP and NeuMF (He et al., 2017).

Introduced in Chapter 6 ("The MLP ranker").

* :class:`GMF` -- generalized matrix factorization:
  :math:`s(u, i) = h^\\top (p_u \\odot q_i) + b`; with ``h`` all ones it is
  plain matrix factorization.
* :class:`MLPRecommender` -- an MLP on the concatenation ``[p_u; q_i]``
  (a tower whose layers halve in width, as in the paper).
* :class:`NeuMF` -- both, with separate embeddings, their last layers
  concatenated into one output. :meth:`NeuMF.from_pretrained` builds it from
  trained GMF and MLP models, the paper's recipe.

The paper trains all three with BCE on each positive and 4 sampled negatives
(:func:`recsys_lib.models.losses.sampled_bce_loss` with a
:class:`~recsys_lib.data.NegativeSampler`). Note Rendle et al. (2020):
a well-tuned dot product (:class:`recsys_lib.models.MF`) usually beats the
MLP -- the chapter's exercise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import PairScorer, check_fraction, check_positive_int

__all__ = [
    "GMF",
    "GMFConfig",
    "MLPConfig",
    "MLPRecommender",
    "NeuMF",
    "NeuMFConfig",
]


def _check_layers(layers, name: str = "mlp_layers") -> tuple[int, ...]:
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"{name} needs at least one layer size")
    for w in layers:
        check_positive_int(w, f"{name} entries")
    if layers[0] % 2:
        raise ValueError(
            f"{name}[0]={layers[0]} must be even: it is the size of [p_u; q_i], "
            "two embeddings of half that size"
        )
    return layers


def _tower(layers: tuple[int, ...], dropout: float) -> nn.Sequential:
    """``Linear -> ReLU (-> Dropout)`` for each consecutive pair of widths."""
    mods: list[nn.Module] = []
    for w_in, w_out in zip(layers[:-1], layers[1:], strict=True):
        mods += [nn.Linear(w_in, w_out), nn.ReLU()]
        if dropout > 0:
            mods.append(nn.Dropout(dropout))
    return nn.Sequential(*mods)


def _init(module: nn.Module, std: float) -> None:
    """The paper's initialization: N(0, std) embeddings; Xavier for linear layers."""
    if isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 0.0, std)
    elif isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


# ---------------------------------------------------------------- GMF
@dataclass
class GMFConfig:
    """Hyperparameters of :class:`GMF`. Introduced in Chapter 6.

    Attributes:
        n_users, n_items: id ranges.
        dim: the "predictive factors"; the paper tries 8..64 and finds
            larger better on MovieLens; 32 is a good CPU default.
        init_std: std of the normal embedding initialization (0.01 as in the
            paper).
    """

    n_users: int
    n_items: int
    dim: int = 32
    init_std: float = 0.01

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.dim, "dim")

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> GMFConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        return cls(**{"n_users": n_users, "n_items": n_items, "dim": 4, **overrides})


class GMF(PairScorer):
    """Generalized matrix factorization. Introduced in Chapter 6.

    ``forward(user_ids (B,), item_ids (B,)) -> (B,)`` logits;
    ``score(user_ids) -> (B, n_items)``.
    """

    def __init__(self, cfg: GMFConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        self.user = nn.Embedding(cfg.n_users, cfg.dim)
        self.item = nn.Embedding(cfg.n_items, cfg.dim)
        self.out = nn.Linear(cfg.dim, 1)  # h and b
        self.apply(lambda m: _init(m, cfg.init_std))

    def _pairs(self, users, items) -> torch.Tensor:
        return self.out(self.user(users) * self.item(items)).squeeze(-1)  # (B,)

    def _all_items(self, users) -> torch.Tensor:
        # h^T (p_u * q_i) = (p_u * h)^T q_i: one matrix product for all items.
        hp = self.user(users) * self.out.weight  # (B, d)
        return hp @ self.item.weight.T + self.out.bias  # (B, n_items)


# ---------------------------------------------------------------- MLP
@dataclass
class MLPConfig:
    """Hyperparameters of :class:`MLPRecommender`. Introduced in Chapter 6.

    Attributes:
        n_users, n_items: id ranges.
        mlp_layers: widths of the tower; the first is ``|[p_u; q_i]|`` (so
            each embedding has half of it) and each next one halves, the
            paper's "tower pattern" (64 -> 32 -> 16 -> 8 has 8 predictive
            factors).
        dropout: after each hidden layer; the paper uses none.
        init_std: std of the normal embedding initialization (paper: 0.01).
    """

    n_users: int
    n_items: int
    mlp_layers: tuple[int, ...] = (64, 32, 16, 8)
    dropout: float = 0.0
    init_std: float = 0.01

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        self.mlp_layers = _check_layers(self.mlp_layers)
        check_fraction(self.dropout, "dropout")

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> MLPConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = {"n_users": n_users, "n_items": n_items, "mlp_layers": (8, 4)}
        return cls(**{**base, **overrides})


class MLPRecommender(PairScorer):
    """The MLP of NCF: a tower on ``[p_u; q_i]``. Introduced in Chapter 6.

    ``forward(user_ids (B,), item_ids (B,)) -> (B,)`` logits;
    ``score(user_ids) -> (B, n_items)`` scores every pair, in chunks of
    :attr:`score_chunk_pairs` pairs to bound memory.
    """

    #: pairs per chunk in :meth:`score`: small enough that the ``(pairs, width)``
    #: hidden activations stay in the CPU cache (about 2x faster than 2**18).
    score_chunk_pairs: int = 1 << 14

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        half = cfg.mlp_layers[0] // 2
        self.user = nn.Embedding(cfg.n_users, half)
        self.item = nn.Embedding(cfg.n_items, half)
        self.tower = _tower(cfg.mlp_layers, cfg.dropout)
        self.out = nn.Linear(cfg.mlp_layers[-1], 1)
        self.apply(lambda m: _init(m, cfg.init_std))

    def features(self, users, items) -> torch.Tensor:
        """Last hidden layer ``(B, mlp_layers[-1])`` (what NeuMF concatenates)."""
        x = torch.cat([self.user(users), self.item(items)], dim=-1)  # (B, layers[0])
        return self.tower(x)

    def _pairs(self, users, items) -> torch.Tensor:
        return self.out(self.features(users, items)).squeeze(-1)  # (B,)

    def _first_layer_parts(self, users) -> tuple[torch.Tensor, torch.Tensor]:
        """The first linear layer split into a user part and an item part.

        ``W [p_u; q_i] + c = (W_U p_u + c) + W_I q_i``: computing the two parts
        once (``(B, h)`` and ``(n_items, h)``) and adding them for every pair
        replaces the widest matrix product of the tower by an addition.
        """
        first = self.tower[0] if len(self.tower) else self.out
        half = self.user.embedding_dim
        w = first.weight  # (h, 2 * half)
        u_part = self.user(users) @ w[:, :half].T + first.bias  # (B, h)
        i_part = self.item.weight @ w[:, half:].T  # (n_items, h)
        return u_part, i_part

    def _features_all(self, u_part, i_part) -> torch.Tensor:
        """Last hidden layer for every (user, item): ``(b, n_items, layers[-1])``."""
        x = u_part.unsqueeze(1) + i_part.unsqueeze(0)  # (b, n_items, h)
        return self.tower[1:](x)

    def _all_items(self, users) -> torch.Tensor:
        u_part, i_part = self._first_layer_parts(users)
        if not len(self.tower):  # a single layer: the output layer is linear
            return u_part + i_part.squeeze(-1)  # (B, 1) + (n_items,)
        return self._by_user_chunks(
            users.numel(),
            lambda lo, hi: self.out(self._features_all(u_part[lo:hi], i_part)).squeeze(
                -1
            ),
        )


# ---------------------------------------------------------------- NeuMF
@dataclass
class NeuMFConfig:
    """Hyperparameters of :class:`NeuMF`. Introduced in Chapter 6.

    Attributes:
        n_users, n_items: id ranges.
        gmf_dim: GMF factors; the paper pairs 8-64 GMF factors with an MLP
            tower ending at the same size.
        mlp_layers: the MLP tower (see :class:`MLPConfig`).
        dropout: after each MLP hidden layer (paper: none).
        init_std: std of the normal embedding initialization (paper: 0.01).
    """

    n_users: int
    n_items: int
    gmf_dim: int = 32
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    dropout: float = 0.0
    init_std: float = 0.01

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.gmf_dim, "gmf_dim")
        self.mlp_layers = _check_layers(self.mlp_layers)
        check_fraction(self.dropout, "dropout")

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> NeuMFConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = {
            "n_users": n_users,
            "n_items": n_items,
            "gmf_dim": 4,
            "mlp_layers": (8, 4),
        }
        return cls(**{**base, **overrides})

    def gmf_config(self) -> GMFConfig:
        """The config of the GMF part (to pre-train it alone)."""
        return GMFConfig(self.n_users, self.n_items, self.gmf_dim, self.init_std)

    def mlp_config(self) -> MLPConfig:
        """The config of the MLP part (to pre-train it alone)."""
        return MLPConfig(
            self.n_users, self.n_items, self.mlp_layers, self.dropout, self.init_std
        )


class NeuMF(PairScorer):
    """Neural matrix factorization: GMF and MLP side by side. Introduced in Chapter 6.

    .. math:: s(u, i) = h^\\top [p^G_u \\odot q^G_i;\\
              \\mathrm{MLP}([p^M_u; q^M_i])] + b

    ``forward(user_ids (B,), item_ids (B,)) -> (B,)`` logits;
    ``score(user_ids) -> (B, n_items)`` (chunked over pairs).
    """

    score_chunk_pairs: int = MLPRecommender.score_chunk_pairs

    def __init__(self, cfg: NeuMFConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        self.gmf = GMF(cfg.gmf_config())
        self.mlp = MLPRecommender(cfg.mlp_config())
        # The parts' own output layers are unused; NeuMF has one joint output.
        self.out = nn.Linear(cfg.gmf_dim + cfg.mlp_layers[-1], 1)
        _init(self.out, cfg.init_std)

    def _pairs(self, users, items) -> torch.Tensor:
        g = self.gmf.user(users) * self.gmf.item(items)  # (B, gmf_dim)
        m = self.mlp.features(users, items)  # (B, mlp_layers[-1])
        return self.out(torch.cat([g, m], dim=-1)).squeeze(-1)  # (B,)

    def _all_items(self, users) -> torch.Tensor:
        # The output is linear in [g; m]: the GMF half is one matrix product
        # (as in GMF), the MLP half reuses the MLP's split first layer.
        w = self.out.weight[0]  # (gmf_dim + mlp_layers[-1],)
        w_g, w_m = w[: self.cfg.gmf_dim], w[self.cfg.gmf_dim :]
        gmf = (self.gmf.user(users) * w_g) @ self.gmf.item.weight.T  # (B, n_items)
        if not len(self.mlp.tower):  # no hidden layer: the MLP part is [p_u; q_i]
            half = self.mlp.user.embedding_dim
            mlp_all = (self.mlp.user(users) @ w_m[:half]).unsqueeze(1) + (
                self.mlp.item.weight @ w_m[half:]
            )
            return gmf + mlp_all + self.out.bias
        u_part, i_part = self.mlp._first_layer_parts(users)
        mlp_all = self._by_user_chunks(
            users.numel(),
            lambda lo, hi: self.mlp._features_all(u_part[lo:hi], i_part) @ w_m,
        )  # (B, n_items)
        return gmf + mlp_all + self.out.bias

    @classmethod
    def from_pretrained(
        cls, gmf: GMF, mlp: MLPRecommender, alpha: float = 0.5
    ) -> NeuMF:
        """Initialize from trained GMF and MLP models (He et al., Section 3.4.1).

        Embeddings and the MLP tower are copied; the joint output is
        ``[alpha * h_GMF; (1 - alpha) * h_MLP]`` with bias
        ``alpha * b_GMF + (1 - alpha) * b_MLP``. Fine-tune afterwards with
        plain SGD, as the paper does (Adam's moments are not carried over).

        Raises:
            ValueError: if the two models' sizes do not fit together.
        """
        if not isinstance(gmf, GMF) or not isinstance(mlp, MLPRecommender):
            raise TypeError("from_pretrained needs a GMF and an MLPRecommender")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if (gmf.n_users, gmf.n_items) != (mlp.n_users, mlp.n_items):
            raise ValueError(
                f"GMF is for {gmf.n_users} users x {gmf.n_items} items but the "
                "MLP is for "
                f"{mlp.n_users} x {mlp.n_items}"
            )
        cfg = NeuMFConfig(
            gmf.n_users,
            gmf.n_items,
            gmf.cfg.dim,
            mlp.cfg.mlp_layers,
            mlp.cfg.dropout,
            gmf.cfg.init_std,
        )
        model = cls(cfg)
        model.gmf.load_state_dict(gmf.state_dict())
        model.mlp.load_state_dict(mlp.state_dict())
        with torch.no_grad():
            model.out.weight.copy_(
                torch.cat([alpha * gmf.out.weight, (1 - alpha) * mlp.out.weight], dim=1)
            )
            model.out.bias.copy_(alpha * gmf.out.bias + (1 - alpha) * mlp.out.bias)
        return model
