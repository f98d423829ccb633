"""Runnable benchmarks; each ``bench_*.py`` prints a table of figures and ratios measured in one run."""
