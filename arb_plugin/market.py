"""
Per-instrument market state for the hot path: latest top of book in raw fixed-point ints, with guards.

Prices are NautilusTrader raw values (``Price.raw``, scaled by ``FIXED_SCALAR``): exact integers, compared
without ``Decimal`` or float. Two guards against bad data:

- **outlier**: a print whose mid jumps more than ``jump_pct`` against the last good mid is suspect; the
  instrument is not tradable until ``confirm_count`` consecutive prints confirm the new level (or a normal
  print returns);
- **staleness** is judged by the caller from ``ts`` (one leg against the other, and the FX age).
"""

from __future__ import annotations

from decimal import Decimal


class LegQuote:
    """Latest good top of book of one instrument (raw ints) and its outlier guard."""

    __slots__ = (
        "ask",
        "bid",
        "confirm_count",
        "jump_den",
        "jump_num",
        "outliers",
        "ref_mid2",
        "suspect",
        "ts",
    )

    def __init__(self, jump_pct: Decimal, confirm_count: int) -> None:
        num, den = (jump_pct / 100).as_integer_ratio()
        self.jump_num = num
        self.jump_den = den
        self.confirm_count = confirm_count
        self.bid = 0
        self.ask = 0
        self.ts = 0
        self.ref_mid2 = 0  # 2 x mid of the last good print
        self.suspect = 0  # consecutive suspect prints
        self.outliers = 0  # suspect prints seen in total

    @property
    def ready(self) -> bool:
        """A good print exists and no suspect print is pending confirmation."""
        return self.ts != 0 and self.suspect == 0

    def update(self, bid: int, ask: int, ts: int) -> bool:
        """
        Take a print; return ``True`` when it is good (stored), ``False`` when suspect (kept out).

        A crossed or non-positive book is always suspect.
        """
        mid2 = bid + ask
        ref = self.ref_mid2
        if bid <= 0 or ask < bid or (ref and abs(mid2 - ref) * self.jump_den > self.jump_num * ref):
            self.suspect += 1
            self.outliers += 1
            if self.suspect < self.confirm_count or bid <= 0 or ask < bid:
                return False
        self.suspect = 0
        self.ref_mid2 = mid2
        self.bid = bid
        self.ask = ask
        self.ts = ts
        return True


class FxRate:
    """Latest FX rate (KRW per USDT) as ``2 x mid`` in raw units, with the same outlier guard."""

    __slots__ = ("quote",)

    def __init__(self, jump_pct: Decimal, confirm_count: int) -> None:
        self.quote = LegQuote(jump_pct, confirm_count)

    @property
    def mid2(self) -> int:
        """Twice the mid rate in raw units (exact for a quote's ``bid + ask``)."""
        return self.quote.ref_mid2

    @property
    def ts(self) -> int:
        return self.quote.ts

    @property
    def ready(self) -> bool:
        return self.quote.ready

    def update(self, bid: int, ask: int, ts: int) -> bool:
        """Take a rate print (a bar passes its close as both bid and ask)."""
        return self.quote.update(bid, ask, ts)
