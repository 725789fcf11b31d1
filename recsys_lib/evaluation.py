"""Moved to :mod:`recsys_lib.eval` (protocols, top-k, uncertainty) and
:mod:`recsys_lib.data.interactions` (``interactions_to_csr``).

This shim goes away once the notebooks, exercises and benchmarks import from
there. ``_int_ids`` serves :mod:`recsys_lib.sequences` until it uses
:func:`recsys_lib.checks.check_id_array` itself.
"""

from __future__ import annotations

from .checks import check_id_array as _int_ids  # noqa: F401
from .data.interactions import interactions_to_csr
from .eval.protocols import PROTOCOL_FULL, EvalResult, evaluate_full, evaluate_sampled
from .eval.topk import full_ranking_topk
from .eval.uncertainty import bootstrap_ci, paired_bootstrap_test, summarize_over_seeds

__all__ = [
    "PROTOCOL_FULL",
    "EvalResult",
    "bootstrap_ci",
    "evaluate_full",
    "evaluate_sampled",
    "full_ranking_topk",
    "interactions_to_csr",
    "paired_bootstrap_test",
    "summarize_over_seeds",
]
