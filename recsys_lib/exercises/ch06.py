"""Exercises of Chapter 6 -- The MLP ranker."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.losses import sampled_softmax_loss
from . import Exercise, NotYet, register


def _call(fn, name: str, *args):
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - any failure on good input is a wrong answer
        raise NotYet(f"{name} failed on valid input: {err!r}") from err


# ---------------------------------------------------------------- ch06.ex1


def _bpr_autograd(p_u, q_i, q_j):
    p_u, q_i, q_j = (t.detach().clone().requires_grad_(True) for t in (p_u, q_i, q_j))
    loss = -F.logsigmoid(p_u @ q_i - p_u @ q_j)
    loss.backward()
    return p_u.grad, q_i.grad, q_j.grad


def check_ex1(bpr_grads):
    if not callable(bpr_grads):
        raise NotYet("the answer is a function bpr_grads(p_u, q_i, q_j) -> 3 tensors")
    g = torch.Generator().manual_seed(6)
    for scale in (0.3, 0.6):  # moderate scores: the sigmoid is far from 0 and 1
        p_u, q_i, q_j = (scale * torch.randn(8, generator=g) for _ in range(3))
        got = _call(bpr_grads, "bpr_grads", p_u, q_i, q_j)
        try:
            got = [torch.as_tensor(t, dtype=torch.float32) for t in got]
        except (TypeError, ValueError) as err:
            raise NotYet(
                "return three tensors: (grad_p_u, grad_q_i, grad_q_j)"
            ) from err
        if len(got) != 3 or any(t.shape != (8,) for t in got):
            raise NotYet("return three tensors of shape (d,), one per embedding")
        want = _bpr_autograd(p_u, q_i, q_j)
        if all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want, strict=True)):
            continue
        x = p_u @ q_i - p_u @ q_j
        no_sigmoid = (-(q_i - q_j), -p_u, p_u)
        wrong_factor = tuple(torch.sigmoid(x) * t for t in no_sigmoid)
        for mistake, hint in (
            (
                no_sigmoid,
                "the chain rule through the sigmoid is missing: d/dx log sigmoid(x) "
                "= 1 - sigmoid(x) = sigmoid(-x), a factor on every gradient",
            ),
            (
                wrong_factor,
                "the factor is sigmoid(-x) = 1 - sigmoid(x), not sigmoid(x)",
            ),
            (
                tuple(-t for t in want),
                "the signs are flipped: give the gradient of the loss -log sigmoid(x)",
            ),
        ):
            if all(
                torch.allclose(a, b, atol=1e-5)
                for a, b in zip(got, mistake, strict=True)
            ):
                raise NotYet(hint)
        for name, a, b in zip(("p_u", "q_i", "q_j"), got, want, strict=True):
            if not torch.allclose(a, b, atol=1e-5):
                raise NotYet(
                    f"the gradient with respect to {name} disagrees with autograd"
                )


def solution_ex1():
    def bpr_grads(p_u, q_i, q_j):
        x = p_u @ q_i - p_u @ q_j  # s_ui - s_uj
        c = torch.sigmoid(-x)  # d(-log sigmoid(x))/dx = -sigmoid(-x)
        return -c * (q_i - q_j), -c * p_u, c * p_u

    return bpr_grads


register(
    Exercise(
        id="ch06.ex1",
        title="the BPR gradients with respect to the embeddings",
        check=check_ex1,
        solution=solution_ex1,
        wrong_answers=(
            lambda: lambda p, qi, qj: (-(qi - qj), -p, p),
            lambda: (
                lambda p, qi, qj: tuple(
                    torch.sigmoid(p @ qi - p @ qj) * t for t in (-(qi - qj), -p, p)
                )
            ),
            lambda: (
                lambda p, qi, qj: tuple(
                    -t
                    for t in solution_ex1()(p, qi, qj)  # the gradient of +log sigmoid
                )
            ),
        ),
    )
)

# ---------------------------------------------------------------- ch06.ex2


def check_ex2(gmf_score):
    if not callable(gmf_score):
        raise NotYet("the answer is a function gmf_score(p, q, h, b) -> (B,) logits")
    g = torch.Generator().manual_seed(2)
    p, q = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    h, b = torch.randn(4, generator=g), torch.tensor(0.7)
    got = torch.as_tensor(_call(gmf_score, "gmf_score", p, q, h, b))
    if got.shape != (5,):
        raise NotYet(
            f"return one logit per (user, item) row: shape (5,), got {tuple(got.shape)}"
        )
    if torch.allclose(got, (p * q).sum(-1), atol=1e-5):
        raise NotYet("that is plain MF: GMF weighs each factor by h and adds b")
    if torch.allclose(got, (p * q * h).sum(-1), atol=1e-5):
        raise NotYet("add the output bias b")
    if not torch.allclose(got, (p * q) @ h + b, atol=1e-5):
        raise NotYet(
            "GMF is h^T (p_u * q_i) + b: an element-wise product, then a weighted sum"
        )


def solution_ex2():
    def gmf_score(p, q, h, b):
        return (p * q) @ h + b  # (B, d) * (B, d) -> (B, d) -> (B,)

    return gmf_score


register(
    Exercise(
        id="ch06.ex2",
        title="the GMF score function",
        check=check_ex2,
        solution=solution_ex2,
        wrong_answers=(
            lambda: lambda p, q, h, b: (p * q).sum(-1),
            lambda: lambda p, q, h, b: (p * q * h).sum(-1),
            lambda: lambda p, q, h, b: (p * q * h).sum() + b,
            lambda: lambda p, q, h, b: torch.cat([p, q], -1).sum(-1) + b,
        ),
    )
)

# ---------------------------------------------------------------- ch06.ex3


def check_ex3(sampled_softmax):
    if not callable(sampled_softmax):
        raise NotYet(
            "the answer is a function sampled_softmax(pos, neg, log_q_pos, log_q_neg)"
        )
    g = torch.Generator().manual_seed(3)
    pos, neg = torch.randn(6, generator=g), torch.randn(6, 5, generator=g)
    log_q_pos = torch.rand(6, generator=g).mul(4).neg() - 1
    log_q_neg = torch.rand(6, 5, generator=g).mul(4).neg() - 1
    got = torch.as_tensor(
        _call(sampled_softmax, "sampled_softmax", pos, neg, log_q_pos, log_q_neg)
    )
    if got.dim() != 0:
        raise NotYet("return the mean loss over rows: a scalar tensor")
    want = sampled_softmax_loss(pos, neg, log_q_pos, log_q_neg)
    if torch.allclose(got, sampled_softmax_loss(pos, neg), atol=1e-5):
        raise NotYet("the logQ correction is missing: subtract log q from every logit")
    if torch.allclose(
        got, sampled_softmax_loss(pos, neg, -log_q_pos, -log_q_neg), atol=1e-5
    ):
        raise NotYet("subtract log q (popular items must count less), do not add it")
    only_neg = (torch.logsumexp(neg - log_q_neg, 1) - (pos - log_q_pos)).mean()
    if torch.allclose(got, only_neg, atol=1e-5):
        raise NotYet("the positive belongs in the softmax denominator too")
    if not torch.allclose(got, want, atol=1e-5):
        raise NotYet(
            "with z = s - log q for the positive (column 0) and the negatives, "
            "the loss is mean(logsumexp(z) - z_0)"
        )


def solution_ex3():
    def sampled_softmax(pos, neg, log_q_pos, log_q_neg):
        z_pos = pos - log_q_pos  # (N,)
        z = torch.cat([z_pos.unsqueeze(1), neg - log_q_neg], dim=1)  # (N, 1 + K)
        return (torch.logsumexp(z, dim=1) - z_pos).mean()

    return sampled_softmax


register(
    Exercise(
        id="ch06.ex3",
        title="sampled softmax with the logQ correction",
        check=check_ex3,
        solution=solution_ex3,
        wrong_answers=(
            lambda: lambda p, n, lp, ln: sampled_softmax_loss(p, n),
            lambda: lambda p, n, lp, ln: sampled_softmax_loss(p, n, -lp, -ln),
            lambda: lambda p, n, lp, ln: (torch.logsumexp(n - ln, 1) - (p - lp)).mean(),
        ),
    )
)

# ---------------------------------------------------------------- ch06.ex4

OBJECTIVES = {
    "a": "predict the star rating a user will give to a film she is about to rate",
    "b": "estimate the probability that a shown banner is clicked, to price the slot",
    "c": "make a random clicked item outscore a random unclicked one (maximise AUC)",
    "d": "put the user's next purchase at the top of a list over the whole catalogue",
}
LOSS_NAMES = ("mse", "bce", "bpr", "softmax")
_ANSWER = {"a": "mse", "b": "bce", "c": "bpr", "d": "softmax"}
_WHY = {
    "a": "a rating is a number to regress: squared error",
    "b": "a calibrated per-pair probability: binary cross-entropy",
    "c": "a pairwise order: BPR is a smooth stand-in for AUC",
    "d": "one item against all others: the (sampled) softmax",
}


def check_ex4(answer):
    if not isinstance(answer, dict) or set(answer) != set(OBJECTIVES):
        raise NotYet(f"give a dict with keys {sorted(OBJECTIVES)}")
    for key in sorted(OBJECTIVES):
        value = str(answer[key]).lower().strip()
        if value not in LOSS_NAMES:
            raise NotYet(f"answer[{key!r}] must be one of {LOSS_NAMES}")
        if value != _ANSWER[key]:
            raise NotYet(f"reconsider {key!r} ({OBJECTIVES[key]}): what is its target?")
    return "; ".join(f"{k}: {_WHY[k]}" for k in sorted(_WHY))


def solution_ex4():
    return {"a": "mse", "b": "bce", "c": "bpr", "d": "softmax"}


register(
    Exercise(
        id="ch06.ex4",
        title="pick the loss for the objective",
        check=check_ex4,
        solution=solution_ex4,
        wrong_answers=(
            lambda: dict.fromkeys(OBJECTIVES, "bce"),
            lambda: {"a": "mse", "b": "bpr", "c": "bce", "d": "softmax"},
            lambda: {"a": "mse", "b": "bce", "c": "bpr", "d": "bpr"},
            lambda: {"a": "mse", "b": "bce"},
        ),
    )
)
