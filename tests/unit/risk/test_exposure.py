"""The exposure book keeps per-currency sums equal to a recomputation from scratch."""

from __future__ import annotations

import random
from decimal import Decimal

from arb_plugin.risk.exposure import ExposureBook

D = Decimal


def _recompute(book: ExposureBook) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    notional: dict[str, Decimal] = {}
    pnl: dict[str, Decimal] = {}
    for leg in book.legs.values():
        if leg.price is not None:
            notional[leg.currency] = notional.get(leg.currency, D(0)) + leg.worst * leg.price
        pnl[leg.pnl_currency] = pnl.get(leg.pnl_currency, D(0)) + leg.pnl
    return notional, pnl


def _nonzero(sums: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in sums.items() if v}


def test_leg_notional_is_worst_case_times_price() -> None:
    book = ExposureBook()
    leg = book.add_leg("KRW-BTC.UPBIT", "BTCUSDT", "KRW")
    book.set_quantities(leg, D("-0.01"), D("0"), D("0.02"))
    assert leg.worst == D("0.03")
    assert book.unpriced == {"KRW-BTC.UPBIT"}  # held but not priced: the gate fails closed on it
    book.set_price(leg, D("85000000"), 1)
    assert book.unpriced == set()
    assert book.notional_by_ccy == {"KRW": D("2550000.00")}
    assert leg.worst_after(D("0.05")) == D("0.04")  # buys can take it to +0.04
    assert leg.worst_after(D("-0.01")) == D("0.04")  # one more sell: short 0.04


def test_conversion_uses_the_rate_per_currency() -> None:
    book = ExposureBook()
    b = book.add_leg("BTCUSDT.BINANCE", "BTCUSDT", "USDT")
    u = book.add_leg("KRW-BTC.UPBIT", "BTCUSDT", "KRW")
    book.set_quantities(b, D("0.01"), D(0), D(0))
    book.set_quantities(u, D("-0.01"), D(0), D(0))
    book.set_price(b, D("60000"), 1)
    book.set_price(u, D("85000000"), 1)
    total = ExposureBook.convert(book.notional_by_ccy, {"USDT": D("1400"), "KRW": D(1)})
    assert total == D("840000") + D("850000")


def test_incremental_sums_match_a_recomputation_after_random_updates() -> None:
    rng = random.Random(7)
    book = ExposureBook()
    ids = [f"I{i}" for i in range(12)]
    for i, instrument_id in enumerate(ids):
        book.add_leg(instrument_id, f"S{i // 2}", "USDT" if i % 2 else "KRW")
    for _ in range(3000):
        leg = book.legs[rng.choice(ids)]
        what = rng.random()
        if what < 0.4:
            book.set_quantities(
                leg,
                D(rng.randint(-500, 500)) / 100,
                D(rng.randint(0, 300)) / 100,
                D(rng.randint(0, 300)) / 100,
            )
        elif what < 0.8:
            book.set_price(leg, D(rng.randint(1, 10**8)) / 100, 1)
        else:
            book.set_pnl(leg, D(rng.randint(-10**6, 10**6)) / 100, rng.choice(["KRW", "USDT"]))
    notional, pnl = _recompute(book)
    assert _nonzero(book.notional_by_ccy) == _nonzero(notional)
    assert _nonzero(book.pnl_by_ccy) == _nonzero(pnl)
