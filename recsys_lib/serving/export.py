"""Exporting the ranker: ``torch.export`` and ONNX (onnxruntime).

Introduced in Chapter 12 ("Serving and scaling out"). A served model is
often run outside the Python code that trained it: as a self-contained
graph that a C++ runtime can execute. :class:`RankerGraph` is the feature
ranker's inference path -- look up ids and feature rows, concatenate, MLP --
without the argument checks of training-time code (a graph cannot hold
Python ``if``\\ s on data; the service validates requests before they get
here). :func:`export_ranker` writes it as

* ``"onnx"``: an ONNX file (via ``torch.onnx.export`` with the dynamo
  exporter), run by :mod:`onnxruntime`;
* ``"torch_export"``: a ``torch.export`` program (``.pt2``), run by PyTorch
  without the Python class.

(TorchScript, the older format, is deprecated in this PyTorch.)
:func:`load_exported` returns a callable ``scores = f(user_ids, item_ids)``
for either, so they can be compared with the eager model: the scores must
agree to float rounding (``1e-5``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checks import check_choice, check_int
from ..models import FeatureMLPRanker

__all__ = [
    "EXPORT_FORMATS",
    "ExportedRanker",
    "RankerGraph",
    "export_ranker",
    "load_exported",
]

#: the formats :func:`export_ranker` writes.
EXPORT_FORMATS = ("onnx", "torch_export")


class RankerGraph(nn.Module):
    """The inference graph of a :class:`~recsys_lib.models.FeatureMLPRanker`.

    Introduced in Chapter 12. Shares the ranker's weights and feature tables;
    ``forward(user_ids (B,), item_ids (B,)) -> (B,)`` logits, the same as
    ``ranker(user_ids, item_ids)`` for valid ids.

    Raises:
        TypeError: if ``ranker`` is not a FeatureMLPRanker.
        ValueError: if the ranker needs per-request context or has feature
            tables configured but not stored.
    """

    def __init__(self, ranker: FeatureMLPRanker) -> None:
        super().__init__()
        if not isinstance(ranker, FeatureMLPRanker):
            raise TypeError(
                f"ranker must be a FeatureMLPRanker, got {type(ranker).__name__}"
            )
        cfg = ranker.cfg
        if cfg.context_dim:
            raise ValueError(
                f"RankerGraph scores (user, item) pairs; this ranker needs context "
                f"(context_dim={cfg.context_dim})"
            )
        for dim, table, name in (
            (cfg.user_feat_dim, ranker.user_table, "user"),
            (cfg.item_feat_dim, ranker.item_table, "item"),
        ):
            if dim and table is None:
                raise ValueError(
                    f"the ranker has no {name} feature table: call set_feature_tables first"
                )
        self.has_ids = cfg.id_dim > 0
        self.has_user_feats, self.has_item_feats = (
            cfg.user_feat_dim > 0,
            cfg.item_feat_dim > 0,
        )
        self.user = ranker.user if self.has_ids else None
        self.item = ranker.item if self.has_ids else None
        self.register_buffer("user_table", ranker.user_table)
        self.register_buffer("item_table", ranker.item_table)
        self.mlp = ranker.mlp
        self.eval()

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.has_ids:
            parts += [self.user(user_ids), self.item(item_ids)]
        if self.has_user_feats:
            parts.append(self.user_table[user_ids])
        if self.has_item_feats:
            parts.append(self.item_table[item_ids])
        return self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's notes (optional torchvision ops, deprecations)."""
    loggers = [
        logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with (
                open(os.devnull, "w") as null,
                contextlib.redirect_stdout(null),
            ):
                yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_ranker(ranker: FeatureMLPRanker, path, fmt: str = "onnx") -> Path:
    """Write the ranker's inference graph to ``path``; return the path.

    Introduced in Chapter 12. The batch size is dynamic (any number of
    pairs). ``fmt`` is ``"onnx"`` or ``"torch_export"``.

    Raises:
        TypeError, ValueError: for a bad ranker, path or format.
    """
    check_choice(fmt, "fmt", EXPORT_FORMATS)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    graph = RankerGraph(ranker)
    example = (
        torch.zeros(4, dtype=torch.long),
        torch.arange(4, dtype=torch.long) % ranker.n_items,
    )
    batch = torch.export.Dim("batch", min=1, max=1 << 24)
    shapes = ({0: batch}, {0: batch})
    with _quiet_exporter(), torch.no_grad():
        if fmt == "onnx":
            torch.onnx.export(
                graph,
                example,
                str(path),
                dynamo=True,
                dynamic_shapes=shapes,
                input_names=["user_ids", "item_ids"],
                output_names=["scores"],
                verbose=False,
            )
        else:
            program = torch.export.export(graph, example, dynamic_shapes=shapes)
            torch.export.save(program, str(path))
    return path


class ExportedRanker:
    """A loaded export: ``f(user_ids, item_ids) -> float32 scores (B,)``.

    Introduced in Chapter 12. Made by :func:`load_exported`.
    """

    def __init__(self, path: Path, fmt: str, threads: int) -> None:
        self.path, self.fmt = path, fmt
        if fmt == "onnx":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"]
            )
        else:
            self._module = torch.export.load(str(path)).module()

    def __call__(self, user_ids, item_ids) -> np.ndarray:
        u = np.ascontiguousarray(np.asarray(user_ids, dtype=np.int64))
        i = np.ascontiguousarray(np.asarray(item_ids, dtype=np.int64))
        if u.ndim != 1 or u.shape != i.shape or u.size == 0:
            raise ValueError(
                f"user_ids and item_ids must be non-empty 1-D arrays of one length, "
                f"got shapes {u.shape} and {i.shape}"
            )
        if self.fmt == "onnx":
            return self._session.run(None, {"user_ids": u, "item_ids": i})[0]
        with torch.no_grad():
            return self._module(torch.from_numpy(u), torch.from_numpy(i)).numpy()

    def __repr__(self) -> str:
        return f"ExportedRanker({self.fmt!r}, {str(self.path)!r})"


def load_exported(path, fmt: str | None = None, threads: int = 1) -> ExportedRanker:
    """Load a file written by :func:`export_ranker`. Introduced in Chapter 12.

    Args:
        path: the file.
        fmt: ``"onnx"`` or ``"torch_export"``; default from the suffix
            (``.onnx`` or ``.pt2``).
        threads: intra-op threads of onnxruntime.

    Raises:
        FileNotFoundError, ValueError: a missing file or unknown format.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no exported ranker at {path}")
    if fmt is None:
        fmt = {".onnx": "onnx", ".pt2": "torch_export"}.get(path.suffix)
        if fmt is None:
            raise ValueError(
                f"cannot tell the format from the suffix {path.suffix!r}; pass "
                f"fmt= one of {EXPORT_FORMATS}"
            )
    check_choice(fmt, "fmt", EXPORT_FORMATS)
    return ExportedRanker(path, fmt, check_int(threads, "threads", low=1))
