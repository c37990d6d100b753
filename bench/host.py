"""
A fixed reference workload, timed on this host: figures from different hosts (or sessions) compare only
after scaling by it.

The workload is what the benchmarks spend their time on: NautilusTrader objects built from raw values
(``OrderBookDelta.from_raw``, as a book frame does), dict and list work, and integer parsing of number
tokens. Its median time over 25 runs of 200 loops is printed in microseconds per loop; lower is a faster host.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.identifiers import InstrumentId

_LOOPS = 200
_RUNS = 25


def _workload(instrument_id: InstrumentId, tokens: list[bytes]) -> int:
    from_raw = OrderBookDelta.from_raw
    deltas = [
        from_raw(instrument_id, 1, 1 + (i & 1), (159_508_000 + i) * 10**16, 0, (i + 1) * 10**8, 8, 0, 0, i, 1, 2)
        for i in range(61)
    ]
    cache: dict[bytes, int] = {}
    for token in tokens:
        whole, _, fraction = token.partition(b".")
        cache[token] = int(whole + fraction) * 10 ** (16 - len(fraction))
    return len(deltas) + len(cache)


def reference_us() -> float:
    """Return the median time of one reference loop on this host, in microseconds."""
    instrument_id = InstrumentId.from_str("KRW-BTC.UPBIT")
    tokens = [f"{i}.{i * 7919 % 10**8:08d}".encode() for i in range(60)]
    for _ in range(_LOOPS):  # warm-up
        _workload(instrument_id, tokens)
    runs = []
    for _ in range(_RUNS):
        start = time.thread_time()
        for _ in range(_LOOPS):
            _workload(instrument_id, tokens)
        runs.append((time.thread_time() - start) / _LOOPS * 1e6)
    return statistics.median(runs)


def describe() -> str:
    """Return one line naming the host and its reference time."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"host: {os.cpu_count()} CPUs ({cpu}), load average {load}; reference loop {reference_us():.1f} us "
        "(bench/host.py: 61 OrderBookDelta.from_raw + 60 number tokens; lower is faster; figures from "
        "different hosts compare only after scaling by it)"
    )


if __name__ == "__main__":
    print(describe())
