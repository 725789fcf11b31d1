"""Moved to :mod:`recsys_lib.features` (:mod:`~recsys_lib.features.text`,
:mod:`~recsys_lib.features.images`, :mod:`~recsys_lib.features.timeseries`);
this shim goes away once the notebooks import from there.

It re-exports what notebooks 05, 06 and 08 and the tests of the applications
(``tests/apps``) import. Those tests also patch the MiniLM loader's state
(``_MODELS``, ``_VERIFIED``, ``MINILM_SAFETENSORS_SHA256``) through this
module: reads and writes of these names are passed on to
:mod:`recsys_lib.features.text`, where the loader lives.
"""

from __future__ import annotations

import sys
import types

from .features import text as _text
from .features.images import embed_images, train_image_encoder
from .features.text import (
    MINILM_INSTALL,
    MiniLMTextEncoder,
    TfidfTextEncoder,
    load_minilm,
    minilm_model_path,
)
from .features.timeseries import (
    TimeSeriesEncoder,
    time_series_features,
    time_series_windows,
)

__all__ = [
    "MINILM_INSTALL",
    "MiniLMTextEncoder",
    "TfidfTextEncoder",
    "TimeSeriesEncoder",
    "embed_images",
    "load_minilm",
    "minilm_model_path",
    "time_series_features",
    "time_series_windows",
    "train_image_encoder",
]


def _loader_state(name: str) -> property:
    """A module attribute read from and written to :mod:`recsys_lib.features.text`."""
    return property(
        lambda self: getattr(_text, name),
        lambda self, value: setattr(_text, name, value),
    )


class _Shim(types.ModuleType):
    _MODELS = _loader_state("_MODELS")
    _VERIFIED = _loader_state("_VERIFIED")
    MINILM_SAFETENSORS_SHA256 = _loader_state("MINILM_SAFETENSORS_SHA256")


sys.modules[__name__].__class__ = _Shim
