"""Training objectives for recommenders.

Introduced in Chapter 6 ("The MLP ranker"), which compares them, and reused
by every chapter that trains a neural recommender.

Every loss here takes *scores* (raw logits, any real number) and returns the
mean loss as a scalar tensor, ready for :func:`recsys_lib.training.fit`. Each
formula is written next to its gradient with respect to the scores, because
the gradient is what tells the model which scores to push up or down.

Shapes are checked before anything is computed. Chapter 1's lesson is that
PyTorch broadcasts silently: ``(B, 1) - (B,)`` is a ``(B, B)`` matrix and the
loss is then the mean of the wrong thing, without any error. Here a shape
mismatch raises a ``ValueError`` that names both shapes.

Objectives:

* pointwise -- :func:`mse_loss` (explicit ratings) and :func:`bce_loss`
  (clicked or not), plus :func:`sampled_bce_loss` for one positive against
  sampled negatives (NCF, the original SASRec);
* pairwise -- :func:`bpr_loss` (Rendle et al., 2009);
* listwise -- :func:`sampled_softmax_loss` (a positive against sampled
  negatives, with the optional logQ correction of Yi et al., 2019) and
  :func:`softmax_cross_entropy` (the full softmax over the whole catalog).

Negatives come from :class:`recsys_lib.data.loaders.NegativeSampler`
(uniform or popularity-based, never one of the user's positives). For next-item
training, :func:`next_item_loss_fn` turns these losses into the
``loss_fn(model, batch)`` of :func:`recsys_lib.training.fit` (Chapter 7).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_int
from ..data.loaders import NegativeSampler

__all__ = [
    "bce_loss",
    "bpr_loss",
    "mse_loss",
    "next_item_loss_fn",
    "sampled_bce_loss",
    "sampled_softmax_loss",
    "softmax_cross_entropy",
]

NEXT_ITEM_LOSSES = ("ce", "bce", "sampled_softmax")


# ---------------------------------------------------------------- checks
def _check_float(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (scores/logits), got dtype "
            f"{x.dtype}; convert with .float()"
        )
    return x


def _check_same_shape(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{na} has shape {tuple(a.shape)} but {nb} has shape {tuple(b.shape)}; "
            "they must match exactly (no silent broadcasting)"
        )


def _check_nonempty(x: torch.Tensor, name: str) -> None:
    if x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}): nothing to average"
        )


def _check_mask(mask, like: torch.Tensor, name_like: str) -> torch.Tensor | None:
    """``mask`` is ``None`` or a bool tensor of ``like``'s shape with a True entry."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor, got {got}")
    _check_same_shape(mask, like, "mask", name_like)
    if not bool(mask.any()):
        raise ValueError("mask selects no entry: nothing to average")
    return mask


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return values.mean()
    return values[mask].mean()


def _pos_neg(pos: torch.Tensor, neg: torch.Tensor, fn: str) -> torch.Tensor:
    """Check ``pos (N,)`` against ``neg (N,)`` or ``(N, K)``; return ``neg (N, K)``."""
    _check_float(pos, f"{fn}: pos_scores")
    _check_float(neg, f"{fn}: neg_scores")
    if pos.dim() != 1:
        raise ValueError(
            f"{fn}: pos_scores must be 1-D (N,), got shape {tuple(pos.shape)}"
        )
    if neg.dim() not in (1, 2) or neg.shape[0] != pos.shape[0]:
        raise ValueError(
            f"{fn}: pos_scores has shape {tuple(pos.shape)} but neg_scores has shape "
            f"{tuple(neg.shape)}; neg_scores must be (N,) or (N, K) with the same N"
        )
    _check_nonempty(pos, f"{fn}: pos_scores")
    _check_nonempty(neg, f"{fn}: neg_scores")
    return neg if neg.dim() == 2 else neg.unsqueeze(1)


