"""pytest plumbing shared by the unit tests and the notebook tests.

While nbval runs a chapter notebook, ``RECSYS_NOTEBOOK`` holds its file name.
The kernel inherits it, so checks logged by ``recsys_lib.testing`` (when
``RECSYS_CHECK_LOG`` is set, see ``make portability``) say which chapter they
came from.
"""

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before nbval starts the notebook's kernel in the setup of its first cell.
    if item.path.suffix == ".ipynb":
        os.environ["RECSYS_NOTEBOOK"] = item.path.name
