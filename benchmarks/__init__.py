"""Benchmarks; ``benchmarks.replay`` is the shared conversation-replay harness."""
