import pytest

from recsys_lib.exercises import (
    Exercise,
    NotYet,
    all_exercises,
    check_exercise,
    get_exercise,
    register,
    show_solution,
    solution,
    solutions_enabled,
)

EXERCISES = all_exercises()


def test_there_are_exercises_for_every_chapter_so_far():
    chapters = {ex.id.split(".")[0] for ex in EXERCISES}
    assert {"ch01"} <= chapters


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_reference_solution_passes(ex, capsys):
    ctx = ex.example_context()
    assert bool(check_exercise(ex.id, ex.solution(**ctx), **ctx)) is True
    assert "[ok]" in capsys.readouterr().out


@pytest.mark.parametrize(
    "ex, k",
    [(ex, k) for ex in EXERCISES for k in range(len(ex.wrong_answers))],
    ids=lambda v: v.id if isinstance(v, Exercise) else str(v),
)
def test_wrong_answers_fail(ex, k, capsys):
    ctx = ex.example_context()
    assert bool(check_exercise(ex.id, ex.wrong_answers[k](**ctx), **ctx)) is False
    assert "not yet. Hint:" in capsys.readouterr().out


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_placeholder_answer_is_not_correct(ex, capsys):
    assert not check_exercise(ex.id, None, **ex.example_context())
    assert "no answer yet" in capsys.readouterr().out


def test_show_solution_prints_source(capsys):
    ex = EXERCISES[0]
    show_solution(ex.id)
    assert "def " in capsys.readouterr().out
    assert solution(ex.id, **ex.example_context()) is not None


def test_unknown_ids():
    with pytest.raises(KeyError, match="no exercise 'ch01.ex99'; known: ch01.ex1"):
        get_exercise("ch01.ex99")
    with pytest.raises(TypeError, match="string like"):
        get_exercise(3)


def test_register_guards():
    ex = EXERCISES[0]
    with pytest.raises(ValueError, match="registered twice"):
        register(ex)
    with pytest.raises(ValueError, match="at least one wrong answer"):
        register(Exercise("zz.ex1", "t", check=lambda a: None, solution=lambda: 1))
    with pytest.raises(TypeError, match="needs an Exercise"):
        register("ch01.ex1")


def test_quiet_mode(capsys):
    ex = EXERCISES[0]
    verdict = check_exercise(ex.id, None, quiet=True, **ex.example_context())
    assert capsys.readouterr().out == ""
    assert "no answer yet" in verdict.message and "ok=False" in repr(verdict)
    assert verdict._ipython_display_() is None
    assert issubclass(NotYet, AssertionError)


def test_solutions_are_opt_in(monkeypatch, capsys):
    ex_id = EXERCISES[0].id
    monkeypatch.delenv("RECSYS_SOLUTIONS", raising=False)
    assert solutions_enabled(ex_id) is False
    assert f'show_solution("{ex_id}")' in capsys.readouterr().out
    for value in ("1", "all", ex_id, ex_id.split(".")[0], f"chXX.ex1, {ex_id}"):
        monkeypatch.setenv("RECSYS_SOLUTIONS", value)
        assert solutions_enabled(ex_id) is True
    monkeypatch.setenv("RECSYS_SOLUTIONS", "chXX")
    assert solutions_enabled(ex_id) is False
    monkeypatch.setenv("RECSYS_SOLUTIONS", "0")
    assert solutions_enabled(ex_id) is False
    with pytest.raises(KeyError, match="no exercise"):
        solutions_enabled("ch01.ex99")
