"""
The fake venue's state: markets, books, balances and a small order engine with Upbit's rules.

Rules kept (upbit-api.md §1.3, §5): limit / market-buy-by-amount (``price``) / market-sell (``market``) /
best-price (``best`` + ioc|fok) orders; IOC, FOK, post-only; prices on the tick grid (``invalid_price_*``);
minimum order total (``under_min_total_*``); balance with the fee reserved on bids (``insufficient_funds_*``);
identifiers unique forever (even after a failed attempt); a market buy that cannot spend its last won ends
in ``cancel`` with the dust refunded; cancels are asynchronous. Marketable orders take liquidity from the
current book (walking levels, the book itself is not depleted); resting orders fill when a test calls
:meth:`FakeExchange.fill_order`.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from decimal import ROUND_DOWN
from decimal import Decimal
from typing import Any

from adapters.upbit.tick_scheme import krw_tick_size
from tests.fakes.upbit import fixtures

KST = timezone(timedelta(hours=9))
ZERO = Decimal(0)
VOLUME_STEP = Decimal("0.00000001")


def fmt(value: Decimal | int | None) -> str | None:
    """Format a decimal the way the exchange REST API does (plain, no exponent, no trailing zeros)."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def now_ms() -> int:
    return int(datetime.now(tz=KST).timestamp() * 1000)


def iso_kst(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=KST).isoformat(timespec="seconds")


