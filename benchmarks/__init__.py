"""Runnable benchmarks for miogram-async; never a CI gate (see ``benchmarks/README.md``)."""
