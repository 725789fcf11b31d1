"""Explanations of recommendations and a test of their faithfulness.

Introduced in Chapter 11 ("Trust"). Three kinds of explanation:

* **feature attributions** of the feature MLP ranker of Chapter 6 --
  :func:`ranker_inputs` builds its input vectors, :func:`attribute` runs
  Captum's integrated gradients or the simpler input x gradient on them;
* **"because you liked X"** from item-item similarity
  (:func:`item_knn_explanations`): for ItemKNN the score *is* a sum over the
  history, so the contributions are exact;
* **attention weights** of SASRec (:func:`last_attention`), with the caveat
  that attention is not explanation.

An explanation is only useful if it is *faithful*: removing what it calls
important must change the model's output more than removing something at
random. :func:`deletion_test` (features) and :func:`remove_from_sequences`
(history items of a sequence model) run that check.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..checks import check_choice, check_id_array, check_int
from ..models import FeatureMLPRanker, SASRec

__all__ = [
    "ATTRIBUTION_METHODS",
    "DeletionResult",
    "attribute",
    "deletion_test",
    "item_knn_explanations",
    "last_attention",
    "ranker_feature_names",
    "ranker_head",
    "ranker_inputs",
    "remove_from_sequences",
]

#: Methods of :func:`attribute`.
ATTRIBUTION_METHODS = ("integrated_gradients", "input_x_gradient")


def _check_ranker(ranker, where: str) -> FeatureMLPRanker:
    if not isinstance(ranker, FeatureMLPRanker):
        raise TypeError(
            f"{where}: ranker must be a FeatureMLPRanker, got {type(ranker).__name__}"
        )
    if ranker.cfg.context_dim:
        raise ValueError(
            f"{where}: rankers with context features need the context passed; use a context-free ranker"
        )
    for dim, table, name in (
        (ranker.cfg.user_feat_dim, ranker.user_table, "user"),
        (ranker.cfg.item_feat_dim, ranker.item_table, "item"),
    ):
        if dim and table is None:
            raise ValueError(
                f"{where}: the ranker has no stored {name} feature table (set_feature_tables)"
            )
    return ranker


def ranker_inputs(ranker: FeatureMLPRanker, users, items) -> torch.Tensor:
    """The MLP input ``(B, input_dim)`` of ``(user, item)`` pairs.

    Introduced in Chapter 11. The columns are ``[user id embedding; item id
    embedding; user features; item features]`` exactly as in
    :class:`~recsys_lib.models.FeatureMLPRanker` (parts of width 0 are
    absent), so ``ranker_head(ranker)(ranker_inputs(ranker, u, i))`` equals
    ``ranker(u, i)``.
    """
    ranker = _check_ranker(ranker, "ranker_inputs")
    users = torch.as_tensor(check_id_array(users, "users", ranker.n_users))
    items = torch.as_tensor(check_id_array(items, "items", ranker.n_items))
    if users.shape != items.shape:
        raise ValueError(
            f"ranker_inputs: users {tuple(users.shape)} and items {tuple(items.shape)} differ in length"
        )
    parts = []
    with torch.no_grad():
        if ranker.cfg.id_dim:
            parts += [ranker.user(users), ranker.item(items)]
        if ranker.cfg.user_feat_dim:
            parts.append(ranker.user_table[users])
        if ranker.cfg.item_feat_dim:
            parts.append(ranker.item_table[items])
    return torch.cat(parts, dim=-1).float()


def ranker_feature_names(ranker: FeatureMLPRanker, user_names, item_names) -> list[str]:
    """Names of the columns of :func:`ranker_inputs` (id embedding dims included)."""
    user_names, item_names = list(user_names), list(item_names)
    cfg = ranker.cfg
    for names, dim, what in (
        (user_names, cfg.user_feat_dim, "user"),
        (item_names, cfg.item_feat_dim, "item"),
    ):
        if len(names) != dim:
            raise ValueError(
                f"ranker_feature_names: {len(names)} {what} names for {dim} {what} features"
            )
    ids = [f"user_id[{j}]" for j in range(cfg.id_dim)] + [
        f"item_id[{j}]" for j in range(cfg.id_dim)
    ]
    return ids + [f"user:{n}" for n in user_names] + [f"item:{n}" for n in item_names]


def ranker_head(ranker: FeatureMLPRanker) -> Callable[[torch.Tensor], torch.Tensor]:
    """The ranker's MLP as a function of its input vectors: ``(B, D) -> (B,)`` logits."""
    ranker = _check_ranker(ranker, "ranker_head")

    def head(x: torch.Tensor) -> torch.Tensor:
        return ranker.mlp(x).squeeze(-1)

    return head


