"""A small, reusable training loop with early stopping.

Introduced in Chapter 1 ("Fixing the example model"), reused by every chapter
that trains a PyTorch model.

The loop does the two things the source article's example forgot: it puts the
model in ``train()`` mode for updates and evaluates in ``eval()`` mode under
``torch.no_grad()``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .checks import check_choice, check_int, check_number
from .utils import progress_bar

__all__ = ["History", "LossFn", "ValFn", "fit", "plot_history"]

LossFn = Callable[[nn.Module, object], torch.Tensor]
ValFn = Callable[[nn.Module], float]


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes:
        train_loss: mean training loss per epoch.
        val: the validation value per epoch (empty without ``val_fn``).
        epoch_seconds: wall time per epoch.
        best_epoch: 1-based epoch with the best validation value (or the last
            epoch without ``val_fn``).
        best_val: that value (``nan`` without ``val_fn``).
        stopped_early: whether early stopping ended training.
    """

    train_loss: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = math.nan
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of epochs that ran."""
        return len(self.train_loss)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_fn: ValFn | None = None,
    monitor: str = "min",
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    log_dir: str | Path | None = None,
    show_progress: bool = True,
    desc: str = "train",
) -> History:
    """Train ``model`` for up to ``epochs`` epochs.

    Args:
        model: the network; put in ``train()`` mode for updates and ``eval()``
            mode (under ``torch.no_grad()``) for ``val_fn``.
        train_loader: yields batches; each batch is handed to ``loss_fn``.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor`` -- the mean loss of
            the batch. Keeping the forward pass here lets one loop serve every
            model in the book.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        epochs: maximum number of passes over ``train_loader`` (>= 1).
        val_fn: ``val_fn(model) -> float`` scored after each epoch (a
            validation loss or a ranking metric).
        monitor: ``"min"`` if a smaller ``val_fn`` value is better (losses),
            ``"max"`` if larger is better (NDCG, recall).
        patience: stop after this many epochs without improvement of more than
            ``min_delta``; ``None`` never stops early. Needs ``val_fn``.
        min_delta: smallest change that counts as an improvement.
        restore_best: load the weights of the best epoch when training ends.
        log_dir: if given, write ``loss/train`` and ``val`` scalars there for
            TensorBoard (needs the ``tensorboard`` package).
        show_progress: print a progress bar over epochs.
        desc: label of the progress bar.

    Returns:
        A :class:`History`.

    Raises:
        TypeError / ValueError: for arguments of the wrong kind or range.
        FloatingPointError: if a batch loss is not finite (nan/inf), naming the
            epoch and batch, instead of training on garbage.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    epochs = check_int(epochs, "epochs", low=1)
    check_choice(monitor, "monitor", ("min", "max"))
    if patience is not None:
        if val_fn is None:
            raise ValueError("patience (early stopping) needs a val_fn to monitor")
        patience = check_int(patience, "patience", low=1)
    min_delta = check_number(min_delta, "min_delta", low=0.0)

    writer = None
    if log_dir is not None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:  # pragma: no cover - tensorboard is a dev dependency
            raise ImportError(
                "log_dir needs the 'tensorboard' package: pip install tensorboard"
            ) from err
        writer = SummaryWriter(log_dir=str(log_dir))

    sign = 1.0 if monitor == "min" else -1.0
    history = History()
    best_state = None
    bad_epochs = 0
    bar = progress_bar(total=epochs, desc=desc, disable=not show_progress)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            total, n_batches = 0.0, 0
            for n_batches, batch in enumerate(train_loader, start=1):
                optimizer.zero_grad()
                loss = loss_fn(model, batch)
                if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                    raise TypeError(
                        "loss_fn must return a scalar tensor (the mean batch loss)"
                    )
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"loss is {loss.item()} at epoch {epoch}, batch {n_batches}; "
                        "try a smaller learning rate or check the inputs for nan"
                    )
                loss.backward()
                optimizer.step()
                total += loss.item()
            if n_batches == 0:
                raise ValueError("train_loader yielded no batches")
            history.train_loss.append(total / n_batches)
            if writer is not None:
                writer.add_scalar("loss/train", history.train_loss[-1], epoch)

            if val_fn is not None:
                model.eval()
                with torch.no_grad():
                    value = float(val_fn(model))
                history.val.append(value)
                if writer is not None:
                    writer.add_scalar("val", value, epoch)
                improved = math.isnan(history.best_val) or (
                    sign * (history.best_val - value) > min_delta
                )
                if improved:
                    history.best_val, history.best_epoch, bad_epochs = value, epoch, 0
                    if restore_best:
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_epochs += 1
            else:
                history.best_epoch = epoch
            history.epoch_seconds.append(time.perf_counter() - start)
            bar.update(1)
            if patience is not None and bad_epochs >= patience:
                history.stopped_early = True
                break
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def plot_history(history: History, ax=None, val_label: str = "validation"):
    """Plot training loss (and the validation value) per epoch on ``ax``.

    Returns the matplotlib axes. The validation curve goes on a second y axis
    when it is not a loss, so both scales stay readable.
    """
    import matplotlib.pyplot as plt

    if not isinstance(history, History) or history.epochs == 0:
        raise ValueError("plot_history needs a History with at least one epoch")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = range(1, history.epochs + 1)
    ax.plot(epochs, history.train_loss, marker="o", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    if history.val:
        ax2 = ax.twinx()
        ax2.plot(epochs, history.val, marker="s", color="C1", label=val_label)
        ax2.set_ylabel(val_label)
        ax2.axvline(history.best_epoch, color="grey", linestyle=":", label="best epoch")
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [ln.get_label() for ln in lines], loc="best")
    else:
        ax.legend(loc="best")
    return ax
