"""``ws_latency``: exchange timestamp to local receipt, recorded for every market-data frame."""

from __future__ import annotations

from array import array


class WsLatencyStats:
    """
    Running latency statistics, allocation-free per sample.

    Keeps the count, last, min, max and mean of every sample and a ring of the last ``window`` samples
    for percentiles. Values are nanoseconds (a negative value means the local clock runs behind).

    Parameters
    ----------
    window : int, default 4096
        How many recent samples percentiles are taken over.

    """

    def __init__(self, window: int = 4096) -> None:
        self._ring = array("q", bytes(8 * window))
        self._window = window
        self.count = 0
        self.last_ns = 0
        self.min_ns = 0
        self.max_ns = 0
        self.total_ns = 0

    def record(self, latency_ns: int) -> None:
        """Record one sample."""
        self._ring[self.count % self._window] = latency_ns
        if self.count == 0:
            self.min_ns = self.max_ns = latency_ns
        elif latency_ns < self.min_ns:
            self.min_ns = latency_ns
        elif latency_ns > self.max_ns:
            self.max_ns = latency_ns
        self.count += 1
        self.last_ns = latency_ns
        self.total_ns += latency_ns

    @property
    def mean_ns(self) -> float:
        """Return the mean over every sample."""
        return self.total_ns / self.count if self.count else 0.0

    def percentile_ns(self, q: float) -> int:
        """Return the ``q`` quantile (0..1) over the recent window."""
        n = min(self.count, self._window)
        if n == 0:
            return 0
        samples = sorted(self._ring[:n])
        return samples[min(n - 1, int(q * n))]

    def snapshot_ms(self) -> dict[str, float]:
        """Return count, last, mean, p50, p99, max in milliseconds (for metrics)."""
        return {
            "count": float(self.count),
            "last_ms": self.last_ns / 1e6,
            "mean_ms": self.mean_ns / 1e6,
            "p50_ms": self.percentile_ns(0.5) / 1e6,
            "p99_ms": self.percentile_ns(0.99) / 1e6,
            "max_ms": self.max_ns / 1e6,
        }
