"""Benchmarks: ratios within one run, absolute times printed but never asserted (BENCHMARKS.md)."""
