"""
Per-instrument market state for the hot path: latest top of book in raw fixed-point ints, with guards.

The state lives here; :meth:`LegQuote.take` applies the outlier rule below, for the legs and the FX rate.

The same class holds the FX rate (its ``ref_mid2`` is twice the mid: exact for ``bid + ask``).

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
    """Latest good top of book of one instrument (raw ints) and its outlier guard's state."""

    __slots__ = (
        "ask",
        "bid",
        "confirm_count",
        "good",
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
        self.good = False  # a good print exists and no suspect print is pending confirmation

    def take(self, bid: int, ask: int) -> bool:
        """
        Apply the outlier guard to a print and store it if it passes (the caller sets ``ts``).

        A crossed or empty book, or a mid jumping more than ``jump_pct`` against the last good one, is kept
        out until ``confirm_count`` suspect prints in a row confirm it (a crossed or empty book never is).
        """
        mid2 = bid + ask
        ref = self.ref_mid2
        if bid <= 0 or ask < bid or (ref and abs(mid2 - ref) * self.jump_den > self.jump_num * ref):
            self.suspect += 1
            self.outliers += 1
            if self.suspect < self.confirm_count or bid <= 0 or ask < bid:
                self.good = False
                return False
        if not self.good:  # first print, or the end of a suspect run
            self.good = True
            self.suspect = 0
        self.ref_mid2 = mid2
        self.bid = bid
        self.ask = ask
        return True

    @property
    def ready(self) -> bool:
        """A good print exists and no suspect print is pending confirmation."""
        return self.good