# ---------------------------------------------------------------- pointwise
def mse_loss(
    scores: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Mean squared error, for explicit ratings.

    Chapter 1's loss, here with the shape check it lacked; compared with the
    other losses in Chapter 6. With ``N`` entries (where ``mask`` is True)

    .. math:: L = \frac{1}{N} \sum_i (s_i - y_i)^2, \qquad
              \frac{\partial L}{\partial s_i} = \frac{2}{N} (s_i - y_i).

    Args:
        scores: predicted ratings, any shape, floating point.
        targets: true ratings, the same shape and a floating dtype.
        mask: optional bool tensor of the same shape; only True entries count.

    Returns:
        A scalar tensor.

    Raises:
        TypeError: for non-float scores/targets or a non-bool mask.
        ValueError: if shapes differ (both are named) or nothing is selected.
    """
    _check_float(scores, "mse_loss: scores")
    _check_float(targets, "mse_loss: targets")
    _check_same_shape(scores, targets, "scores", "targets")
    _check_nonempty(scores, "mse_loss: scores")
    mask = _check_mask(mask, scores, "scores")
    return _masked_mean((scores - targets).pow(2), mask)


def bce_loss(
    logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Binary cross-entropy on logits: was the item clicked (1) or not (0)?

    Introduced in Chapter 6. With :math:`\sigma` the sigmoid and ``N`` entries

    .. math:: L = -\frac{1}{N} \sum_i \big[y_i \log\sigma(s_i)
              + (1 - y_i)\log(1 - \sigma(s_i))\big], \qquad
              \frac{\partial L}{\partial s_i} = \frac{1}{N}(\sigma(s_i) - y_i).

    Computed by ``F.binary_cross_entropy_with_logits``, which is stable for
    large ``|s|`` (never ``log(0)``).

    Args:
        logits: raw scores, any shape.
        labels: targets in ``[0, 1]`` of the same shape, floating point.
        mask: optional bool tensor of the same shape; only True entries count.

    Raises:
        TypeError: for non-float inputs or a non-bool mask.
        ValueError: if shapes differ, labels leave ``[0, 1]``, or nothing is
            selected.
    """
    _check_float(logits, "bce_loss: logits")
    _check_float(labels, "bce_loss: labels")
    _check_same_shape(logits, labels, "logits", "labels")
    _check_nonempty(logits, "bce_loss: logits")
    if bool(((labels < 0) | (labels > 1)).any()):
        raise ValueError("bce_loss: labels must lie in [0, 1]")
    mask = _check_mask(mask, logits, "logits")
    per = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return _masked_mean(per, mask)


def sampled_bce_loss(
    pos_scores: torch.Tensor, neg_scores: torch.Tensor
) -> torch.Tensor:
    r"""BCE of one positive against sampled negatives ("negative sampling").

    Introduced in Chapter 6; the objective of NCF (He et al., 2017, with
    ``K = 4``) and of the original SASRec (``K = 1`` per position). For ``N``
    positives, each with ``K`` negatives,

    .. math:: L = \frac{1}{N} \sum_i \Big[-\log\sigma(s^+_i)
              - \sum_{k=1}^{K} \log\big(1 - \sigma(s^-_{ik})\big)\Big],

    .. math:: \frac{\partial L}{\partial s^+_i} = -\frac{1}{N}\sigma(-s^+_i), \qquad
              \frac{\partial L}{\partial s^-_{ik}} = \frac{1}{N}\sigma(s^-_{ik}).

    Each row counts once however many negatives it has, so ``K = 1`` gives
    exactly SASRec's loss.

    Args:
        pos_scores: ``(N,)`` scores of the observed items.
        neg_scores: ``(N,)`` or ``(N, K)`` scores of sampled negatives.

    Raises:
        TypeError, ValueError: for non-float or mismatched inputs.
    """
    neg = _pos_neg(pos_scores, neg_scores, "sampled_bce_loss")  # (N, K)
    # log(1 - sigmoid(s)) = logsigmoid(-s), stable for large |s|.
    per_row = -F.logsigmoid(pos_scores) - F.logsigmoid(-neg).sum(dim=1)  # (N,)
    return per_row.mean()


# ---------------------------------------------------------------- pairwise
def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    r"""Bayesian Personalized Ranking: the positive should outscore the negative.

    Introduced in Chapter 3 (inside :class:`~recsys_lib.models.BPRMF`;
    Rendle et al., 2009) and compared with the other losses in Chapter 6. With
    :math:`\Delta_{ik} = s^+_i - s^-_{ik}` over ``N`` rows and ``K`` negatives
    per row (``K = 1`` for ``(N,)`` negatives), averaged over all ``N K`` pairs,

    .. math:: L = -\frac{1}{NK} \sum_{i,k} \log\sigma(\Delta_{ik}),

    .. math:: \frac{\partial L}{\partial s^+_i}
              = -\frac{1}{NK}\sum_k \sigma(-\Delta_{ik}), \qquad
              \frac{\partial L}{\partial s^-_{ik}} = \frac{1}{NK}\sigma(-\Delta_{ik}).

    A pair already in the right order by a wide margin has
    :math:`\sigma(-\Delta) \approx 0` and teaches almost nothing: that is why
    hard negatives matter (Chapter 6).

    Args:
        pos_scores: ``(N,)`` scores of the observed items.
        neg_scores: ``(N,)`` or ``(N, K)`` scores of sampled negatives.

    Raises:
        TypeError, ValueError: for non-float or mismatched inputs (a ``(N, 1)``
            positive against ``(N,)`` negatives would broadcast to ``(N, N)``
            in plain PyTorch; here it is an error).
    """
    neg = _pos_neg(pos_scores, neg_scores, "bpr_loss")  # (N, K)
    return -F.logsigmoid(pos_scores.unsqueeze(1) - neg).mean()


# ---------------------------------------------------------------- listwise
def sampled_softmax_loss(
    pos_scores: torch.Tensor,
    neg_scores: torch.Tensor,
    log_q_pos: torch.Tensor | None = None,
    log_q_neg: torch.Tensor | None = None,
    hit_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Softmax over a positive and ``K`` sampled negatives, optionally logQ-corrected.

    Introduced in Chapter 6. Row ``i`` has logits
    :math:`z_{i0} = s^+_i - \log q^+_i` and :math:`z_{ik} = s^-_{ik} - \log q^-_{ik}`
    (without correction all :math:`\log q = 0`); with
    :math:`p_i = \mathrm{softmax}(z_i)` over the ``K + 1`` entries,

    .. math:: L = \frac{1}{N}\sum_i \Big[-z_{i0} + \log\sum_{k=0}^{K} e^{z_{ik}}\Big],

    .. math:: \frac{\partial L}{\partial s^+_i} = \frac{1}{N}(p_{i0} - 1), \qquad
              \frac{\partial L}{\partial s^-_{ik}} = \frac{1}{N} p_{ik}.

    Popular items are drawn as negatives more often, so without correction the
    model learns to push them down too hard. Subtracting the log of each
    item's sampling probability (``log_q``, from
    :meth:`NegativeSampler.log_q`) makes the sampled loss an unbiased-in-the-
    limit estimate of the full softmax (Bengio & Senecal, 2008; Yi et al.,
    2019).

    Args:
        pos_scores: ``(N,)``.
        neg_scores: ``(N, K)`` (or ``(N,)`` for ``K = 1``).
        log_q_pos: optional ``(N,)`` log sampling probabilities of the positives.
        log_q_neg: optional, the shape of ``neg_scores``; give both or neither.
        hit_mask: optional bool, the shape of ``neg_scores``: True where a
            "negative" is in fact the positive (an accidental hit); those
            entries are removed from the softmax.

    Raises:
        TypeError, ValueError: for non-float or mismatched inputs.
    """
    fn = "sampled_softmax_loss"
    neg2 = _pos_neg(pos_scores, neg_scores, fn)  # (N, K)
    if (log_q_pos is None) != (log_q_neg is None):
        raise ValueError(f"{fn}: give both log_q_pos and log_q_neg, or neither")
    pos = pos_scores
    if log_q_pos is not None:
        _check_float(log_q_pos, f"{fn}: log_q_pos")
        _check_float(log_q_neg, f"{fn}: log_q_neg")
        _check_same_shape(log_q_pos, pos_scores, "log_q_pos", "pos_scores")
        _check_same_shape(log_q_neg, neg_scores, "log_q_neg", "neg_scores")
        pos = pos - log_q_pos
        neg2 = neg2 - log_q_neg.reshape(neg2.shape)
    if hit_mask is not None:
        if not isinstance(hit_mask, torch.Tensor) or hit_mask.dtype != torch.bool:
            raise TypeError(f"{fn}: hit_mask must be a bool tensor")
        _check_same_shape(hit_mask, neg_scores, "hit_mask", "neg_scores")
        neg2 = neg2.masked_fill(hit_mask.reshape(neg2.shape), -math.inf)
    logits = torch.cat([pos.unsqueeze(1), neg2], dim=1)  # (N, 1 + K)
    return (torch.logsumexp(logits, dim=1) - pos).mean()


def softmax_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Full-softmax cross-entropy over the whole catalog: which item comes next?

    Introduced in Chapter 6; Chapter 7's SASRec trains with it. For ``N``
    rows of scores over ``C`` items and targets :math:`y_i`,

    .. math:: L = \frac{1}{N}\sum_i \Big[-s_{i y_i}
              + \log\sum_{j=1}^{C} e^{s_{ij}}\Big],
              \qquad
              \frac{\partial L}{\partial s_{ij}} = \frac{1}{N}
              \big(\mathrm{softmax}(s_i)_j - \mathbb{1}[j = y_i]\big).

    Every item but the target is a negative, so no sampler is needed. It
    costs ``N * C`` scores per step: affordable for catalogs of thousands of
    items, which is why the book's SASRec trains with it.

    Args:
        logits: ``(N, C)`` scores.
        targets: ``(N,)`` int64 item ids in ``[0, C)``.
        mask: optional ``(N,)`` bool; only True rows count (e.g. not padding).
            Cheaper still: select the rows before computing their logits.

    Raises:
        TypeError: for float targets or non-float logits.
        ValueError: for mismatched shapes or targets out of ``[0, C)``.
    """
    fn = "softmax_cross_entropy"
    _check_float(logits, f"{fn}: logits")
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"{fn}: targets must be a torch.Tensor of item ids")
    if targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(
            f"{fn}: targets must hold integer item ids (int64), "
            f"got dtype {targets.dtype}"
        )
    if logits.dim() != 2 or targets.dim() != 1 or logits.shape[0] != targets.shape[0]:
        raise ValueError(
            f"{fn}: logits has shape {tuple(logits.shape)} but targets has shape "
            f"{tuple(targets.shape)}; expected (N, C) and (N,)"
        )
    _check_nonempty(targets, f"{fn}: targets")
    mask = _check_mask(mask, targets, "targets")
    checked = targets if mask is None else targets[mask]
    n_classes = logits.shape[1]
    lo, hi = int(checked.min()), int(checked.max())
    if lo < 0 or hi >= n_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{fn}: target id {bad} is outside [0, {n_classes}) (the logits have "
            f"{n_classes} columns); is a padding id left in the targets?"
        )
    if mask is None:
        return F.cross_entropy(logits, targets.long())
    return F.cross_entropy(logits[mask], targets[mask].long())