def attribute(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    method: str = "integrated_gradients",
    baseline: torch.Tensor | None = None,
    n_steps: int = 32,
) -> torch.Tensor:
    """Feature attributions of a scalar-output model, with Captum.

    Introduced in Chapter 11.

    * ``"integrated_gradients"`` {cite}`sundararajan2017axiomatic`: the
      gradient averaged along the straight path from ``baseline`` to the
      input, times ``input - baseline``; the attributions of a row add up to
      ``f(input) - f(baseline)`` (up to the path integral's error).
    * ``"input_x_gradient"``: the gradient at the input times the input --
      one backward pass, exact for a linear model, blind to saturation.

    Args:
        forward: ``(B, D) -> (B,)``, e.g. :func:`ranker_head`.
        inputs: float ``(B, D)``.
        method: one of :data:`ATTRIBUTION_METHODS`.
        baseline: ``(D,)`` or ``(B, D)`` reference input ("feature absent");
            default zeros. Only integrated gradients uses it.
        n_steps: integration steps of integrated gradients.

    Returns:
        float ``(B, D)`` attributions (no gradient attached).
    """
    with warnings.catch_warnings():
        # Captum imports ``tqdm.auto``, which warns on stderr in a Jupyter kernel
        # without ipywidgets; the book's progress bars are plain text, so the
        # warning is noise (and nbval counts any stderr as a failed cell).
        warnings.filterwarnings("ignore", message="IProgress not found")
        from captum.attr import InputXGradient, IntegratedGradients  # heavy import

    method = check_choice(method, "method", ATTRIBUTION_METHODS, where="attribute")
    n_steps = check_int(n_steps, "n_steps", low=2, where="attribute")
    if (
        not isinstance(inputs, torch.Tensor)
        or not inputs.is_floating_point()
        or inputs.ndim != 2
    ):
        raise TypeError("attribute: inputs must be a float tensor (B, D)")
    if inputs.shape[0] == 0:
        raise ValueError("attribute: inputs is empty")
    x = inputs.detach().clone().requires_grad_(True)
    if method == "input_x_gradient":
        out = InputXGradient(forward).attribute(x)
    else:
        base = (
            torch.zeros_like(x)
            if baseline is None
            else torch.as_tensor(baseline, dtype=x.dtype).expand_as(x)
        )
        out = IntegratedGradients(forward).attribute(x, baselines=base, n_steps=n_steps)
    return out.detach()


@dataclass(frozen=True)
class DeletionResult:
    """Output of :func:`deletion_test` (one value per row).

    Attributes:
        top_drop: ``f(x) - f(x with its top-k attributed features removed)``.
        random_drop: the same with ``k`` features chosen at random.
        k: number of features removed.
    """

    top_drop: np.ndarray
    random_drop: np.ndarray
    k: int


def deletion_test(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    attributions: torch.Tensor,
    k: int,
    baseline: torch.Tensor | None = None,
    seed: int = 0,
) -> DeletionResult:
    """Faithfulness check: remove the top-k attributed features vs k random ones.

    Introduced in Chapter 11. "Removing" a feature sets it to its baseline
    value (default 0). The top features are those with the largest
    attribution (the ones that pushed the score *up*), so a faithful method
    gives ``top_drop`` clearly above ``random_drop``; compare them with a
    paired bootstrap over rows.

    Raises:
        ValueError: for mismatched shapes or ``k`` outside ``[1, D]``.
    """
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 2:
        raise TypeError("deletion_test: inputs must be a float tensor (B, D)")
    if tuple(attributions.shape) != tuple(inputs.shape):
        raise ValueError(
            f"deletion_test: attributions {tuple(attributions.shape)} and inputs "
            f"{tuple(inputs.shape)} differ in shape"
        )
    n, d = inputs.shape
    k = check_int(k, "k", low=1, high=d, where="deletion_test")
    base = (
        torch.zeros(d)
        if baseline is None
        else torch.as_tensor(baseline, dtype=inputs.dtype)
    )
    base = base.expand_as(inputs)
    gen = torch.Generator().manual_seed(int(seed))
    top = torch.argsort(attributions, dim=1, descending=True, stable=True)[:, :k]
    rand = torch.argsort(torch.rand(n, d, generator=gen), dim=1)[:, :k]
    with torch.no_grad():
        full = forward(inputs)
        drops = []
        for cols in (top, rand):
            x = inputs.clone()
            x.scatter_(1, cols, base.gather(1, cols))
            drops.append((full - forward(x)).double().numpy())
    return DeletionResult(top_drop=drops[0], random_drop=drops[1], k=k)


