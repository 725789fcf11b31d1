"""Fixtures of the retrieval tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One torch and one faiss thread per test.

    The tensors here are tiny: thread pools only add overhead (and jitter on a
    busy machine).
    """
    import faiss

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    torch.set_num_threads(before)
