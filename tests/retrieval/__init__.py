"""Tests of recsys_lib.retrieval (Chapter 8: two-stage recall and ranking)."""
