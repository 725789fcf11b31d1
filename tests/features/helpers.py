"""Shared helpers of the feature tests."""

from __future__ import annotations

import fakes
import numpy as np


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    """numpy's check on tensors (torch.testing's first call costs seconds of imports)."""
    np.testing.assert_allclose(
        np.asarray(actual.detach()), np.asarray(expected.detach()), rtol=rtol, atol=atol
    )


def fake_images(n_per_class=20, n_classes=10, seed=0):
    """:func:`fakes.fake_images` with 20 pictures per class (small CNN tests)."""
    return fakes.fake_images(n_per_class, n_classes, seed)
