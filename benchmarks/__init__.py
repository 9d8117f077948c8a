"""Hand-run performance benchmarks for the partnership model (not part of the test suite).

Run them all from the repository root with ``python -m benchmarks.run_all``;
see benchmarks/README.md for what each measures and its target.
"""
