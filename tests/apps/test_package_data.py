"""The applications' data files are read from the package and installed with it."""

import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

import pytest

DATA_FILES = [
    ("recsys_lib.apps.support", "faq_bank.yaml"),
    ("recsys_lib.apps.sentiment", "headlines.yaml"),
]


@pytest.mark.parametrize(("package", "name"), DATA_FILES)
def test_data_file_is_in_the_package(package, name):
    assert resources.files(package).joinpath(name).is_file()


@pytest.mark.parametrize(("package", "name"), DATA_FILES)
def test_data_file_is_declared_as_package_data(package, name):
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"].get(package, [])
    assert any(fnmatch.fnmatch(name, g) for g in globs), (package, name, globs)
