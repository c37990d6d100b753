"""
Instrument provider: ``CurrencyPair`` per Upbit market.

Sources, in order (upbit-api.md §1.1, §5):

- ``GET /v1/market/all?is_details=true``: the listed pairs and their ``market_event`` warning/caution flags
  (kept in ``Instrument.info``). There are no tick, lot or status fields: a delisted pair just disappears,
  so an id that is not listed is reported as "unknown or delisted".
- ``GET /v1/orderbook/instruments``: the authoritative tick size per pair. KRW pairs also get the
  ``UPBIT_KRW`` tick scheme (``adapters.upbit.tick_scheme``), because a KRW pair's tick changes with its
  price band; their price precision leaves room for the band one decade below the current price.
- ``GET /v1/orders/chance`` (with keys): fee rates and the minimum/maximum order total, read once per quote
  market (they are set per quote market). Without keys the documented defaults are used.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Currency

from adapters.upbit.config import UpbitInstrumentProviderConfig
from adapters.upbit.constants import UPBIT_DEFAULT_FEES
from adapters.upbit.constants import UPBIT_DEFAULT_MAX_TOTAL
from adapters.upbit.constants import UPBIT_DEFAULT_MIN_TOTAL
from adapters.upbit.constants import UPBIT_QUOTE_CURRENCIES
from adapters.upbit.constants import UPBIT_SIZE_PRECISION
from adapters.upbit.constants import UPBIT_VENUE
from adapters.upbit.http.account import UpbitAccountHttpAPI
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.error import UpbitError
from adapters.upbit.http.market import UpbitMarketHttpAPI
from adapters.upbit.parsing import decimal_precision
from adapters.upbit.parsing import parse_money
from adapters.upbit.parsing import parse_price
from adapters.upbit.parsing import parse_quantity
from adapters.upbit.schemas.account import UpbitOrderChance
from adapters.upbit.schemas.market import UpbitMarketInfo
from adapters.upbit.tick_scheme import UPBIT_KRW_TICK_SCHEME
from adapters.upbit.tick_scheme import krw_tick_size

_CHUNK = 100  # markets per quotation request (comma list in the URL)


class UpbitUnknownMarketError(ValueError):
    """An instrument id that is not an Upbit market (unknown, or delisted: it left /v1/market/all)."""


def upbit_market(instrument_id: InstrumentId) -> str:
    """Return the Upbit pair code (``KRW-BTC``) of an instrument id (``KRW-BTC.UPBIT``)."""
    return instrument_id.symbol.value


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def krw_price_precision(tick_size: Decimal, price: Decimal | None) -> int:
    """
    Return the price precision of a KRW pair: enough for its tick and for the band one decade lower.

    A KRW pair's tick follows its price band (``tick_scheme.KRW_TICK_TABLE``); with that room a fall of
    the price into a finer band does not produce prices the instrument cannot represent.
    """
    precision = decimal_precision(tick_size)
    if price is not None and price > 0:
        precision = max(precision, decimal_precision(krw_tick_size(price / 10)))
    return precision


def upbit_currency_pair(
    market: str,
    tick_size: Decimal,
    price: Decimal | None,
    taker_fee: Decimal | None = None,
    maker_fee: Decimal | None = None,
    min_total: Decimal | None = None,
    max_total: Decimal | None = None,
    info: dict[str, Any] | None = None,
    ts: int = 0,
    venue: Venue = UPBIT_VENUE,
) -> CurrencyPair:
    """
    Build the ``CurrencyPair`` of one Upbit market: the one home of an Upbit instrument's specification.

    The provider calls it with what the API says; without ``orders/chance`` the fees and order totals are
    the documented defaults of the quote market (``adapters.upbit.constants``). The backtest catalog builds
    its Upbit instruments through it too.

    Parameters
    ----------
    market : str
        Upbit's ``QUOTE-BASE`` code, e.g. ``"KRW-BTC"``.
    tick_size : Decimal
        The pair's tick (``/v1/orderbook/instruments``; for KRW pairs the tick of the current price band).
    price : Decimal, optional
        A current price: a KRW pair's precision leaves room for the band one decade below it.
    """
    quote_code, _, base_code = market.partition("-")
    if not quote_code or not base_code:
        raise ValueError(f"pair code {market!r} is not QUOTE-BASE")
    if quote_code == "KRW":
        price_precision = krw_price_precision(tick_size, price)
        tick_scheme: str | None = UPBIT_KRW_TICK_SCHEME.name
    else:
        price_precision = decimal_precision(tick_size)
        tick_scheme = None
    default_fee = UPBIT_DEFAULT_FEES.get(quote_code, UPBIT_DEFAULT_FEES["BTC"])
    taker_fee = default_fee if taker_fee is None else taker_fee
    maker_fee = default_fee if maker_fee is None else maker_fee
    min_total = UPBIT_DEFAULT_MIN_TOTAL.get(quote_code, Decimal(0)) if min_total is None else min_total
    max_total = UPBIT_DEFAULT_MAX_TOTAL.get(quote_code) if max_total is None else max_total
    quote = Currency.from_str(quote_code, strict=False)
    info = dict(info or {})
    info.setdefault("tick_size", format(tick_size, "f"))
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(market), venue),
        raw_symbol=Symbol(market),
        base_currency=Currency.from_str(base_code, strict=False),
        quote_currency=quote,
        price_precision=price_precision,
        size_precision=UPBIT_SIZE_PRECISION,
        price_increment=parse_price(tick_size, price_precision),
        size_increment=parse_quantity(Decimal(1).scaleb(-UPBIT_SIZE_PRECISION), UPBIT_SIZE_PRECISION),
        min_notional=parse_money(min_total, quote) if min_total > 0 else None,
        max_notional=parse_money(max_total, quote) if max_total else None,
        min_price=parse_price(tick_size, price_precision),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        tick_scheme_name=tick_scheme,
        ts_event=ts,
        ts_init=ts,
        info=info,
    )


class UpbitInstrumentProvider(InstrumentProvider):
    """
    Provides Upbit spot instruments (KRW, BTC and USDT quote markets).

    Parameters
    ----------
    client : UpbitHttpClient
        The Upbit HTTP client (with keys, fees and minimums come from orders/chance).
    clock : LiveClock
        The clock for the provider.
    config : InstrumentProviderConfig, optional
        The configuration (``UpbitInstrumentProviderConfig`` adds quote markets and warning filtering).
    venue : Venue, default UPBIT_VENUE
        The venue of the instrument ids.

    Filters (``load_all(filters=...)``)
    -----------------------------------
    ``quote_currencies``: list of quote codes; ``markets``: list of pair codes;
    ``include_warning_markets``: bool.

    """

    def __init__(
        self,
        client: UpbitHttpClient,
        clock: LiveClock,
        config: InstrumentProviderConfig | None = None,
        venue: Venue = UPBIT_VENUE,
    ) -> None:
        super().__init__(config=config)
        self._client = client
        self._clock = clock
        self._venue = venue
        self._http_market = UpbitMarketHttpAPI(client)
        self._http_account = UpbitAccountHttpAPI(client) if client.has_credentials else None
        upbit_config = config if isinstance(config, UpbitInstrumentProviderConfig) else None
        self._quote_currencies: tuple[str, ...] = (
            upbit_config.quote_currencies if upbit_config else UPBIT_QUOTE_CURRENCIES
        )
        self._include_warnings = upbit_config.include_warning_markets if upbit_config else True
        self._query_chance = upbit_config.query_order_chance if upbit_config else True
        self._market_rows: dict[str, UpbitMarketInfo] = {}

    @property
    def listed_markets(self) -> frozenset[str]:
        """Return the pair codes listed at the last load (all quote markets)."""
        return frozenset(self._market_rows)

    async def load_all_async(self, filters: dict | None = None) -> None:
        filters = filters or {}
        quotes = set(filters.get("quote_currencies") or self._quote_currencies)
        only = set(filters.get("markets") or ())
        include_warnings = filters.get("include_warning_markets", self._include_warnings)
        rows = await self._query_markets()
        selected = [
            r
            for r in rows
            if r.quote_currency in quotes and (not only or r.market in only) and (include_warnings or not r.has_warning)
        ]
        self._log.info(f"Loading {len(selected)} of {len(rows)} Upbit markets (quotes {sorted(quotes)})")
        await self._load_rows(selected)

    async def load_ids_async(
        self,
        instrument_ids: list[InstrumentId],
        filters: dict | None = None,
    ) -> None:
        if not instrument_ids:
            self._log.info("No instrument IDs given for loading")
            return
        for instrument_id in instrument_ids:
            if instrument_id.venue != self._venue:
                raise ValueError(f"{instrument_id} is not a {self._venue} instrument")
        rows = {r.market: r for r in await self._query_markets()}
        missing = [i.value for i in instrument_ids if upbit_market(i) not in rows]
        if missing:
            raise UpbitUnknownMarketError(
                f"not listed on Upbit: {', '.join(missing)} (unknown pair, or delisted: Upbit drops "
                "delisted pairs from /v1/market/all; pair codes are QUOTE-BASE in upper case, e.g. KRW-BTC)",
            )
        await self._load_rows([rows[upbit_market(i)] for i in instrument_ids])

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    async def _query_markets(self) -> list[UpbitMarketInfo]:
        rows = await self._http_market.query_markets(is_details=True)
        self._market_rows = {r.market: r for r in rows}
        return rows

    async def _load_rows(self, rows: list[UpbitMarketInfo]) -> None:
        if not rows:
            return
        markets = [r.market for r in rows]
        ticks: dict[str, tuple[Decimal, list[str]]] = {}
        prices: dict[str, Decimal] = {}
        for chunk in _chunks(markets):
            for inst in await self._http_market.query_orderbook_instruments(chunk):
                ticks[inst.market] = (inst.tick_size, inst.supported_levels)
            for ticker in await self._http_market.query_tickers(chunk):
                prices[ticker.market] = ticker.trade_price
        chances = await self._query_chances(rows)
        ts = self._clock.timestamp_ns()
        for row in rows:
            try:
                tick, price = ticks.get(row.market), prices.get(row.market)
                instrument = self._parse_instrument(row, tick, price, chances, ts)
            except ValueError as e:
                self._log.warning(f"Cannot parse Upbit market {row.market}: {e}")
                continue
            self.add_currency(instrument.base_currency)
            self.add_currency(instrument.quote_currency)
            self.add(instrument)

    async def _query_chances(self, rows: list[UpbitMarketInfo]) -> dict[str, UpbitOrderChance]:
        if self._http_account is None or not self._query_chance:
            return {}
        chances: dict[str, UpbitOrderChance] = {}
        for row in rows:
            quote = row.quote_currency
            if quote in chances:
                continue
            try:
                chances[quote] = await self._http_account.query_order_chance(row.market)
            except UpbitError as e:
                self._log.warning(
                    f"Cannot read orders/chance for {row.market} ({e}); using the {quote} defaults",
                )
        return chances

    def _parse_instrument(
        self,
        row: UpbitMarketInfo,
        tick: tuple[Decimal, list[str]] | None,
        price: Decimal | None,
        chances: dict[str, UpbitOrderChance],
        ts: int,
    ) -> CurrencyPair:
        quote_code, base_code = row.quote_currency, row.base_currency
        if not quote_code or not base_code:
            raise ValueError(f"pair code {row.market!r} is not QUOTE-BASE")
        if tick is not None:
            tick_size, levels = tick
        elif quote_code == "KRW" and price is not None:
            tick_size, levels = krw_tick_size(price), []  # the table, when instruments had no row
        else:
            raise ValueError("no tick size (orderbook/instruments has no row for it)")
        chance = chances.get(quote_code)
        info: dict[str, Any] = {
            "market": row.info(),
            "warning": row.has_warning,
            "supported_levels": list(levels),
            "fees_source": "orders/chance" if chance is not None else "defaults",
        }
        if chance is not None:
            info["order_chance"] = msgspec.to_builtins(chance.market)
            return upbit_currency_pair(
                row.market,
                tick_size,
                price,
                taker_fee=chance.taker_fee,
                maker_fee=chance.maker_fee,
                min_total=max(chance.market.bid.min_total, chance.market.ask.min_total),
                max_total=chance.market.max_total,
                info=info,
                ts=ts,
                venue=self._venue,
            )
        return upbit_currency_pair(row.market, tick_size, price, info=info, ts=ts, venue=self._venue)
