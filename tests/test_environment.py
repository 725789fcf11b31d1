"""environment.yml (conda/mamba) must give the same environment as pyproject.toml.

conda cannot run on the test machines, so this test parses both files and
compares the pins instead.
"""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(r.split("==") for r in reqs)


def _conda_pins(path="environment.yml"):
    env = yaml.safe_load((ROOT / path).read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = dict(line.split("==") for line in pip if "==" in line)
    return env, deps, pip, pins


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert req.count("==") == 1, f"{req!r} in pyproject.toml is not pinned with =="


def test_conda_environment_has_the_same_pins():
    _, _, _, pins = _conda_pins()
    assert pins == _pyproject_pins()


def test_conda_environment_uses_python_311_and_installs_the_project():
    env, deps, pip, _ = _conda_pins()
    assert "python=3.11" in deps
    assert "-e ." in pip
    assert env["name"] == "recsys-book"


def test_torch_is_the_tested_version():
    assert _pyproject_pins()["torch"] == "2.13.0"


def test_binder_environment_has_the_same_pins_and_installs_the_project_later():
    # repo2docker installs binder/environment.yml before it copies the
    # repository, so `-e .` must not be there; binder/postBuild installs it.
    env, deps, pip, pins = _conda_pins("binder/environment.yml")
    assert pins == _pyproject_pins()
    assert "python=3.11" in deps and "-e ." not in pip
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post and "fetch" in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111  # executable


def test_licence_and_citation_are_there():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["version"] == project["version"]
