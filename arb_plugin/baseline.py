"""
Rolling baseline of a pair's edge, for thresholds relative to where the premium has been lately.

The kimchi premium drifts for weeks at a time; a relative threshold compares the current edge with its mean
over a time window. Samples are taken at most once per ``sample_interval_ns`` (one a minute by default), so
the window holds a bounded number of values; the mean is kept with a running sum (O(1) per sample).

Values are integers in units of 1e-6 bps (:data:`arb_plugin.spread.SCREEN_BPS_SCALE`), the resolution of
the strategy's integer screen: samples and the mean are rounded toward negative infinity to that unit.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from arb_plugin.spread import SCREEN_BPS_SCALE

_MINUTE_NS = 60_000_000_000


class RollingBaseline:
    """Time-windowed mean of edge samples (1e-6 bps units)."""

    __slots__ = ("_samples", "_sum", "interval_ns", "last_sample_ts", "min_samples", "window_ns")

    def __init__(self, window_mins: int, min_samples: int, sample_interval_ns: int = _MINUTE_NS) -> None:
        self.window_ns = window_mins * _MINUTE_NS
        self.min_samples = min_samples
        self.interval_ns = sample_interval_ns
        self.last_sample_ts = 0
        self._samples: deque[tuple[int, int]] = deque()
        self._sum = 0

    def due(self, ts: int) -> bool:
        """Whether a sample at ``ts`` would be taken (cheap check for the hot path)."""
        return ts - self.last_sample_ts >= self.interval_ns

    def prune(self, ts: int) -> None:
        """Drop the samples that are ``window`` or more older than ``ts``."""
        horizon = ts - self.window_ns
        samples = self._samples
        while samples and samples[0][0] <= horizon:
            self._sum -= samples.popleft()[1]

    def add(self, ts: int, units: int) -> None:
        """Add a sample (1e-6 bps units) and drop those that left the window."""
        self._samples.append((ts, units))
        self._sum += units
        self.last_sample_ts = ts
        self.prune(ts)

    @property
    def count(self) -> int:
        return len(self._samples)

    @property
    def ready(self) -> bool:
        """At least ``min_samples`` samples in the window."""
        return len(self._samples) >= self.min_samples

    def mean_units(self) -> int:
        """The mean (1e-6 bps units, floored); 0 when empty."""
        return self._sum // len(self._samples) if self._samples else 0

    @property
    def mean_bps(self) -> Decimal:
        """The mean in bps."""
        return Decimal(self.mean_units()) / SCREEN_BPS_SCALE
