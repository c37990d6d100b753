"""Exact price series from the catalog (bar closes or quote mids), looked up as of a time."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.persistence.catalog import ParquetDataCatalog


@dataclass
class PriceSeries:
    """A time series of exact prices (bar closes or quote mids), looked up as of a time."""

    ts: list[int]
    px: list[Decimal]

    def at(self, ts: int) -> Decimal | None:
        """The last price stamped at or before ``ts``."""
        i = bisect.bisect_right(self.ts, ts)
        return self.px[i - 1] if i else None

    @property
    def last(self) -> Decimal | None:
        return self.px[-1] if self.px else None


def load_series(catalog_path: Path, instrument_id: str, kind: str, spec: str, start: int, end: int) -> PriceSeries:
    """Load bar closes (``kind="bars"``, bar spec ``spec``) or quote mids of one instrument from the catalog."""
    catalog = ParquetDataCatalog(str(catalog_path))
    if kind == "bars":
        bars: list[Bar] = catalog.bars(bar_types=[f"{instrument_id}-{spec}"], end=end)
        return PriceSeries([b.ts_init for b in bars], [b.close.as_decimal() for b in bars])
    quotes: list[QuoteTick] = catalog.quote_ticks(instrument_ids=[instrument_id], start=start, end=end)
    return PriceSeries(
        [q.ts_init for q in quotes],
        [(q.bid_price.as_decimal() + q.ask_price.as_decimal()) / 2 for q in quotes],
    )
