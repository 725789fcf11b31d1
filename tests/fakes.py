"""Small stand-ins shared by tests of several packages (import as ``fakes``)."""

import numpy as np


def fake_images(n_per_class=30, n_classes=10, seed=0):
    """uint8 ``(n, 28, 28)`` pictures: one random template per class plus noise.

    A stand-in for Fashion-MNIST, so tests of ShopSim, the image encoder and
    the support app need no download.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    template = rng.integers(0, 200, (n_classes, 28, 28))
    images = template[labels] + rng.integers(0, 56, (labels.size, 28, 28))
    return images.astype(np.uint8), labels
