"""
The guard hierarchy: ``GlobalGuard -> PortfolioGuard -> SymbolGuard[SYMBOL]``.

- :class:`GlobalGuard`: the halted flag (set by ``MAX_DAILY_LOSS`` / ``MAX_DRAWDOWN``), the global
  ``COOLDOWN``, the trading day and the equity peak. A global trip blocks every entry.
- :class:`PortfolioGuard`: the exposure cap over all symbols. Any entry that would take the total beyond it is
  denied, whatever its symbol.
- :class:`SymbolGuard`: one per symbol (pair): ``MAX_SYMBOL_POSITION``, ``MAX_POSITION_SIZE`` (the global
  per-position limit, applied to each of the symbol's instruments), ``MAX_SYMBOL_DAILY_LOSS``,
  ``SYMBOL_COOLDOWN``, ``LEG_IMBALANCE``, ``STALE_MARKET_DATA``. A symbol trip blocks only that symbol.

Only *entries* are checked: orders that reduce exposure are never blocked by any guard (the gate decides
which orders those are). Everything here is plain Python on ``Decimal`` and ints; it knows nothing about
NautilusTrader, which the gate (:mod:`arb_plugin.risk.gate`) feeds it from.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from arb_plugin.risk import rules
from arb_plugin.risk.rules import ALLOW
from arb_plugin.risk.rules import Decision
from arb_plugin.risk.rules import Guard
from arb_plugin.risk.state import GlobalGuardState
from arb_plugin.risk.state import SymbolGuardState
from arb_plugin.settings import MarketDataSettings
from arb_plugin.settings import RiskSettings
from arb_plugin.settings import SymbolRiskSettings

ZERO = Decimal(0)
_RESTORED_COOLDOWN = "a cooldown restored after a restart"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_US = 1_000


# -- configuration -----------------------------------------------------------------------------------------


class TradingDay:
    """
    The trading day: it starts every day at ``start_hour`` in ``timezone`` (default 00:00 Asia/Seoul).

    Parameters
    ----------
    timezone : str
        An IANA time zone name.
    start_hour : int
        Local hour (0-23) at which a new trading day begins.
    """

    __slots__ = ("start_hour", "timezone", "tz")

    def __init__(self, timezone: str = "Asia/Seoul", start_hour: int = 0) -> None:
        if not 0 <= start_hour <= 23:
            raise ValueError(f"start_hour={start_hour}: must be 0..23")
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.start_hour = start_hour

    def bounds(self, ts_ns: int) -> tuple[str, int, int]:
        """Return ``(day id 'YYYY-MM-DD', start ns, end ns)`` of the trading day holding ``ts_ns``."""
        local = datetime.fromtimestamp(ts_ns // 1_000_000_000, self.tz)
        day: date = local.date()
        if local.hour < self.start_hour:
            day -= timedelta(days=1)
        start = datetime.combine(day, time(self.start_hour), tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=1), time(self.start_hour), tzinfo=self.tz)
        return day.isoformat(), _to_ns(start), _to_ns(end)

    def __repr__(self) -> str:
        return f"TradingDay({self.timezone!r}, start_hour={self.start_hour})"


def _to_ns(dt: datetime) -> int:
    return ((dt - _EPOCH) // timedelta(microseconds=1)) * _NS_PER_US


@dataclass(frozen=True, slots=True)
class SymbolLimits:
    """Limits of one symbol (``None`` disables a rule; ``cooldown_ns`` 0 disables ``SYMBOL_COOLDOWN``)."""

    max_position: Decimal | None = None  # MAX_SYMBOL_POSITION: gross notional of both legs
    max_daily_loss: Decimal | None = None  # MAX_SYMBOL_DAILY_LOSS
    cooldown_ns: int = 0  # SYMBOL_COOLDOWN after a losing close or a symbol trip
    max_unhedged: Decimal | None = None  # LEG_IMBALANCE


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """
    Every limit of the hierarchy, in the reporting ``currency`` (built from ``RiskSettings``).

    ``symbol_defaults`` applies to every symbol without an entry in ``symbols``.
    """

    currency: str = "KRW"
    max_position_size: Decimal | None = None  # MAX_POSITION_SIZE: one instrument's position notional
    max_portfolio_exposure: Decimal | None = None
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    drawdown_window: Literal["session", "day"] = "session"
    cooldown_ns: int = 0  # COOLDOWN after a losing close of at least cooldown_min_loss, or a global trip
    cooldown_min_loss: Decimal = ZERO
    symbol_defaults: SymbolLimits = SymbolLimits()
    symbols: Mapping[str, SymbolLimits] = field(default_factory=dict)
    max_data_age_ns: int | None = None  # STALE_MARKET_DATA for traded instruments
    max_fx_age_ns: int | None = None  # STALE_MARKET_DATA for a pair's FX instrument
    flatten_on_halt: bool = True
    trading_day: TradingDay = field(default_factory=TradingDay)

    def for_symbol(self, symbol: str) -> SymbolLimits:
        return self.symbols.get(symbol, self.symbol_defaults)


@dataclass(frozen=True, slots=True)
class Trip:
    """A post-trade guard fired: ``scope`` is ``None`` for the global level, else the symbol."""

    guard: Guard
    scope: str | None
    reason: str


# -- the levels --------------------------------------------------------------------------------------------


class SymbolGuard:
    """Per-symbol guard: limits, cooldown, the day's block and the day's PnL baseline."""

    __slots__ = (
        "blocked_reason",
        "cooldown_cause",
        "cooldown_until",
        "day_base",
        "fx_instrument_id",
        "instrument_ids",
        "limits",
        "pnl",
        "symbol",
    )

    def __init__(self, symbol: str, limits: SymbolLimits, fx_instrument_id: str | None = None) -> None:
        self.symbol = symbol
        self.limits = limits
        self.instrument_ids: list[str] = []
        self.fx_instrument_id = fx_instrument_id
        self.cooldown_until = 0
        self.cooldown_cause = ""
        self.blocked_reason: str | None = None  # MAX_SYMBOL_DAILY_LOSS trip, cleared at the next day
        self.day_base = ZERO  # this symbol's PnL at the start of the trading day
        self.pnl = ZERO  # this symbol's session PnL at the last evaluation

    @property
    def daily_pnl(self) -> Decimal:
        return self.pnl - self.day_base

    def check_state(self, now_ns: int) -> Decision:
        """Entry checks that need no market data: the day's block and ``SYMBOL_COOLDOWN``."""
        if self.blocked_reason is not None:
            return Decision(False, Guard.MAX_SYMBOL_DAILY_LOSS, self.blocked_reason)
        if now_ns < self.cooldown_until:
            return rules.symbol_cooldown(self.symbol, now_ns, self.cooldown_until, self.cooldown_cause)
        return ALLOW

    def check_exposure(
        self,
        instrument_id: object,
        position_after: Decimal,
        max_position_size: Decimal | None,
        exposure_after: Decimal,
        unhedged: Decimal,
        unhedged_after: Decimal,
        currency: str,
    ) -> Decision:
        """
        Entry checks on numbers: ``LEG_IMBALANCE``, ``MAX_POSITION_SIZE``, ``MAX_SYMBOL_POSITION``.

        (The rules decide; they are only called when a value is beyond its limit, which keeps the common
        case to a few comparisons.)
        """
        limits = self.limits
        if limits.max_unhedged is not None and unhedged > limits.max_unhedged:
            decision = rules.leg_imbalance(self.symbol, unhedged, unhedged_after, limits.max_unhedged, currency)
            if not decision:
                return decision
        if max_position_size is not None and position_after > max_position_size:
            return rules.max_position_size(instrument_id, position_after, max_position_size, currency)
        if limits.max_position is not None and exposure_after > limits.max_position:
            return rules.max_symbol_position(self.symbol, exposure_after, limits.max_position, currency)
        return ALLOW

    def start_cooldown(self, now_ns: int, cause: str) -> bool:
        """Start (or extend) ``SYMBOL_COOLDOWN``; return whether it changed."""
        until = now_ns + self.limits.cooldown_ns
        if self.limits.cooldown_ns <= 0 or until <= self.cooldown_until:
            return False
        self.cooldown_until = until
        self.cooldown_cause = cause
        return True

    def evaluate(self, pnl: Decimal, currency: str) -> Trip | None:
        """Post-trade: trip ``MAX_SYMBOL_DAILY_LOSS`` once per day when the day's PnL breaches the limit."""
        self.pnl = pnl
        if self.blocked_reason is not None:
            return None
        decision = rules.max_symbol_daily_loss(
            self.symbol,
            pnl - self.day_base,
            self.limits.max_daily_loss,
            currency,
        )
        if decision:
            return None
        self.blocked_reason = decision.reason
        return Trip(Guard.MAX_SYMBOL_DAILY_LOSS, self.symbol, decision.reason)

    def roll_day(self, pnl: Decimal) -> None:
        self.pnl = pnl
        self.day_base = pnl
        self.blocked_reason = None

    def snapshot(self, now_ns: int, day_id: str) -> SymbolGuardState:
        return SymbolGuardState(
            ts_event=now_ns,
            trading_day=day_id,
            daily_pnl=str(self.daily_pnl),
            blocked_reason=self.blocked_reason,
            cooldown_until_ns=self.cooldown_until,
            cooldown_cause=self.cooldown_cause,
        )

    def __repr__(self) -> str:
        return f"SymbolGuard({self.symbol!r}, instruments={self.instrument_ids})"


