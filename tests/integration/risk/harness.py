"""
A small two-venue BacktestEngine for the risk guard tests: two pairs (BTC, ETH) plus the USDT/KRW FX
instrument, zero fees (so every notional and PnL is exact by hand), scripted orders at exact times.

Prices (mid): BTCUSDT 60,000 USDT, KRW-BTC 85,000,000 KRW, ETHUSDT 3,000 USDT, KRW-ETH 4,200,000 KRW,
KRW-USDT 1,400 KRW. So 0.01 BTC is 840,000 KRW on Binance and 850,000 KRW on Upbit.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import ImportableActorConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import GUARD_RESUME_CACHE_KEY
from arb_plugin.events import GUARD_STATE_TOPIC
from arb_plugin.events import GUARD_TRIGGER_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import Direction
from arb_plugin.events import GuardStateSnapshot
from arb_plugin.events import GuardTriggered
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import order_tags
from arb_plugin.risk.gate import RiskGate
from arb_plugin.risk.gate import install_risk_guard
from arb_plugin.risk.guard import GuardLimits
from arb_plugin.risk.guard import SymbolLimits

T0 = pd.Timestamp("2024-08-01T00:00:00Z").value  # 09:00 Asia/Seoul
SEC = 1_000_000_000
BINANCE = Venue("BINANCE")
UPBIT = Venue("UPBIT")
BTC_B = InstrumentId.from_str("BTCUSDT.BINANCE")
BTC_U = InstrumentId.from_str("KRW-BTC.UPBIT")
ETH_B = InstrumentId.from_str("ETHUSDT.BINANCE")
ETH_U = InstrumentId.from_str("KRW-ETH.UPBIT")
FX = InstrumentId.from_str("KRW-USDT.UPBIT")
PAIRS = [
    ("BTCUSDT", (str(BTC_B), str(BTC_U)), str(FX)),
    ("ETHUSDT", (str(ETH_B), str(ETH_U)), str(FX)),
]
# (bid, ask) at the start
PRICES: dict[InstrumentId, tuple[str, str]] = {
    BTC_B: ("59999.00", "60001.00"),
    BTC_U: ("84995000", "85005000"),
    ETH_B: ("2999.00", "3001.00"),
    ETH_U: ("4199000", "4201000"),
    FX: ("1399", "1401"),
}


def currency_pair(instrument_id: InstrumentId, price_precision: int, price_increment: str) -> CurrencyPair:
    base, quote = _currencies(instrument_id)
    return CurrencyPair(
        instrument_id=instrument_id,
        raw_symbol=Symbol(instrument_id.symbol.value),
        base_currency=base,
        quote_currency=quote,
        price_precision=price_precision,
        size_precision=5,
        price_increment=Price.from_str(price_increment),
        size_increment=Quantity.from_str("0.00001"),
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
        ts_event=0,
        ts_init=0,
    )


def _currencies(instrument_id: InstrumentId) -> tuple[Currency, Currency]:
    symbol = instrument_id.symbol.value
    if symbol.startswith("KRW-"):
        return Currency.from_str(symbol[4:]), KRW
    return Currency.from_str(symbol.removesuffix("USDT")), USDT


INSTRUMENTS = {
    BTC_B: currency_pair(BTC_B, 2, "0.01"),
    BTC_U: currency_pair(BTC_U, 0, "1000"),
    ETH_B: currency_pair(ETH_B, 2, "0.01"),
    ETH_U: currency_pair(ETH_U, 0, "1000"),
    FX: currency_pair(FX, 0, "1"),
}


def no_limits(**overrides: Any) -> GuardLimits:
    """Every rule disabled except what ``overrides`` sets (``symbol_defaults`` may be a dict)."""
    symbol = overrides.pop("symbol_defaults", {})
    symbols = overrides.pop("symbols", {})
    return GuardLimits(
        symbol_defaults=SymbolLimits(**symbol),
        symbols={k: SymbolLimits(**v) for k, v in symbols.items()},
        flatten_on_halt=overrides.pop("flatten_on_halt", False),
        **overrides,
    )


class ScriptConfig(StrategyConfig, frozen=True):
    set_xrate: bool = True
    subscribe: tuple[str, ...] = ()


@dataclass
class Step:
    at_ns: int
    action: Callable[[ScriptStrategy], Any]


class ScriptStrategy(Strategy):
    """Runs ``script`` steps at exact times; records denials, fills and guard triggers."""

    def __init__(self, config: ScriptConfig) -> None:
        super().__init__(config)
        self.script: list[Step] = []
        self.denied: dict[str, str] = {}
        self.denied_events: list[OrderDenied] = []
        self.filled: list[OrderFilled] = []
        self.triggers: list[GuardTriggered] = []
        self.flatten_requests: list[Any] = []
        self.orders: dict[str, Order] = {}
        self._set_xrate = config.set_xrate
        self._subscribe = config.subscribe

    def on_start(self) -> None:
        for instrument_id in self._subscribe:
            self.subscribe_quote_ticks(InstrumentId.from_str(instrument_id))
        self.msgbus.subscribe(GUARD_TRIGGER_TOPIC, self.triggers.append)
        from arb_plugin.events import FLATTEN_TOPIC

        self.msgbus.subscribe(FLATTEN_TOPIC, self.flatten_requests.append)
        for i, step in enumerate(self.script):
            self.clock.set_time_alert_ns(f"step-{i}", step.at_ns, lambda _e, s=step: s.action(self))

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if tick.instrument_id == FX and self._set_xrate:
            mid = (tick.bid_price.as_double() + tick.ask_price.as_double()) / 2
            self.cache.set_mark_xrate(USDT, KRW, mid)

    def submit(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: str,
        intent: OrderIntent | None = OrderIntent.ENTRY,
        pair: str | None = None,
        limit_price: str | None = None,
    ) -> Order:
        order = self.make_order(instrument_id, side, quantity, intent, pair, limit_price)
        self.orders[order.client_order_id.value] = order
        self.submit_order(order)
        return order

    def make_order(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: str,
        intent: OrderIntent | None = OrderIntent.ENTRY,
        pair: str | None = None,
        limit_price: str | None = None,
    ) -> Order:
        tags = None
        if intent is not None:
            tags = order_tags(intent, pair or _pair_of(instrument_id))
        instrument = INSTRUMENTS.get(instrument_id)
        qty = Quantity(Decimal(quantity), instrument.size_precision if instrument else 5)
        if limit_price is None:
            order: Order = self.order_factory.market(instrument_id, side, qty, tags=tags)
        else:
            order = self.order_factory.limit(
                instrument_id, side, qty, Price.from_str(limit_price), time_in_force=TimeInForce.IOC, tags=tags
            )
        return order

    def submit_list(self, orders: list[Order]) -> None:
        order_list = self.order_factory.create_list(orders)
        for order in orders:
            self.orders[order.client_order_id.value] = order
        self.submit_order_list(order_list)

    def pair_closed(self, symbol: str, pnl_krw: str) -> None:
        self.msgbus.publish(
            PAIR_CLOSED_TOPIC,
            PairClosed(symbol, Direction.BUY_BINANCE, "0.01", pnl_krw, "converged", self.clock.timestamp_ns()),
        )

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denied[event.client_order_id.value] = event.reason
        self.denied_events.append(event)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.filled.append(event)

    def reason(self, order: Order) -> str | None:
        return self.denied.get(order.client_order_id.value)

    def was_filled(self, order: Order) -> bool:
        cached = self.cache.order(order.client_order_id)
        return cached is not None and cached.is_closed and cached.filled_qty == order.quantity


def _pair_of(instrument_id: InstrumentId) -> str:
    for symbol, ids, _ in PAIRS:
        if str(instrument_id) in ids:
            return symbol
    return str(instrument_id)


@dataclass
class Setup:
    engine: BacktestEngine
    strategy: ScriptStrategy
    gate: RiskGate | None
    start_ns: int = T0

    def run(self, seconds: float) -> None:
        end = self.start_ns + int(seconds * SEC)
        self.engine.run(start=pd.Timestamp(self.start_ns, tz="UTC"), end=pd.Timestamp(end, tz="UTC"))


def build(
    limits: GuardLimits | None,
    script: Iterable[tuple[float, Callable[[ScriptStrategy], Any]]] = (),
    *,
    seconds: int = 60,
    account_type: AccountType = AccountType.CASH,
    prices: Callable[[InstrumentId, int], tuple[str, str] | None] | None = None,
    instruments: Iterable[InstrumentId] = tuple(INSTRUMENTS),
    carry: GuardStateCarry | None = None,
    set_xrate: bool = True,
    start_ns: int = T0,
    pairs: Iterable[tuple[str, Iterable[str], str | None]] = PAIRS,
    actors: Iterable[ImportableActorConfig] = (),
) -> Setup:
    """
    A BacktestEngine with quotes every second for ``seconds`` (``prices(instrument, second)`` may change
    them or return ``None`` to skip a quote), the script strategy, and the guard installed with ``limits``
    (``None``: not installed). ``carry`` carries guard state in process: it seeds this engine with the state
    it kept and keeps what this engine publishes. ``actors`` are added to the engine (e.g. the StateBridge).
    """
    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR"),
            portfolio=PortfolioConfig(use_mark_xrates=True),
            actors=list(actors),
        ),
    )
    balances = {
        BINANCE: [Money(10_000_000, USDT), Money(100, Currency.from_str("BTC")), Money(1000, Currency.from_str("ETH"))],
        UPBIT: [
            Money(100_000_000_000, KRW),
            Money(100, Currency.from_str("BTC")),
            Money(1000, Currency.from_str("ETH")),
            Money(0, USDT),
        ],
    }
    for venue in (BINANCE, UPBIT):
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=account_type,
            base_currency=None,
            starting_balances=balances[venue],
        )
    wanted = list(instruments)
    for instrument_id in wanted:
        engine.add_instrument(INSTRUMENTS[instrument_id])
    ticks = []
    for second in range(seconds + 1):
        ts = start_ns + second * SEC
        for instrument_id in wanted:
            quote = prices(instrument_id, second) if prices is not None else PRICES[instrument_id]
            if quote is None:
                continue
            bid, ask = quote
            ticks.append(
                QuoteTick(
                    instrument_id=instrument_id,
                    bid_price=Price.from_str(bid),
                    ask_price=Price.from_str(ask),
                    bid_size=Quantity.from_str("1000.00000"),
                    ask_size=Quantity.from_str("1000.00000"),
                    ts_event=ts,
                    ts_init=ts,
                ),
            )
    engine.add_data(ticks)
    strategy = ScriptStrategy(ScriptConfig(set_xrate=set_xrate, subscribe=tuple(str(i) for i in wanted)))
    strategy.script = [Step(start_ns + int(at * SEC), action) for at, action in script]
    engine.add_strategy(strategy)
    gate = install_risk_guard(engine, limits, pairs) if limits is not None else None
    if carry is not None:
        carry.seed(engine)
        carry.listen(engine)
    return Setup(engine, strategy, gate, start_ns)


class GuardStateCarry:
    """
    Carries the guard's state from one engine to the next in process, as the StateBridge does through Redis:
    keeps the latest state published on ``GUARD_STATE_TOPIC`` (each symbol's latest: a snapshot carries only
    the symbols that changed) and puts it in the next engine's Cache under ``GUARD_RESUME_CACHE_KEY``.
    """

    def __init__(self) -> None:
        self.latest: GuardStateSnapshot | None = None
        self.published: list[GuardStateSnapshot] = []
        self.raw: bytes | None = None  # seeds this value instead, when set (a corrupt one, say)

    def listen(self, engine: BacktestEngine) -> None:
        engine.kernel.msgbus.subscribe(GUARD_STATE_TOPIC, self._on_state)

    def seed(self, engine: BacktestEngine) -> None:
        value = self.raw if self.raw is not None else self.latest.to_json() if self.latest is not None else None
        if value is not None:
            engine.cache.add(GUARD_RESUME_CACHE_KEY, value)

    def _on_state(self, snapshot: GuardStateSnapshot) -> None:
        self.published.append(snapshot)
        older = self.latest
        if older is not None and older.symbols:
            snapshot = GuardStateSnapshot(
                state=snapshot.state,
                cooldowns=snapshot.cooldowns,
                ts_event=snapshot.ts_event,
                symbols={**older.symbols, **snapshot.symbols},
            )
        self.latest = snapshot


def seed_live_cache(cache: Any) -> None:
    """
    What a client-less live node's cache needs for the guards: the three instruments with a quote each, a
    funded cash account per venue (BINANCE 100,000 USDT + 1 BTC, UPBIT 100,000,000 KRW + 1 BTC) and the
    USDT/KRW mark rate (1,400).
    """
    from nautilus_trader.accounting.factory import AccountFactory
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.events import AccountState
    from nautilus_trader.model.identifiers import AccountId
    from nautilus_trader.model.objects import AccountBalance

    for instrument_id in (BTC_B, BTC_U, FX):
        cache.add_instrument(INSTRUMENTS[instrument_id])
        bid, ask = PRICES[instrument_id]
        size = Quantity.from_str("10")
        cache.add_quote_tick(QuoteTick(instrument_id, Price.from_str(bid), Price.from_str(ask), size, size, 0, 0))
    btc = Currency.from_str("BTC")
    for venue, balances in (
        ("BINANCE", [Money(100_000, USDT), Money(1, btc)]),
        ("UPBIT", [Money(100_000_000, KRW), Money(1, btc)]),
    ):
        state = AccountState(
            account_id=AccountId(f"{venue}-001"),
            account_type=AccountType.CASH,
            base_currency=None,
            reported=True,
            balances=[AccountBalance(m, Money(0, m.currency), m) for m in balances],
            margins=[],
            info={},
            event_id=UUID4(),
            ts_event=0,
            ts_init=0,
        )
        cache.add_account(AccountFactory.create(state))
    cache.set_mark_xrate(USDT, KRW, 1400.0)
