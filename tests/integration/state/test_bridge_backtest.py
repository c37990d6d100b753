"""
The StateBridge actor in a BacktestEngine (as BacktestNode builds it: ``ImportableActorConfig``) against the
real Redis and PostgreSQL: three simulated days of quotes on two venues, a scripted pair trading both.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
import redis
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.engine import BacktestEngineConfig
from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import SESSION_START_CACHE_KEY
from arb_plugin.events import PairStatus
from arb_plugin.state.bridge import StateBridge
from arb_plugin.state.keys import Domain
from arb_plugin.state.keys import KeyBuilder
from arb_plugin.state.validate import decode_guard_state
from arb_plugin.state.validate import decode_pair_snapshot

from .conftest import pg_fetch
from .scripted import ScriptedPair
from .scripted import ScriptedPairConfig

pytestmark = pytest.mark.integration

DAYS = 3
MINUTE_NS = 60 * 10**9
T0 = 1_735_689_600 * 10**9  # 2025-01-01 00:00 UTC


def upbit_krw_btc() -> CurrencyPair:
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol("KRW-BTC"), Venue("UPBIT")),
        raw_symbol=Symbol("KRW-BTC"),
        base_currency=BTC,
        quote_currency=KRW,
        price_precision=0,
        size_precision=8,
        price_increment=Price.from_str("1000"),
        size_increment=Quantity.from_str("0.00000001"),
        min_notional=Money(5000, KRW),
        maker_fee=Decimal("0.0005"),
        taker_fee=Decimal("0.0005"),
        ts_event=0,
        ts_init=0,
    )


def quotes(binance: CurrencyPair, upbit: CurrencyPair) -> list[QuoteTick]:
    out = []
    for i in range(DAYS * 24 * 60):
        ts = T0 + i * MINUTE_NS
        usd = 97_000 + (i % 50)
        out.append(
            QuoteTick(
                binance.id,
                Price(usd, 2),
                Price(usd + 0.01, 2),
                Quantity.from_str("5.000000"),
                Quantity.from_str("5.000000"),
                ts,
                ts,
            )
        )
        krw = 143_000_000 + (i % 50) * 1000
        out.append(
            QuoteTick(
                upbit.id,
                Price(krw, 0),
                Price(krw + 1000, 0),
                Quantity.from_str("5.00000000"),
                Quantity.from_str("5.00000000"),
                ts,
                ts,
            )
        )
    return out


def bridge_config(
    session_id: str, schema: str, redis_url: str, pg_dsn: str, **extra: object
) -> ImportableActorConfig:
    return ImportableActorConfig(
        actor_path="arb_plugin.state.bridge:StateBridge",
        config_path="arb_plugin.state.bridge:StateBridgeConfig",
        config={
            "env": "dev",
            "session_id": session_id,
            "mode": "backtest",
            "postgres_schema": schema,
            "redis_url": redis_url,
            "postgres_dsn": pg_dsn,
            "config_hash": "cafe",
            **extra,
        },
    )


def run_backtest(
    session_id: str, schema: str, redis_url: str, pg_dsn: str
) -> tuple[BacktestEngine, StateBridge, ScriptedPair]:
    engine = BacktestEngine(
        BacktestEngineConfig(
            actors=[bridge_config(session_id, schema, redis_url, pg_dsn)],
            portfolio=PortfolioConfig(use_mark_xrates=True),
            logging=LoggingConfig(log_level="ERROR"),
        ),
    )
    binance = TestInstrumentProvider.btcusdt_binance()
    upbit = upbit_krw_btc()
    engine.add_venue(
        Venue("BINANCE"),
        OmsType.NETTING,
        AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(100_000, USDT), Money(1, BTC)],
    )
    engine.add_venue(
        Venue("UPBIT"),
        OmsType.NETTING,
        AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(150_000_000, KRW), Money(1, BTC)],
    )
    engine.add_instrument(binance)
    engine.add_instrument(upbit)
    engine.add_data(quotes(binance, upbit))
    strategy = ScriptedPair(ScriptedPairConfig(exit_on_quote=2 * 24 * 60))
    engine.add_strategy(strategy)
    bridge = next(a for a in engine.trader.actors() if isinstance(a, StateBridge))
    engine.run()
    return engine, bridge, strategy


def test_bridge_in_a_backtest_writes_keyspace_and_snapshots(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    session_keys: KeyBuilder,
    sid: str,
) -> None:
    engine, bridge, strategy = run_backtest(sid, schema, redis_url, pg_dsn)
    try:
        assert len(strategy.fills) == 4 and strategy.round_trips == 1
        client = redis.Redis.from_url(redis_url)

        # SNAPSHOT: the latest PairSnapshot; every transition a row.
        latest = decode_pair_snapshot(client.get(session_keys(Domain.SNAPSHOT, "BTCUSDT")))
        assert latest == strategy.published[-1] and latest.status is PairStatus.FLAT
        rows = pg_fetch(
            pg_dsn,
            schema,
            "SELECT data FROM position_snapshots WHERE session_id = $1 AND kind = 'SNAPSHOT' ORDER BY id",
            sid,
        )
        assert [decode_pair_snapshot(r["data"]) for r in rows] == strategy.published
        assert [s.status for s in strategy.published] == ["ENTERING", "OPEN", "EXITING", "FLAT"]

        # Fills (tagged pair=BTCUSDT), position events, account states, the closed pair: rows.
        kinds = {
            r["kind"]: r["n"]
            for r in pg_fetch(
                pg_dsn,
                schema,
                "SELECT kind, count(*) AS n FROM position_snapshots WHERE session_id = $1 GROUP BY kind",
                sid,
            )
        }
        assert kinds["fill"] == 4 and kinds["pair_closed"] == 1 and kinds["position"] >= 4
        fill_rows = pg_fetch(
            pg_dsn,
            schema,
            "SELECT symbol, data FROM position_snapshots WHERE session_id = $1 AND kind = 'fill' ORDER BY id",
            sid,
        )
        assert {r["symbol"] for r in fill_rows} == {"BTCUSDT"}
        assert [msgspec.json.decode(r["data"])["client_order_id"] for r in fill_rows] == [
            f.client_order_id.value for f in strategy.fills
        ]
        assert (
            pg_fetch(
                pg_dsn,
                schema,
                "SELECT count(*) AS n FROM session_snapshots WHERE session_id = $1 AND kind = 'account'",
                sid,
            )[0]["n"]
            >= 4
        )

        # STATE position: both venue legs, flat again after the round trip, realized PnL per leg.
        position = msgspec.json.decode(client.get(session_keys(Domain.STATE, "BTCUSDT", "position")))
        assert set(position["legs"]) == {"BTCUSDT.BINANCE", "KRW-BTC.UPBIT"}
        assert all(leg["net_qty"] == "0" for leg in position["legs"].values())
        assert 0 < client.ttl(session_keys(Domain.STATE, "BTCUSDT", "position")) <= 3600

        # PORTFOLIO: PnL in KRW and USDT through the mark xrate, balances per account.
        portfolio = msgspec.json.decode(client.get(session_keys(Domain.PORTFOLIO)))
        assert portfolio["fx_usdt_krw"] == "1400.0" and portfolio["missing_fx"] == []
        krw = Decimal(portfolio["realized_pnl"]["KRW"])
        usdt = Decimal(portfolio["realized_pnl"]["USDT"])
        assert krw == sum(Decimal(v["realized_pnl"]["KRW"]) for v in portfolio["venues"].values())
        assert abs(krw / Decimal(1400) - usdt) < Decimal("0.01")
        assert set(portfolio["balances"]) == {"BINANCE-001", "UPBIT-001"}

        # GUARD + COOLDOWN from the guard's message; SESSION metadata, marked stopped in PostgreSQL.
        assert decode_guard_state(client.get(session_keys(Domain.GUARD))).state["halted"] is False
        session = msgspec.json.decode(client.get(session_keys(Domain.STATE)))
        assert (session["session_id"], session["mode"], session["config_hash"]) == (sid, "backtest", "cafe")
        status = pg_fetch(pg_dsn, schema, "SELECT status FROM sessions WHERE session_id = $1", sid)[0][
            "status"
        ]
        assert status == "stopped"
        client.close()

        # Simulated time without flooding: 3 days are 259,200 simulated seconds. Flush alerts fire only
        # after activity; the refresh timer fires once a simulated minute.
        simulated_minutes = DAYS * 24 * 60
        assert bridge.flush_alerts <= 12
        assert bridge.refreshes <= simulated_minutes
        assert bridge.flushes <= bridge.flush_alerts + bridge.refreshes + 2
    finally:
        engine.dispose()


def test_a_second_backtest_on_the_same_session_resumes_from_its_snapshot(
    schema: str,
    pg_dsn: str,
    redis_url: str,
    sid: str,
) -> None:
    engine, _, strategy = run_backtest(sid, schema, redis_url, pg_dsn)
    assert engine.cache.get(SESSION_START_CACHE_KEY) is None  # a new session: no order of it is from before
    engine.dispose()
    engine2 = BacktestEngine(
        BacktestEngineConfig(
            actors=[bridge_config(sid, schema, redis_url, pg_dsn)], logging=LoggingConfig(log_level="ERROR")
        )
    )
    try:
        bridge = next(a for a in engine2.trader.actors() if isinstance(a, StateBridge))
        engine2.add_venue(
            Venue("BINANCE"),
            OmsType.NETTING,
            AccountType.CASH,
            base_currency=None,
            starting_balances=[Money(100_000, USDT)],
        )
        engine2.add_instrument(TestInstrumentProvider.btcusdt_binance())
        engine2.add_data(quotes(TestInstrumentProvider.btcusdt_binance(), upbit_krw_btc())[:20:2])
        engine2.run()
        assert bridge.session is not None and bridge.session.starts == 2
        resumed = engine2.cache.get(RESUME_CACHE_KEY.format(symbol="BTCUSDT"))
        assert decode_pair_snapshot(resumed) == strategy.published[-1]
        # when the session first started (its orders since then are the strategy's to adopt when it has no state)
        started_ns = int(engine2.cache.get(SESSION_START_CACHE_KEY))
        assert started_ns == int(bridge.session.started_at.timestamp()) * 1_000_000_000
        assert bridge.session.resumed_at is not None and bridge.session.started_at < bridge.session.resumed_at
    finally:
        engine2.dispose()
