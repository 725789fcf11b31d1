"""Fixtures of the application tests (Chapters 13 and 14)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread per test, as the chapters' notebooks run.

    The heads and encoders here do many small matrix products; on a busy
    machine, threads waiting for each other make them many times slower. The
    library leaves the thread count to its caller, so the tests set it.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