class PortfolioGuard:
    """The exposure cap across every symbol."""

    __slots__ = ("currency", "max_exposure")

    def __init__(self, max_exposure: Decimal | None, currency: str) -> None:
        self.max_exposure = max_exposure
        self.currency = currency

    def check_exposure(self, exposure_after: Decimal) -> Decision:
        return rules.max_portfolio_exposure(exposure_after, self.max_exposure, self.currency)


class GlobalGuard:
    """
    The halted flag, the global cooldown, the trading day and the equity curve.

    Equity is the session's combined PnL (every instrument, realized + unrealized, in the reporting currency)
    plus an offset that carries it across a restart; the daily PnL is equity minus its value at the start of
    the trading day.
    """

    def __init__(self, limits: GuardLimits) -> None:
        self.limits = limits
        self.halted = False
        self.halt_guard: Guard | None = None
        self.halt_reason = ""
        self.cooldown_until = 0
        self.cooldown_cause = ""
        self.day_id = ""
        self.day_end_ns = 0  # the day has not started yet: the first look rolls it
        self.day_base = ZERO  # session PnL at the day's start
        self.equity_offset = ZERO
        self.peak = ZERO
        self.equity = ZERO
        self.session_pnl = ZERO  # combined PnL of this process at the last evaluation

    @property
    def daily_pnl(self) -> Decimal:
        return self.session_pnl - self.day_base

    def check_state(self, now_ns: int) -> Decision:
        """Entry checks of the global level: ``HALTED`` then ``COOLDOWN``."""
        if self.halted:
            return rules.halted(self.halt_reason)
        if now_ns < self.cooldown_until:
            return rules.cooldown(now_ns, self.cooldown_until, self.cooldown_cause)
        return ALLOW

    def start_cooldown(self, now_ns: int, cause: str) -> bool:
        until = now_ns + self.limits.cooldown_ns
        if self.limits.cooldown_ns <= 0 or until <= self.cooldown_until:
            return False
        self.cooldown_until = until
        self.cooldown_cause = cause
        return True

    def evaluate(self, session_pnl: Decimal) -> list[Trip]:
        """Post-trade: update equity and its peak; trip ``MAX_DAILY_LOSS`` / ``MAX_DRAWDOWN`` (once)."""
        self.session_pnl = session_pnl
        self.equity = equity = session_pnl + self.equity_offset
        if equity > self.peak:
            self.peak = equity
        if self.halted:
            return []
        currency = self.limits.currency
        decision = rules.max_daily_loss(session_pnl - self.day_base, self.limits.max_daily_loss, currency)
        if not decision:
            return [self._halt(decision)]
        decision = rules.max_drawdown(self.peak, equity, self.limits.max_drawdown, currency)
        if not decision:
            return [self._halt(decision)]
        return []

    def _halt(self, decision: Decision) -> Trip:
        assert decision.guard is not None
        self.halted = True
        self.halt_guard = decision.guard
        self.halt_reason = decision.reason
        return Trip(decision.guard, None, decision.reason)

    def resume(self) -> bool:
        """Clear the halt (an operator's call after a session ``MAX_DRAWDOWN``); return if it was set."""
        was = self.halted
        self.halted = False
        self.halt_guard = None
        self.halt_reason = ""
        return was

    def roll_day(self, day_id: str, end_ns: int, session_pnl: Decimal) -> bool:
        """
        Start a new trading day. Clears a ``MAX_DAILY_LOSS`` halt (and a ``MAX_DRAWDOWN`` halt when the
        drawdown window is the day). Return whether a halt was cleared.
        """
        self.day_id = day_id
        self.day_end_ns = end_ns
        self.session_pnl = session_pnl
        self.day_base = session_pnl
        self.equity = session_pnl + self.equity_offset
        cleared = False
        if self.limits.drawdown_window == "day":
            self.peak = self.equity
        if self.halted and (
            self.halt_guard is Guard.MAX_DAILY_LOSS
            or (self.halt_guard is Guard.MAX_DRAWDOWN and self.limits.drawdown_window == "day")
        ):
            cleared = self.resume()
        return cleared

    def snapshot(self, now_ns: int) -> GlobalGuardState:
        return GlobalGuardState(
            ts_event=now_ns,
            currency=self.limits.currency,
            trading_day=self.day_id,
            daily_pnl=str(self.daily_pnl),
            equity=str(self.equity),
            peak_equity=str(self.peak),
            halted=self.halted,
            halt_guard=self.halt_guard.value if self.halt_guard is not None else None,
            halt_reason=self.halt_reason,
            cooldown_until_ns=self.cooldown_until,
            cooldown_cause=self.cooldown_cause,
        )


