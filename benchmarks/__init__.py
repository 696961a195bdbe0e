"""likely's benchmark suite: `python -m benchmarks` writes benchmarks/RESULTS.md."""
