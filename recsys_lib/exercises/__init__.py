"""Exercises that check themselves.

Introduced in Chapter 0 (Preface, "Exercises") and used at the end of every
chapter. Each exercise has an id such as ``"ch01.ex2"``, a check that a learner
calls on their own answer, and a reference solution (shown in the book behind
a toggle). ``tests/test_exercises.py`` runs every reference solution through its
check, and every recorded wrong answer too, so a check that cannot fail is
caught.

Learner's view::

    from recsys_lib.exercises import check_exercise, show_solution
    check_exercise("ch01.ex1", my_answer)   # prints a verdict, returns True/False
    show_solution("ch01.ex1")               # prints the reference solution

In the chapters, each exercise is followed by a hidden solution cell guarded by
:func:`solutions_enabled`: it does nothing unless the learner asks for it, by
calling ``show_solution`` or by starting Jupyter with ``RECSYS_SOLUTIONS=1``.
The test suite sets that variable, so every solution is still run and checked
against the chapter's own data.

Adding an exercise (instructors): write ``check``, ``solution`` and at least one
``wrong_answers`` entry in ``recsys_lib/exercises/chNN.py`` and call
:func:`register`; the tests pick it up.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class NotYet(AssertionError):
    """Raised by a check when an answer is wrong; the message is the hint."""


class Verdict:
    """Result of :func:`check_exercise`: true if the answer is right.

    It behaves like a bool (``assert check_exercise(...)``) but shows nothing
    when it ends a notebook cell, since the verdict is already printed.
    """

    def __init__(self, ok: bool, message: str) -> None:
        self.ok, self.message = bool(ok), message

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict(ok={self.ok}, message={self.message!r})"

    def _ipython_display_(self) -> None:  # printed already; show nothing more
        return None


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes:
        id: ``"chNN.exK"``.
        title: one line shown with the verdict.
        check: ``check(answer, **context)``; returns ``None`` (or a short
            message) when the answer is right and raises :class:`NotYet` with a
            hint when it is not.
        solution: ``solution(**context) -> answer``, the reference solution.
        wrong_answers: callables ``(**context) -> answer`` that must fail the
            check (the tests verify it).
        example_context: ``() -> dict`` giving a small context to test with
            (for exercises whose answer depends on the notebook's data).
    """

    id: str
    title: str
    check: Callable[..., Any]
    solution: Callable[..., Any]
    wrong_answers: tuple[Callable[..., Any], ...] = ()
    example_context: Callable[[], dict] = field(default=dict)


_REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry (ids must be unique)."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register() needs an Exercise, got {type(exercise).__name__}")
    if exercise.id in _REGISTRY:
        raise ValueError(f"exercise id {exercise.id!r} is registered twice")
    if not exercise.wrong_answers:
        raise ValueError(
            f"exercise {exercise.id!r} needs at least one wrong answer to test its check"
        )
    _REGISTRY[exercise.id] = exercise
    return exercise


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{mod.name}")


def all_exercises() -> list[Exercise]:
    """Every registered exercise, sorted by id."""
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_exercise(exercise_id: str) -> Exercise:
    """Look up an exercise by id.

    Raises:
        KeyError: naming the known ids of that chapter when the id is unknown.
    """
    if not isinstance(exercise_id, str):
        raise TypeError(
            f"exercise id must be a string like 'ch01.ex1', got {exercise_id!r}"
        )
    _load_all()
    if exercise_id not in _REGISTRY:
        chapter = exercise_id.split(".")[0]
        known = sorted(k for k in _REGISTRY if k.startswith(chapter + ".")) or sorted(
            _REGISTRY
        )
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(known)}")
    return _REGISTRY[exercise_id]


def check_exercise(
    exercise_id: str, answer: Any, *, quiet: bool = False, **context
) -> Verdict:
    """Check a learner's answer; print a verdict and return a true :class:`Verdict` if right.

    Args:
        exercise_id: for example ``"ch01.ex2"``.
        answer: the learner's answer (a value or a function, as the exercise asks).
        quiet: do not print.
        **context: data the exercise needs (named in the exercise text).
    """
    ex = get_exercise(exercise_id)
    if answer is None or answer is Ellipsis:
        verdict, ok = (
            "no answer yet: replace the placeholder and run the cell again.",
            False,
        )
    else:
        try:
            message = ex.check(answer, **context)
        except NotYet as hint:
            verdict, ok = f"not yet. Hint: {hint}", False
        else:
            verdict, ok = "correct" + (f": {message}" if message else "."), True
    line = f"{'[ok]' if ok else '[..]'} {ex.id} ({ex.title}): {verdict}"
    if not quiet:
        print(line)
    return Verdict(ok, line)


def solution(exercise_id: str, **context) -> Any:
    """Return the reference answer of an exercise."""
    return get_exercise(exercise_id).solution(**context)


def show_solution(exercise_id: str) -> None:
    """Print the source code of the reference solution."""
    ex = get_exercise(exercise_id)
    print(textwrap.dedent(inspect.getsource(ex.solution)).rstrip())


SOLUTIONS_ENV = "RECSYS_SOLUTIONS"


def solutions_enabled(exercise_id: str) -> bool:
    """Whether a chapter's solution cell for ``exercise_id`` should run.

    Solutions are opt-in, so that a learner does not see one before trying the
    exercise. The environment variable ``RECSYS_SOLUTIONS`` decides: ``1`` (or
    ``all``) enables every solution; a comma-separated list of exercise ids or
    chapters (``ch03.ex2,ch05``) enables those. When disabled, this prints how
    to see the solution and returns ``False``.

    Raises:
        KeyError: if no exercise has this id.
    """
    get_exercise(exercise_id)  # fails clearly on an unknown id
    value = os.environ.get(SOLUTIONS_ENV, "").strip()
    wanted = {v.strip() for v in value.split(",") if v.strip()}
    chapter = exercise_id.split(".")[0]
    if wanted & {"1", "all", exercise_id, chapter}:
        return True
    print(
        f"The solution to {exercise_id} is hidden: try the exercise first. "
        f'To see it, run show_solution("{exercise_id}") in a new cell, or start '
        f"Jupyter with {SOLUTIONS_ENV}=1 to run every solution cell."
    )
    return False


__all__ = [
    "Exercise",
    "NotYet",
    "Verdict",
    "all_exercises",
    "check_exercise",
    "get_exercise",
    "register",
    "show_solution",
    "solution",
    "solutions_enabled",
]
