"""
Rolling baseline of a pair's edge, for thresholds relative to where the premium has been lately.

The kimchi premium drifts for weeks at a time; a relative threshold compares the current edge with its mean
over a time window. Samples are taken at most once per ``sample_interval_ns`` (one a minute by default),
so the window holds a bounded number of values; the mean is kept with a running sum (O(1) per sample).
Values are ``Decimal`` bps quantized to 1e-6 bps, the resolution of :class:`arb_plugin.spread.EdgeScreen`.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from arb_plugin.spread import to_screen_units

_QUANTUM = Decimal("0.000001")
_MINUTE_NS = 60_000_000_000


class RollingBaseline:
    """Time-windowed mean of edge samples (bps)."""

    __slots__ = ("_samples", "_sum", "interval_ns", "last_sample_ts", "min_samples", "window_ns")

    def __init__(self, window_mins: int, min_samples: int, sample_interval_ns: int = _MINUTE_NS) -> None:
        self.window_ns = window_mins * _MINUTE_NS
        self.min_samples = min_samples
        self.interval_ns = sample_interval_ns
        self.last_sample_ts = 0
        self._samples: deque[tuple[int, Decimal]] = deque()
        self._sum = Decimal(0)

    def due(self, ts: int) -> bool:
        """Whether a sample at ``ts`` would be taken (cheap check for the hot path)."""
        return ts - self.last_sample_ts >= self.interval_ns

    def prune(self, ts: int) -> None:
        """Drop the samples that are ``window`` or more older than ``ts``."""
        horizon = ts - self.window_ns
        while self._samples and self._samples[0][0] <= horizon:
            self._sum -= self._samples.popleft()[1]

    def add(self, ts: int, value_bps: Decimal) -> None:
        """Add a sample (quantized to 1e-6 bps) and drop those that left the window."""
        value = value_bps.quantize(_QUANTUM)
        self._samples.append((ts, value))
        self._sum += value
        self.last_sample_ts = ts
        self.prune(ts)

    @property
    def count(self) -> int:
        return len(self._samples)

    @property
    def ready(self) -> bool:
        """At least ``min_samples`` samples in the window."""
        return len(self._samples) >= self.min_samples

    @property
    def mean_bps(self) -> Decimal:
        """Mean of the window (0 when empty), quantized to 1e-6 bps."""
        if not self._samples:
            return Decimal(0)
        return (self._sum / len(self._samples)).quantize(_QUANTUM)

    def mean_units(self) -> int:
        """The mean in :func:`arb_plugin.spread.to_screen_units` units."""
        return to_screen_units(self.mean_bps)
