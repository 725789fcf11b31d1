"""Tests of recsys_lib.data.fetchers and the command line (``__main__``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from recsys_lib import config, data
from recsys_lib.data.__main__ import main
from recsys_lib.data.sources import DatasetError


def test_fetch_registry_and_cli(monkeypatch, capsys):
    assert set(data.FETCHERS) == {
        "movielens-100k",
        "fashion-mnist",
        "movielens-latest-small",
        "amazon-fine-food",
        "open-bandit",
    }
    fetched = []
    monkeypatch.setitem(data.FETCHERS, "movielens-100k", lambda: fetched.append("ml"))
    assert data.fetch(["movielens-100k"]) == ["movielens-100k"] and fetched == ["ml"]
    with pytest.raises(KeyError, match="unknown data set"):
        data.fetch(["imagenet"])
    assert main(["fetch", "movielens-100k"]) == 0
    assert "movielens-100k" in capsys.readouterr().out
    assert main(["fetch", "imagenet"]) == 1
    assert "unknown data set" in capsys.readouterr().err


def test_cli_reports_failures_without_traceback(monkeypatch, capsys):
    def broken():
        raise DatasetError("could not fetch x. Run `make data`")

    monkeypatch.setitem(data.FETCHERS, "movielens-100k", broken)
    assert main(["fetch", "movielens-100k"]) == 1
    assert "make data" in capsys.readouterr().err


def test_the_command_line_runs():
    """``python -m recsys_lib.data`` (what ``make data`` runs)."""
    env = {**os.environ, "PYTHONPATH": str(config.REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "recsys_lib.data", "fetch", "no-such-data-set"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "unknown data set" in result.stderr and "Traceback" not in result.stderr


def test_help_names_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "python -m recsys_lib.data " in capsys.readouterr().out


def test_data_is_not_under_version_control():
    gitignore = (config.REPO_ROOT / ".gitignore").read_text().split()
    assert "data/cache/" in gitignore
