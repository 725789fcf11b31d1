import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recsys_lib.models.losses import (
    bce_loss,
    bpr_loss,
    mse_loss,
    sampled_bce_loss,
    sampled_softmax_loss,
    softmax_cross_entropy,
)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def grad_of(loss_fn, *tensors):
    """Autograd gradients of ``loss_fn(*tensors)`` w.r.t. each tensor."""
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    loss_fn(*leaves).backward()
    return [t.grad for t in leaves]


# ---------------------------------------------------------------- values
def test_bpr_on_two_scores_is_minus_log_sigmoid_of_the_difference():
    loss = bpr_loss(torch.tensor([2.0]), torch.tensor([0.5]))
    assert loss.item() == pytest.approx(-math.log(sigmoid(1.5)), rel=1e-6)


def test_bpr_with_k_negatives_averages_over_all_pairs():
    pos = torch.tensor([1.0, 0.0])
    neg = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    pairs = [1.0 - 0.0, 1.0 - 2.0, 0.0 + 1.0, 0.0 - 0.5]
    expected = np.mean([-math.log(sigmoid(d)) for d in pairs])
    assert bpr_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_bce_and_mse_match_hand_computation():
    s = torch.tensor([0.3, -1.2, 2.0])
    y = torch.tensor([1.0, 0.0, 1.0])
    expected = -np.mean(
        [math.log(sigmoid(0.3)), math.log(1 - sigmoid(-1.2)), math.log(sigmoid(2.0))]
    )
    assert bce_loss(s, y).item() == pytest.approx(expected, rel=1e-6)
    assert mse_loss(s, y).item() == pytest.approx(
        np.mean([(0.3 - 1) ** 2, 1.2**2, 1.0]), rel=1e-6
    )
    mask = torch.tensor([True, False, True])
    assert mse_loss(s, y, mask).item() == pytest.approx((0.7**2 + 1.0) / 2, rel=1e-6)


def test_sampled_bce_sums_negatives_and_averages_rows():
    pos = torch.tensor([1.0, -0.5])
    neg = torch.tensor([[0.2, -1.0], [0.0, 3.0]])
    rows = [
        -math.log(sigmoid(1.0))
        - math.log(1 - sigmoid(0.2))
        - math.log(1 - sigmoid(-1.0)),
        -math.log(sigmoid(-0.5))
        - math.log(1 - sigmoid(0.0))
        - math.log(1 - sigmoid(3.0)),
    ]
    assert sampled_bce_loss(pos, neg).item() == pytest.approx(np.mean(rows), rel=1e-6)
    # K = 1 given as (N,) is SASRec's loss.
    one = sampled_bce_loss(pos, neg[:, 0])
    assert one.item() == pytest.approx(sampled_bce_loss(pos, neg[:, :1]).item())


def test_softmax_cross_entropy_matches_torch_and_hand():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 7, generator=g)
    targets = torch.tensor([0, 6, 3, 3, 1])
    ours = softmax_cross_entropy(logits, targets)
    assert torch.allclose(ours, F.cross_entropy(logits, targets))
    row0 = -logits[0, 0] + torch.logsumexp(logits[0], 0)
    first = softmax_cross_entropy(logits[:1], targets[:1])
    assert first.item() == pytest.approx(row0.item(), rel=1e-6)
    mask = torch.tensor([True, False, True, False, False])
    masked = softmax_cross_entropy(logits, targets, mask)
    assert torch.allclose(masked, F.cross_entropy(logits[mask], targets[mask]))


def test_sampled_softmax_is_cross_entropy_over_positive_and_negatives():
    pos = torch.tensor([1.0, 0.2])
    neg = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.1, 0.3]])
    expected = F.cross_entropy(
        torch.cat([pos[:, None], neg], 1), torch.zeros(2, dtype=torch.long)
    )
    assert torch.allclose(sampled_softmax_loss(pos, neg), expected)
    # logQ correction: subtract log q from every logit.
    lq_pos = torch.tensor([-1.0, -2.0])
    lq_neg = torch.tensor([[-0.5, -3.0, -1.0], [-2.0, -2.0, -4.0]])
    corrected = torch.cat([(pos - lq_pos)[:, None], neg - lq_neg], 1)
    expected = F.cross_entropy(corrected, torch.zeros(2, dtype=torch.long))
    assert torch.allclose(sampled_softmax_loss(pos, neg, lq_pos, lq_neg), expected)
    # An accidental hit is removed from the softmax.
    hit = torch.tensor([[False, False, True], [False, False, False]])
    reduced = sampled_softmax_loss(pos[:1], neg[:1, :2])
    both = sampled_softmax_loss(pos, neg, hit_mask=hit)
    other = sampled_softmax_loss(pos[1:], neg[1:])
    assert both.item() == pytest.approx((reduced.item() + other.item()) / 2, rel=1e-6)


