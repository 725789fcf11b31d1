"""Privacy: DP-SGD with Opacus, a membership-inference attack, federated averaging.

Introduced in Chapter 11 ("Trust").

* :func:`train_classifier` trains a small binary classifier (for example
  the MLP of a feature ranker over its input vectors) with plain SGD or,
  given a :class:`DPConfig`, with DP-SGD {cite}`abadi2016deep` through
  Opacus: per-example gradients clipped to ``max_grad_norm``, Gaussian noise
  added, and the accountant's ``epsilon`` for the chosen ``delta`` reported.
  The unit of privacy is one training *example* (one interaction), not one
  user: protecting a whole user needs user-level sampling.
* :func:`membership_advantage` is the loss-threshold attack of
  {cite:t}`yeom2018privacy`: guess "member" when an example's loss is below
  the model's average training loss; the advantage ``TPR - FPR`` is 0 for a
  model that leaks nothing through its losses.
* :func:`federated_averaging` simulates FedAvg {cite}`mcmahan2017communication`
  from scratch: each client trains locally on its own shard and the server
  averages the parameters weighted by the clients' data sizes.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_number
from ..eval import ConfidenceInterval, bootstrap_statistic

__all__ = [
    "DPConfig",
    "MembershipResult",
    "TrainedClassifier",
    "example_losses",
    "federated_averaging",
    "membership_advantage",
    "train_classifier",
]


@dataclass(frozen=True)
class DPConfig:
    """Settings of DP-SGD. Introduced in Chapter 11.

    Attributes:
        target_epsilon: the privacy budget to reach after all epochs (> 0);
            Opacus picks the noise multiplier that meets it.
        delta: the failure probability, in ``(0, 1)``; take it well below
            ``1 / n_examples``.
        max_grad_norm: per-example gradient clipping bound (> 0).
    """

    target_epsilon: float
    delta: float = 1e-5
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        check_number(
            self.target_epsilon,
            "target_epsilon",
            low=0.0,
            low_open=True,
            where="DPConfig",
        )
        check_number(
            self.delta,
            "delta",
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            where="DPConfig",
        )
        check_number(
            self.max_grad_norm,
            "max_grad_norm",
            low=0.0,
            low_open=True,
            where="DPConfig",
        )


@dataclass
class TrainedClassifier:
    """Output of :func:`train_classifier`.

    Attributes:
        model: the trained module (a clean copy; the input is left untouched).
        epsilon: the accountant's epsilon (``math.inf`` without DP).
        delta: the delta it holds for (``None`` without DP).
        noise_multiplier: the noise std relative to ``max_grad_norm`` (0 without DP).
        losses: mean training loss of each epoch.
    """

    model: nn.Module
    epsilon: float
    delta: float | None
    noise_multiplier: float
    losses: list[float]


def _check_xy(X, y, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(X, torch.Tensor) or not X.is_floating_point() or X.ndim != 2:
        raise TypeError(f"{where}: X must be a float tensor (n, d)")
    y = torch.as_tensor(y, dtype=torch.float32)
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"{where}: y must have shape ({X.shape[0]},), got {tuple(y.shape)}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{where}: no examples")
    return X.float(), y


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    return out.reshape(out.shape[0])


def train_classifier(
    model: nn.Module,
    X: torch.Tensor,
    y,
    *,
    epochs: int = 3,
    batch_size: int = 256,
    lr: float = 0.05,
    dp: DPConfig | None = None,
    seed: int = 0,
) -> TrainedClassifier:
    """Train ``model: (B, d) -> (B,)`` or ``(B, 1)`` logits with binary cross-entropy.

    Introduced in Chapter 11. Both modes use SGD with momentum 0.9 on the
    same batches size; with ``dp`` the batches are Poisson-sampled and the
    step is DP-SGD (Opacus ``make_private_with_epsilon``). The input model is
    not modified; the result holds a trained copy without Opacus hooks.
    """
    where = "train_classifier"
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{where}: model must be an nn.Module, got {type(model).__name__}"
        )
    X, y = _check_xy(X, y, where)
    epochs = check_int(epochs, "epochs", low=1, where=where)
    batch_size = check_int(batch_size, "batch_size", low=1, where=where)
    lr = check_number(lr, "lr", low=0.0, low_open=True, where=where)
    if dp is not None and not isinstance(dp, DPConfig):
        raise TypeError(
            f"{where}: dp must be a DPConfig or None, got {type(dp).__name__}"
        )
    torch.manual_seed(seed)
    work = copy.deepcopy(model).train()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    opt = torch.optim.SGD(work.parameters(), lr=lr, momentum=0.9)
    engine, noise, trained = None, 0.0, work
    if dp is not None:
        from opacus import PrivacyEngine  # heavy import

        with _quiet_opacus():
            engine = PrivacyEngine(accountant="rdp")
            trained, opt, loader = engine.make_private_with_epsilon(
                module=work,
                optimizer=opt,
                data_loader=loader,
                target_epsilon=dp.target_epsilon,
                target_delta=dp.delta,
                epochs=epochs,
                max_grad_norm=dp.max_grad_norm,
            )
        noise = float(opt.noise_multiplier)
    losses = []
    with _quiet_opacus():
        losses = _epochs(trained, opt, loader, epochs)
    if engine is None:
        return TrainedClassifier(work.eval(), math.inf, None, 0.0, losses)
    with _quiet_opacus():
        epsilon = float(engine.get_epsilon(dp.delta))
    clean = copy.deepcopy(model)
    clean.load_state_dict(work.state_dict())  # the same parameters, without hooks
    return TrainedClassifier(clean.eval(), epsilon, dp.delta, noise, losses)


def _epochs(trained, opt, loader, epochs: int) -> list[float]:
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            if xb.shape[0] == 0:  # Poisson sampling can draw an empty batch
                continue
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(_logits(trained, xb), yb)
            loss.backward()
            opt.step()
            total, count = total + loss.item() * xb.shape[0], count + xb.shape[0]
        losses.append(total / max(count, 1))
    return losses


@contextlib.contextmanager
def _quiet_opacus():
    """Silence three known-harmless Opacus/PyTorch warnings, by message only.

    * "Secure RNG turned off": the noise comes from PyTorch's ordinary RNG;
      that matters against an attacker who can predict the RNG of a deployed
      model, not for a measurement.
    * "Optimal order is the largest alpha": the RDP accountant's bound is
      valid but could be tightened with larger orders; the epsilon we
      report is an upper bound either way.
    * "Full backward hook is firing ...": Opacus's per-example gradient hooks
      on the first layer, whose input needs no gradient; the gradients of
      the parameters are unaffected.
    """
    with warnings.catch_warnings():
        for message in (
            r"Secure RNG turned off",
            r"Optimal order is the largest alpha",
            r"Full backward hook is firing",
        ):
            warnings.filterwarnings("ignore", message=message)
        yield


def example_losses(model: nn.Module, X: torch.Tensor, y) -> np.ndarray:
    """Binary cross-entropy of each example, ``(n,)`` float64 (no gradient)."""
    X, y = _check_xy(X, y, "example_losses")
    with torch.no_grad():
        was = model.training
        model.eval()
        out = F.binary_cross_entropy_with_logits(_logits(model, X), y, reduction="none")
        model.train(was)
    return out.double().numpy()


@dataclass(frozen=True)
class MembershipResult:
    """Output of :func:`membership_advantage`: ``advantage = tpr - fpr`` with its interval."""

    advantage: ConfidenceInterval
    tpr: float
    fpr: float
    threshold: float


def membership_advantage(
    member_losses,
    nonmember_losses,
    threshold: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> MembershipResult:
    """Loss-threshold membership inference {cite}`yeom2018privacy`.

    Introduced in Chapter 11. The attacker guesses "was in the training
    set" when an example's loss is ``<= threshold`` -- by default the mean
    training loss, which a model's documentation often reveals. ``tpr`` is
    the share of members guessed right, ``fpr`` the share of non-members
    wrongly flagged; the advantage ``tpr - fpr`` is 0 when losses leak
    nothing and 1 when they give membership away. The interval resamples
    the examples of both sets.
    """
    m = np.asarray(member_losses, dtype=np.float64)
    o = np.asarray(nonmember_losses, dtype=np.float64)
    for arr, name in ((m, "member_losses"), (o, "nonmember_losses")):
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"membership_advantage: {name} must be a non-empty 1-D array, got shape {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"membership_advantage: {name} holds nan or inf")
    t = (
        float(m.mean())
        if threshold is None
        else check_number(threshold, "threshold", where="membership_advantage")
    )
    losses = np.concatenate([m, o])
    member = np.concatenate([np.ones(m.size), np.zeros(o.size)])

    def adv(loss, is_m):  # (b, n) -> (b,)
        guess = loss <= t
        with np.errstate(invalid="ignore", divide="ignore"):
            return (guess * is_m).sum(1) / is_m.sum(1) - (guess * (1 - is_m)).sum(1) / (
                1 - is_m
            ).sum(1)

    ci = bootstrap_statistic((losses, member), adv, n_boot=n_boot, seed=seed)
    return MembershipResult(ci, float((m <= t).mean()), float((o <= t).mean()), t)


def federated_averaging(
    model: nn.Module,
    clients: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    rounds: int = 10,
    local_epochs: int = 1,
    batch_size: int = 64,
    lr: float = 0.05,
    seed: int = 0,
) -> tuple[nn.Module, list[float]]:
    """FedAvg, simulated: local SGD on each client, then a data-weighted average.

    Introduced in Chapter 11, from scratch {cite}`mcmahan2017communication`.
    In every round each client starts from the global parameters, runs
    ``local_epochs`` of SGD with momentum on its own ``(X, y)`` shard (only
    parameters leave the device, never data) and the server sets the global
    parameters to the average of the clients' parameters weighted by their
    numbers of examples. All clients take part in every round.

    Returns:
        The global model after ``rounds`` and the weighted mean training loss
        of each round.

    Raises:
        ValueError: for no clients or a client without examples.
    """
    where = "federated_averaging"
    if not clients:
        raise ValueError(f"{where}: no clients")
    shards = []
    for i, pair in enumerate(clients):
        X, y = pair
        if isinstance(X, torch.Tensor) and X.ndim == 2 and X.shape[0] == 0:
            raise ValueError(f"{where}: client {i} has no examples")
        shards.append(_check_xy(X, y, f"{where} (client {i})"))
    rounds = check_int(rounds, "rounds", low=1, where=where)
    local_epochs = check_int(local_epochs, "local_epochs", low=1, where=where)
    batch_size = check_int(batch_size, "batch_size", low=1, where=where)
    lr = check_number(lr, "lr", low=0.0, low_open=True, where=where)
    torch.manual_seed(seed)
    glob = copy.deepcopy(model)
    sizes = torch.tensor([float(X.shape[0]) for X, _ in shards])
    weights = sizes / sizes.sum()
    history = []
    for r in range(rounds):
        states, round_loss = [], 0.0
        for c, (X, y) in enumerate(shards):
            local = copy.deepcopy(glob).train()
            opt = torch.optim.SGD(local.parameters(), lr=lr, momentum=0.9)
            gen = torch.Generator().manual_seed(seed * 100_003 + r * 1_009 + c)
            total = 0.0
            for _ in range(local_epochs):
                perm = torch.randperm(X.shape[0], generator=gen)
                for lo in range(0, X.shape[0], batch_size):
                    idx = perm[lo : lo + batch_size]
                    opt.zero_grad()
                    loss = F.binary_cross_entropy_with_logits(
                        _logits(local, X[idx]), y[idx]
                    )
                    loss.backward()
                    opt.step()
                    total += loss.item() * idx.numel()
            round_loss += float(weights[c]) * total / (local_epochs * X.shape[0])
            states.append(local.state_dict())
        avg = {
            name: sum(
                float(w) * s[name].float() for w, s in zip(weights, states, strict=True)
            ).to(states[0][name].dtype)
            for name in states[0]
        }
        glob.load_state_dict(avg)
        history.append(round_loss)
    return glob.eval(), history