# ---------------------------------------------------------------- next item
def next_item_loss_fn(
    kind: str = "ce",
    sampler: NegativeSampler | None = None,
    n_negatives: int = 100,
    log_q_correction: bool = True,
) -> Callable:
    """A ``loss_fn(model, batch)`` for :func:`recsys_lib.training.fit`.

    Introduced in Chapter 7. ``batch`` is a
    :class:`~recsys_lib.data.sequences.NextItemBatch`. The model's hidden
    states at the real positions of ``batch.inputs`` are gathered first (``N``
    of them), so no score is ever computed for padding.

    Args:
        kind: ``"ce"`` -- full-softmax cross-entropy over the catalog (the
            default: no sampler, fastest to converge);
            ``"bce"`` -- the original SASRec loss, one sampled negative per
            position and :func:`sampled_bce_loss`;
            ``"sampled_softmax"`` -- ``n_negatives`` per position and
            :func:`sampled_softmax_loss`.
        sampler: a :class:`~recsys_lib.data.loaders.NegativeSampler` (for the
            sampled kinds).
        n_negatives: negatives per position for ``"sampled_softmax"``.
        log_q_correction: subtract ``log q`` in the sampled softmax.

    Returns:
        ``loss_fn(model, batch) -> scalar tensor``.
    """
    if kind not in NEXT_ITEM_LOSSES:
        raise ValueError(f"kind must be one of {NEXT_ITEM_LOSSES}, got {kind!r}")
    if kind != "ce" and not isinstance(sampler, NegativeSampler):
        raise ValueError(f"kind={kind!r} needs a NegativeSampler as sampler")
    n_negatives = check_int(n_negatives, "n_negatives", low=1)

    def loss_fn(model, batch) -> torch.Tensor:
        users, inputs, targets = batch
        hidden = model(inputs, users)  # (B, T, d)
        mask = inputs != model.pad_id  # (B, T)
        h = hidden[mask]  # (N, d)
        y = targets[mask]  # (N,)
        if kind == "ce":
            return softmax_cross_entropy(model.item_logits(h), y)  # (N, n_items)
        row_users = users.unsqueeze(1).expand_as(inputs)[mask]  # (N,)
        if kind == "bce":
            neg = sampler.sample(row_users)  # (N,)
            return sampled_bce_loss(model.score_items(h, y), model.score_items(h, neg))
        neg = sampler.sample(row_users, n_negatives)  # (N, K)
        log_q = (
            (sampler.log_q(y), sampler.log_q(neg)) if log_q_correction else (None, None)
        )
        return sampled_softmax_loss(
            model.score_items(h, y),
            model.score_items(h, neg),
            *log_q,
            hit_mask=neg == y.unsqueeze(1),
        )

    return loss_fn