# ---------------------------------------------------------------- gradients
def test_bpr_gradient_matches_the_docstring_formula():
    pos = torch.tensor([1.0, -0.3, 0.7])
    neg = torch.tensor([[0.2, 1.5], [0.0, -2.0], [0.7, 0.1]])
    g_pos, g_neg = grad_of(bpr_loss, pos, neg)
    n, k = neg.shape
    delta = pos[:, None] - neg
    sig = torch.sigmoid(-delta)
    assert torch.allclose(g_pos, -sig.sum(1) / (n * k))
    assert torch.allclose(g_neg, sig / (n * k))


def test_bce_and_mse_gradients_match_the_docstring_formulas():
    s = torch.tensor([0.3, -1.2, 2.0, 0.0])
    y = torch.tensor([1.0, 0.0, 1.0, 0.5])
    (g,) = grad_of(lambda x: bce_loss(x, y), s)
    assert torch.allclose(g, (torch.sigmoid(s) - y) / 4)
    (g,) = grad_of(lambda x: mse_loss(x, y), s)
    assert torch.allclose(g, 2 * (s - y) / 4)


def test_sampled_bce_gradient_matches_the_docstring_formula():
    pos = torch.tensor([1.0, -0.5])
    neg = torch.tensor([[0.2, -1.0], [0.0, 3.0]])
    g_pos, g_neg = grad_of(sampled_bce_loss, pos, neg)
    assert torch.allclose(g_pos, -torch.sigmoid(-pos) / 2)
    assert torch.allclose(g_neg, torch.sigmoid(neg) / 2)


def test_softmax_gradients_match_the_docstring_formulas():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 6, generator=g)
    targets = torch.tensor([2, 0, 5, 2])
    (grad,) = grad_of(lambda x: softmax_cross_entropy(x, targets), logits)
    expected = (logits.softmax(1) - F.one_hot(targets, 6).float()) / 4
    assert torch.allclose(grad, expected, atol=1e-7)

    pos, neg = logits[:, 0].clone(), logits[:, 1:].clone()
    g_pos, g_neg = grad_of(sampled_softmax_loss, pos, neg)
    p = torch.cat([pos[:, None], neg], 1).softmax(1)
    assert torch.allclose(g_pos, (p[:, 0] - 1) / 4, atol=1e-7)
    assert torch.allclose(g_neg, p[:, 1:] / 4, atol=1e-7)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [mse_loss, bce_loss], ids=["mse", "bce"])
def test_pointwise_losses_refuse_to_broadcast(fn):
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        fn(torch.zeros(4, 1), torch.zeros(4))


@pytest.mark.parametrize("fn", [bpr_loss, sampled_bce_loss, sampled_softmax_loss])
def test_pairwise_losses_name_both_shapes(fn):
    with pytest.raises(ValueError, match=r"\(4, 1\)"):
        fn(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3, 2\)"):
        fn(torch.zeros(4), torch.zeros(3, 2))


def test_losses_refuse_wrong_dtypes_and_empty_input():
    with pytest.raises(TypeError, match="floating"):
        bpr_loss(torch.tensor([1, 2]), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating"):
        bce_loss(torch.zeros(3), torch.tensor([1, 0, 1]))
    with pytest.raises(TypeError, match="Tensor"):
        mse_loss([1.0, 2.0], torch.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        bpr_loss(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bce_loss(torch.zeros(2), torch.tensor([0.0, 2.0]))
    with pytest.raises(TypeError, match="bool"):
        mse_loss(torch.zeros(2), torch.zeros(2), mask=torch.ones(2))
    with pytest.raises(ValueError, match="no entry"):
        mse_loss(torch.zeros(2), torch.zeros(2), mask=torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="both"):
        sampled_softmax_loss(
            torch.zeros(2), torch.zeros(2, 3), log_q_pos=torch.zeros(2)
        )


def test_softmax_cross_entropy_checks_targets():
    logits = torch.zeros(3, 5)
    with pytest.raises(TypeError, match="integer"):
        softmax_cross_entropy(logits, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="padding"):
        softmax_cross_entropy(logits, torch.tensor([0, 5, 1]))  # 5 = a padding id
    with pytest.raises(ValueError, match="outside"):
        softmax_cross_entropy(logits, torch.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match=r"\(3, 5\).*\(2,\)"):
        softmax_cross_entropy(logits, torch.tensor([0, 1]))
    # A padding target is fine when masked out.
    mask = torch.tensor([True, False, True])
    loss = softmax_cross_entropy(logits, torch.tensor([0, 5, 1]), mask)
    assert loss.item() == pytest.approx(math.log(5), rel=1e-6)
