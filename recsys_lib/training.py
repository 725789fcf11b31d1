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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checks import check_choice, check_int, check_number
from .utils import progress_bar

__all__ = [
    "EpochCallback",
    "History",
    "LossFn",
    "ValFn",
    "epoch_callback",
    "fit",
    "plot_history",
]

LossFn = Callable[[nn.Module, object], torch.Tensor]
ValFn = Callable[[nn.Module], float]
#: ``callback(epoch, model, history) -> {name: value} | None``, after each epoch.
EpochCallback = Callable[[int, nn.Module, "History"], Mapping[str, float] | None]

# Callbacks that every fit() inside an ``epoch_callback`` block calls (Chapter 9).
_ACTIVE_CALLBACKS: ContextVar[tuple[EpochCallback, ...]] = ContextVar(
    "recsys_lib_epoch_callbacks", default=()
)


@contextmanager
def epoch_callback(callback: EpochCallback) -> Iterator[None]:
    """Call ``callback`` after every epoch of every :func:`fit` inside the block.

    Introduced in Chapter 9 ("Model optimization"). A model whose own ``fit``
    trains with :func:`fit` (``NeuralRecommender``, ``BPRMF``, a wrapper
    around ``SASRec``) does not have to pass a callback through: inside the
    block, each epoch ends with ``callback(epoch, model, history)``, exactly
    like ``fit(..., on_epoch=callback)``. This is how a hyperparameter search
    reports each epoch's validation value to Optuna and stops (prunes) a poor
    trial early: the callback raises, and the exception ends training::

        with epoch_callback(lambda epoch, model, history: print(history.val[-1])):
            BPRMF(epochs=5).fit(train, n_users, n_items, valid=valid)

    Blocks nest; the inner callback runs last.

    Raises:
        TypeError: if ``callback`` is not callable.
    """
    if not callable(callback):
        raise TypeError(
            "callback must be a function callback(epoch, model, history), got "
            f"{type(callback).__name__}"
        )
    token = _ACTIVE_CALLBACKS.set((*_ACTIVE_CALLBACKS.get(), callback))
    try:
        yield
    finally:
        _ACTIVE_CALLBACKS.reset(token)


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
        extra: per-epoch values returned by ``on_epoch`` callbacks, by name
            (Chapter 9; e.g. a training-set NDCG next to the validation one).
    """

    train_loss: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = math.nan
    stopped_early: bool = False
    extra: dict[str, list[float]] = field(default_factory=dict)

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
    on_epoch: EpochCallback | None = None,
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
        on_epoch: ``on_epoch(epoch, model, history)`` after each epoch (after
            the validation value is recorded, before the early-stopping
            decision), in ``eval()`` mode under ``torch.no_grad()``. If it
            returns ``{name: value}``, each value is appended to
            ``history.extra[name]`` and written to TensorBoard as ``name``.
            An exception raised by it (for example Optuna's ``TrialPruned``)
            ends training and propagates. Callbacks registered with
            :func:`epoch_callback` run after it. (Chapter 9.)

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
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(
            "on_epoch must be a function on_epoch(epoch, model, history), got "
            f"{type(on_epoch).__name__}"
        )
    callbacks = ((on_epoch,) if on_epoch is not None else ()) + _ACTIVE_CALLBACKS.get()

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
            if callbacks:
                _run_callbacks(callbacks, epoch, model, history, writer)
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


def _run_callbacks(callbacks, epoch: int, model: nn.Module, history: History, writer):
    """Run the epoch callbacks in eval mode; record and log what they return."""
    model.eval()
    with torch.no_grad():
        for callback in callbacks:
            values = callback(epoch, model, history)
            if values is None:
                continue
            if not isinstance(values, Mapping):
                raise TypeError(
                    "an epoch callback must return None or a dict {name: value}, got "
                    f"{type(values).__name__}"
                )
            for name, value in values.items():
                if isinstance(value, torch.Tensor | np.generic):
                    value = value.item()  # a 0-d tensor or NumPy scalar
                value = check_number(value, f"epoch callback value {name!r}")
                history.extra.setdefault(str(name), []).append(value)
                if writer is not None:
                    writer.add_scalar(str(name), value, epoch)


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
