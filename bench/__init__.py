"""Benchmarks (`make bench`): each ``bench_*.py`` module exposes ``run() -> dict``."""
