"""Shared helpers of the feature tests."""

from __future__ import annotations

import numpy as np


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    """numpy's check on tensors (torch.testing's first call costs seconds of imports)."""
    np.testing.assert_allclose(
        np.asarray(actual.detach()), np.asarray(expected.detach()), rtol=rtol, atol=atol
    )


def fake_images(n_per_class=20, n_classes=10, seed=0):
    """uint8 ``(n, 28, 28)`` pictures: one random template per class plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    template = rng.integers(0, 200, (n_classes, 28, 28))
    images = template[labels] + rng.integers(0, 56, (labels.size, 28, 28))
    return images.astype(np.uint8), labels
