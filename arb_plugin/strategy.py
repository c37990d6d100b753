"""
Cross-exchange arbitrage between a USDT-quoted Binance leg and a KRW-quoted Upbit leg.

One strategy instance trades several pairs (:class:`arb_plugin.pairs.ArbitragePairConfig`). Per pair:

- **Prices** come from QuoteTicks (live, tick data) or from Bars (the 1-minute catalog: bid/ask assumed
  at the close -/+ ``bar_half_spread_bps``). The FX instrument prices USDT in KRW.
- **Edge** per direction is ``(sell - buy) - (fees + slippage)`` with both legs in KRW
  (:mod:`arb_plugin.spread`); every print is screened with the exact integer form, and the full ``Decimal``
  edge is built only when the screen clears.
- **Lifecycle** FLAT -> ENTERING -> OPEN -> EXITING -> FLAT: enter when the edge is at least
  ``entry_threshold_bps`` (absolute, or above the rolling baseline in ``relative`` mode); exit when the
  entry direction's edge falls below ``exit_threshold_bps`` or after ``max_holding_mins``.
- **Inventory**: pre-funded cash accounts on both venues, no transfers; sizes respect increments, minimum
  notional and free balance (:mod:`arb_plugin.sizing`).
- **Legs** are separate orders on separate venues: MARKET on Binance, marketable LIMIT IOC on Upbit (an
  Upbit market buy takes a KRW amount). If the first leg is denied on submit, the second is not sent.
- **Leg risk**: when legs end unequal (rejected, denied, expired, partial), the pair is re-hedged
  (``leg_risk_policy="rehedge"``, up to ``max_rehedge_attempts``) or unwound, with orders bounded by
  ``unwind_slippage_bps``; every step is published as a :class:`arb_plugin.events.LegRiskAlert` and logged.
  Nothing stays silently naked: a remainder below a venue minimum is reported as dust.
- **Bad data**: a leg older than ``stale_quote_ms`` relative to the other (or to the FX print that
  triggers an evaluation), an FX rate older than
  ``fx_max_age_secs`` or a print jumping more than ``outlier_jump_pct`` (until confirmed) blocks trading.
- **State** of each pair is published as a :class:`arb_plugin.events.PairSnapshot` on every transition and
  restored on start from the cache key ``RESUME_CACHE_KEY`` (put there by the state bridge) or from
  NautilusTrader's own ``on_load`` state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal

import msgspec
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import DECISION_TOPIC
from arb_plugin.events import FLATTEN_TOPIC
from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import SESSION_START_CACHE_KEY
from arb_plugin.events import DecisionLatency
from arb_plugin.events import Direction
from arb_plugin.events import FlattenRequest
from arb_plugin.events import LegRiskAlert
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.leg_execution import LegExecution
from arb_plugin.legs import LegOrder
from arb_plugin.market import LegQuote
from arb_plugin.order_ids import ClientOrderIds
from arb_plugin.pair_runtime import ENTER_BUY_BINANCE
from arb_plugin.pair_runtime import ENTER_BUY_UPBIT
from arb_plugin.pair_runtime import EXIT
from arb_plugin.pair_runtime import FX_CHANGED
from arb_plugin.pair_runtime import NO_ACTION
from arb_plugin.pair_runtime import RESOLVE
from arb_plugin.pair_runtime import ROLE_BINANCE
from arb_plugin.pair_runtime import ROLE_FX
from arb_plugin.pair_runtime import ROLE_UPBIT
from arb_plugin.pair_runtime import SCALE2
from arb_plugin.pair_runtime import PairRuntime
from arb_plugin.pairs import ArbitragePairConfig
from arb_plugin.pricing import bar_bid_ask
from arb_plugin.pricing import raw_to_decimal
from arb_plugin.sizing import size_entry
from arb_plugin.spread import Edge
from arb_plugin.spread import LegCost
from arb_plugin.spread import compute_edges
from arb_plugin.spread import to_screen_units
from arb_plugin.timers import on_loop

_MS = 1_000_000
_MAX_SCANNED_INSTRUMENTS = 6  # up to this many instruments, a quote's route is found by comparing ids
PrintHandler = Callable[[int, int, int], int]  # PairRuntime.on_binance / on_upbit / on_fx
_BINANCE, _UPBIT, _FX = 0, 1, 2  # a route's role in its pair
_COUNTERS = (
    "entries",
    "entry_unsized",
    "second_leg_skipped",
    "exits",
    "round_trips",
    "leg_risk_events",
    "rehedges",
    "unwinds",
    "dust",
    "orphans_adopted",
)


class ArbitrageStrategyConfig(StrategyConfig, frozen=True):
    """
    Configuration for :class:`ArbitrageStrategy`.

    Parameters
    ----------
    pairs : list[ArbitragePairConfig]
        The pairs to trade (Binance leg, Upbit leg, FX instrument each).
    trade_size : Decimal
        Base quantity per leg of one entry.
    threshold_mode : {"absolute", "relative"}
        ``absolute`` compares the edge with the thresholds; ``relative`` compares the edge minus its
        rolling mean over ``baseline_window_mins``.
    entry_threshold_bps, exit_threshold_bps : Decimal
        Enter at an edge >= entry; exit when the entry direction's edge falls below exit.
    baseline_window_mins, baseline_min_samples : int
        Rolling baseline window and the samples it needs before ``relative`` mode trades.
    max_holding_mins : int, optional
        Exit an open pair after this long whatever the edge.
    slippage_bps : Decimal
        Expected slippage per leg, charged in the edge and used as the Upbit limit-price bound.
    bar_half_spread_bps : Decimal
        With bars: bid and ask assumed at close -/+ this.
    market_data, fx_data : {"quotes", "bars"}
        What the legs and the FX instrument are priced from; ``bar_spec`` / ``fx_bar_spec`` name the bars.
    stale_quote_ms : int
        Each leg may be at most this much older than the print being evaluated (so the legs are also at most
        this far apart); ``0`` with bars compares only bars of the same minute.
    fx_max_age_secs : int
        The FX rate may be at most this old.
    outlier_jump_pct, outlier_confirm_count :
        A print moving more than this against the last good one is kept out until this many in a row
        confirm it.
    leg_risk_policy : {"unwind", "rehedge"}
        On unequal legs: unwind the excess, or first re-hedge the lagging leg (up to
        ``max_rehedge_attempts``) and unwind if that fails.
    leg_timeout_ms : int
        Orders of a pair not done by then are cancelled.
    unwind_slippage_bps : Decimal
        Price bound for unwind, re-hedge and retried exit orders.
    emit_decision_latency : bool
        Publish a :class:`DecisionLatency` per evaluated print (for the live metrics collector).
    """

    pairs: list[ArbitragePairConfig]
    trade_size: Decimal = Decimal("0.01")
    threshold_mode: str = "absolute"
    entry_threshold_bps: Decimal = Decimal(100)
    exit_threshold_bps: Decimal = Decimal(0)
    baseline_window_mins: int = 1440
    baseline_min_samples: int = 60
    max_holding_mins: int | None = None
    slippage_bps: Decimal = Decimal(2)
    bar_half_spread_bps: Decimal = Decimal(2)
    market_data: str = "quotes"
    bar_spec: str = "1-MINUTE-LAST-EXTERNAL"
    fx_data: str = "quotes"
    fx_bar_spec: str = "1-DAY-LAST-EXTERNAL"
    stale_quote_ms: int = 2000
    fx_max_age_secs: int = 120
    outlier_jump_pct: Decimal = Decimal(5)
    outlier_confirm_count: int = 3
    leg_risk_policy: str = "unwind"
    max_rehedge_attempts: int = 2
    leg_timeout_ms: int = 5000
    unwind_slippage_bps: Decimal = Decimal(50)
    emit_decision_latency: bool = False

    def __post_init__(self) -> None:
        checks = {
            "threshold_mode": (self.threshold_mode, ("absolute", "relative")),
            "market_data": (self.market_data, ("quotes", "bars")),
            "fx_data": (self.fx_data, ("quotes", "bars")),
            "leg_risk_policy": (self.leg_risk_policy, ("unwind", "rehedge")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name}={value!r}: must be one of {', '.join(allowed)}")
        if not self.pairs:
            raise ValueError("pairs: at least one pair is required")
        if self.stale_quote_ms < 0:
            raise ValueError(f"stale_quote_ms={self.stale_quote_ms}: must be >= 0")
        if self.trade_size <= 0:
            raise ValueError(f"trade_size={self.trade_size}: must be > 0")
        if self.exit_threshold_bps >= self.entry_threshold_bps:
            raise ValueError(
                f"exit_threshold_bps={self.exit_threshold_bps}: must be below "
                f"entry_threshold_bps={self.entry_threshold_bps}",
            )
        for name in ("entry_threshold_bps", "exit_threshold_bps", "slippage_bps"):
            to_screen_units(getattr(self, name))  # raises on more than 6 decimals


class ArbitrageStrategy(LegExecution, Strategy):
    """
    Binance x Upbit arbitrage over one or more pairs (see the module docstring).

    Parameters
    ----------
    config : ArbitrageStrategyConfig
        The configuration.
    """

    def __init__(self, config: ArbitrageStrategyConfig) -> None:
        if config.external_order_claims is None:
            # NautilusTrader's reconciliation gives the orders it finds at a venue on a restart to the strategy
            # claiming their instrument (else to EXTERNAL, whose events no strategy hears): claim the legs
            legs = [str(i) for pair in config.pairs for i in (pair.binance_instrument_id, pair.upbit_instrument_id)]
            config = msgspec.structs.replace(config, external_order_claims=legs)
        super().__init__(config)
        self.arb_config = config
        self._pairs: dict[str, PairRuntime] = {}
        # routes keyed by the instrument id's hash (bars; and quotes when there are many instruments)
        self._routes: dict[int, list[tuple[PairRuntime, LegQuote, int]]] = {}
        self._route_ids: dict[int, InstrumentId] = {}
        # quotes, per instrument (same index in each): its id, its print handler and the pair it returns actions
        # for, the pairs it prices. With few instruments a quote's index is found by comparing ids (in C, a few
        # ns each) rather than by hashing the tick's fresh InstrumentId (~0.2 us)
        self._quote_ids: tuple[InstrumentId, ...] = ()
        self._quote_handlers: tuple[PrintHandler, ...] = ()
        self._quote_pairs: tuple[PairRuntime, ...] = ()
        self._quote_latency_pairs: tuple[tuple[PairRuntime, ...], ...] = ()
        self._quote_index: dict[int, int] | None = None
        self._order_pairs: dict[str, PairRuntime] = {}
        self._entry_units = to_screen_units(config.entry_threshold_bps)
        self._exit_units = to_screen_units(config.exit_threshold_bps)
        self._emit_latency = config.emit_decision_latency
        self._loaded_state: dict[str, bytes] = {}
        self._last_order_id: str | None = None
        self.counters: dict[str, int] = dict.fromkeys(_COUNTERS, 0)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def on_start(self) -> None:
        # a leg timeout runs on the node's loop, in turn with the order events (arb_plugin.timers)
        self._leg_timeout_handler = on_loop(self._on_leg_timeout)
        self._order_ids = ClientOrderIds(
            self.order_factory,
            self.clock,
            self.cache,
            self.trader_id,
            self.id,
            native=self.use_uuid_client_order_ids or not self.use_hyphens_in_client_order_ids,
        )
        for pair_config in self.arb_config.pairs:
            ids = (pair_config.binance_instrument_id, pair_config.upbit_instrument_id, pair_config.fx_instrument_id)
            instruments = [self.cache.instrument(i) for i in ids]
            missing = [str(i) for i, inst in zip(ids, instruments, strict=True) if inst is None]
            if missing:
                self.log.error(f"Pair {pair_config.symbol}: instrument(s) not in cache: {', '.join(missing)}")
                continue
            pair = PairRuntime(pair_config, *instruments, strategy_config=self.arb_config)  # type: ignore[misc]
            pair.set_thresholds(self._entry_units, self._exit_units)
            self._pairs[pair.symbol] = pair
            self._route(pair_config.binance_instrument_id, pair, pair.binance, ROLE_BINANCE)
            self._route(pair_config.upbit_instrument_id, pair, pair.upbit, ROLE_UPBIT)
            self._route(pair_config.fx_instrument_id, pair, pair.fx, ROLE_FX)
            self._restore(pair)
        self._index_quote_routes()
        self._subscribe_data()
        self.msgbus.subscribe(FLATTEN_TOPIC, self._on_flatten)

    def _route(self, instrument_id: InstrumentId, pair: PairRuntime, quote: LegQuote, role: int) -> None:
        key = hash(instrument_id)
        known = self._route_ids.setdefault(key, instrument_id)
        if known != instrument_id:  # pragma: no cover (a 64-bit hash collision between two of our instruments)
            raise RuntimeError(f"instrument ids {known} and {instrument_id} share a hash")
        self._routes.setdefault(key, []).append((pair, quote, role))

    def _index_quote_routes(self) -> None:
        """Lay out the quote routes for :meth:`on_quote_tick` (legs first: they print far more often)."""
        by_role = sorted(self._routes.items(), key=lambda item: min(role for _, _, role in item[1]))
        ids: list[InstrumentId] = []
        handlers: list[PrintHandler] = []
        pairs: list[PairRuntime] = []
        for key, routes in by_role:
            ids.append(self._route_ids[key])
            prints: list[tuple[PrintHandler, PairRuntime]] = [
                ((p.on_binance, p.on_upbit, p.on_fx)[role], p) for p, _, role in routes
            ]
            handlers.append(prints[0][0] if len(prints) == 1 else functools.partial(self._print_all, prints))
            pairs.append(routes[0][0])
        self._quote_ids = tuple(ids)
        self._quote_handlers = tuple(handlers)
        self._quote_pairs = tuple(pairs)
        self._quote_latency_pairs = tuple(tuple(p for p, _, _ in self._routes[key]) for key, _ in by_role)
        if len(ids) > _MAX_SCANNED_INSTRUMENTS:
            self._quote_index = {key: i for i, (key, _) in enumerate(by_role)}

    def _subscribe_data(self) -> None:
        c = self.arb_config
        for pair in self._pairs.values():
            for instrument_id in (pair.config.binance_instrument_id, pair.config.upbit_instrument_id):
                if c.market_data == "bars":
                    self.subscribe_bars(BarType.from_str(f"{instrument_id}-{c.bar_spec}"))
                else:
                    self.subscribe_quote_ticks(instrument_id)
            if c.fx_data == "bars":
                self.subscribe_bars(BarType.from_str(f"{pair.config.fx_instrument_id}-{c.fx_bar_spec}"))
            else:
                self.subscribe_quote_ticks(pair.config.fx_instrument_id)

    def on_stop(self) -> None:
        self.msgbus.unsubscribe(FLATTEN_TOPIC, self._on_flatten)
        for pair in self._pairs.values():
            if not pair.book.is_flat or pair.book.has_open_orders:
                self.log.warning(
                    f"{pair.symbol} stopped {pair.book.status.value}: binance={pair.book.binance.quantity} "
                    f"upbit={pair.book.upbit.quantity}; state kept for resume",
                )

    def on_save(self) -> dict[str, bytes]:
        """NautilusTrader state persistence: every pair's snapshot."""
        ts = self.clock.timestamp_ns()
        return {symbol: pair.book.snapshot(ts, self._last_order_id).to_json() for symbol, pair in self._pairs.items()}

    def on_load(self, state: dict[str, bytes]) -> None:
        """NautilusTrader state persistence: keep the snapshots for ``on_start`` to restore."""
        self._loaded_state = dict(state)

    # -- market data (hot path: integers only, no allocation beyond NautilusTrader's accessors) --------------
    def on_quote_tick(self, tick: QuoteTick) -> None:
        iid = tick.instrument_id
        try:
            i = self._quote_ids.index(iid) if self._quote_index is None else self._quote_index[hash(iid)]
        except (ValueError, KeyError):
            return  # not one of ours
        ts = tick.ts_init
        action = self._quote_handlers[i](tick.bid_price.raw, tick.ask_price.raw, ts)
        if action:
            self._act(self._quote_pairs[i], action, ts)
        if self._emit_latency:
            now = self.clock.timestamp_ns()
            for pair in self._quote_latency_pairs[i]:
                self.msgbus.publish(DECISION_TOPIC, DecisionLatency(pair.symbol, now - ts, now))

    def _print_all(self, routes: list[tuple[PrintHandler, PairRuntime]], bid: int, ask: int, ts: int) -> int:
        """The print handler of an instrument shared by several pairs (e.g. the FX instrument)."""
        for on_print, pair in routes:
            action = on_print(bid, ask, ts)
            if action:
                self._act(pair, action, ts)
        return NO_ACTION

    def on_bar(self, bar: Bar) -> None:
        routes = self._routes.get(hash(bar.bar_type.instrument_id))
        if routes is None:
            return
        ts = bar.ts_init
        close = bar.close
        for pair, quote, role in routes:
            if role == ROLE_FX:
                bid = ask = close.raw
            else:
                instrument = pair.binance_instrument if role == ROLE_BINANCE else pair.upbit_instrument
                bid_px, ask_px = bar_bid_ask(instrument, close.as_decimal(), self.arb_config.bar_half_spread_bps)
                bid, ask = bid_px.raw, ask_px.raw
            action = pair.on_print(quote, role, bid, ask, ts)
            if action:
                self._act(pair, action, ts)

    def _act(self, pair: PairRuntime, action: int, ts: int) -> None:
        if action & FX_CHANGED:
            # NautilusTrader's portfolio converts USDT <-> KRW across venues with mark xrates (reference §4); its
            # API takes a float. Trading decisions use the exact rate (PairRuntime.fx_rate).
            self.cache.set_mark_xrate(pair.binance_instrument.quote_currency, KRW, pair.fx.ref_mid2 / SCALE2)
            action &= ~FX_CHANGED
            if pair.book.unvalued_quote_flow:
                flow, pair.book.unvalued_quote_flow = pair.book.unvalued_quote_flow, Decimal(0)
                pair.book.trip_flow_krw += flow * pair.fx_rate()
                self.log.info(f"{pair.symbol} fills made while down valued at fx {pair.fx_rate()}: {flow} USDT")
        if action == ENTER_BUY_BINANCE:
            self._enter(pair, Direction.BUY_BINANCE, ts)
        elif action == ENTER_BUY_UPBIT:
            self._enter(pair, Direction.BUY_UPBIT, ts)
        elif action == EXIT:
            self._exit(pair, ts, pair.exit_reason)
        elif action == RESOLVE:
            self._resolve(pair)

    def _edge(self, pair: PairRuntime, direction: Direction) -> Edge:
        """The exact edge of ``direction`` from the latest prints (built only when a decision is made)."""
        slip = self.arb_config.slippage_bps
        edges = compute_edges(
            raw_to_decimal(pair.binance.bid),
            raw_to_decimal(pair.binance.ask),
            raw_to_decimal(pair.upbit.bid),
            raw_to_decimal(pair.upbit.ask),
            pair.fx_rate(),
            LegCost(pair.binance_instrument.taker_fee, slip),
            LegCost(pair.upbit_instrument.taker_fee, slip),
        )
        return edges[0] if direction is Direction.BUY_BINANCE else edges[1]

    # -- decisions ------------------------------------------------------------------------------------------
    def _enter(self, pair: PairRuntime, direction: Direction, ts: int) -> None:
        b = pair.binance
        u = pair.upbit
        if direction is Direction.BUY_BINANCE:
            buy_inst, sell_inst = pair.binance_instrument, pair.upbit_instrument
            buy_price, sell_price = raw_to_decimal(b.ask), raw_to_decimal(u.bid)
            buy_rules, sell_rules = pair.binance_rules, pair.upbit_rules
        else:
            buy_inst, sell_inst = pair.upbit_instrument, pair.binance_instrument
            buy_price, sell_price = raw_to_decimal(u.ask), raw_to_decimal(b.bid)
            buy_rules, sell_rules = pair.upbit_rules, pair.binance_rules
        sizing = size_entry(
            target=self.arb_config.trade_size,
            buy_rules=buy_rules,
            buy_price=buy_price,
            buy_free_quote=self._free(buy_inst.id.venue, buy_inst.quote_currency.code),
            sell_rules=sell_rules,
            sell_price=sell_price,
            sell_free_base=self._free(sell_inst.id.venue, sell_inst.base_currency.code),
        )
        if sizing.quantity is None:
            self.counters["entry_unsized"] += 1
            if self.counters["entry_unsized"] % 1000 == 1:
                edge = self._edge(pair, direction)
                self.log.warning(f"{pair.symbol} {direction.value} edge {edge.bps:.2f} bps not sized: {sizing.reason}")
            return
        qty = sizing.quantity
        pair.book.start_entry(direction, qty, None, ts)  # its edge is noted once both legs are out
        pair.new_phase()
        self.counters["entries"] += 1
        buy_binance = direction is Direction.BUY_BINANCE
        # Each leg is created and sent before the next is built, and the bookkeeping (log, timeout, state)
        # waits until both are out: the second leg's tick-to-order is the first leg's submit plus its own.
        with pair.submitting():
            first = self._leg_order(pair, pair.upbit_instrument, not buy_binance, qty, OrderIntent.ENTRY)
            self._track(pair, first, OrderIntent.ENTRY)
            self.submit_order(first)
            second = self._leg_order(pair, pair.binance_instrument, buy_binance, qty, OrderIntent.ENTRY)
            self._track(pair, second, OrderIntent.ENTRY)
            second_sent = not (first.is_closed and first.filled_qty.as_decimal() == 0)
            if not second_sent:
                # denied on submit (risk checks run synchronously): do not send the other leg
                self.counters["second_leg_skipped"] += 1
                pair.book.working[second.client_order_id.value].closed = True
                pair.book.working[second.client_order_id.value].failure = "not sent: first leg denied"
            else:
                self.submit_order(second)
        edge = self._edge(pair, direction)  # the decision's prints: no market data is handled while legs are sent
        pair.book.entry_edge_bps = edge.bps
        self.log.info(
            f"{pair.symbol} ENTER {direction.value} qty={qty} edge={edge.bps:.2f} bps "
            f"(buy {edge.buy_price:.0f} KRW, sell {edge.sell_price:.0f} KRW, fx {pair.fx_rate()})",
        )
        if not second_sent:
            self.log.warning(f"{pair.symbol} first leg {first.client_order_id} denied; second leg not sent")
        self._arm_timeout(pair)
        self._maybe_resolve(pair)  # publishes the pair's state (orders open) or resolves a denied entry

    def _exit(self, pair: PairRuntime, ts: int, reason: str) -> None:
        pair.want_exit = False
        pair.exit_reason = reason
        pair.book.start_exit()
        pair.new_phase()
        self.counters["exits"] += 1
        message = f"{pair.symbol} EXIT ({reason}) binance={pair.book.binance.quantity} upbit={pair.book.upbit.quantity}"
        # the orders first, the log and state after (sending publishes the state when it sent anything)
        if not self._send_towards_targets(pair, OrderIntent.EXIT, bounded=False):
            self._publish_state(pair, ts)
        self.log.info(message)

    def _free(self, venue: Venue, currency_code: str) -> Decimal:
        """Free balance of a currency on a venue; 0 when the account or the currency is unknown."""
        account = self.portfolio.account(venue)
        if account is None:
            return Decimal(0)
        for currency, money in account.balances_free().items():
            if currency.code == currency_code:
                return money.as_decimal()
        return Decimal(0)

    # -- publishing -------------------------------------------------------------------------------------------
    def _on_flatten(self, request: FlattenRequest) -> None:
        self.log.warning(f"Flatten requested: {request.reason}")
        for pair in self._pairs.values():
            if pair.book.status is PairStatus.OPEN:
                self._exit(pair, self.clock.timestamp_ns(), "flatten")
            elif pair.book.status is PairStatus.ENTERING:
                pair.want_exit = True

    # -- resume -----------------------------------------------------------------------------------------------
    def _restore(self, pair: PairRuntime) -> None:
        raw = self.cache.get(RESUME_CACHE_KEY.format(symbol=pair.symbol)) or self._loaded_state.get(pair.symbol)
        snap: PairSnapshot | None = None
        if raw:
            try:
                snap = PairSnapshot.from_json(raw)
                working = pair.book.restore(snap)
            except Exception as e:  # a corrupt snapshot must not stop the node
                self.log.error(f"{pair.symbol}: resume state ignored, it does not validate: {e}")
                return
            self.log.info(
                f"{pair.symbol} resumed {snap.status.value} "
                f"binance={pair.book.binance.quantity} upbit={pair.book.upbit.quantity}"
            )
            for w in working:
                leg = LegOrder(
                    client_order_id=w.client_order_id,
                    instrument_id=w.instrument_id,
                    venue="BINANCE" if w.instrument_id == pair.book.binance.instrument_id else "UPBIT",
                    side=w.side,
                    quantity=Decimal(w.quantity),
                    intent=w.intent,
                    filled=Decimal(w.filled),
                )
                pair.book.track(leg)
                self._order_pairs[leg.client_order_id] = pair
                self._take_over(pair, leg)
            self._note_issued(snap.last_order_id)
        self._adopt_orphans(pair, snap)

    def _take_over(self, pair: PairRuntime, leg: LegOrder) -> None:
        """Take over a tracked order sent before the restart: book its fills beyond ``leg.filled``; cancel if open."""
        order = self.cache.order(ClientOrderId(leg.client_order_id))
        if order is None:
            self.log.warning(
                f"{pair.symbol} order {leg.client_order_id} from before the restart is unknown to the venue",
            )
            leg.closed = True
            return
        booked = leg.filled  # what the snapshot had booked of it: the fills beyond it came while down
        for event in order.events:
            if not isinstance(event, OrderFilled):
                continue
            qty = event.last_qty.as_decimal()
            extra = qty - min(qty, booked)
            booked = max(Decimal(0), booked - qty)
            if extra > 0:
                self.log.warning(f"{pair.symbol} {extra} of {leg.client_order_id} filled while down at {event.last_px}")
                self._book_fill(pair, event, extra)
        if order.is_open:
            self.cancel_order(order)
        else:
            leg.closed = True

    def _note_issued(self, client_order_id: str | None) -> None:
        """Keep the newest of the client order ids issued so far (snapshots carry it)."""
        if client_order_id is None:
            return
        key = self._order_ids.issue_key(client_order_id)
        last = self._last_order_id
        if key is not None and (last is None or key > (self._order_ids.issue_key(last) or key)):
            self._last_order_id = client_order_id

    def _adopt_orphans(self, pair: PairRuntime, snap: PairSnapshot | None) -> None:
        """
        Adopt the strategy's orders on the pair's legs that the resumed state does not know.

        They were sent after the last state that reached the store (a crash in between) and NautilusTrader's
        reconciliation found them at the venue. Which are they: the orders of this strategy's id format issued
        after the snapshot's ``last_order_id``, or, with no snapshot, since the session started. They continue
        the transition that state did not record: from FLAT an entry, from OPEN an exit, else the phase in
        progress. Their fills are booked, one still open is cancelled, and the pair resolves as usual (both legs
        equal: OPEN or FLAT; unequal: re-hedge or unwind). Each is logged and published as a leg-risk alert.
        """
        if snap is not None:
            if snap.last_order_id is None:
                return  # written before snapshots kept it: nothing to tell new orders from old ones
            watermark = self._order_ids.issue_key(snap.last_order_id)
        else:
            started = self.cache.get(SESSION_START_CACHE_KEY)
            watermark = None if started is None else self._order_ids.time_key(int(started))
        if watermark is None:
            return
        legs = (pair.binance_instrument.id, pair.upbit_instrument.id)
        orphans = []
        for order in (o for instrument_id in legs for o in self.cache.orders(instrument_id=instrument_id)):
            key = self._order_ids.issue_key(order.client_order_id.value)
            if key is not None and key > watermark and order.client_order_id.value not in pair.book.working:
                orphans.append((key, order))
        if not orphans:
            return
        orphans.sort(key=lambda item: item[0])
        book = pair.book
        ts = self.clock.timestamp_ns()
        if book.status is PairStatus.FLAT:
            first = orphans[0][1]
            buys_binance = (first.instrument_id == legs[0]) == (first.side == OrderSide.BUY)
            book.start_entry(
                Direction.BUY_BINANCE if buys_binance else Direction.BUY_UPBIT, first.quantity.as_decimal(), None, ts
            )
            pair.new_phase()
            entering = True
        elif book.status is PairStatus.OPEN:
            book.start_exit()
            pair.new_phase()
            pair.exit_reason = "adopted"  # why the lost state exited is not known
            entering = False
        else:
            entering = False  # the phase in progress continues: its re-hedges, unwinds or exit retries
        targets = dict(zip(legs, book.targets(), strict=True))
        for _, order in orphans:
            buy = order.side == OrderSide.BUY
            if book.status is PairStatus.EXITING:
                intent = OrderIntent.EXIT
            elif entering:
                intent = OrderIntent.ENTRY
            else:  # towards the phase's target on its leg: a re-hedge; away from it: an unwind
                held = (book.binance if order.instrument_id == legs[0] else book.upbit).quantity
                toward = (targets[order.instrument_id] > held) == buy
                intent = OrderIntent.REHEDGE if toward else OrderIntent.UNWIND
            self.counters["orphans_adopted"] += 1
            leg = self._track(pair, order, intent)
            self._take_over(pair, leg)
            self._note_issued(leg.client_order_id)
            detail = (
                f"{leg.venue} {leg.side} {leg.quantity} {leg.client_order_id} ({order.status_string()}, filled "
                f"{order.filled_qty}) was sent after the last state that reached the store: adopted as {intent.value}"
            )
            # an alert of its own (not a leg-risk episode: the pair resolves as usual and raises one if unequal)
            self.log.error(f"{pair.symbol} ORPHAN ORDER {detail}")
            self.msgbus.publish(LEG_RISK_TOPIC, LegRiskAlert(pair.symbol, "adopted", str(book.unhedged), detail, ts))
        self._publish_state(pair, ts)

    # -- introspection ---------------------------------------------------------------------------------------
    def pair_snapshots(self) -> dict[str, PairSnapshot]:
        """The current snapshot of every pair."""
        ts = self.clock.timestamp_ns()
        return {symbol: pair.book.snapshot(ts, self._last_order_id) for symbol, pair in self._pairs.items()}

    def report_counters(self) -> dict[str, int]:
        """Counters for reports: blocks by guard, outliers, entries, exits, leg-risk events."""
        pairs = self._pairs.values()
        return {
            "stale_blocked": sum(p.stale_blocked for p in pairs),
            "fx_stale_blocked": sum(p.fx_stale_blocked for p in pairs),
            "outliers": sum(q.outliers for p in pairs for q in (p.binance, p.upbit, p.fx)),
            **self.counters,
        }