class ExchangeError(Exception):
    """A refusal: the HTTP status and the error body to send."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body.decode(errors="replace"))
        self.status = status
        self.body = body


def _error(status: int, name: str, message: str) -> ExchangeError:
    try:
        return ExchangeError(status, fixtures.recorded_error(name))
    except KeyError:
        return ExchangeError(status, fixtures.error_body(name, message))


@dataclass
class FakeTrade:
    uuid: str
    market: str
    side: str
    price: Decimal
    volume: Decimal
    funds: Decimal
    fee: Decimal
    is_maker: bool
    ts_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "uuid": self.uuid,
            "price": fmt(self.price),
            "volume": fmt(self.volume),
            "funds": fmt(self.funds),
            "trend": "up" if self.side == "bid" else "down",
            "created_at": iso_kst(self.ts_ms),
            "side": self.side,
        }


@dataclass
class FakeOrder:
    uuid: str
    market: str
    side: str
    ord_type: str
    price: Decimal | None
    volume: Decimal | None
    time_in_force: str | None
    identifier: str | None
    smp_type: str | None
    fee_rate: Decimal
    created_ms: int
    state: str = "wait"
    executed_volume: Decimal = ZERO
    executed_funds: Decimal = ZERO
    paid_fee: Decimal = ZERO
    reserved_fee: Decimal = ZERO
    locked: Decimal = ZERO
    trades: list[FakeTrade] = field(default_factory=list)
    superseded_by: str | None = None  # cancel_and_new
    accepted_json: dict[str, Any] | None = None  # the creation answer (state "wait", nothing executed yet)

    @property
    def remaining_volume(self) -> Decimal | None:
        return None if self.volume is None else self.volume - self.executed_volume

    @property
    def is_open(self) -> bool:
        return self.state in ("wait", "watch")

    def to_json(self, with_trades: bool = False, list_fields: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uuid": self.uuid,
            "side": self.side,
            "ord_type": self.ord_type,
        }
        if self.price is not None:
            out["price"] = fmt(self.price)
        out["state"] = self.state
        out["market"] = self.market
        out["created_at"] = iso_kst(self.created_ms)
        if self.volume is not None:
            out["volume"] = fmt(self.volume)
            out["remaining_volume"] = fmt(self.remaining_volume)
            out["prevented_volume"] = "0"
        out["reserved_fee"] = fmt(self.reserved_fee)
        out["remaining_fee"] = fmt(max(ZERO, self.reserved_fee - self.paid_fee))
        out["paid_fee"] = fmt(self.paid_fee)
        out["locked"] = fmt(self.locked)
        out["prevented_locked"] = "0"
        out["executed_volume"] = fmt(self.executed_volume)
        if list_fields:
            out["executed_funds"] = fmt(self.executed_funds)
        out["trades_count"] = len(self.trades)
        if self.time_in_force is not None:
            out["time_in_force"] = self.time_in_force
        if self.identifier is not None:
            out["identifier"] = self.identifier
        if self.smp_type is not None:
            out["smp_type"] = self.smp_type
        if with_trades:
            out["trades"] = [t.to_json() for t in self.trades]
        return out


@dataclass
class Market:
    code: str
    row: dict[str, Any]
    tick_size: Decimal
    book: list[dict[str, Decimal]]
    price: Decimal
    trades: list[dict[str, Any]] = field(default_factory=list)  # public trades, newest first
    candles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def quote(self) -> str:
        return self.code.split("-", 1)[0]

    @property
    def base(self) -> str:
        return self.code.split("-", 1)[1]


OrderListener = Callable[[FakeOrder, FakeTrade | None], None]
AssetListener = Callable[[list[str]], None]


class FakeExchange:
    """Markets, balances and orders of one Upbit account."""

    def __init__(self) -> None:
        self.markets: dict[str, Market] = {}
        self.balances: dict[str, list[Decimal]] = {}  # currency -> [free, locked]
        self.orders: dict[str, FakeOrder] = {}
        self.identifiers: dict[str, str | None] = {}  # every identifier ever sent -> uuid (None: refused)
        self.order_listeners: list[OrderListener] = []
        self.asset_listeners: list[AssetListener] = []
        self.load_default_markets()
        for row in fixtures.load("rest_accounts.json"):
            self.balances[row["currency"]] = [Decimal(row["balance"]), Decimal(row["locked"])]

    # -- markets --------------------------------------------------------------------------------------
    def load_default_markets(self) -> None:
        prices = fixtures.ticker_prices()
        for row in fixtures.market_rows():
            code = row["market"]
            price = prices.get(code, Decimal("0.00025") if code.startswith("BTC-") else Decimal(1000))
            self.add_market(row, price)
        btc = self.markets["KRW-BTC"]
        for interval in ("seconds", "minutes_1", "days", "weeks", "months", "years"):
            btc.candles[interval] = list(fixtures.load(f"rest_candles_{interval}.json"))
        btc.trades = list(fixtures.load("rest_trades_ticks_KRW-BTC.json"))

    def add_market(self, row: dict[str, Any], price: Decimal, tick_size: Decimal | None = None) -> Market:
        code = row["market"]
        tick = tick_size or fixtures.tick_size_for(code, price)
        market = Market(code, row, tick, fixtures.derived_book(code, price, tick), price)
        if code == "KRW-BTC":
            market.price = market.book[0]["bid_price"]
        self.markets[code] = market
        return market

    def delist(self, code: str) -> None:
        """Remove a pair (Upbit drops delisted pairs from market/all)."""
        self.markets.pop(code, None)

    def set_book(self, code: str, units: list[dict[str, Decimal]]) -> None:
        self.markets[code].book = units

    def fee_rate(self, code: str) -> Decimal:
        return Decimal("0.0005") if code.startswith("KRW-") else Decimal("0.0025")

    def min_total(self, code: str) -> Decimal:
        return {"KRW": Decimal(5000), "BTC": Decimal("0.00005"), "USDT": Decimal("0.5")}.get(
            code.split("-", 1)[0],
            Decimal(0),
        )

    def tick_for(self, code: str, price: Decimal) -> Decimal:
        if code.startswith("KRW-"):
            return krw_tick_size(price)
        return self.markets[code].tick_size

    # -- balances -------------------------------------------------------------------------------------
    def set_balance(self, currency: str, free: Decimal | str, locked: Decimal | str = ZERO) -> None:
        self.balances[currency] = [Decimal(free), Decimal(locked)]
        self._assets([currency])

    def _account(self, currency: str) -> list[Decimal]:
        return self.balances.setdefault(currency, [ZERO, ZERO])

    def account_rows(self) -> list[dict[str, Any]]:
        return [self.account_row(c) for c, (free, locked) in self.balances.items() if free or locked or c == "KRW"]

    def account_row(self, currency: str) -> dict[str, Any]:
        free, locked = self._account(currency)
        return {
            "currency": currency,
            "balance": fmt(free),
            "locked": fmt(locked),
            "avg_buy_price": "0",
            "avg_buy_price_modified": currency == "KRW",
            "unit_currency": "KRW",
        }

    def _move(self, currency: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        account = self._account(currency)
        account[0] += free
        account[1] += locked

    # -- events ---------------------------------------------------------------------------------------
    def _order_event(self, order: FakeOrder, trade: FakeTrade | None = None) -> None:
        for listener in self.order_listeners:
            listener(order, trade)

    def _assets(self, currencies: list[str]) -> None:
        for listener in self.asset_listeners:
            listener(currencies)

    # -- orders ---------------------------------------------------------------------------------------
    def chance(self, code: str) -> dict[str, Any]:
        if code not in self.markets:
            raise ExchangeError(404, fixtures.raw("rest_error_404_code_not_found.json"))
        market = self.markets[code]
        body = fixtures.load("rest_orders_chance_KRW-BTC.json")
        rate = fmt(self.fee_rate(code))
        body.update({"bid_fee": rate, "ask_fee": rate, "maker_bid_fee": rate, "maker_ask_fee": rate})
        body["market"].update({"id": code, "name": f"{market.base}/{market.quote}"})
        body["market"]["bid"] = {"currency": market.quote, "min_total": fmt(self.min_total(code))}
        body["market"]["ask"] = {"currency": market.base, "min_total": fmt(self.min_total(code))}
        body["bid_account"] = self.account_row(market.quote)
        body["ask_account"] = self.account_row(market.base)
        return body

    def place(self, body: dict[str, Any], test_only: bool = False) -> FakeOrder:
        """Validate and place (or, with ``test_only``, only validate) an order from a POST body."""
        identifier = body.get("identifier")
        if identifier is not None and identifier in self.identifiers and not test_only:
            raise _error(400, "duplicated_identifier", "이미 사용된 identifier 입니다.")
        try:
            order = self._validate(body)
        except ExchangeError:
            if identifier is not None and not test_only:
                self.identifiers[identifier] = None  # a refused identifier stays used
            raise
        if test_only:
            return order
        if identifier is not None:
            self.identifiers[identifier] = order.uuid
        self._reserve(order)
        self.orders[order.uuid] = order
        order.accepted_json = order.to_json()  # Upbit answers with the order as accepted, before matching
        self._order_event(order)
        self._match(order)
        return order

    def _validate(self, body: dict[str, Any]) -> FakeOrder:
        code = body.get("market")
        if not code:
            raise _error(400, "validation_error", "market is missing")
        if code not in self.markets:
            raise ExchangeError(404, fixtures.raw("rest_error_404_code_not_found.json"))
        side = body.get("side")
        if side not in ("bid", "ask"):
            raise _error(400, "validation_error", "side is missing, side does not have a valid value")
        ord_type = body.get("ord_type")
        tif = body.get("time_in_force")
        price = Decimal(body["price"]) if body.get("price") is not None else None
        volume = Decimal(body["volume"]) if body.get("volume") is not None else None
        create_error = f"create_{side}_error"
        if ord_type == "limit":
            if price is None or volume is None:
                raise _error(400, create_error, "limit orders need price and volume")
        elif ord_type == "price":
            if side != "bid" or price is None or volume is not None:
                raise _error(400, create_error, "ord_type=price is a bid with a price (total) and no volume")
        elif ord_type == "market":
            if side != "ask" or volume is None or price is not None:
                raise _error(400, create_error, "ord_type=market is an ask with a volume and no price")
        elif ord_type == "best":
            if tif not in ("ioc", "fok"):
                raise _error(400, create_error, "best orders need time_in_force ioc or fok")
            if (side == "bid") != (price is not None) or (side == "ask") != (volume is not None):
                raise _error(400, create_error, "best bid takes price (total), best ask takes volume")
        else:
            raise _error(400, "validation_error", "ord_type does not have a valid value")
        if tif not in (None, "ioc", "fok", "post_only"):
            raise _error(400, "validation_error", "time_in_force does not have a valid value")
        if tif == "post_only" and body.get("smp_type"):
            raise _error(400, create_error, "post_only cannot be combined with smp_type")
        if volume is not None and (volume <= 0 or volume != volume.quantize(VOLUME_STEP, ROUND_DOWN)):
            raise _error(400, f"invalid_volume_{side}", "volume has more than 8 decimals or is not positive")
        if price is not None and price <= 0:
            raise _error(400, f"invalid_price_{side}", "price must be positive")
        if ord_type == "limit":
            assert price is not None
            if price % self.tick_for(code, price) != 0:
                raise _error(400, f"invalid_price_{side}", "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.")
        market = self.markets[code]
        if ord_type == "limit":
            total = price * volume  # type: ignore[operator]
        elif ord_type in ("price", "best") and side == "bid":
            total = price  # type: ignore[assignment]
        else:
            best_bid = market.book[0]["bid_price"] if market.book else ZERO
            total = volume * best_bid  # type: ignore[operator]
        if total < self.min_total(code):
            raise _error(400, f"under_min_total_{side}", "최소주문금액 이상으로 주문해주세요.")
        fee_rate = self.fee_rate(code)
        if side == "bid":
            needed = total * (1 + fee_rate)
            if self._account(market.quote)[0] < needed:
                raise _error(400, "insufficient_funds_bid", "주문가능한 금액(KRW)이 부족합니다.")
        elif self._account(market.base)[0] < volume:  # type: ignore[operator]
            raise _error(400, "insufficient_funds_ask", "주문가능한 금액이 부족합니다.")
        return FakeOrder(
            uuid=str(uuidlib.uuid4()),
            market=code,
            side=side,
            ord_type=ord_type,
            price=price,
            volume=volume,
            time_in_force=tif,
            identifier=body.get("identifier"),
            smp_type=body.get("smp_type"),
            fee_rate=fee_rate,
            created_ms=now_ms(),
        )

    def _reserve(self, order: FakeOrder) -> None:
        market = self.markets[order.market]
        if order.side == "bid":
            total = order.price * order.volume if order.ord_type == "limit" else order.price  # type: ignore[operator]
            order.reserved_fee = total * order.fee_rate  # type: ignore[operator]
            order.locked = total + order.reserved_fee  # type: ignore[operator]
            self._move(market.quote, free=-order.locked, locked=order.locked)
        else:
            order.locked = order.volume  # type: ignore[assignment]
            self._move(market.base, free=-order.locked, locked=order.locked)
        self._assets([market.quote if order.side == "bid" else market.base])

    def _marketable_levels(self, order: FakeOrder) -> list[tuple[Decimal, Decimal]]:
        book = self.markets[order.market].book
        if order.side == "bid":
            levels = [(u["ask_price"], u["ask_size"]) for u in book if u["ask_price"] and u["ask_size"]]
            if order.ord_type == "limit":
                levels = [lv for lv in levels if lv[0] <= order.price]  # type: ignore[operator]
        else:
            levels = [(u["bid_price"], u["bid_size"]) for u in book if u["bid_price"] and u["bid_size"]]
            if order.ord_type == "limit":
                levels = [lv for lv in levels if lv[0] >= order.price]  # type: ignore[operator]
        if order.ord_type == "best":
            levels = levels[:1]
        return levels

    def _match(self, order: FakeOrder) -> None:
        levels = self._marketable_levels(order)
        if order.time_in_force == "post_only" and levels:
            self._finish(order, "cancel")  # would take liquidity
            return
        by_amount = order.volume is None  # market/best bid for a quote total
        if order.time_in_force == "fok" or (order.ord_type == "best" and order.time_in_force == "fok"):
            if by_amount:
                available = sum((p * s for p, s in levels), ZERO)
                if available < order.price:  # type: ignore[operator]
                    self._finish(order, "cancel")
                    return
            elif sum((s for _, s in levels), ZERO) < order.volume:  # type: ignore[operator]
                self._finish(order, "cancel")
                return
        for level_price, level_size in levels:
            if by_amount:
                left = order.price - order.executed_funds  # type: ignore[operator]
                volume = min(level_size, (left / level_price).quantize(VOLUME_STEP, ROUND_DOWN))
            else:
                volume = min(level_size, order.remaining_volume)  # type: ignore[type-var]
            if volume <= 0:
                break
            self._fill(order, level_price, volume, is_maker=False)
        if by_amount:
            if order.executed_funds == order.price:
                self._finish(order, "done")
            else:
                self._finish(order, "cancel")  # the dust that cannot buy 1e-8 more is refunded
        elif order.remaining_volume == 0:
            self._finish(order, "done")
        elif order.ord_type in ("market", "best") or order.time_in_force in ("ioc", "fok"):
            self._finish(order, "cancel")

    def _fill(self, order: FakeOrder, price: Decimal, volume: Decimal, is_maker: bool) -> FakeTrade:
        market = self.markets[order.market]
        price = Decimal(price)  # recorded book prices are JSON ints
        funds = price * volume
        fee = funds * order.fee_rate
        trade = FakeTrade(str(uuidlib.uuid4()), order.market, order.side, price, volume, funds, fee, is_maker, now_ms())
        order.trades.append(trade)
        order.executed_volume += volume
        order.executed_funds += funds
        order.paid_fee += fee
        if order.side == "bid":
            # a limit bid reserved price * volume * (1 + fee); an amount bid reserved what it spends
            reserved = order.price * volume * (1 + order.fee_rate) if order.ord_type == "limit" else funds + fee  # type: ignore[operator]
            release = min(reserved, order.locked)
            order.locked -= release
            self._move(market.quote, free=release - funds - fee, locked=-release)
            self._move(market.base, free=volume)
        else:
            order.locked -= volume
            self._move(market.base, locked=-volume)
            self._move(market.quote, free=funds - fee)
        market.price = price
        self._order_event(order, trade)
        self._assets([market.quote, market.base])
        return trade

    def _finish(self, order: FakeOrder, state: str) -> None:
        market = self.markets[order.market]
        if order.locked:
            currency = market.quote if order.side == "bid" else market.base
            self._move(currency, free=order.locked, locked=-order.locked)
            order.locked = ZERO
            self._assets([currency])
        order.state = state
        self._order_event(order)

    def fill_order(
        self, uuid: str, volume: Decimal | str | None = None, price: Decimal | str | None = None
    ) -> FakeTrade:
        """A counterparty trades against a resting order (maker fill) at its limit price by default."""
        order = self.orders[uuid]
        if not order.is_open:
            raise ValueError(f"order {uuid} is {order.state}")
        fill_volume = Decimal(volume) if volume is not None else order.remaining_volume
        assert fill_volume is not None and 0 < fill_volume <= order.remaining_volume  # type: ignore[operator]
        trade = self._fill(order, Decimal(price) if price is not None else order.price, fill_volume, True)  # type: ignore[arg-type]
        if order.remaining_volume == 0:
            self._finish(order, "done")
        return trade

    def find(self, uuid: str | None, identifier: str | None) -> FakeOrder:
        if uuid is not None:
            order = self.orders.get(uuid)
        else:
            found = self.identifiers.get(identifier) if identifier is not None else None
            order = self.orders.get(found) if found else None
        if order is None:
            raise ExchangeError(404, fixtures.recorded_error("order_not_found"))
        return order

    def cancel(self, order: FakeOrder) -> None:
        """Complete a cancel (the REST call only requests it)."""
        if order.is_open:
            self._finish(order, "cancel")
