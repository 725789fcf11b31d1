import json

import pytest

from recsys_lib.exercises import check_exercise
from recsys_lib.exercises.__main__ import main
from recsys_lib.exercises.grading import _execute, grade_notebook, notebook_verdicts

_IDS = iter(range(10**6))


def _cell(source, out=""):
    outputs = [{"output_type": "stream", "name": "stdout", "text": out}] if out else []
    return {
        "id": f"c{next(_IDS)}",
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "outputs": outputs,
        "execution_count": None,
    }


def _verdict(ex_id, answer):
    return check_exercise(ex_id, answer, quiet=True).message + "\n"


def _notebook():
    return {
        "cells": [
            {
                "id": "md",
                "cell_type": "markdown",
                "source": "**Exercise 1.**",
                "metadata": {},
            },
            _cell('check_exercise("ch08.ex4", 1.28)', _verdict("ch08.ex4", 1.28)),
            _cell('check_exercise("ch08.ex3", None)', _verdict("ch08.ex3", None)),
            _cell(
                'check_exercise("ch08.ex2", solution("ch08.ex2"))',
                _verdict("ch08.ex2", None).replace("[..]", "[ok]"),
            ),
            _cell('check_exercise("ch08.ex1", 3)'),  # never run
            # an opt-in solution cell that ran: its verdict does not count
            _cell(
                'if solutions_enabled("ch08.ex3"):\n    check_exercise("ch08.ex3", solution("ch08.ex3"))',
                "[ok] ch08.ex3 (merge): correct.\n",
            ),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_verdicts_come_from_the_learners_cells_only():
    table = notebook_verdicts(_notebook()).set_index("exercise")
    assert table.loc["ch08.ex4", "status"] == "correct"
    assert table.loc["ch08.ex3", "status"] == "no answer"
    assert table.loc["ch08.ex1", "status"] == "not run"
    assert bool(table.loc["ch08.ex2", "uses_reference"]) is True
    assert not table.loc[["ch08.ex4", "ch08.ex3", "ch08.ex1"], "uses_reference"].any()


def test_grade_gives_points_only_for_own_correct_answers(tmp_path, capsys):
    path = tmp_path / "submission.ipynb"
    path.write_text(json.dumps(_notebook()), encoding="utf-8")
    table = grade_notebook(path).set_index("exercise")
    assert table["points"].to_dict() == {
        "ch08.ex4": 1,
        "ch08.ex3": 0,
        "ch08.ex2": 0,
        "ch08.ex1": 0,
    }
    assert "top-k" in table.loc["ch08.ex4", "title"]
    assert main(["grade", str(path)]) == 0
    assert "1 of 4 exercises" in capsys.readouterr().out


def test_execute_reruns_with_solutions_hidden(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_SOLUTIONS", "1")
    nb = _notebook()
    nb["cells"] = [
        _cell("from recsys_lib.exercises import check_exercise, solutions_enabled"),
        _cell(
            'check_exercise("ch08.ex4", 1.28)',
            "[..] ch08.ex4 (edited by hand): not yet\n",
        ),
        _cell('if solutions_enabled("ch08.ex4"):\n    print("SOLUTION SHOWN")'),
    ]
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    path = tmp_path / "s.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert grade_notebook(path)["status"].tolist() == ["not yet"]  # the stored output
    executed = _execute(nb, path, timeout=120)
    verdicts = notebook_verdicts(executed)["status"].tolist()
    assert verdicts == ["correct"]  # the re-run's verdict, not the edited one
    shown = json.dumps(executed["cells"][-1]["outputs"])
    assert "SOLUTION SHOWN" not in shown and "is hidden" in shown  # run as a learner


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        grade_notebook(tmp_path / "missing.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a notebook"):
        grade_notebook(bad)
    with pytest.raises(ValueError, match="cells"):
        notebook_verdicts({"nbformat": 4})
