"""Benchmarks: `make bench` (or `python -m bench.run [--quick]`) runs every section."""
