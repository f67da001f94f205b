"""The ranking metrics' former name, kept for tests/test_seq_world.py until it imports
``sweeps.eval.ranking``; new code imports that module."""

from sweeps.eval.ranking import DEFAULT_KS, metrics_from_ranks, popularity_scores, score_ranks

__all__ = ["DEFAULT_KS", "metrics_from_ranks", "popularity_scores", "score_ranks"]
