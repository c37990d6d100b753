"""
Backtest node builder: a NautilusTrader ``BacktestNode`` over a ``ParquetDataCatalog`` with two cash venues.

- Venues BINANCE and UPBIT: ``CASH`` accounts, ``NETTING``, multi-currency, starting balances from the
  settings with an explicit zero for every currency the venue's instruments use (reference §9 P3).
- Data: the pair legs and the FX instrument from the catalog, as bars or quotes per ``backtest.data``.
- With bars, each venue fills through :class:`arb_plugin.fill_model.HalfSpreadFillModel` at the close
  -/+ the half-spread the strategy assumes.
- ``PortfolioConfig(use_mark_xrates=True)``: the strategy sets the USDT/KRW mark rate (reference §4, P4).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.config import BacktestDataConfig
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import BacktestRunConfig
from nautilus_trader.config import BacktestVenueConfig
from nautilus_trader.config import ImportableActorConfig
from nautilus_trader.config import ImportableFillModelConfig
from nautilus_trader.config import ImportableLatencyModelConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.errors import ArbPluginError
from arb_plugin.nodes.common import strategy_config
from arb_plugin.risk.gate import install_from_settings
from arb_plugin.settings import Settings


class BacktestError(ArbPluginError):
    """The backtest cannot run as asked (catalog, window, instruments)."""


_VENUES = ("BINANCE", "UPBIT")


@dataclass
class BacktestOutcome:
    """What a finished backtest hands to the report."""

    engine: BacktestEngine
    node: BacktestNode
    run_config: BacktestRunConfig
    settings: Settings
    catalog_path: Path
    start_ns: int
    end_ns: int
    wall_seconds: float
    instrument_ids: list[str] = field(default_factory=list)

    @property
    def strategy(self) -> Any:
        return self.engine.trader.strategies()[0]

    def dispose(self) -> None:
        self.node.dispose()


class BacktestProgressConfig(ActorConfig, frozen=True):
    """Configuration of :class:`BacktestProgress`."""

    start_ns: int
    end_ns: int
    interval_mins: int = 60


class BacktestProgress(Actor):
    """Draws a progress bar over simulated time (one timer tick per ``interval_mins``, no data handlers)."""

    def __init__(self, config: BacktestProgressConfig) -> None:
        super().__init__(config)
        self._t0_ns = config.start_ns
        self._span_ns = max(config.end_ns - config.start_ns, 1)
        self._tick_interval = timedelta(minutes=config.interval_mins)
        self._bar: Any = None

    def on_start(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=100, desc="backtest", unit="%", leave=False, bar_format="{l_bar}{bar}| {elapsed}")
        self.clock.set_timer("arb-progress", self._tick_interval, callback=self._tick)

    def _tick(self, event: Any) -> None:
        done = min(100, int((event.ts_event - self._t0_ns) * 100 / self._span_ns))
        if self._bar is not None and done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def on_stop(self) -> None:
        if self._bar is not None:
            self._bar.update(100 - self._bar.n)
            self._bar.close()


def _to_ns(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise BacktestError(f"{what}={value!r} is not a date/time (e.g. 2024-12-01 or 2024-12-01T09:00)") from e
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value)


def _starting_balances(settings: Settings, venue: str, currencies: set[str]) -> list[str]:
    given = list(settings.backtest.starting_balances.get(venue, ()))  # type: ignore[call-overload]
    have = {item.split(" ", 1)[1] for item in given}
    return given + [f"0 {code}" for code in sorted(currencies - have)]


def _catalog_window(catalog: ParquetDataCatalog, bar_types: list[str]) -> tuple[int, int]:
    first, last = None, None
    for bar_type in bar_types:
        intervals = catalog.get_intervals(data_cls=_bar_cls(), identifier=bar_type)
        if not intervals:
            raise BacktestError(f"the catalog has no data for {bar_type}")
        first = min(first or intervals[0][0], intervals[0][0])
        last = max(last or intervals[-1][1], intervals[-1][1])
    assert first is not None and last is not None
    return first, last


def _bar_cls() -> type:
    from nautilus_trader.model.data import Bar

    return Bar


def build_run_config(
    settings: Settings,
    catalog_path: Path,
    start: str | None = None,
    end: str | None = None,
    progress: bool = True,
    log_level: str = "ERROR",
    actors: Sequence[ImportableActorConfig] = (),
) -> tuple[BacktestRunConfig, int, int, list[str]]:
    """
    Build the ``BacktestRunConfig`` for the settings' pairs over the catalog (``actors``: added to the
    engine, e.g. the StateBridge of ``arb backtest --state``).

    Returns
    -------
    tuple
        The run config, the window's start and end (ns) and the instrument ids it loads.
    """
    catalog_path = Path(catalog_path)
    if not (catalog_path / "data").is_dir():
        raise BacktestError(f"{catalog_path} is not a ParquetDataCatalog (no data/ folder); run `arb catalog build`")
    catalog = ParquetDataCatalog(str(catalog_path))
    data = settings.backtest.data
    instruments = {inst.id.value: inst for inst in catalog.instruments()}
    legs, fx_ids = [], []
    for pair in settings.strategy.pairs:
        for iid in (pair.binance, pair.upbit, pair.fx):
            if iid not in instruments:
                raise BacktestError(
                    f"instrument {iid} is not in the catalog {catalog_path} (has: {sorted(instruments)})"
                )
        legs += [pair.binance, pair.upbit]
        fx_ids.append(pair.fx)
    legs, fx_ids = sorted(set(legs)), sorted(set(fx_ids))
    start_ns, end_ns = _to_ns(start or settings.backtest.start, "start"), _to_ns(end or settings.backtest.end, "end")

    data_configs: list[BacktestDataConfig] = []
    bar_types = []
    for ids, kind, spec in ((legs, data.market_data, data.bar_spec), (fx_ids, data.fx_data, data.fx_bar_spec)):
        if kind == "bars":
            types = [f"{iid}-{spec}" for iid in ids]
            bar_types += types
            data_configs.append(
                BacktestDataConfig(
                    catalog_path=str(catalog_path),
                    data_cls="nautilus_trader.model.data:Bar",
                    bar_types=types,
                    start_time=start_ns,
                    end_time=end_ns,
                ),
            )
        else:
            data_configs.append(
                BacktestDataConfig(
                    catalog_path=str(catalog_path),
                    data_cls="nautilus_trader.model.data:QuoteTick",
                    instrument_ids=ids,
                    start_time=start_ns,
                    end_time=end_ns,
                ),
            )
    if bar_types:
        first, last = _catalog_window(catalog, [t for t in bar_types if "MINUTE" in t] or bar_types)
        start_ns = max(start_ns or first, first) if start_ns else first
        end_ns = min(end_ns or last, last) if end_ns else last
    if start_ns is None or end_ns is None or start_ns >= end_ns:
        raise BacktestError(f"empty backtest window: start={start} end={end}")

    venues = []
    for venue in _VENUES:
        currencies = {
            code
            for iid, inst in instruments.items()
            if InstrumentId.from_str(iid).venue.value == venue
            for code in (inst.base_currency.code, inst.quote_currency.code)
        }
        fill_model = None
        if data.market_data == "bars":
            fill_model = ImportableFillModelConfig(
                fill_model_path="arb_plugin.fill_model:HalfSpreadFillModel",
                config_path="arb_plugin.fill_model:HalfSpreadFillModelConfig",
                config={"half_spread_bps": str(settings.strategy.bar_half_spread_bps)},
            )
        latency_ms = settings.backtest.latency_ms.get(venue, 0)  # type: ignore[call-overload]
        latency_model = None
        if latency_ms:
            latency_model = ImportableLatencyModelConfig(
                latency_model_path="nautilus_trader.backtest.models:LatencyModel",
                config_path="nautilus_trader.backtest.config:LatencyModelConfig",
                config={"base_latency_nanos": latency_ms * 1_000_000},
            )
        venues.append(
            BacktestVenueConfig(
                name=venue,
                oms_type="NETTING",
                account_type="CASH",
                base_currency=None,
                starting_balances=_starting_balances(settings, venue, currencies),
                fill_model=fill_model,
                latency_model=latency_model,
                bar_execution=True,
            ),
        )
    progress_actors = []
    if progress:
        progress_actors.append(
            ImportableActorConfig(
                actor_path="arb_plugin.nodes.backtest:BacktestProgress",
                config_path="arb_plugin.nodes.backtest:BacktestProgressConfig",
                config={"start_ns": start_ns, "end_ns": end_ns},
            ),
        )
    run = BacktestRunConfig(
        venues=venues,
        data=data_configs,
        engine=BacktestEngineConfig(
            strategies=[strategy_config(settings.strategy, data)],
            actors=[*progress_actors, *actors],
            portfolio=PortfolioConfig(use_mark_xrates=True),
            logging=LoggingConfig(log_level=log_level),
        ),
        start=start_ns,
        end=end_ns,
        dispose_on_completion=False,
        chunk_size=None,
        raise_exception=True,
    )
    return run, start_ns, end_ns, legs + fx_ids


def run_backtest(
    settings: Settings,
    catalog_path: Path | None = None,
    start: str | None = None,
    end: str | None = None,
    progress: bool = True,
    log_level: str = "ERROR",
    actors: Sequence[ImportableActorConfig] = (),
) -> BacktestOutcome:
    """Build and run the backtest (``actors``: see :func:`build_run_config`); the caller disposes the outcome."""
    catalog_path = Path(catalog_path or settings.backtest.catalog)
    run, start_ns, end_ns, ids = build_run_config(settings, catalog_path, start, end, progress, log_level, actors)
    node = BacktestNode(configs=[run])
    node.build()
    engine = node.get_engine(run.id)
    if engine is None:
        raise BacktestError("the backtest node built no engine")
    install_from_settings(engine, settings, settings.backtest.data)  # risk guards (arb_plugin.risk)
    t0 = time.perf_counter()
    node.run()
    wall = time.perf_counter() - t0
    return BacktestOutcome(engine, node, run, settings, catalog_path, start_ns, end_ns, wall, ids)
