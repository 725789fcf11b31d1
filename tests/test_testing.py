import json
import math

import numpy as np
import pytest
import torch

from recsys_lib.testing import (
    ClaimError,
    check_between,
    check_close,
    check_greater,
    check_interval,
    check_less,
    check_small,
)


def test_check_close_passes_inside_the_band_and_returns_the_value():
    assert check_close("ndcg", 0.0712, 0.071, atol=0.004) == pytest.approx(0.0712)
    assert check_close("clicks", 3.2, 3.11, rtol=0.05) == pytest.approx(3.2)
    # the wider of the two tolerances counts, as in math.isclose
    check_close("x", 1.5, 1.0, atol=0.6, rtol=0.01)
    # the band is inclusive
    check_close("edge", 1.0, 0.5, atol=0.5)


@pytest.mark.parametrize(
    "value", [np.float32(0.07), np.float64(0.07), torch.tensor(0.07), np.array(0.07)]
)
def test_check_close_accepts_numpy_and_torch_scalars(value):
    assert isinstance(check_close("v", value, 0.07, atol=1e-6), float)


def test_check_close_message_names_value_expectation_and_tolerance():
    with pytest.raises(ClaimError) as err:
        check_close("EASE test NDCG@10", 0.0652, 0.071, atol=0.004)
    message = str(err.value)
    assert "EASE test NDCG@10 = 0.0652" in message
    assert "expected 0.071 +- 0.004" in message
    assert "band [0.067, 0.075]" in message
    assert "below the band" in message
    with pytest.raises(ClaimError, match="above the band"):
        check_close("y", 2.0, 1.0, rtol=0.1)


def test_claim_error_is_an_assertion_error():
    with pytest.raises(AssertionError):
        check_between("share", 1.2, 0.0, 1.0)


def test_check_close_needs_a_valid_tolerance():
    with pytest.raises(ValueError, match="give atol or rtol"):
        check_close("x", 1.0, 1.0)
    with pytest.raises(ValueError, match="atol must be finite and >= 0"):
        check_close("x", 1.0, 1.0, atol=-0.1)
    with pytest.raises(ValueError, match="rtol must be finite"):
        check_close("x", 1.0, 1.0, rtol=math.inf)


@pytest.mark.parametrize("bad", [None, "0.1", True, [0.1], np.array([0.1, 0.2])])
def test_non_numbers_are_refused_with_the_name(bad):
    with pytest.raises(TypeError, match="ndcg: value must be"):
        check_close("ndcg", bad, 0.1, atol=0.1)


def test_nan_never_passes():
    with pytest.raises(ClaimError, match="value is nan"):
        check_between("loss", float("nan"), -math.inf, math.inf)
    with pytest.raises(ClaimError, match="nan"):
        check_greater("a", 1.0, float("nan"))


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_the_name_is_required(bad):
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        check_between(bad, 0.5, 0, 1)


def test_check_between_bounds():
    assert check_between("recall", 0.5, 0.4, 0.6) == 0.5
    check_between("open above", 10.0, 1.0, None)
    check_between("open below", -10.0, None, 1.0)
    with pytest.raises(ClaimError, match=r"recall = 0.3, expected within \[0.4, 0.6\]"):
        check_between("recall", 0.3, 0.4, 0.6)
    with pytest.raises(ValueError, match="low 0.6 is above high 0.4"):
        check_between("recall", 0.5, 0.6, 0.4)
    with pytest.raises(ValueError, match="give low, high or both"):
        check_between("recall", 0.5, None, None)


def test_check_greater_and_less_with_margins():
    check_greater("SASRec", 0.07, 0.04, margin=0.02, than_name="EASE")
    with pytest.raises(ClaimError) as err:
        check_greater("SASRec", 0.05, 0.04, margin=0.02, than_name="EASE")
    assert "SASRec = 0.05 should exceed EASE = 0.04 by more than 0.02" in str(err.value)
    with pytest.raises(ClaimError, match="should exceed"):
        check_greater("tie", 0.04, 0.04)  # strictly greater
    check_less("error", 0.1, 0.5, margin=0.3)
    with pytest.raises(ClaimError, match="should be below"):
        check_less("error", 0.3, 0.5, margin=0.3)
    with pytest.raises(ValueError, match="margin must be finite and >= 0"):
        check_greater("a", 1.0, 0.0, margin=-1.0)


class _CI:
    def __init__(self, low, high):
        self.low, self.high = low, high


def test_check_interval_claims():
    assert check_interval("diff", (0.01, 0.03), above=0.0) == (0.01, 0.03)
    check_interval("diff", _CI(-0.03, -0.01), below=0.0)
    check_interval("estimate", [0.9, 1.2], contains=1.0)
    check_interval("both", (0.1, 0.2), above=0.0, below=0.5, contains=0.15)
    with pytest.raises(
        ClaimError, match=r"interval \[-0.01, 0.03\] should lie above 0"
    ):
        check_interval("diff", (-0.01, 0.03), above=0.0)
    with pytest.raises(ClaimError, match="should lie below"):
        check_interval("diff", (-0.01, 0.03), below=0.0)
    with pytest.raises(ClaimError, match="should contain 2"):
        check_interval("estimate", (0.9, 1.2), contains=2.0)


def test_check_interval_bad_input():
    with pytest.raises(ValueError, match="give above, below or contains"):
        check_interval("diff", (0.0, 1.0))
    with pytest.raises(ValueError, match="low end 1.0 is above 0.0"):
        check_interval("diff", (1.0, 0.0), above=0)
    with pytest.raises(ValueError, match="got 3 numbers"):
        check_interval("diff", (0.0, 0.5, 1.0), above=0)
    with pytest.raises(TypeError, match="must be \\(low, high\\)"):
        check_interval("diff", 0.5, above=0)


def test_check_small():
    assert check_small("max |a - b|", 4.4e-16, 1e-9) == pytest.approx(4.4e-16)
    check_small("negative error", -1e-12, 1e-9)
    with pytest.raises(ClaimError, match=r"\|1e-06\| is not below 1e-09"):
        check_small("max |a - b|", 1e-6, 1e-9)
    with pytest.raises(ValueError, match="bound must be > 0"):
        check_small("x", 0.0, 0.0)


def test_checks_are_logged_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("RECSYS_CHECK_LOG", str(log))
    monkeypatch.setenv("RECSYS_NOTEBOOK", "03_evaluation.ipynb")
    check_close("ndcg", 0.07, 0.071, atol=0.004)
    check_interval("diff", (0.01, 0.02), above=0.0)
    with pytest.raises(ClaimError):
        check_greater("a", 0.0, 1.0)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["name"] for r in records] == ["ndcg", "diff", "a"]
    assert [r["passed"] for r in records] == [True, True, False]
    assert records[0]["notebook"] == "03_evaluation.ipynb"
    assert records[0]["low"] == pytest.approx(0.067)
    assert records[0]["high"] == pytest.approx(0.075)
    assert records[1]["value"] == [0.01, 0.02]


def test_nothing_is_logged_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("RECSYS_CHECK_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    check_close("ndcg", 0.07, 0.071, atol=0.004)
    assert list(tmp_path.iterdir()) == []
