"""
The Upbit execution client (spot, cash account, KRW/BTC/USDT markets).

Orders
------
- ``LIMIT`` -> ``ord_type=limit`` (GTC; IOC/FOK -> ``time_in_force``; post-only -> ``post_only``).
- ``MARKET`` SELL -> ``ord_type=market`` (a base volume).
- ``MARKET`` BUY only with ``quote_quantity=True`` -> ``ord_type=price`` (the quote amount to spend); a base
  quantity market buy is denied (Upbit cannot buy a base volume at market).
- ``MARKET`` with IOC or FOK -> best-price order (``ord_type=best``), buy by quote amount, sell by volume.

Identifiers and retries
-----------------------
The ``identifier`` of an order is its client order id; Upbit keeps identifiers unique forever, even after a
refused attempt, so each further attempt uses a fresh one (``<client order id>-r<n>``). A placement that
times out (or gets a 5xx) may have been executed: the order is looked up by identifier first, and only if
Upbit does not know it is it sent again, so a retry never creates a duplicate. A 429 means "not executed":
the rate limiter backs off and the next attempt goes out with a fresh identifier. A 2xx answer that does not
decode means the order exists: it is looked up the same way, never reported rejected. A cancel (or cancel-all)
that comes while a placement is unsettled is held until its outcome is known: sent as soon as the order exists,
or, if no attempt placed it, the order ends ``CANCELED`` and is never retried.

Events
------
Fills come from the private ``myOrder`` stream (``state=trade``: trade uuid, price, volume, fee, maker flag)
and are reconciled against ``GET /v1/order`` ``trades[]`` whenever an order ends, the stream reconnects or is
down (then orders are polled). A market buy that ends in ``cancel`` with executed volume is a fill, not a
cancel: its quote quantity becomes the executed base quantity (``OrderUpdated``) and its fills follow.
Cancels are asynchronous on Upbit: ``DELETE /v1/order`` only requests one, the cancel is confirmed by
``myOrder`` or, after ``cancel_confirm_secs``, by a lookup. Venue refusals become ``OrderRejected`` /
``OrderCancelRejected`` / ``OrderModifyRejected`` whose reason starts with the Upbit error name.
Modify is ``POST /v1/orders/cancel_and_new`` (a new venue order id for the same client order id). Upbit
cancels the old order before it answers, so the old order's end does not end the order until the outcome is
known; a lost answer is settled by looking the replacement up by its identifier (``<client order id>-m<n>``).
A price-only modify re-places ``remain_only`` (a fill still on its way cannot be placed again); a new quantity
is reduced by the executed volume read from the venue just before. A fill is applied once per trade uuid,
also across restarts (the trades NautilusTrader already holds for the order count).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import msgspec
import pandas as pd
from nautilus_trader.accounting.accounts.cash import CashAccount
from nautilus_trader.accounting.factory import AccountFactory
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.enums import LogColor
from nautilus_trader.common.enums import LogLevel
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import GenerateFillReports
from nautilus_trader.execution.messages import GenerateOrderStatusReport
from nautilus_trader.execution.messages import GenerateOrderStatusReports
from nautilus_trader.execution.messages import GeneratePositionStatusReports
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import QueryAccount
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.enums import order_type_to_str
from nautilus_trader.model.enums import time_in_force_to_str
from nautilus_trader.model.events import AccountState
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.orders import Order

from adapters.upbit.config import UpbitExecClientConfig
from adapters.upbit.enums import UpbitOrderSide
from adapters.upbit.enums import UpbitOrderType
from adapters.upbit.enums import UpbitTimeInForce
from adapters.upbit.http.account import UpbitAccountHttpAPI
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.error import UpbitError
from adapters.upbit.http.error import UpbitErrorName
from adapters.upbit.http.error import UpbitRateLimitError
from adapters.upbit.http.order import UpbitOrderHttpAPI
from adapters.upbit.parsing import format_decimal
from adapters.upbit.parsing import parse_money
from adapters.upbit.parsing import parse_price
from adapters.upbit.parsing import parse_quantity
from adapters.upbit.providers import UpbitInstrumentProvider
from adapters.upbit.providers import UpbitUnknownMarketError
from adapters.upbit.providers import upbit_market
from adapters.upbit.schemas.account import parse_account_balance
from adapters.upbit.schemas.order import UpbitOrder
from adapters.upbit.schemas.ws import UpbitWsControl
from adapters.upbit.schemas.ws import UpbitWsMyAsset
from adapters.upbit.schemas.ws import UpbitWsMyOrder
from adapters.upbit.schemas.ws import UpbitWsPrivateMsg
from adapters.upbit.websocket.private import UpbitPrivateWebSocketClient

_ATTEMPT_SUFFIX = re.compile(r"^(.*)-(?:r|m)\d+$")
_NAUTILUS_COID = re.compile(r"^O-\d{8}-\d{6}-")  # NautilusTrader's ClientOrderIdGenerator format
_MAX_CLOSED_WINDOW_MS = 7 * 24 * 3600 * 1000  # /v1/orders/closed answers for at most 7 days
_LOOKUP_FAILED = object()


class _Denied(ValueError):
    """An order Upbit cannot take as given: denied before anything is sent."""


@dataclass(frozen=True)
class _Fill:
    trade_id: str
    price: Decimal
    volume: Decimal
    fee: Decimal
    liquidity_side: LiquiditySide
    ts_event: int


class UpbitExecutionClient(LiveExecutionClient):
    """
    Provides an execution client for Upbit.

    Parameters
    ----------
    loop : asyncio.AbstractEventLoop
        The event loop for the client.
    client : UpbitHttpClient
        The Upbit HTTP client (with keys).
    msgbus : MessageBus
        The message bus for the client.
    cache : Cache
        The cache for the client.
    clock : LiveClock
        The clock for the client.
    instrument_provider : UpbitInstrumentProvider
        The instrument provider.
    base_url_ws_private : str
        The private WebSocket URL.
    config : UpbitExecClientConfig
        The configuration for the client.
    name : str, optional
        The custom client ID.

    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: UpbitHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: UpbitInstrumentProvider,
        base_url_ws_private: str,
        config: UpbitExecClientConfig,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name or config.venue.value),
            venue=config.venue,
            oms_type=OmsType.NETTING,
            instrument_provider=instrument_provider,
            account_type=AccountType.CASH,
            base_currency=None,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
        )
        if client.signer is None:
            raise ValueError("UpbitExecutionClient needs an HTTP client with API keys")
        self._config = config
        self._set_account_id(AccountId(f"{name or config.venue.value}-master"))
        self._http_client = client
        self._http_account = UpbitAccountHttpAPI(client)
        self._http_order = UpbitOrderHttpAPI(client)
        self._ws_client = UpbitPrivateWebSocketClient(
            clock=clock,
            base_url=base_url_ws_private,
            handler=self._handle_ws_message,
            signer=client.signer,
            on_connected=self._on_ws_connected,
            on_disconnected=self._on_ws_disconnected,
            keepalive_secs=config.keepalive_secs,
            reconnect_delay_initial_secs=config.reconnect_delay_initial_secs,
            reconnect_delay_max_secs=config.reconnect_delay_max_secs,
            reconnect_backoff_factor=config.reconnect_backoff_factor,
            reconnect_jitter_ratio=config.reconnect_jitter_ratio,
            proxy_url=config.proxy_url,
        )
        self._decoder_private = msgspec.json.Decoder(UpbitWsPrivateMsg)
        self._decoder_control = msgspec.json.Decoder(UpbitWsControl)
        # order bookkeeping
        self._coid_by_identifier: dict[str, ClientOrderId] = {}
        self._coid_by_uuid: dict[str, ClientOrderId] = {}
        self._uuid_by_coid: dict[ClientOrderId, str] = {}
        self._superseded: set[str] = set()  # old uuids replaced by cancel_and_new
        self._replacing: dict[str, str] = {}  # old uuid -> new identifier while its cancel_and_new is unsettled
        self._placing: set[ClientOrderId] = set()  # placement (and its retries) in flight
        self._cancel_requested: set[ClientOrderId] = set()  # cancels held until the placement is settled
        self._applied_trades: dict[ClientOrderId, set[str]] = {}
        self._pending_quote_fills: dict[ClientOrderId, list[_Fill]] = {}
        self._modify_counts: dict[ClientOrderId, int] = {}
        self._syncing: set[ClientOrderId] = set()
        self._poll_task: asyncio.Task | None = None
        self._connected_event = asyncio.Event()
        self._listing: tuple[tuple[int | None, bool], asyncio.Task] | None = None
        self._accepted: set[ClientOrderId] = set()  # OrderAccepted sent (the cache lags the engine's queue)
        self._filled: dict[ClientOrderId, Decimal] = {}  # base quantity reported in OrderFilled events
        self._cancel_checks: dict[ClientOrderId, asyncio.Task] = {}
        self._closed: set[ClientOrderId] = set()  # terminal event sent
        self._asset_seq = 0  # myAsset frames handled
        self._asset_seq_by_currency: dict[str, int] = {}  # currency -> the last myAsset frame that reported it
        self._warned_calculated = False
        self.bad_frames = 0

        self._log.info(f"Base url HTTP {client.base_url}", LogColor.BLUE)
        self._log.info(f"Base url WebSocket {base_url_ws_private}", LogColor.BLUE)
        self._log.info(f"API key {client.access_key_masked}", LogColor.BLUE)
        self._log.info(f"{config.max_submit_retries=}, {config.cancel_confirm_secs=}", LogColor.BLUE)

    @property
    def ws_client(self) -> UpbitPrivateWebSocketClient:
        """Return the private WebSocket client."""
        return self._ws_client

    # -- connection -----------------------------------------------------------------------------------
    async def _connect(self) -> None:
        await self._instrument_provider.initialize()
        await self._update_account_state()
        await self._await_account_registered()
        self._ws_client.subscribe_account_streams()
        await self._ws_client.connect()
        try:
            await asyncio.wait_for(self._connected_event.wait(), timeout=10.0)
        except TimeoutError:
            self._log.error("Private stream not connected after 10s: polling orders until it is")
            self._on_ws_disconnected()
        await self._resolve_quote_amount_orders()

    async def _resolve_quote_amount_orders(self) -> None:
        """
        Bring market buys by amount left open in the cache (a restart) up to date before reconciliation.

        Their base quantity is only known once Upbit ends them: this client turns the quote amount into the
        executed volume (``OrderUpdated`` with ``is_quote_quantity=False``) and then applies the fills, as
        on the live stream. NautilusTrader's reconciliation would set the base quantity but keep the order
        flagged as a quote quantity.
        """
        pending = [
            (order.client_order_id, uuid)
            for order in self._cache.orders_open(venue=self.venue)
            if order.is_quote_quantity and (uuid := self._uuid_for(order)) is not None
        ]
        for coid, uuid in pending:
            await self._sync_order(coid, uuid)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while any(coid in self._closed and not self._cache.order(coid).is_closed for coid, _ in pending):
            if loop.time() > deadline:  # the engine applies the events from its queue
                self._log.warning("Market buys by amount not settled in the cache after 5s: reconciliation follows")
                break
            await asyncio.sleep(0.01)

    async def _disconnect(self) -> None:
        if self._poll_task is not None and not self._poll_task.done():
            self._poll_task.cancel()
        self._poll_task = None
        for check in list(self._cancel_checks.values()):
            check.cancel()  # pending cancel confirmations: reconciliation resolves them on the next start
        self._cancel_checks.clear()
        await self._ws_client.disconnect()
        await self._http_client.close()  # shared: reopened on the next request of another client

    def _on_ws_connected(self, is_reconnect: bool) -> None:
        self._connected_event.set()
        if self._poll_task is not None:
            self._poll_task.cancel()
            self._poll_task = None
        if is_reconnect:
            self._log.info("Private stream reconnected: catching up on orders and balances", LogColor.GREEN)
            self.create_task(self._catch_up())

    def _on_ws_disconnected(self) -> None:
        self._log.warning("Private stream down: polling open orders until it reconnects")
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = self.create_task(self._poll_orders())

    async def _poll_orders(self) -> None:
        while not self._ws_client.is_connected:
            await asyncio.sleep(self._config.rest_poll_interval_secs)
            try:
                await self._catch_up()
            except UpbitError as e:
                self._log.warning(f"Order poll failed: {e}")

    async def _catch_up(self) -> None:
        await self._update_account_state()
        for order in self._cache.orders_open(venue=self.venue):
            uuid = self._uuid_for(order)
            if uuid is not None:
                await self._sync_order(order.client_order_id, uuid)

    async def _update_account_state(self) -> None:
        """
        Report the balances of ``GET /v1/accounts``, merged with what ``myAsset`` said meanwhile.

        The snapshot is older than any ``myAsset`` frame handled while the request was in flight: for those
        currencies the frame wins (a later change would come as a later frame). Upbit lists no row for a
        currency it no longer holds, so a currency the account knows but the snapshot lacks is reported as zero.
        """
        asset_seq = self._asset_seq
        rows = await self._http_account.query_accounts()
        newer = {code for code, seq in self._asset_seq_by_currency.items() if seq > asset_seq}
        listed = {row.currency for row in rows}
        balances = [row.parse_to_account_balance() for row in rows if row.currency not in newer]
        account = self._cache.account(self.account_id)
        if account is not None:
            for currency in account.currencies():
                if currency.code not in listed and currency.code not in newer:
                    balances.append(parse_account_balance(currency.code, Decimal(0), Decimal(0)))
        if balances or account is None:  # the first state registers the account, even with no balances
            self._report_balances(balances, self._clock.timestamp_ns())

    def _report_balances(self, balances: list[AccountBalance], ts_event: int) -> None:
        if self._cache.account(self.account_id) is None:
            self._register_reported_account(balances, ts_event)
        else:
            self._check_reported_account()
        self.generate_account_state(balances=balances, margins=[], reported=True, ts_event=ts_event)

    def _register_reported_account(self, balances: list[AccountBalance], ts_event: int) -> None:
        """
        Make sure the account NautilusTrader creates for Upbit is venue-reported, never calculated.

        Upbit reports every balance change (``myAsset``, ``/v1/accounts``). An account that NautilusTrader
        also *calculates* from fills adds each fill on top of the venue's balances, so it ends up right or
        off by the fill depending on whether the fill or the ``myAsset`` frame is processed last.
        ``AccountFactory`` keeps a process-wide list of calculated issuers that a backtest of a venue named
        ``UPBIT`` adds to and nothing removes; when this process has one, the account is registered here
        as a reported cash account before its first state reaches the portfolio (which then applies that
        same state to it once more).
        """
        state = AccountState(
            account_id=self.account_id,
            account_type=self.account_type,
            base_currency=self.base_currency,
            reported=True,
            balances=balances,
            margins=[],
            info={},
            event_id=UUID4(),
            ts_event=ts_event,
            ts_init=self._clock.timestamp_ns(),
        )
        if not AccountFactory.create(state).calculate_account_state:
            return  # the portfolio creates a reported account: the normal case
        self._log.warning(
            f"AccountFactory marks {self.account_id.get_issuer()} accounts as calculated from fills "
            "(a backtest of that venue ran in this process): registering a venue-reported account instead",
        )
        self._cache.add_account(CashAccount(state, calculate_account_state=False))

    def _check_reported_account(self) -> None:
        account = self._cache.account(self.account_id)
        if account is not None and account.calculate_account_state and not self._warned_calculated:
            self._warned_calculated = True
            self._log.error(
                f"{self.account_id!r} in the cache is calculated from fills: its balances will drift from "
                "Upbit's (fills are added on top of reported balances); start with a fresh cache",
            )

    async def _query_account(self, command: QueryAccount) -> None:
        await self._update_account_state()

    # -- helpers --------------------------------------------------------------------------------------
    async def _instrument(self, instrument_id: InstrumentId) -> Instrument | None:
        instrument = self._instrument_provider.find(instrument_id) or self._cache.instrument(instrument_id)
        if instrument is None:
            try:
                await self._instrument_provider.load_async(instrument_id)
            except UpbitUnknownMarketError as e:
                self._log.error(str(e))
                return None
            instrument = self._instrument_provider.find(instrument_id)
        return instrument

    def _instrument_id(self, market: str) -> InstrumentId:
        return InstrumentId(Symbol(market), self.venue)

    def _resolve_coid(self, identifier: str | None, uuid: str | None) -> ClientOrderId | None:
        if uuid is not None and uuid in self._coid_by_uuid:
            return self._coid_by_uuid[uuid]
        if identifier is None:
            return None
        coid = self._coid_by_identifier.get(identifier)
        if coid is not None:
            return coid
        match = _ATTEMPT_SUFFIX.match(identifier)
        if match is not None:
            base = match.group(1)
            if self._cache.order(ClientOrderId(base)) is not None:
                return ClientOrderId(base)
            if identifier[len(base) + 1] == "r" and _NAUTILUS_COID.match(base):
                # a retry of an order this node does not hold (a restart with no cache database): the refused
                # attempts made no order, so this is the order of that client order id (a modify's "-m" is
                # not: the replaced order exists too)
                return ClientOrderId(base)
        return ClientOrderId(identifier)

    def _uuid_for(self, order: Order) -> str | None:
        uuid = self._uuid_by_coid.get(order.client_order_id)
        if uuid is None and order.venue_order_id is not None:
            uuid = order.venue_order_id.value
        return uuid

    def _register(self, coid: ClientOrderId, uuid: str) -> None:
        self._coid_by_uuid[uuid] = coid
        self._uuid_by_coid[coid] = uuid

    def _ensure_accepted(self, order: Order, uuid: str, ts_event: int) -> None:
        self._register(order.client_order_id, uuid)
        if order.client_order_id in self._accepted:
            return
        self._accepted.add(order.client_order_id)
        if order.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
            self.generate_order_accepted(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=VenueOrderId(uuid),
                ts_event=ts_event,
            )

    def _reason(self, error: BaseException | None, context: str = "") -> str:
        if isinstance(error, UpbitError):
            text = f"{error.error_name}: {error.message}" if error.message else error.error_name
        else:
            text = str(error) if error is not None else "unknown"
        return f"{text} ({context})" if context else text

    # -- submit ---------------------------------------------------------------------------------------
    def _order_body(self, order: Order) -> dict[str, str]:
        market = upbit_market(order.instrument_id)
        side = UpbitOrderSide.BID if order.side == OrderSide.BUY else UpbitOrderSide.ASK
        tif = order.time_in_force
        smp = self._config.smp_type
        if order.order_type == OrderType.LIMIT:
            upbit_tif: UpbitTimeInForce | None
            if tif == TimeInForce.GTC:
                upbit_tif = UpbitTimeInForce.POST_ONLY if order.is_post_only else None
            elif tif in (TimeInForce.IOC, TimeInForce.FOK):
                if order.is_post_only:
                    raise _Denied("UNSUPPORTED: post-only orders must be GTC on Upbit")
                upbit_tif = UpbitTimeInForce.IOC if tif == TimeInForce.IOC else UpbitTimeInForce.FOK
            else:
                raise _Denied(f"UNSUPPORTED_TIME_IN_FORCE: {time_in_force_to_str(tif)} (Upbit: GTC, IOC, FOK)")
            if order.is_quote_quantity:
                raise _Denied("UNSUPPORTED: a limit order's quantity is a base volume on Upbit")
            return self._http_order.order_body(
                market,
                side,
                UpbitOrderType.LIMIT,
                volume=format_decimal(order.quantity.as_decimal()),
                price=format_decimal(order.price.as_decimal()),
                time_in_force=upbit_tif,
                smp_type=None if order.is_post_only else smp,
            )
        if order.order_type == OrderType.MARKET:
            if tif in (TimeInForce.IOC, TimeInForce.FOK):
                best_tif = UpbitTimeInForce.IOC if tif == TimeInForce.IOC else UpbitTimeInForce.FOK
                if order.side == OrderSide.BUY:
                    if not order.is_quote_quantity:
                        raise _Denied(
                            "UNSUPPORTED: a best-price BUY spends a quote amount: use quote_quantity=True",
                        )
                    amount = format_decimal(order.quantity.as_decimal())
                    return self._http_order.order_body(
                        market,
                        side,
                        UpbitOrderType.BEST,
                        price=amount,
                        time_in_force=best_tif,
                        smp_type=smp,
                    )
                if order.is_quote_quantity:
                    raise _Denied("UNSUPPORTED: a best-price SELL is placed for a base volume (quote_quantity=False)")
                volume = format_decimal(order.quantity.as_decimal())
                return self._http_order.order_body(
                    market,
                    side,
                    UpbitOrderType.BEST,
                    volume=volume,
                    time_in_force=best_tif,
                    smp_type=smp,
                )
            if tif not in (TimeInForce.GTC, TimeInForce.DAY):
                raise _Denied(f"UNSUPPORTED_TIME_IN_FORCE: {time_in_force_to_str(tif)} for a MARKET order")
            if order.side == OrderSide.BUY:
                if not order.is_quote_quantity:
                    raise _Denied(
                        "UNSUPPORTED: Upbit market BUY orders spend a quote amount (ord_type=price); "
                        "submit the MARKET BUY with quote_quantity=True and the amount as quantity, "
                        "or use a marketable LIMIT IOC",
                    )
                amount = format_decimal(order.quantity.as_decimal())
                return self._http_order.order_body(market, side, UpbitOrderType.PRICE, price=amount, smp_type=smp)
            if order.is_quote_quantity:
                raise _Denied("UNSUPPORTED: Upbit market SELL orders take a base volume (quote_quantity=False)")
            volume = format_decimal(order.quantity.as_decimal())
            return self._http_order.order_body(market, side, UpbitOrderType.MARKET, volume=volume, smp_type=smp)
        raise _Denied(f"UNSUPPORTED_ORDER_TYPE: {order_type_to_str(order.order_type)} (Upbit: LIMIT, MARKET)")

    async def _submit_order(self, command: SubmitOrder) -> None:
        order = command.order
        if order.is_closed:
            self._log.warning(f"Cannot submit already closed order {order}")
            return
        coid = order.client_order_id
        self._placing.add(coid)  # from now on a cancel of this order waits for the placement's outcome
        try:
            try:
                if await self._instrument(order.instrument_id) is None:
                    raise _Denied(
                        f"UNKNOWN_MARKET: {order.instrument_id} is not listed on Upbit (unknown or delisted)",
                    )
                body = self._order_body(order)
            except _Denied as e:
                self.generate_order_denied(
                    strategy_id=order.strategy_id,
                    instrument_id=order.instrument_id,
                    client_order_id=coid,
                    reason=str(e),
                    ts_event=self._clock.timestamp_ns(),
                )
                return
            self.generate_order_submitted(
                strategy_id=order.strategy_id,
                instrument_id=order.instrument_id,
                client_order_id=coid,
                ts_event=self._clock.timestamp_ns(),
            )
            await self._place(order, body)
        finally:
            self._placing.discard(coid)
            self._cancel_requested.discard(coid)  # applied by _on_order_response, or nothing was placed

    async def _place(self, order: Order, base_body: dict[str, str]) -> None:
        coid = order.client_order_id
        last_error: UpbitError | None = None
        for attempt in range(self._config.max_submit_retries + 1):
            if coid in self._cancel_requested:
                # cancelled before this attempt (any earlier one placed nothing): never place it now
                self._log.info(f"{coid!r}: cancel requested before the order was placed; not placing it")
                ts_event = self._clock.timestamp_ns()
                self.generate_order_canceled(order.strategy_id, order.instrument_id, coid, None, ts_event)
                return
            identifier = coid.value if attempt == 0 else f"{coid.value}-r{attempt}"
            self._coid_by_identifier[identifier] = coid
            body = {**base_body, "identifier": identifier}
            try:
                upbit_order = await self._http_order.new_order(body)
            except UpbitRateLimitError as e:
                last_error = e
                self._log.warning(f"{coid!r}: {self._reason(e)}; not executed, retrying with a fresh identifier")
                continue
            except UpbitError as e:
                if not e.is_ambiguous:
                    self._reject(order, e)
                    return
                last_error = e
                found = await self._lookup_by_identifier(identifier)
                if found is _LOOKUP_FAILED:
                    self._log.error(
                        f"{coid!r}: placement outcome unknown ({self._reason(e)}) and the lookup by "
                        "identifier failed; not retrying (that could duplicate the order): "
                        "reconciliation will resolve it",
                    )
                    return
                if isinstance(found, UpbitOrder):
                    self._log.warning(f"{coid!r}: placement answer lost ({self._reason(e)}) but the order exists")
                    self._on_order_response(order, found)
                    return
                self._log.warning(f"{coid!r}: {self._reason(e)}; Upbit has no order {identifier}, retrying")
                continue
            self._on_order_response(order, upbit_order)
            return
        self._reject(order, last_error, f"after {self._config.max_submit_retries + 1} attempts")

    async def _lookup_by_identifier(self, identifier: str) -> UpbitOrder | object | None:
        await asyncio.sleep(self._config.lookup_delay_secs)
        for _ in range(3):
            try:
                return await self._http_order.query_order(identifier=identifier)
            except UpbitError as e:
                if e.error_name == UpbitErrorName.ORDER_NOT_FOUND:
                    return None
                self._log.warning(f"Lookup of identifier {identifier} failed: {e}")
                await asyncio.sleep(self._config.lookup_delay_secs)
        return _LOOKUP_FAILED

    def _reject(self, order: Order, error: UpbitError | None, context: str = "") -> None:
        reason = self._reason(error, context)
        self._log.warning(f"{order.client_order_id!r} rejected: {reason}")
        self.generate_order_rejected(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            reason=reason,
            ts_event=self._clock.timestamp_ns(),
            due_post_only=False,
        )

    def _on_order_response(self, order: Order, upbit_order: UpbitOrder) -> None:
        current = self._cache.order(order.client_order_id) or order
        self._ensure_accepted(current, upbit_order.uuid, self._clock.timestamp_ns())
        if order.client_order_id in self._cancel_requested and upbit_order.is_open:
            self._cancel_requested.discard(order.client_order_id)
            self._log.info(f"{order.client_order_id!r} placed: sending the cancel requested meanwhile")
            self.create_task(self._cancel_placed(current, upbit_order.uuid))
        if not upbit_order.is_open or upbit_order.executed_volume > 0:
            self.create_task(self._sync_order(order.client_order_id, upbit_order.uuid))

    # -- private stream -------------------------------------------------------------------------------
    def _handle_ws_message(self, raw: bytes) -> None:
        try:
            msg = self._decoder_private.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self._handle_control_or_bad(raw)
            return
        try:
            if type(msg) is UpbitWsMyOrder:
                self._handle_my_order(msg)
            elif type(msg) is UpbitWsMyAsset:
                self._handle_my_asset(msg)
        except Exception as e:
            self.bad_frames += 1
            self._log.exception(f"Error handling private frame {raw[:200]!r}", e)

    def _handle_my_asset(self, msg: UpbitWsMyAsset) -> None:
        if not msg.assets:
            return
        self._asset_seq += 1
        for asset in msg.assets:
            self._asset_seq_by_currency[asset.currency] = self._asset_seq
        self._report_balances([a.parse_to_account_balance() for a in msg.assets], msg.timestamp * 1_000_000)

    def _handle_control_or_bad(self, raw: bytes) -> None:
        try:
            control = self._decoder_control.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            control = None
        if control is not None and control.status is not None:
            return
        if control is not None and control.error is not None:
            self._log.error(f"Upbit private stream error {control.error.name}: {control.error.message}")
            return
        self.bad_frames += 1
        self._log.warning(f"Dropped malformed private frame ({self.bad_frames} so far): {raw[:120]!r}")

    def _handle_my_order(self, msg: UpbitWsMyOrder) -> None:
        coid = self._resolve_coid(msg.identifier, msg.uuid)
        order = self._cache.order(coid) if coid is not None else None
        if order is None or coid is None:
            self._log.info(f"myOrder for an order this node did not place ({msg.uuid}, {msg.state}); ignored")
            return
        superseded = self._is_replaced(msg.uuid)
        if not superseded:
            self._ensure_accepted(order, msg.uuid, msg.timestamp * 1_000_000)
        if msg.state == "trade":
            if msg.trade_uuid is None or msg.price is None or msg.volume is None:
                self._log.warning(f"myOrder trade without trade fields for {coid!r}: {msg}")
                self.create_task(self._sync_order(coid, msg.uuid))
                return
            fill = _Fill(
                trade_id=msg.trade_uuid,
                price=msg.price,
                volume=msg.volume,
                fee=msg.trade_fee or Decimal(0),
                liquidity_side=(
                    LiquiditySide.MAKER
                    if msg.is_maker
                    else LiquiditySide.TAKER
                    if msg.is_maker is not None
                    else LiquiditySide.NO_LIQUIDITY_SIDE
                ),
                ts_event=(msg.trade_timestamp or msg.timestamp) * 1_000_000,
            )
            self._apply_fill(order, msg.uuid, fill)
        elif msg.state in ("done", "cancel", "prevented") and not superseded:
            executed = msg.executed_volume or Decimal(0)
            self._apply_terminal(order, msg.uuid, msg.state, executed, msg.timestamp * 1_000_000)

    def _apply_fill(self, order: Order, uuid: str, fill: _Fill) -> None:
        coid = order.client_order_id
        applied = self._applied_trades.setdefault(coid, set())
        if fill.trade_id in applied:
            return
        applied.add(fill.trade_id)
        current = self._cache.order(coid) or order
        if TradeId(fill.trade_id) in current.trade_ids:
            return  # applied before this client knew it (reconciliation at start-up, an earlier run)
        if order.is_quote_quantity:
            # the base quantity is known once the order ends: hold fills until then
            self._pending_quote_fills.setdefault(coid, []).append(fill)
            return
        self._emit_fill(order, uuid, fill)

    def _emit_fill(self, order: Order, uuid: str, fill: _Fill) -> None:
        instrument = self._instrument_provider.find(order.instrument_id) or self._cache.instrument(order.instrument_id)
        if instrument is None:
            self._log.error(f"Cannot fill {order.client_order_id!r}: instrument {order.instrument_id} unknown")
            return
        current = self._cache.order(order.client_order_id) or order
        if current.is_closed:
            self._log.warning(f"Fill {fill.trade_id} for closed order {order.client_order_id!r} ignored")
            return
        self._filled[order.client_order_id] = self._filled_qty(current) + fill.volume
        self.generate_order_filled(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=VenueOrderId(self._uuid_by_coid.get(order.client_order_id, uuid)),
            venue_position_id=None,
            trade_id=TradeId(fill.trade_id),
            order_side=order.side,
            order_type=order.order_type,
            last_qty=parse_quantity(fill.volume, instrument.size_precision),
            last_px=parse_price(fill.price, instrument.price_precision),
            quote_currency=instrument.quote_currency,
            commission=parse_money(fill.fee, instrument.quote_currency),
            liquidity_side=fill.liquidity_side,
            ts_event=fill.ts_event,
        )

    def _filled_qty(self, order: Order) -> Decimal:
        # what this client has reported, or the cache's view for an order reconciled at start-up
        return max(self._filled.get(order.client_order_id, Decimal(0)), order.filled_qty.as_decimal())

    def _apply_terminal(self, order: Order, uuid: str, state: str, executed: Decimal, ts_event: int) -> None:
        coid = order.client_order_id
        check = self._cancel_checks.pop(coid, None)
        if check is not None:
            check.cancel()  # the stream (or a lookup) confirmed the end of the order
        current = self._cache.order(coid) or order
        if current.is_closed or coid in self._closed:
            return
        instrument = self._instrument_provider.find(order.instrument_id) or self._cache.instrument(order.instrument_id)
        if instrument is None:
            return
        if current.is_quote_quantity:
            pending = self._pending_quote_fills.get(coid, [])
            if sum((f.volume for f in pending), Decimal(0)) < executed:
                self.create_task(self._sync_order(coid, uuid))  # fills missing: read trades[] first
                return
            self._closed.add(coid)
            if executed > 0:
                # a market buy that ends in `cancel` with executed volume is a fill, not a cancel
                self.generate_order_updated(
                    strategy_id=order.strategy_id,
                    instrument_id=order.instrument_id,
                    client_order_id=coid,
                    venue_order_id=VenueOrderId(uuid),
                    quantity=parse_quantity(executed, instrument.size_precision),
                    price=None,
                    trigger_price=None,
                    ts_event=ts_event,
                    is_quote_quantity=False,
                )
                updated = self._cache.order(coid) or order
                for fill in self._pending_quote_fills.pop(coid, []):
                    self._emit_fill(updated, uuid, fill)
                return
            self.generate_order_canceled(order.strategy_id, order.instrument_id, coid, VenueOrderId(uuid), ts_event)
            return
        filled = self._filled_qty(current)
        if filled < executed:
            self.create_task(self._sync_order(coid, uuid))  # a fill event was missed: read trades[] first
            return
        self._closed.add(coid)
        if state != "done" and filled < current.quantity.as_decimal():
            self.generate_order_canceled(order.strategy_id, order.instrument_id, coid, VenueOrderId(uuid), ts_event)

    async def _sync_order(self, coid: ClientOrderId, uuid: str) -> None:
        """Bring one order up to date from ``GET /v1/order`` (state and ``trades[]``)."""
        if coid in self._syncing:
            return
        self._syncing.add(coid)
        try:
            upbit_order = await self._http_order.query_order(uuid=uuid)
        except UpbitError as e:
            self._log.warning(f"Cannot look up {coid!r} ({uuid}): {e}")
            return
        finally:
            self._syncing.discard(coid)
        order = self._cache.order(coid)
        if order is None or order.is_closed:
            return
        instrument = await self._instrument(order.instrument_id)
        if instrument is None:
            return
        if not self._is_replaced(uuid):
            self._ensure_accepted(order, uuid, self._clock.timestamp_ns())
        reports = upbit_order.parse_to_fill_reports(
            self.account_id,
            order.instrument_id,
            coid,
            instrument.price_precision,
            instrument.size_precision,
            instrument.quote_currency,
            self._clock.timestamp_ns(),
        )
        trades = {t.uuid: t for t in upbit_order.trades or []}
        for report in reports:
            trade = trades[report.trade_id.value]
            fee = report.commission.as_decimal()
            self._apply_fill(
                self._cache.order(coid) or order,
                uuid,
                _Fill(
                    report.trade_id.value,
                    trade.price,
                    trade.volume,
                    fee,
                    report.liquidity_side,
                    report.ts_event,
                ),
            )
        if not upbit_order.is_open and not self._is_replaced(uuid):
            current = self._cache.order(coid) or order
            self._apply_terminal(
                current, uuid, upbit_order.state.value, upbit_order.executed_volume, upbit_order.ts_last()
            )

    # -- cancel / modify ------------------------------------------------------------------------------
    async def _cancel_order(self, command: CancelOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            self._log.error(f"{command.client_order_id!r} not found to cancel")
            return
        if order.is_closed:
            self._log.warning(f"{command.client_order_id!r} already {order.status_string()}: not cancelling")
            return
        uuid = self._uuid_for(order)
        if uuid is None and order.client_order_id in self._placing:
            self._hold_cancel(order)
            return
        await self._cancel_placed(order, uuid)

    def _hold_cancel(self, order: Order) -> None:
        # the placement is unsettled (its answer, a lookup or a retry pending): the cancel is sent once the
        # order is known to exist, and stops any retry; an identifier cancel now could miss the order
        self._log.info(f"Cancel of {order.client_order_id!r} held until its placement is settled")
        self._cancel_requested.add(order.client_order_id)

    async def _cancel_placed(self, order: Order, uuid: str | None) -> None:
        try:
            if uuid is not None:
                await self._http_order.cancel_order(uuid=uuid)
            else:
                await self._http_order.cancel_order(identifier=order.client_order_id.value)
        except UpbitError as e:
            self._log.warning(f"Cancel of {order.client_order_id!r} refused: {self._reason(e)}")
            self.generate_order_cancel_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                self._reason(e),
                self._clock.timestamp_ns(),
            )
            if uuid is not None and e.error_name == UpbitErrorName.ORDER_NOT_FOUND:
                self.create_task(self._sync_order(order.client_order_id, uuid))  # it may have just ended
            return
        if uuid is not None:
            self._schedule_cancel_check(order.client_order_id, uuid)

    def _schedule_cancel_check(self, coid: ClientOrderId, uuid: str) -> None:
        previous = self._cancel_checks.pop(coid, None)
        if previous is not None:
            previous.cancel()
        self._cancel_checks[coid] = asyncio.get_running_loop().create_task(self._confirm_cancel(coid, uuid))

    async def _confirm_cancel(self, coid: ClientOrderId, uuid: str) -> None:
        # cancels are asynchronous: the myOrder `cancel` event normally confirms it first (and cancels this)
        try:
            await asyncio.sleep(self._config.cancel_confirm_secs)
            order = self._cache.order(coid)
            if order is not None and not order.is_closed and coid not in self._closed:
                self._log.info(f"Cancel of {coid!r} not confirmed by the stream yet: looking it up")
                await self._sync_order(coid, uuid)
        finally:
            if self._cancel_checks.get(coid) is asyncio.current_task():
                self._cancel_checks.pop(coid, None)

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        # open orders, and those still being placed (the cache may not show them submitted yet)
        placing = [o for c in self._placing if (o := self._cache.order(c)) is not None]
        orders = [
            o
            for o in self._cache.orders_open(instrument_id=command.instrument_id, strategy_id=command.strategy_id)
            + placing
            if command.order_side in (OrderSide.NO_ORDER_SIDE, o.side)
            and o.instrument_id.venue == self.venue
            and command.instrument_id in (None, o.instrument_id)
            and command.strategy_id in (None, o.strategy_id)
        ]
        await self._cancel_batch(list({o.client_order_id: o for o in orders}.values()))

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        orders = [o for o in (self._cache.order(c.client_order_id) for c in command.cancels) if o is not None]
        await self._cancel_batch([o for o in orders if not o.is_closed])

    async def _cancel_batch(self, orders: list[Order]) -> None:
        for order in orders:
            if self._uuid_for(order) is None:  # no venue id yet: held while placing, else by identifier
                if order.client_order_id in self._placing:
                    self._hold_cancel(order)
                else:
                    await self._cancel_placed(order, None)
        by_uuid = {u: o for o in orders if (u := self._uuid_for(o)) is not None}
        uuids = list(by_uuid)
        for i in range(0, len(uuids), 20):  # DELETE /v1/orders/uuids takes 20 per call
            chunk = uuids[i : i + 20]
            try:
                result = await self._http_order.cancel_orders_by_ids(uuids=chunk)
            except UpbitError as e:
                for uuid in chunk:
                    order = by_uuid[uuid]
                    self.generate_order_cancel_rejected(
                        order.strategy_id,
                        order.instrument_id,
                        order.client_order_id,
                        order.venue_order_id,
                        self._reason(e),
                        self._clock.timestamp_ns(),
                    )
                continue
            for ref in result.failed.orders:
                order = by_uuid.get(ref.uuid)
                if order is not None:
                    self.generate_order_cancel_rejected(
                        order.strategy_id,
                        order.instrument_id,
                        order.client_order_id,
                        order.venue_order_id,
                        "cancel failed (batch cancel listed it under `failed`)",
                        self._clock.timestamp_ns(),
                    )
            for ref in result.success.orders:
                order = by_uuid.get(ref.uuid)
                if order is not None:
                    self._schedule_cancel_check(order.client_order_id, ref.uuid)

    async def _modify_order(self, command: ModifyOrder) -> None:
        order = self._cache.order(command.client_order_id)
        if order is None:
            self._log.error(f"{command.client_order_id!r} not found to modify")
            return

        def refuse(reason: str) -> None:
            self.generate_order_modify_rejected(
                order.strategy_id,
                order.instrument_id,
                order.client_order_id,
                order.venue_order_id,
                reason,
                self._clock.timestamp_ns(),
            )

        uuid = self._uuid_for(order)
        if order.order_type != OrderType.LIMIT or uuid is None or order.is_closed:
            refuse("UNSUPPORTED: only open LIMIT orders can be modified (cancel_and_new)")
            return
        if command.trigger_price is not None:
            refuse("UNSUPPORTED: Upbit orders have no trigger price")
            return
        quantity = command.quantity or order.quantity
        price = command.price or order.price
        remaining = quantity.as_decimal() - self._filled_qty(order)
        if remaining <= 0:
            refuse(f"quantity {quantity} is not above the filled quantity {order.filled_qty}")
            return
        if quantity == order.quantity:
            # Upbit re-places what is left of the old order when it cancels it: a fill still on its way
            # here can never be placed a second time
            new_volume = "remain_only"
        else:
            try:  # the venue's executed volume, fresher than the fills this client has seen
                executed = (await self._http_order.query_order(uuid=uuid)).executed_volume
            except UpbitError as e:
                refuse(f"cannot read the executed volume before changing the quantity: {self._reason(e)}")
                return
            remaining = quantity.as_decimal() - max(executed, self._filled_qty(order))
            if remaining <= 0:
                refuse(f"quantity {quantity} is not above the executed volume {executed}")
                return
            new_volume = format_decimal(remaining)
        count = self._modify_counts.get(order.client_order_id, 0) + 1
        self._modify_counts[order.client_order_id] = count
        new_identifier = f"{order.client_order_id.value}-m{count}"
        self._coid_by_identifier[new_identifier] = order.client_order_id
        tif = None
        if order.time_in_force == TimeInForce.IOC:
            tif = UpbitTimeInForce.IOC
        elif order.time_in_force == TimeInForce.FOK:
            tif = UpbitTimeInForce.FOK
        elif order.is_post_only:
            tif = UpbitTimeInForce.POST_ONLY
        # Upbit cancels the old order before it answers: until the outcome is known, the old order's
        # `cancel` is not the order's end (the replacement may be live)
        self._replacing[uuid] = new_identifier
        try:
            result = await self._http_order.cancel_and_new(
                new_ord_type=UpbitOrderType.LIMIT,
                prev_order_uuid=uuid,
                new_volume=new_volume,
                new_price=format_decimal(price.as_decimal()),
                new_identifier=new_identifier,
                new_time_in_force=tif,
            )
            new_uuid = result.new_order_uuid
        except UpbitError as e:
            if not e.is_ambiguous:
                self._replacing.pop(uuid, None)
                refuse(self._reason(e))
                self.create_task(self._sync_order(order.client_order_id, uuid))
                return
            self._log.warning(f"{order.client_order_id!r}: cancel_and_new outcome unknown ({self._reason(e)})")
            found = await self._lookup_by_identifier(new_identifier)
            if found is _LOOKUP_FAILED:
                self._log.error(
                    f"{order.client_order_id!r}: cancel_and_new outcome unknown and the lookup of "
                    f"{new_identifier} failed: the old order's end is held back (a replacement may be live); "
                    "reconciliation will resolve it",
                )
                refuse(f"outcome unknown: {self._reason(e)}")
                return
            new_uuid = found.uuid if isinstance(found, UpbitOrder) else None
            if new_uuid is None:
                self._replacing.pop(uuid, None)
                refuse(f"{self._reason(e)}; Upbit has no order {new_identifier}")
                self.create_task(self._sync_order(order.client_order_id, uuid))
                return
        self._replacing.pop(uuid, None)
        if new_uuid is None:
            refuse("the order filled before cancel_and_new took effect")
            self.create_task(self._sync_order(order.client_order_id, uuid))
            return
        self._superseded.add(uuid)
        self._register(order.client_order_id, new_uuid)
        self.generate_order_updated(
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=VenueOrderId(new_uuid),
            quantity=quantity,
            price=price,
            trigger_price=None,
            ts_event=self._clock.timestamp_ns(),
            venue_order_id_modified=True,
        )

    def _is_replaced(self, uuid: str) -> bool:
        """Return whether ``uuid`` is an old order replaced (or being replaced) by ``cancel_and_new``."""
        return uuid in self._superseded or uuid in self._replacing

    # -- reconciliation reports ---------------------------------------------------------------------
    async def generate_order_status_report(self, command: GenerateOrderStatusReport) -> OrderStatusReport | None:
        upbit_order: UpbitOrder | None = None
        try:
            if command.venue_order_id is not None:
                upbit_order = await self._http_order.query_order(uuid=command.venue_order_id.value)
            elif command.client_order_id is not None:
                for identifier in self._identifiers_for(command.client_order_id):
                    try:
                        upbit_order = await self._http_order.query_order(identifier=identifier)
                        break
                    except UpbitError as e:
                        if e.error_name != UpbitErrorName.ORDER_NOT_FOUND:
                            raise
        except UpbitError as e:
            if e.error_name != UpbitErrorName.ORDER_NOT_FOUND:
                self._log.error(f"Cannot generate OrderStatusReport for {command.client_order_id!r}: {e}")
            return None
        if upbit_order is None:
            self._log.warning(f"No Upbit order for {command.client_order_id!r} / {command.venue_order_id!r}")
            return None
        return await self._order_report(upbit_order)

    def _identifiers_for(self, coid: ClientOrderId) -> list[str]:
        known = [i for i, c in self._coid_by_identifier.items() if c == coid]
        attempts = [coid.value] + [f"{coid.value}-r{n}" for n in range(1, self._config.max_submit_retries + 1)]
        return known[::-1] + [a for a in attempts if a not in known]

    async def _order_report(self, upbit_order: UpbitOrder) -> OrderStatusReport | None:
        instrument_id = self._instrument_id(upbit_order.market)
        instrument = self._instrument_provider.find(instrument_id) or self._cache.instrument(instrument_id)
        if instrument is None:
            return None
        coid = self._resolve_coid(upbit_order.identifier, upbit_order.uuid)
        if coid is not None:
            self._register(coid, upbit_order.uuid)
        return upbit_order.parse_to_order_status_report(
            self.account_id,
            instrument_id,
            coid,
            instrument.price_precision,
            instrument.size_precision,
            self._clock.timestamp_ns(),
        )

    async def _list_orders(self, start: pd.Timestamp | None, open_only: bool) -> list[UpbitOrder]:
        """List open (and closed) orders; concurrent callers (one mass status) share one listing."""
        key = (start.value if start is not None else None, open_only)
        shared = self._listing
        if shared is not None and shared[0] == key and not shared[1].done():
            return await asyncio.shield(shared[1])
        task = asyncio.get_running_loop().create_task(self._fetch_orders(start, open_only))
        self._listing = (key, task)
        return await asyncio.shield(task)

    async def _fetch_orders(self, start: pd.Timestamp | None, open_only: bool) -> list[UpbitOrder]:
        now_ms = self._clock.timestamp_ms()
        orders: list[UpbitOrder] = []
        page = 1
        while True:
            batch = await self._http_order.query_open_orders(page=page, limit=100)
            orders.extend(batch)
            if len(batch) < 100:
                break
            page += 1
        if not open_only:
            start_ms = int(start.value // 1_000_000) if start is not None else now_ms - _MAX_CLOSED_WINDOW_MS
            if now_ms - start_ms > _MAX_CLOSED_WINDOW_MS:
                self._log.warning("Upbit lists closed orders for 7 days at most: older ones are not reconciled")
                start_ms = now_ms - _MAX_CLOSED_WINDOW_MS
            orders.extend(await self._http_order.query_closed_orders(start_time=start_ms, end_time=now_ms))
        return orders

    def _known_market(self, market: str) -> bool:
        instrument_id = self._instrument_id(market)
        return (
            self._instrument_provider.find(instrument_id) is not None
            or self._cache.instrument(instrument_id) is not None
        )

    async def generate_order_status_reports(self, command: GenerateOrderStatusReports) -> list[OrderStatusReport]:
        try:
            orders = await self._list_orders(command.start, command.open_only)
        except UpbitError as e:
            self._log.error(f"Cannot generate OrderStatusReports: {e}")
            return []
        reports: list[OrderStatusReport] = []
        for upbit_order in _filter(orders, command.instrument_id):
            if not self._known_market(upbit_order.market):
                continue
            report = await self._order_report(upbit_order)
            if report is not None:
                reports.append(report)
        self._log_report_receipt(len(reports), "OrderStatusReport", command.log_receipt_level)
        return reports

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        try:
            if command.venue_order_id is not None:
                candidates = [await self._http_order.query_order(uuid=command.venue_order_id.value)]
            else:
                listed = await self._list_orders(command.start, open_only=False)
                candidates = [
                    o
                    for o in _filter(listed, command.instrument_id)
                    if o.executed_volume > 0 and self._known_market(o.market)
                ]
        except UpbitError as e:
            self._log.error(f"Cannot generate FillReports: {e}")
            return []
        start_ns = command.start.value if command.start is not None else None
        end_ns = command.end.value if command.end is not None else None
        reports: list[FillReport] = []
        for listed_order in candidates:
            try:
                upbit_order = (
                    listed_order
                    if listed_order.trades is not None
                    else await self._http_order.query_order(uuid=listed_order.uuid)  # lists carry no trades[]
                )
            except UpbitError as e:
                self._log.warning(f"Cannot read the trades of {listed_order.uuid}: {e}")
                continue
            instrument_id = self._instrument_id(upbit_order.market)
            instrument = self._instrument_provider.find(instrument_id) or self._cache.instrument(instrument_id)
            if instrument is None:
                continue
            coid = self._resolve_coid(upbit_order.identifier, upbit_order.uuid)
            for report in upbit_order.parse_to_fill_reports(
                self.account_id,
                instrument_id,
                coid,
                instrument.price_precision,
                instrument.size_precision,
                instrument.quote_currency,
                self._clock.timestamp_ns(),
            ):
                if (start_ns is None or report.ts_event >= start_ns) and (end_ns is None or report.ts_event <= end_ns):
                    reports.append(report)
        reports.sort(key=lambda r: r.ts_event)
        self._log_report_receipt(len(reports), "FillReport", LogLevel.INFO)
        return reports

    async def generate_position_status_reports(
        self,
        command: GeneratePositionStatusReports,
    ) -> list[PositionStatusReport]:
        return []  # spot cash account: no venue positions


def _filter(orders: Iterable[UpbitOrder], instrument_id: InstrumentId | None) -> list[UpbitOrder]:
    if instrument_id is None:
        return list(orders)
    market = upbit_market(instrument_id)
    return [o for o in orders if o.market == market]
