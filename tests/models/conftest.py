"""Fixtures of the model tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread per test, as the chapters' notebooks run.

    The tensors here are tiny: torch's thread pool only adds overhead (and
    jitter on a busy machine). The library leaves the thread count to its
    caller, so the tests set it.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
