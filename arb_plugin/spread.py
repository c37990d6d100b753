"""
Pure spread math: both legs in one currency through the FX rate, fees, slippage, edge in bps.

No I/O and no NautilusTrader state: plain ``Decimal`` in, ``Decimal`` out. Prices are per unit of the base
asset; the Binance leg is quoted in USDT and converted to KRW with the FX rate (KRW per USDT), so every
figure of an :class:`Edge` is KRW per base unit.

``edge = (sell_price - buy_price) - (fees + slippage)`` and ``edge_bps = edge / buy_price * 10_000``.

Two directions:

- ``BUY_BINANCE``: buy on Binance at its ask, sell on Upbit at its bid (earns when the premium is high);
- ``BUY_UPBIT``: buy on Upbit at its ask, sell on Binance at its bid (earns when the premium is low).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arb_plugin.events import Direction

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class LegCost:
    """What trading one leg costs, as rates of its notional."""

    fee_rate: Decimal  # e.g. Decimal("0.001") for 0.1 %
    slippage_bps: Decimal  # expected slippage against the quoted price


@dataclass(frozen=True, slots=True)
class Edge:
    """The net edge of buying on one venue and selling on the other, in KRW per base unit."""

    direction: Direction
    buy_price: Decimal
    sell_price: Decimal
    fees: Decimal
    slippage: Decimal

    @property
    def gross(self) -> Decimal:
        """``sell_price - buy_price``."""
        return self.sell_price - self.buy_price

    @property
    def value(self) -> Decimal:
        """``(sell_price - buy_price) - (fees + slippage)``."""
        return self.gross - (self.fees + self.slippage)

    @property
    def bps(self) -> Decimal:
        """The net edge as basis points of the buy price."""
        return self.value / self.buy_price * BPS


def usdt_to_krw(price_usdt: Decimal, fx_krw_per_usdt: Decimal) -> Decimal:
    """Convert a USDT price to KRW with the FX rate (KRW per USDT)."""
    return price_usdt * fx_krw_per_usdt


def compute_edge(
    direction: Direction,
    buy_price: Decimal,
    sell_price: Decimal,
    buy_cost: LegCost,
    sell_cost: LegCost,
) -> Edge:
    """
    Return the edge of buying at ``buy_price`` and selling at ``sell_price`` (both KRW per base unit).

    Fees are each leg's fee rate times its own notional; slippage is each leg's slippage (bps) times its own
    notional.
    """
    fees = buy_price * buy_cost.fee_rate + sell_price * sell_cost.fee_rate
    slippage = (buy_price * buy_cost.slippage_bps + sell_price * sell_cost.slippage_bps) / BPS
    return Edge(direction, buy_price, sell_price, fees, slippage)


def compute_edges(
    binance_bid: Decimal,
    binance_ask: Decimal,
    upbit_bid: Decimal,
    upbit_ask: Decimal,
    fx_krw_per_usdt: Decimal,
    binance_cost: LegCost,
    upbit_cost: LegCost,
) -> tuple[Edge, Edge]:
    """
    Return both directions' edges: ``(BUY_BINANCE, BUY_UPBIT)``.

    Parameters
    ----------
    binance_bid, binance_ask : Decimal
        Binance top of book in USDT.
    upbit_bid, upbit_ask : Decimal
        Upbit top of book in KRW.
    fx_krw_per_usdt : Decimal
        KRW per USDT.
    binance_cost, upbit_cost : LegCost
        Fees and expected slippage of each venue.
    """
    buy_binance = compute_edge(
        Direction.BUY_BINANCE,
        buy_price=usdt_to_krw(binance_ask, fx_krw_per_usdt),
        sell_price=upbit_bid,
        buy_cost=binance_cost,
        sell_cost=upbit_cost,
    )
    buy_upbit = compute_edge(
        Direction.BUY_UPBIT,
        buy_price=upbit_ask,
        sell_price=usdt_to_krw(binance_bid, fx_krw_per_usdt),
        buy_cost=upbit_cost,
        sell_cost=binance_cost,
    )
    return buy_binance, buy_upbit


def premium_bps(upbit_price_krw: Decimal, binance_price_usdt: Decimal, fx_krw_per_usdt: Decimal) -> Decimal:
    """The kimchi premium: ``upbit / (binance * fx) - 1``, in basis points."""
    return (upbit_price_krw / usdt_to_krw(binance_price_usdt, fx_krw_per_usdt) - 1) * BPS


def bar_quote(close: Decimal, half_spread_bps: Decimal) -> tuple[Decimal, Decimal]:
    """
    The bid and ask assumed around a bar's close: ``close * (1 -/+ half_spread_bps / 10_000)``.

    Callers round the bid down and the ask up onto the instrument's grid (never better than assumed).
    """
    offset = close * half_spread_bps / BPS
    return close - offset, close + offset


# -- exact integer screen for the hot path ----------------------------------------------------------------

SCREEN_BPS_SCALE = 10**6  # thresholds, fees and slippage are exact to 1e-6 bps


def to_screen_units(bps: Decimal) -> int:
    """Express ``bps`` in units of 1e-6 bps; raises ``ValueError`` if that would round."""
    scaled = bps * SCREEN_BPS_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{bps} bps has more than 6 decimal places")
    return int(scaled)


class EdgeScreen:
    """
    Exact integer form of ``compute_edge(...).bps >= threshold_bps`` for one direction's two legs.

    ``edge_bps >= T`` is ``sell * S >= buy * (B + T)`` with ``S = 10_000 - sell_fee_bps - sell_slippage_bps``
    and ``B = 10_000 + buy_fee_bps + buy_slippage_bps``; scaled by 1e6 this is integer arithmetic on
    NautilusTrader's raw fixed-point prices, so the strategy can screen every quote without ``Decimal`` and
    without float, and builds the full :class:`Edge` only when the screen clears. ``buy`` and ``sell`` must
    be in the same (arbitrary) integer units.
    """

    __slots__ = ("buy_coef", "sell_coef")

    def __init__(self, buy_cost: LegCost, sell_cost: LegCost) -> None:
        self.sell_coef = to_screen_units(BPS - sell_cost.fee_rate * BPS - sell_cost.slippage_bps)
        self.buy_coef = to_screen_units(BPS + buy_cost.fee_rate * BPS + buy_cost.slippage_bps)

    def edge_units(self, buy: int, sell: int) -> int:
        """The edge in 1e-6 bps units, rounded toward negative infinity."""
        return (sell * self.sell_coef - buy * self.buy_coef) // buy

    def clears(self, buy: int, sell: int, threshold_units: int) -> bool:
        """Return whether the edge is at least the threshold (``threshold_units`` from :func:`to_screen_units`)."""
        return sell * self.sell_coef >= buy * (self.buy_coef + threshold_units)