def item_knn_explanations(
    history, item: int, similarity: sp.spmatrix, top: int = 3
) -> list[tuple[int, float]]:
    """ "Because you liked X": the history items that contribute most to an item's score.

    Introduced in Chapter 11. ItemKNN scores item ``i`` for a user as
    ``sum_j W[j, i]`` over the history items ``j``
    (:class:`~recsys_lib.models.ItemKNN`, ``similarity`` = its ``W``), so
    each history item's contribution is exact and they add up to the score.

    Returns:
        Up to ``top`` pairs ``(history item, contribution)`` with a
        contribution > 0, largest first (ties: lower id first).
    """
    if not sp.issparse(similarity):
        raise TypeError(
            "item_knn_explanations: similarity must be a scipy sparse matrix"
        )
    n_items = similarity.shape[0]
    history = check_id_array(history, "history", n_items, where="item_knn_explanations")
    item = check_int(
        item, "item", low=0, high=n_items - 1, where="item_knn_explanations"
    )
    top = check_int(top, "top", low=1, where="item_knn_explanations")
    if history.size == 0:
        return []
    contrib = np.asarray(similarity[history][:, item].todense()).ravel()
    order = np.lexsort((history, -contrib))
    return [(int(history[j]), float(contrib[j])) for j in order[:top] if contrib[j] > 0]


def last_attention(model: SASRec, seq) -> torch.Tensor:
    """Attention of the last position over the sequence, last block, mean over heads.

    Introduced in Chapter 11. This is what "attention explanations" of
    SASRec usually show: how much the final hidden state (the one that
    scores the next item) looked at each history position. It is *not* a
    measure of importance {cite}`jain2019attention,wiegreffe2019attention`:
    values, later layers and the residual path all mix the positions again.

    Returns:
        float ``(B, T)``; padded positions get 0; each row sums to 1.
    """
    if not isinstance(model, SASRec):
        raise TypeError(
            f"last_attention: model must be a SASRec, got {type(model).__name__}"
        )
    maps = model.attention_maps(seq)
    return maps[-1][:, :, -1, :].mean(dim=1)  # (B, T)


def remove_from_sequences(seq, positions, pad_id: int) -> torch.Tensor:
    """Delete the items at ``positions`` from left-padded sequences, padding on the left.

    Introduced in Chapter 11 for the faithfulness check of sequence
    explanations: the remaining items keep their order and move right.

    Args:
        seq: int ``(B, T)``, left-padded with ``pad_id``.
        positions: int ``(B, m)`` column indices to delete per row.
        pad_id: the padding id.
    """
    seq = torch.as_tensor(seq)
    positions = torch.as_tensor(positions)
    if seq.ndim != 2 or positions.ndim != 2 or positions.shape[0] != seq.shape[0]:
        raise ValueError(
            f"remove_from_sequences: seq must be (B, T) and positions (B, m), got "
            f"{tuple(seq.shape)} and {tuple(positions.shape)}"
        )
    if positions.numel() and (positions.min() < 0 or positions.max() >= seq.shape[1]):
        raise ValueError("remove_from_sequences: a position is outside [0, T)")
    keep = torch.ones_like(seq, dtype=torch.bool)
    keep.scatter_(1, positions.long(), False)
    out = torch.full_like(seq, pad_id)
    for b in range(seq.shape[0]):
        row = seq[b][keep[b]]
        if row.numel():
            out[b, -row.numel() :] = row
    return out