# -- the hierarchy -----------------------------------------------------------------------------------------


class RiskGuard:
    """
    ``GlobalGuard -> PortfolioGuard -> SymbolGuard[SYMBOL]``, with the state a restart must keep.

    Parameters
    ----------
    limits : GuardLimits
        Every limit (per environment, from settings).
    pairs : Iterable[tuple[str, Iterable[str], str | None]]
        Known pairs: ``(symbol, instrument ids, FX instrument id)``. Symbols first seen on an order tag are
        added with the default limits.
    """

    def __init__(
        self,
        limits: GuardLimits,
        pairs: Iterable[tuple[str, Iterable[str], str | None]] = (),
    ) -> None:
        self.limits = limits
        self.global_guard = GlobalGuard(limits)
        self.portfolio = PortfolioGuard(limits.max_portfolio_exposure, limits.currency)
        self.symbols: dict[str, SymbolGuard] = {}
        self.symbol_of_instrument: dict[str, str] = {}
        self._restored: tuple[GlobalGuardState | None, dict[str, SymbolGuardState]] | None = None
        for symbol, instrument_ids, fx in pairs:
            guard = self.symbol(symbol)
            guard.fx_instrument_id = fx
            for instrument_id in instrument_ids:
                self.bind(guard, instrument_id)

    def symbol(self, symbol: str) -> SymbolGuard:
        """The guard of ``symbol``, created with its configured (or default) limits on first use."""
        guard = self.symbols.get(symbol)
        if guard is None:
            guard = SymbolGuard(symbol, self.limits.for_symbol(symbol))
            self.symbols[symbol] = guard
        return guard

    def bind(self, guard: SymbolGuard, instrument_id: str) -> None:
        """Count ``instrument_id`` as one of ``guard``'s legs (first binding wins)."""
        if instrument_id not in self.symbol_of_instrument:
            self.symbol_of_instrument[instrument_id] = guard.symbol
            guard.instrument_ids.append(instrument_id)

    def check_state(self, guard: SymbolGuard, now_ns: int) -> Decision:
        """Global, then symbol state checks (no market data needed)."""
        g = self.global_guard
        if g.halted or now_ns < g.cooldown_until:
            return g.check_state(now_ns)
        if guard.blocked_reason is not None or now_ns < guard.cooldown_until:
            return guard.check_state(now_ns)
        return ALLOW

    def check_exposure(
        self,
        guard: SymbolGuard,
        instrument_id: object,
        position_after: Decimal,
        symbol_exposure_after: Decimal,
        portfolio_exposure_after: Decimal,
        unhedged: Decimal,
        unhedged_after: Decimal,
    ) -> Decision:
        """Portfolio, then symbol exposure checks."""
        cap = self.portfolio.max_exposure
        if cap is not None and portfolio_exposure_after > cap:
            return self.portfolio.check_exposure(portfolio_exposure_after)
        return guard.check_exposure(
            instrument_id,
            position_after,
            self.limits.max_position_size,
            symbol_exposure_after,
            unhedged,
            unhedged_after,
            self.limits.currency,
        )

    # -- post-trade ----------------------------------------------------------------------------------------

    def evaluate(self, session_pnl: Decimal, symbol: SymbolGuard | None, symbol_pnl: Decimal) -> list[Trip]:
        """Evaluate the post-trade guards after a PnL change; start the cooldowns a trip calls for."""
        trips = self.global_guard.evaluate(session_pnl)
        if symbol is not None:
            trip = symbol.evaluate(symbol_pnl, self.limits.currency)
            if trip is not None:
                trips.append(trip)
        return trips

    def cooldowns_for(self, trip: Trip, now_ns: int) -> list[str | None]:
        """Start the cooldowns a trip calls for; return the scopes whose cooldown changed."""
        changed: list[str | None] = []
        if trip.scope is None:
            if self.global_guard.start_cooldown(now_ns, trip.guard.value):
                changed.append(None)
        elif self.symbol(trip.scope).start_cooldown(now_ns, trip.guard.value):
            changed.append(trip.scope)
        return changed

    def on_pair_closed(self, symbol: str, pnl: Decimal, now_ns: int) -> list[str | None]:
        """
        A pair's round trip ended with ``pnl``: after a loss, start ``SYMBOL_COOLDOWN`` and, when the loss
        is at least ``cooldown_min_loss``, ``COOLDOWN``. Return the scopes whose cooldown changed.
        """
        if pnl >= 0:
            return []
        changed: list[str | None] = []
        cause = f"losing close of {symbol} ({rules.fmt_money(pnl, self.limits.currency)})"
        if self.symbol(symbol).start_cooldown(now_ns, cause):
            changed.append(symbol)
        if -pnl >= self.limits.cooldown_min_loss and self.global_guard.start_cooldown(now_ns, cause):
            changed.append(None)
        return changed

    # -- trading day and restart ---------------------------------------------------------------------------

    def restore(
        self,
        global_state: GlobalGuardState | None,
        symbol_states: Mapping[str, SymbolGuardState],
        cooldowns: Mapping[str | None, int],
    ) -> None:
        """
        Take state saved before a restart. Cooldowns (``cooldowns``: scope, ``None`` for the global level,
        to expiry ns) and the halted flag apply at once; a cooldown is only ever extended. The trading day is
        re-opened at the next :meth:`roll_day_if_due`, which carries the daily figures over if it is the same
        trading day.
        """
        g = self.global_guard
        if global_state is not None:
            g.halted = global_state.halted
            g.halt_guard = Guard(global_state.halt_guard) if global_state.halt_guard else None
            g.halt_reason = global_state.halt_reason
            if global_state.cooldown_until_ns > g.cooldown_until:
                g.cooldown_until, g.cooldown_cause = global_state.cooldown_until_ns, global_state.cooldown_cause
        for symbol, state in symbol_states.items():
            guard = self.symbol(symbol)
            if state.cooldown_until_ns > guard.cooldown_until:
                guard.cooldown_until, guard.cooldown_cause = state.cooldown_until_ns, state.cooldown_cause
        for scope, until_ns in cooldowns.items():
            level: GlobalGuard | SymbolGuard = g if scope is None else self.symbol(scope)
            if until_ns > level.cooldown_until:
                level.cooldown_until, level.cooldown_cause = until_ns, _RESTORED_COOLDOWN
        self._restored = (global_state, dict(symbol_states))
        g.day_end_ns = 0  # re-open the day with the restored figures

    def cooldowns(self) -> dict[str | None, int]:
        """Every cooldown expiry by scope (``None``: the global level), running or not."""
        out: dict[str | None, int] = {None: self.global_guard.cooldown_until}
        for symbol, guard in self.symbols.items():
            out[symbol] = guard.cooldown_until
        return out

    def roll_day_if_due(
        self,
        now_ns: int,
        session_pnl: Callable[[], Decimal],
        symbol_pnl: Callable[[SymbolGuard], Decimal],
    ) -> bool | None:
        """
        Start a new trading day when ``now_ns`` has reached the end of the current one (the first call starts
        the first day, carrying over restored daily figures of that same day).

        Returns ``None`` when no new day began, else whether a halt was cleared.
        """
        g = self.global_guard
        if now_ns < g.day_end_ns:
            return None
        day_id, _, end_ns = self.limits.trading_day.bounds(now_ns)
        pnl = session_pnl()
        restored, self._restored = self._restored, None
        if restored is None:
            cleared = g.roll_day(day_id, end_ns, pnl)
            for guard in self.symbols.values():
                guard.roll_day(symbol_pnl(guard))
            return cleared
        global_state, symbol_states = restored
        if global_state is not None:
            g.equity_offset = Decimal(global_state.equity) - pnl
        cleared = g.roll_day(day_id, end_ns, pnl)
        if global_state is not None:
            same_day = global_state.trading_day == day_id
            if same_day or self.limits.drawdown_window == "session":
                # a day's drawdown is measured from that day's peak: an earlier day's peak is not restored
                g.peak = max(Decimal(global_state.peak_equity), g.equity)
            if same_day:
                g.day_base = pnl - Decimal(global_state.daily_pnl)
                if cleared:  # a daily halt of this same day stays
                    g.halted = global_state.halted
                    g.halt_guard = Guard(global_state.halt_guard) if global_state.halt_guard else None
                    g.halt_reason = global_state.halt_reason
                    cleared = False
        for guard in self.symbols.values():
            guard.roll_day(symbol_pnl(guard))
            state = symbol_states.get(guard.symbol)
            if state is not None and state.trading_day == day_id:
                guard.day_base = guard.pnl - Decimal(state.daily_pnl)
                guard.blocked_reason = state.blocked_reason
        return cleared


