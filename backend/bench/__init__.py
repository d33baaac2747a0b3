"""Benchmark data (`backend seed --coaches`) and the performance suite (`backend bench`)."""


class BenchError(Exception):
    """The seed or the benchmark can not run, or its data broke a rule; the message is one line."""
