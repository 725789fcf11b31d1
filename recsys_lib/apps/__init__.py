"""Applications of the book's tools (the "Applications" part of the book).

Each subpackage is one application chapter and is imported directly:

* :mod:`recsys_lib.apps.support` -- Chapter 13, smart customer service (FAQ
  matching, hand-off to a person, personal order answers);
* :mod:`recsys_lib.apps.sentiment` -- Chapter 14, financial news sentiment
  monitoring (lexicon and learned classifiers, a daily index, alarms).

e.g. ``from recsys_lib.apps import support``. This file stays minimal: it
imports nothing, so each application's heavier dependencies load only when
that application is used.
Both bootstrap their results with the library's one resampling kernel,
:func:`recsys_lib.eval.uncertainty.bootstrap_distribution`.
"""

__all__ = ["sentiment", "support"]
