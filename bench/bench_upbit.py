"""
Upbit adapter benchmarks (``python -m bench.bench_upbit``).

1. Orderbook frames per second parsed by the real ``UpbitDataClient`` WebSocket handler into a ``QuoteTick``
   and a snapshot ``OrderBookDeltas`` (decode, exact Decimal -> fixed-point, NautilusTrader objects), on one
   core. Frames: the two recorded live frames exactly as stored, and frames of 1/5/15/30 units written the
   way Upbit writes numbers (``1.03493E8``), each one different from the last.
2. Reconnect MTTR against the fake venue: the fake drops the public socket, the time until the next quote
   reaches the client (reconnect with backoff + jitter, full-set resubscription, snapshot), median of N.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

TARGET_FRAMES_PER_SEC = 30_000
TARGET_MTTR_SECS = 1.0
ROUNDS = int(os.environ.get("BENCH_UPBIT_MTTR_ROUNDS", "15"))


def _pin_one_core() -> str:
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    except (AttributeError, OSError):
        return "not pinned"


def _frames(units: int, count: int = 64) -> list[bytes]:
    from tests.fakes.upbit import fixtures
    from tests.fakes.upbit.server import java_number

    book = fixtures.recorded_book_units()[:units]
    frames = []
    for i in range(count):
        frame = {
            "type": "orderbook",
            "code": "KRW-BTC",
            "timestamp": 1_790_134_742_106 + i * 100,
            "total_ask_size": java_number(sum((u["ask_size"] for u in book), Decimal(0))),
            "total_bid_size": java_number(sum((u["bid_size"] for u in book), Decimal(0))),
            "orderbook_units": [
                {
                    "ask_price": java_number(u["ask_price"]),
                    "bid_price": java_number(u["bid_price"]),
                    "ask_size": java_number(u["ask_size"] + Decimal(i) / 10**8),
                    "bid_size": java_number(u["bid_size"] + Decimal(i) / 10**8),
                }
                for u in book
            ],
            "stream_type": "REALTIME",
            "level": 0,
        }
        frames.append(msgspec.json.encode(frame))
    return frames


async def _parse_benchmark() -> list[tuple[str, int, float]]:
    from nautilus_trader.model.data import OrderBookDeltas
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import InstrumentId

    from tests.fakes.upbit import FakeUpbitServer
    from tests.fakes.upbit import fixtures
    from tests.integration.upbit.harness import make_data_client

    results = []
    async with FakeUpbitServer() as fake:
        client, _ = make_data_client(fake, ["KRW-BTC.UPBIT"])
        await client._instrument_provider.initialize()  # once, untimed: precisions come from here
        state = await client._market_state(InstrumentId.from_str("KRW-BTC.UPBIT"))
        assert state is not None
        state.wants_quotes = True
        state.wants_book = True
        emitted = {"quotes": 0, "books": 0}

        def count(data: Any) -> None:
            if type(data) is QuoteTick:
                emitted["quotes"] += 1
            elif type(data) is OrderBookDeltas:
                emitted["books"] += 1

        client._handle_data = count  # type: ignore[method-assign]
        handler = client._handle_ws_message
        live = [
            fixtures.raw("ws_orderbook_default_snapshot_trimmed.json"),
            fixtures.raw("ws_orderbook_default_realtime_trimmed.json"),
        ]
        cases = [("recorded live frames (2 units, as stored)", 2, live * 32)]
        cases += [(f"{n}-unit frames (KRW-BTC{'' if n == 30 else f'.{n}'})", n, _frames(n)) for n in (1, 5, 15, 30)]
        for label, units, frames in cases:
            state.last_book_ts = 0
            n_frames = len(frames)
            repeat = max(1, 60_000 // (units * n_frames))
            for frame in frames:  # warm up
                state.last_book_ts = 0
                handler(frame)
            emitted["quotes"] = emitted["books"] = 0
            start = time.perf_counter()
            for _ in range(repeat):
                for frame in frames:
                    state.last_book_ts = 0  # the recorded frames repeat their timestamps: never "stale" here
                    handler(frame)
            elapsed = time.perf_counter() - start
            total = repeat * n_frames
            assert emitted["quotes"] == total and emitted["books"] == total, (emitted, total)
            assert not client.bad_frames, client.bad_frames
            results.append((label, units, total / elapsed))
        await client._http_client.close()
    return results


async def _mttr_benchmark(rounds: int) -> tuple[list[float], list[float]]:
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import InstrumentId

    from tests.fakes.upbit import FakeUpbitServer
    from tests.integration.upbit.harness import make_data_client
    from tests.integration.upbit.harness import sub_quotes
    from tests.integration.upbit.harness import wait_for

    any_path: list[float] = []
    via_socket: list[float] = []
    async with FakeUpbitServer() as fake:
        ids = ["KRW-BTC.UPBIT", "KRW-ETH.UPBIT", "KRW-XRP.UPBIT"]
        client, received = make_data_client(fake, ids)  # default reconnect settings
        await client._connect()
        try:
            for iid in ids:
                await sub_quotes(client, InstrumentId.from_str(iid))
            await wait_for(lambda: len({q.instrument_id for q in received if type(q) is QuoteTick}) == 3)
            ws = client.ws_client
            for _ in range(rounds):
                await asyncio.sleep(0.2)
                received.clear()
                connects = ws.connects
                dropped_at = client._clock.timestamp_ns()
                await fake.drop_connections("public")
                await wait_for(
                    lambda t=dropped_at: any(type(q) is QuoteTick and q.ts_init > t for q in received),
                    timeout=30,
                    interval=0.0005,
                )
                any_path.append((max(q.ts_init for q in received) - dropped_at) / 1e9)
                await wait_for(
                    lambda c=connects: (
                        ws.connects > c
                        and any(type(q) is QuoteTick and q.ts_init >= ws.last_connected_ns for q in received)
                    ),
                    timeout=30,
                    interval=0.0005,
                )
                first_ws = min(q.ts_init for q in received if q.ts_init >= ws.last_connected_ns)
                via_socket.append((first_ws - dropped_at) / 1e9)
        finally:
            await client._disconnect()
    return any_path, via_socket


def main() -> int:
    os.environ.setdefault("ARB_SHARED_DIR", str(Path(__file__).resolve().parents[2] / "shared"))
    pinned = _pin_one_core()
    print(f"Upbit adapter benchmarks ({pinned})")
    print()
    print("1. Orderbook frames parsed into QuoteTick + OrderBookDeltas (real UpbitDataClient handler)")
    results = asyncio.run(_parse_benchmark())
    for label, _units, rate in results:
        verdict = "meets" if rate >= TARGET_FRAMES_PER_SEC else "below"
        print(f"   {label:<44} {rate:>10,.0f} frames/s  ({verdict} the {TARGET_FRAMES_PER_SEC:,}/s target)")
    print("   (a quote-only subscription asks for 1-unit frames, a book for the smallest count for its depth)")
    print()
    print(f"2. Reconnect MTTR against the fake venue: drop -> next quote, {ROUNDS} rounds, 3 markets")
    any_path, via_socket = asyncio.run(_mttr_benchmark(ROUNDS))
    for label, samples in (
        ("first quote over the reconnected socket", via_socket),
        ("first quote by any path (REST fallback)", any_path),
    ):
        median = statistics.median(samples)
        p90 = sorted(samples)[int(0.9 * (len(samples) - 1))]
        verdict = "meets" if median < TARGET_MTTR_SECS else "misses"
        print(
            f"   {label:<42} median {median * 1000:6.1f} ms, p90 {p90 * 1000:6.1f} ms, "
            f"max {max(samples) * 1000:6.1f} ms  ({verdict} the < {TARGET_MTTR_SECS:g} s target)",
        )
    print("   (reconnect: first attempt after 0.1 s + up to 50% jitter, then x2 per failed attempt, max 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
