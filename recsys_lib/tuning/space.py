"""The search space of a hyperparameter search, checked before any trial runs.

Introduced in Chapter 9 ("Model optimization"). A space names each
hyperparameter and its range: :class:`Float` and :class:`Int` ranges (on a
log scale for learning rates, penalties and sizes) and :class:`Categorical`
choices, collected in a :class:`SearchSpace`. Each refuses what would only
fail later, or silently search nothing: an empty or inverted range, a log
scale through zero, a step wider than the range, a bare list instead of
``Categorical``, and (:meth:`SearchSpace.check_factory`) a parameter the model
does not take. :mod:`.search` runs Optuna studies over such a space.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import optuna

from ..checks import check_int, check_number

__all__ = ["Categorical", "Float", "Int", "SearchSpace", "check_fixed"]

_CHOICE_TYPES = (type(None), bool, int, float, str)


class Float:
    """A real hyperparameter in ``[low, high]``. Introduced in Chapter 9.

    Args:
        low, high: the range, ``low < high``.
        log: search on a log scale (learning rates, penalties); needs ``low > 0``.
        step: search only ``low, low + step, ...`` (not with ``log``).

    Raises:
        TypeError: for bounds or a step that are not numbers.
        ValueError: for an empty range (``low >= high``), ``log`` with
            ``low <= 0``, or a step that is not positive, is combined with
            ``log`` or is wider than the range.
    """

    def __init__(self, low, high, *, log: bool = False, step=None) -> None:
        self.low = check_number(low, "low", where="Float")
        self.high = check_number(high, "high", where="Float")
        self.log = _check_bool(log, "log", "Float")
        _check_range("Float", self.low, self.high)
        if self.log and self.low <= 0:
            raise ValueError(
                f"Float: a log scale needs low > 0, got low={self.low}; "
                "use a small positive low (e.g. 1e-6) or log=False"
            )
        self.step = None
        if step is not None:
            self.step = check_number(
                step, "step", low=0.0, low_open=True, where="Float"
            )
            if self.log:
                raise ValueError("Float: step cannot be combined with log=True")
            if self.step > self.high - self.low:
                raise ValueError(
                    f"Float: step {self.step} is wider than the range "
                    f"[{self.low}, {self.high}]"
                )

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        """A value proposed by ``trial``'s sampler."""
        return trial.suggest_float(
            name, self.low, self.high, log=self.log, step=self.step
        )

    def grid(self, points: int) -> list[float]:
        """``points`` values spread over the range (geometrically with ``log``)."""
        points = check_int(points, "points", low=2, where="Float.grid")
        if self.log:
            values = np.geomspace(self.low, self.high, points)
        else:
            values = np.linspace(self.low, self.high, points)
        if self.step is not None:
            values = self.low + np.round((values - self.low) / self.step) * self.step
        return sorted({float(v) for v in values})

    def __repr__(self) -> str:
        extra = ", log=True" if self.log else ""
        extra += f", step={self.step}" if self.step is not None else ""
        return f"Float({self.low}, {self.high}{extra})"


class Int:
    """An integer hyperparameter in ``[low, high]``. Introduced in Chapter 9.

    Args:
        low, high: the range, ``low < high``.
        log: search on a log scale (sizes such as 16..256); needs ``low >= 1``.
        step: search only ``low, low + step, ...``; ``high - low`` must be a
            multiple of it (not with ``log``).

    Raises:
        TypeError: for bounds or a step that are not ints.
        ValueError: for an empty range, ``log`` with ``low < 1``, or a bad step.
    """

    def __init__(self, low, high, *, log: bool = False, step=1) -> None:
        self.low = check_int(low, "low", where="Int")
        self.high = check_int(high, "high", where="Int")
        self.log = _check_bool(log, "log", "Int")
        _check_range("Int", self.low, self.high)
        self.step = check_int(step, "step", low=1, where="Int")
        if self.log and self.low < 1:
            raise ValueError(f"Int: a log scale needs low >= 1, got low={self.low}")
        if self.log and self.step != 1:
            raise ValueError("Int: step cannot be combined with log=True")
        if (self.high - self.low) % self.step:
            raise ValueError(
                f"Int: high - low = {self.high - self.low} is not a multiple of "
                f"step={self.step}"
            )

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        """A value proposed by ``trial``'s sampler."""
        return trial.suggest_int(
            name, self.low, self.high, log=self.log, step=self.step
        )

    def grid(self, points: int) -> list[int]:
        """Up to ``points`` distinct values spread over the range."""
        points = check_int(points, "points", low=2, where="Int.grid")
        if self.log:
            values = np.geomspace(self.low, self.high, points)
        else:
            values = np.linspace(self.low, self.high, points)
        snapped = self.low + np.round((values - self.low) / self.step) * self.step
        return sorted({int(v) for v in snapped})

    def __repr__(self) -> str:
        extra = ", log=True" if self.log else ""
        extra += f", step={self.step}" if self.step != 1 else ""
        return f"Int({self.low}, {self.high}{extra})"


