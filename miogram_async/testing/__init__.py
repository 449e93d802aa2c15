"""A faithful fake MioGram service for tests, demos and benchmarks."""
