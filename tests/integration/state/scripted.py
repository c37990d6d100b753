"""
A scripted two-venue strategy for the state bridge tests: it trades one pair on a fixed schedule, tags its
orders like ArbitrageStrategy (``intent=``/``pair=``), and publishes the messages of ``arb_plugin.events``.
It is test scaffolding for the bridge, not a trading strategy.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import GUARD_STATE_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.events import Direction
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import LegFill
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.events import order_tags


class ScriptedPairConfig(StrategyConfig, frozen=True):
    binance: str = "BTCUSDT.BINANCE"
    upbit: str = "KRW-BTC.UPBIT"
    symbol: str = "BTCUSDT"
    enter_on_quote: int = 10  # n-th Binance quote
    exit_on_quote: int = 2000
    qty: str = "0.010000"
    fx_usdt_krw: float = 1400.0


class ScriptedPair(Strategy):
    def __init__(self, config: ScriptedPairConfig) -> None:
        super().__init__(config)
        self.binance = InstrumentId.from_str(config.binance)
        self.upbit = InstrumentId.from_str(config.upbit)
        self.n = 0
        self.status = PairStatus.FLAT
        self.fills: list[OrderFilled] = []
        self.published: list[PairSnapshot] = []
        self.round_trips = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.binance)
        self.subscribe_quote_ticks(self.upbit)
        self.cache.set_mark_xrate(USDT, KRW, self.config.fx_usdt_krw)
        guard = GuardStateSnapshot(
            state={"daily_pnl_krw": "0", "halted": False},
            cooldowns={"GLOBAL": self.clock.timestamp_ns() + 60 * 10**9},
            ts_event=self.clock.timestamp_ns(),
        )
        self.msgbus.publish(GUARD_STATE_TOPIC, guard)

    def _publish(self, status: PairStatus) -> None:
        self.status = status
        qty = self.config.qty if status in (PairStatus.OPEN, PairStatus.EXITING) else "0"
        snap = PairSnapshot(
            symbol=self.config.symbol,
            status=status,
            ts_event=self.clock.timestamp_ns(),
            direction=Direction.BUY_BINANCE if status is not PairStatus.FLAT else None,
            quantity=qty,
            legs=tuple(
                LegFill(f.instrument_id.value, f.order_side.name, str(f.last_qty), str(f.last_px))
                for f in self.fills[-2:]
            )
            if status is PairStatus.OPEN
            else (),
            round_trips=self.round_trips,
        )
        self.published.append(snap)
        self.msgbus.publish(PAIR_STATE_TOPIC, snap)

    def _legs(self, intent: OrderIntent, binance_side: OrderSide, upbit_side: OrderSide) -> None:
        tags = order_tags(intent, self.config.symbol)
        for instrument_id, side in ((self.binance, binance_side), (self.upbit, upbit_side)):
            qty = self.cache.instrument(instrument_id).make_qty(Decimal(self.config.qty))
            order = self.order_factory.market(instrument_id, side, qty, tags=tags)
            self.submit_order(order)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id != self.binance:
            return
        self.n += 1
        if self.n == self.config.enter_on_quote and self.status is PairStatus.FLAT:
            self._publish(PairStatus.ENTERING)
            self._legs(OrderIntent.ENTRY, OrderSide.BUY, OrderSide.SELL)
        elif self.n == self.config.exit_on_quote and self.status is PairStatus.OPEN:
            self._publish(PairStatus.EXITING)
            self._legs(OrderIntent.EXIT, OrderSide.SELL, OrderSide.BUY)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append(event)
        if len(self.fills) % 2:
            return
        if self.status is PairStatus.ENTERING:
            self._publish(PairStatus.OPEN)
        elif self.status is PairStatus.EXITING:
            self.round_trips += 1
            self.msgbus.publish(
                PAIR_CLOSED_TOPIC,
                PairClosed(
                    self.config.symbol,
                    Direction.BUY_BINANCE,
                    self.config.qty,
                    str(Decimal(0)),
                    "converged",
                    self.clock.timestamp_ns(),
                ),
            )
            self._publish(PairStatus.FLAT)
