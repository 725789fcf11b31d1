"""Tests of recsys_lib.data.report: the data-quality report."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_lib.config import (
    ITEM_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data.cleaning import drop_missing
from recsys_lib.data.report import (
    QualityReport,
    QualityStep,
    check_report,
    plural,
    record,
)

from .helpers import frame

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


# =============================================================== QualityReport
def test_report_collects_steps_and_totals():
    rep = QualityReport("demo")
    rep.add("a", 10, 8, "two gone")
    rep.add("b", 8, 8, "fixed three", changed=3)
    rep.add("c", 8, 5, "three gone")
    assert len(rep) == 3
    assert rep.total_removed == 5
    assert rep.total_changed == 3
    assert rep.rows_in == 10 and rep.rows_out == 5
    frame_ = rep.to_frame()
    assert list(frame_.columns) == [
        "step",
        "rows_in",
        "rows_out",
        "removed",
        "changed",
        "reason",
    ]
    assert frame_["removed"].tolist() == [2, 0, 3]
    assert (frame_["rows_in"] - frame_["rows_out"] == frame_["removed"]).all()
    rep.check()
    assert "demo" in repr(rep) and "two gone" in repr(rep) and "5 removed" in repr(rep)
    html = rep._repr_html_()
    assert "<table" in html and "fixed three" in html
    assert [s.step for s in rep] == ["a", "b", "c"]
    assert rep[0].removed == 2


def test_empty_report_displays():
    rep = QualityReport()
    assert rep.total_removed == 0 and rep.rows_in is None
    assert "no steps" in repr(rep) and "no steps" in rep._repr_html_()
    assert rep.to_frame().empty
    rep.check()


def test_report_rejects_inconsistent_counts():
    rep = QualityReport()
    with pytest.raises(ValueError, match="never adds rows"):
        rep.add("x", 5, 6, "?")
    with pytest.raises(ValueError, match=">= 0"):
        rep.add("x", 5, 3, "?", changed=-1)
    with pytest.raises(ValueError, match="removed=1 but"):
        QualityStep("x", 5, 3, 1, 0, "?")
    rep.add("a", 10, 8, "")
    rep.add("b", 7, 7, "")  # does not start where "a" ended
    with pytest.raises(
        ValueError, match="step 1 .b. starts with 7 rows but step 0 .a. ended with 8"
    ):
        rep.check()
    rep.check(chain=False)


def test_without_a_report_changes_are_printed(capsys):
    df = frame([[1, 1, 5, 1], [None, 2, 4, 2]])
    drop_missing(df)
    out = capsys.readouterr().out
    assert "[drop_missing] removed 1 of 2 rows" in out
    clean = frame([[1, 1, 5, 1]])
    drop_missing(clean)  # nothing happened: nothing printed
    assert capsys.readouterr().out == ""


def test_report_must_be_a_report():
    with pytest.raises(TypeError, match="QualityReport"):
        drop_missing(frame([[1, 1, 5, 1]]), report="yes")


def test_record_returns_the_result_and_checks_the_report(capsys):
    rep = QualityReport()
    before, after = pd.DataFrame({"x": [1, 2, 3]}), pd.DataFrame({"x": [1]})
    assert record(rep, "step", before, after, "two gone") is after
    assert (rep[0].rows_in, rep[0].rows_out, rep[0].removed) == (3, 1, 2)
    assert record(None, "quiet", 5, 5, "nothing happened") == 5
    assert capsys.readouterr().out == ""
    record(None, "loud", 5, 4, "one gone", changed=1)
    assert "[loud] removed 1 of 5 rows (20.0%), changed 1: one gone" in (
        capsys.readouterr().out
    )
    with pytest.raises(TypeError, match="report must be a QualityReport or None"):
        check_report("report")
    assert plural(1, "user") == "1 user" and plural(1204, "user") == "1,204 users"
