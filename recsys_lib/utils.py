"""Reproducibility, devices, progress bars and timers.

Introduced in Chapter 1 and used by every chapter.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from tqdm.std import tqdm

T = TypeVar("T")

DEVICES = ("auto", "cpu", "cuda", "mps")


def set_seed(seed: int, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch in one call.

    Args:
        seed: a non-negative integer below 2**32.
        deterministic: also ask PyTorch for deterministic kernels
            (``torch.use_deterministic_algorithms``), so that the same seed gives
            the same numbers run after run on the CPU.

    Returns:
        A NumPy ``Generator`` seeded with ``seed``; prefer passing it around over
        using the global NumPy state.

    Raises:
        TypeError: if ``seed`` is not an integer (``True``/``False`` included).
        ValueError: if ``seed`` is negative or too large.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds legacy np.random users too
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)
        # Deterministic mode also fills every new tensor with NaN to expose reads
        # of uninitialised memory; that costs time (about 25% for SASRec) and
        # changes no result on the CPU, so it is switched off.
        torch.utils.deterministic.fill_uninitialized_memory = False
        # Needed by some CUDA kernels when deterministic algorithms are on.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return np.random.default_rng(seed)


def get_device(prefer: str = "auto") -> torch.device:
    """Choose where tensors live.

    Args:
        prefer: ``"auto"`` picks CUDA if available, then Apple ``"mps"``, else the
            CPU; ``"cpu"``/``"cuda"``/``"mps"`` ask for that device.

    Raises:
        ValueError: for an unknown name, or a device that is not available here.
    """
    if not isinstance(prefer, str) or prefer.lower() not in DEVICES:
        raise ValueError(f"unknown device {prefer!r}; use one of {', '.join(DEVICES)}")
    prefer = prefer.lower()
    mps_ok = (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    )
    if prefer == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but this torch build sees no CUDA GPU"
        )
    if prefer == "mps" and not mps_ok:
        raise ValueError("device 'mps' was asked for but it is not available here")
    return torch.device(prefer)


def progress(
    iterable: Iterable[T],
    desc: str = "",
    total: int | None = None,
    disable: bool = False,
) -> Iterator[T]:
    """Wrap a loop in a plain-text progress bar (``tqdm``).

    The bar is written to stderr as text (not a widget), so it shows in
    JupyterLab, in a terminal and in the built book alike. Set
    ``RECSYS_PROGRESS=0`` to silence every bar.

    Args:
        iterable: what to loop over.
        desc: a short label shown before the bar.
        total: number of steps, if ``iterable`` has no ``len``.
        disable: turn this bar off.
    """
    if not isinstance(iterable, Iterable):
        raise TypeError(f"progress() needs an iterable, got {type(iterable).__name__}")
    return iter(
        progress_bar(total=total, desc=desc, disable=disable, iterable=iterable)
    )


def progress_bar(
    total: int | None, desc: str = "", disable: bool = False, iterable=None
) -> tqdm:
    """A ``tqdm`` bar in the book's style, updated by hand with ``bar.update(1)``.

    Use it when a loop may stop early (as :func:`recsys_lib.fit` does): call
    ``bar.close()`` at the end so the last line shows exactly how far it got.
    Same switches as :func:`progress`.
    """
    off = disable or os.environ.get("RECSYS_PROGRESS", "1").strip() == "0"
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        disable=off,
        file=sys.stderr,
        ascii=True,
        ncols=80,
        mininterval=1.0,
    )


class Timer:
    """Measure wall time of a block: ``with Timer() as t: ...; t.seconds``.

    Repeated use accumulates: ``t.seconds`` is the total and ``t.count`` the
    number of timed blocks, so ``t.mean`` is the time per block.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._start: float | None = None

    def __enter__(self) -> Timer:
        if self._start is not None:
            raise RuntimeError(
                "Timer is already running; it cannot be nested with itself"
            )
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start
        self.count += 1
        self._start = None

    @property
    def mean(self) -> float:
        """Mean seconds per timed block (raises if nothing was timed yet)."""
        if self.count == 0:
            raise ValueError("Timer.mean: no block has been timed yet")
        return self.seconds / self.count

    def __repr__(self) -> str:
        return f"Timer(seconds={self.seconds:.4f}, count={self.count})"


class inference:  # noqa: N801 - used as a context manager, like torch.no_grad
    """``with inference(model):`` -- eval mode and no_grad, previous mode restored.

    Introduced in Chapter 1 ("Fixing the example model"): predictions are made
    with dropout off and without autograd, and the model goes back to the mode
    it was in.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.no_grad = torch.no_grad()
        self.no_grad.__enter__()
        self.model.eval()

    def __exit__(self, *exc) -> None:
        self.model.train(self.was_training)
        self.no_grad.__exit__(*exc)
