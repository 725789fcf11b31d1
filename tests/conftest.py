"""Fixtures shared by every unit test.

The notebook tests log each checked claim to ``RECSYS_CHECK_LOG`` (``make
portability``); the unit tests of ``recsys_lib.testing`` make checks fail on
purpose, so they must not write to that log.
"""

import pytest

from recsys_lib.testing import CHECK_LOG_ENV_VAR


@pytest.fixture(autouse=True)
def _no_check_log(monkeypatch):
    monkeypatch.delenv(CHECK_LOG_ENV_VAR, raising=False)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch (and faiss) thread per test, as the chapters' notebooks run.

    The tensors in unit tests are tiny: thread pools only add overhead, and
    on a busy machine threads waiting for each other make tests many times
    slower. The library leaves the thread count to its caller, so tests set it.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:  # pragma: no cover - faiss is a pinned dependency
        pass
    yield
    torch.set_num_threads(before)
