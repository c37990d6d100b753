"""Benchmarks: ``make bench`` runs every ``bench/bench_*.py`` and prints its figures (never asserted in tests)."""

import warnings

# NautilusTrader 1.231 calls pandas' deprecated Timestamp.utcnow inside BacktestEngine.run: one warning per run
# would bury the figures.
warnings.filterwarnings("ignore", message="Timestamp.utcnow is deprecated")
