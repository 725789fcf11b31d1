"""Applications of the book's tools (the "Applications" part of the book).

Each module is one application chapter and is imported directly, e.g.
``from recsys_lib.apps import support`` or ``from recsys_lib.apps import sentiment``.
This file stays minimal: it imports nothing, so each application's heavier
dependencies load only when that application is used.
"""