# -- from settings -----------------------------------------------------------------------------------------


def guard_limits(risk: RiskSettings, data: MarketDataSettings | None = None) -> GuardLimits:
    """
    The limits of one environment.

    Parameters
    ----------
    risk : RiskSettings
        ``settings.risk``.
    data : MarketDataSettings, optional
        The market data settings of the mode (``settings.strategy.data`` live and paper,
        ``settings.backtest.data`` in a backtest): ``stale_quote_ms`` and ``fx_max_age_secs`` bound the age of
        the prices an entry is checked on. ``None`` (or ``risk.stale_data_guard = false``) disables
        ``STALE_MARKET_DATA``.
    """
    second = rules.NANOS_PER_SECOND

    def symbol_limits(override: SymbolRiskSettings | None) -> SymbolLimits:
        o = override or SymbolRiskSettings()
        cooldown = o.cooldown_secs if o.cooldown_secs is not None else risk.symbol_cooldown_secs
        return SymbolLimits(
            max_position=o.max_position_krw or risk.max_symbol_position_krw,
            max_daily_loss=o.max_daily_loss_krw or risk.max_symbol_daily_loss_krw,
            cooldown_ns=cooldown * second,
            max_unhedged=o.max_unhedged_krw or risk.max_unhedged_krw,
        )

    stale = data is not None and risk.stale_data_guard
    return GuardLimits(
        currency="KRW",
        max_position_size=risk.max_position_krw,
        max_portfolio_exposure=risk.max_portfolio_exposure_krw,
        max_daily_loss=risk.max_daily_loss_krw,
        max_drawdown=risk.max_drawdown_krw,
        drawdown_window=risk.drawdown_window,
        cooldown_ns=risk.cooldown_secs * second,
        cooldown_min_loss=risk.cooldown_min_loss_krw,
        symbol_defaults=symbol_limits(None),
        symbols={symbol: symbol_limits(o) for symbol, o in risk.symbols.items()},
        max_data_age_ns=data.stale_quote_ms * 1_000_000 if stale and data is not None else None,
        max_fx_age_ns=data.fx_max_age_secs * second if stale and data is not None else None,
        flatten_on_halt=risk.flatten_on_halt,
        trading_day=TradingDay(risk.trading_day_timezone, risk.trading_day_start_hour),
    )
