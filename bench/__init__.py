"""Benchmarks: commands that print figures. Timing is measured here, never asserted in the test suite."""
