"""Benchmarks (not part of the test suite): `make bench` or `python -m bench.<name>`."""