class Categorical:
    """A hyperparameter with a list of choices. Introduced in Chapter 9.

    Args:
        choices: a non-empty list of distinct ``None``, bool, int, float or
            str values (what Optuna can store).

    Raises:
        TypeError: for choices that are not a list/tuple, or of another type.
        ValueError: for no choices or repeated ones.
    """

    def __init__(self, choices) -> None:
        if isinstance(choices, str) or not isinstance(choices, list | tuple):
            raise TypeError(
                f"Categorical: choices must be a list, got {type(choices).__name__}: "
                f"{choices!r}"
            )
        if not choices:
            raise ValueError("Categorical: empty list of choices; give at least one")
        for c in choices:
            if not isinstance(c, _CHOICE_TYPES):
                raise TypeError(
                    f"Categorical: choice {c!r} is a {type(c).__name__}; choices "
                    "must be None, bool, int, float or str (name the option and "
                    "build the object in the factory)"
                )
        if len({(type(c), c) for c in choices}) < len(choices):
            raise ValueError(f"Categorical: repeated choices in {list(choices)!r}")
        self.choices = list(choices)

    def suggest(self, trial: optuna.Trial, name: str):
        """A value proposed by ``trial``'s sampler."""
        return trial.suggest_categorical(name, self.choices)

    def grid(self, points: int | None = None) -> list:
        """Every choice (``points`` is ignored)."""
        return list(self.choices)

    def __repr__(self) -> str:
        return f"Categorical({self.choices!r})"


Dimension = Float | Int | Categorical


def _check_bool(value, name: str, where: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check_range(where: str, low, high) -> None:
    if low > high:
        raise ValueError(
            f"{where}: empty range: low={low} is above high={high}; swap them"
        )
    if low == high:
        raise ValueError(
            f"{where}: empty range: low == high == {low} leaves nothing to search; "
            "pass a fixed value as a fixed parameter instead"
        )


class SearchSpace(Mapping):
    """The hyperparameters to search, by name. Introduced in Chapter 9.

    ``SearchSpace(lr=Float(1e-3, 0.1, log=True), dim=Int(16, 128, log=True))``
    or ``SearchSpace({"lr": Float(...)})``. It is a read-only mapping from
    names to dimensions.

    Raises:
        TypeError: for a name that is not a string, or a value that is not a
            :class:`Float`, :class:`Int` or :class:`Categorical` (a bare list
            or tuple gets a hint).
        ValueError: for no parameters or a name that is not an identifier.
    """

    def __init__(self, params: Mapping[str, Dimension] | None = None, **dims) -> None:
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(
                f"SearchSpace: params must be a dict, got {type(params).__name__}"
            )
        merged = {**(params or {}), **dims}
        if not merged:
            raise ValueError("SearchSpace: no parameters to search")
        for name, dim in merged.items():
            if not isinstance(name, str):
                raise TypeError(
                    f"SearchSpace: parameter names are strings, got {name!r}"
                )
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(
                    f"SearchSpace: {name!r} is not a keyword-argument name of a factory"
                )
            if isinstance(dim, list | tuple):
                raise TypeError(
                    f"SearchSpace: {name!r} is a bare {type(dim).__name__}; write "
                    f"Categorical({list(dim)!r}) for choices or Float/Int(low, high) "
                    "for a range"
                )
            if not isinstance(dim, Float | Int | Categorical):
                raise TypeError(
                    f"SearchSpace: {name!r} must be a Float, Int or Categorical, got "
                    f"{type(dim).__name__}"
                )
        self._dims = dict(merged)

    def __getitem__(self, name: str) -> Dimension:
        return self._dims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={d!r}" for n, d in self._dims.items())
        return f"SearchSpace({inner})"

    def suggest(self, trial: optuna.Trial) -> dict:
        """One configuration ``{name: value}`` proposed by ``trial``'s sampler."""
        return {name: dim.suggest(trial, name) for name, dim in self._dims.items()}

    def grid(self, points: int | Mapping[str, int] = 3) -> dict[str, list]:
        """Grid values per parameter (for ``optuna.samplers.GridSampler``).

        Args:
            points: values per range, for all (an int) or per name (a dict;
                names left out get 3). Categorical parameters take every choice.

        Raises:
            ValueError: for a name in ``points`` that is not in the space.
        """
        if isinstance(points, Mapping):
            unknown = sorted(set(points) - set(self._dims))
            if unknown:
                raise ValueError(
                    f"grid points for unknown parameter(s) {unknown}; the space has "
                    f"{list(self._dims)}"
                )
            per = {name: points.get(name, 3) for name in self._dims}
        else:
            per = dict.fromkeys(self._dims, points)
        return {name: dim.grid(per[name]) for name, dim in self._dims.items()}

    def check_factory(self, factory: Callable, fixed: Mapping | None = None) -> None:
        """Refuse parameters that ``factory`` does not take, before any trial runs.

        Args:
            factory: a class or function called as ``factory(**fixed, **params)``.
            fixed: parameters passed to every trial unchanged.

        Raises:
            TypeError: if ``factory`` is not callable or ``fixed`` not a dict.
            ValueError: for a name that ``factory`` does not accept (the
                message lists the ones it does), or one that is both fixed
                and searched.
        """
        if not callable(factory):
            raise TypeError(f"factory must be callable, got {type(factory).__name__}")
        fixed = check_fixed(fixed)
        both = sorted(set(fixed) & set(self._dims))
        if both:
            raise ValueError(f"parameter(s) {both} are both fixed and searched")
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # a builtin without a signature: cannot tell
            return
        kinds = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        params = signature.parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return  # factory(**params) takes any name
        accepted = [p.name for p in params if p.kind in kinds]
        unknown = [n for n in [*fixed, *self._dims] if n not in accepted]
        if unknown:
            label = getattr(factory, "__name__", None) or type(factory).__name__
            raise ValueError(
                f"unknown parameter {unknown[0]!r} for {label}; it takes "
                f"{', '.join(accepted) or 'no keyword arguments'}"
            )


def check_fixed(fixed) -> dict:
    """``fixed`` parameters as a dict (``None`` = none); TypeError for a non-dict."""
    if fixed is None:
        return {}
    if not isinstance(fixed, Mapping):
        raise TypeError(f"fixed must be a dict, got {type(fixed).__name__}")
    return dict(fixed)
