"""Benchmarks that print a table: `./scripts/bench.sh` (docs/benchmarks.md)."""
