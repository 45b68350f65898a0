"""An in-process fake of TastyTrade's REST API for the `tastytrade` SDK (through `httpx2.MockTransport`).

Responses come from the JSON fixtures in tests/fixtures/tasty (the API's real shape: kebab-case under
`data`). It checks what a real server would: the refresh-token grant, a bearer token on every other
request, known accounts; it records every request so tests can see what the tool sent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
from httpx2.websockets import ASGIWebSocketTransport

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasty"
ACCOUNT = "5WT00001"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


USER_AGENT = re.compile(r"^[A-Za-z0-9._~-]+/[A-Za-z0-9._~-]+")  # product/version
API_VERSION = re.compile(r"^\d{8}$")  # the SDK sends "20251101" (tastytrade/__init__.py API_VERSION)


@dataclass
class FakeTastytrade:
    provider_secret: str = "provider-secret-abc"
    refresh_token: str = "refresh-ok"
    token_lifetime: int = 900  # seconds; under the SDK's 60-second margin every request refreshes first
    down: bool = False  # the network fails
    echo_secrets_in_errors: bool = False  # a careless server that repeats what it was sent
    positions: list[dict[str, Any]] | None = None  # replaces the fixture's positions
    live_orders: list[dict[str, Any]] = field(default_factory=list)  # today's orders, latest state of each
    market_data: list[dict[str, Any]] = field(default_factory=list)  # /market-data/by-type items
    sessions: list[dict[str, Any]] | None = None  # replaces sessions.json's items
    requests: list[httpx2.Request] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def _oauth_error(self, status: int, code: str, description: str) -> httpx2.Response:
        """The token endpoint's own error shape, not the REST one: {"error_code", "error_description"} (a
        response recorded in tastyware/tastytrade#281: invalid_grant, "Invalid JWT"; the SDK cannot read it
        and raises "Couldn't parse response: {...}"). Codes as RFC 6749 §5.2 names them."""
        return httpx2.Response(status, json={"error_code": code, "error_description": description})

    def _error(self, status: int, name: str, extra: str = "") -> httpx2.Response:
        body = fixture(name)
        if extra:
            body["error"]["message"] += f" ({extra})"
        return httpx2.Response(status, json=body)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.down:
            raise httpx2.ConnectError("connection refused", request=request)
        path = request.url.path
        # Every request: a User-Agent of product/version form, else 401 (developer docs, Errors); no
        # Accept-Version on the sandbox (the SDK's session.py leaves it out there: "not accepted in sandbox"),
        # a dated one if sent to production.
        if not USER_AGENT.match(request.headers.get("User-Agent", "")):
            body = {"error": {"code": "unauthorized", "message": "User-Agent must be <product>/<version>"}}
            return httpx2.Response(401, json=body)
        version = request.headers.get("Accept-Version")
        if version is not None and (request.url.host.startswith("api.cert.") or not API_VERSION.match(version)):
            return httpx2.Response(400, json={"error": {"code": "invalid_version", "message": f"{version}"}})
        if path == "/oauth/token":
            grant = json.loads(request.content)
            if grant.get("client_secret") != self.provider_secret:
                return self._oauth_error(401, "invalid_client", "Client authentication failed")
            if grant.get("grant_type") != "refresh_token" or grant.get("refresh_token") != self.refresh_token:
                body = fixture("error_invalid_grant.json")
                if self.echo_secrets_in_errors:
                    body["error_description"] += f" (got {grant.get('refresh_token')})"
                return httpx2.Response(400, json=body)
            token = f"access-{len(self.tokens) + 1}-{'x' * 12}"
            self.tokens.append(token)
            return httpx2.Response(200, json={"access_token": token, "expires_in": self.token_lifetime})
        if request.headers.get("Authorization") != f"Bearer {self.tokens[-1] if self.tokens else ''}":
            return httpx2.Response(401, json={"error": {"code": "unauthorized", "message": "token expired"}})
        routes = {
            "/customers/me/accounts": "accounts.json",
            f"/accounts/{ACCOUNT}/balances/USD": "balances.json",
            "/market-time/sessions/current": "sessions.json",
            "/market-time/equities/holidays": "holidays_equities.json",
            "/market-time/futures/holidays/CME": "holidays_cme.json",
        }
        if path == "/market-time/sessions/current" and self.sessions is not None:
            return httpx2.Response(200, json={"data": {"items": self.sessions}})
        if path == f"/accounts/{ACCOUNT}/orders/dry-run":
            return self._dry_run(request)
        if path in routes:
            return httpx2.Response(200, json=fixture(routes[path]))
        if path == f"/customers/me/accounts/{ACCOUNT}":
            return httpx2.Response(200, json={"data": fixture("accounts.json")["data"]["items"][0]["account"]})
        if path == f"/accounts/{ACCOUNT}/positions":
            body = fixture("positions.json")
            if self.positions is not None:
                body["data"]["items"] = self.positions
            return httpx2.Response(200, json=body)
        if path == "/market-data/by-type":
            # The SDK's get_market_data_by_type (tastytrade/market_data.py): MarketData items for the symbols
            # of each instrument type it sends (`index=...`, `equity=...`).
            wanted = set(request.url.params.get_list("index")) | set(request.url.params.get_list("equity"))
            items = [m for m in self.market_data if m["symbol"] in wanted]
            return httpx2.Response(200, json={"data": {"items": items}})
        if path == f"/accounts/{ACCOUNT}/orders/live":
            # The SDK's Account.get_live_orders (tastytrade/account.py): today's orders as PlacedOrder items.
            if self.echo_secrets_in_errors:
                return self._error(503, "error_unknown_account.json", f"retry {request.headers.get('Authorization')}")
            return httpx2.Response(200, json={"data": {"items": self.live_orders}})
        if path.startswith("/market-metrics/historic-corporate-events/dividends/"):
            # The SDK's DividendInfo (tastytrade/metrics.py): occurred-date and amount, per past ex-date.
            symbol = path.rsplit("/", 1)[-1]
            items = fixture("dividends.json").get(symbol)
            if items is None:
                return self._error(404, "error_unknown_account.json", f"no dividends for {symbol}")
            return httpx2.Response(200, json={"data": {"items": items}})
        if path == "/market-metrics":
            wanted = set(request.url.params.get("symbols", "").split(","))
            body = fixture("metrics.json")
            body["data"]["items"] = [m for m in body["data"]["items"] if m["symbol"] in wanted]
            if self.echo_secrets_in_errors and not body["data"]["items"]:
                return self._error(
                    400, "error_unknown_account.json", f"request had {request.headers.get('Authorization')}"
                )
            return httpx2.Response(200, json=body)
        return self._error(404, "error_unknown_account.json", path)

    def _dry_run(self, request: httpx2.Request) -> httpx2.Response:
        """A limit order needs a positive `price` and a `price-effect` of Debit or Credit (developer docs,
        "Place an equity order": "For a Limit order you must include both price and price-effect"); the SDK
        leaves `price-effect` out when the price is zero (tastytrade/order.py `_split_sign_into_effect`,
        utils.py `get_sign`). A refused body is a 400 in the API's error shape, with the list the SDK reads
        (utils.py `validate_response`: `error.errors[]` of code and message). The answer echoes the order."""
        order = json.loads(request.content)
        problems = []
        if order.get("order-type") == "Limit":
            price, effect = order.get("price"), order.get("price-effect")
            if effect not in ("Debit", "Credit"):
                problems.append(("price_effect_required", "price-effect must be Debit or Credit"))
            try:
                if price is None or not Decimal(str(price)) > 0:
                    problems.append(("invalid_price", "price must be greater than 0"))
            except ArithmeticError:
                problems.append(("invalid_price", f"price {price!r} is not a number"))
        if problems:
            errors = [{"code": code, "message": message} for code, message in problems]
            body = {"error": {"code": "validation_error", "message": "Request validation failed", "errors": errors}}
            return httpx2.Response(400, json=body)
        answer = fixture("dry_run.json")
        answer["data"]["order"].update({k: order[k] for k in ("price", "price-effect") if k in order})
        return httpx2.Response(200, json=answer)


# ---------------------------------------------------------------------------------------------- websockets

DXLINK_URL = "wss://tasty-openapi-ws.dxfeed.com/realtime"
DX_TOKEN = "dxlink-token-0123456789"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SharedASGITransport(ASGIWebSocketTransport):
    """The SDK hands the same transport to the session's client and to each streamer's client: enter it once."""

    depth = 0

    async def __aenter__(self) -> SharedASGITransport:
        if self.depth == 0:
            await super().__aenter__()
        self.depth += 1
        return self

    async def __aexit__(self, *args: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            await super().__aexit__(*args)


@dataclass
class StreamingTastytrade(FakeTastytrade):
    """The REST fake plus DXLink (quotes, Greeks, trades of a small SPXW chain) and the account streamer,
    served as one ASGI app.

    The account streamer, one connection at a time: the `connect` reply, then `account_messages` (balance
    and position updates: the real streamer sends `AccountBalance` and `CurrentPosition` for every change,
    developer docs "Streaming Account Data", the SDK's MAP_ALERTS in tastytrade/streamer.py), then that
    connection's `order_events`; then the session lapses and the socket is closed (code 1011): the SDK
    sends no heartbeat (streamer.py `AlertStreamer` has none) and access tokens last 15 minutes (developer
    docs, "Stream account updates"). `unstreamed[k]` are orders updated while the stream was down before
    connection k: never streamed, only in the REST live orders (`live_orders`), as a reject in the gap is.
    Every order streamed or missed becomes the latest state of that order in `live_orders`."""

    order_events: list[list[dict[str, Any]]] = field(default_factory=list)
    unstreamed: list[list[dict[str, Any]]] = field(default_factory=list)
    account_messages: list[dict[str, Any]] = field(default_factory=list)
    dxlink_sessions: int = 0
    option_chain: dict[str, Any] | None = None  # replaces option_chain_spx.json (full_spxw_expiry)
    dxlink_events: dict[str, list[dict[str, Any]]] | None = None  # replaces dxlink_events.json
    subscriptions: list[tuple[str, list[str]]] = field(default_factory=list)  # (event type, symbols) as sent
    dxlink_drop: bool = False  # DXLink closes the socket (1011) on the first subscription
    dxlink_padding: int = 0  # characters added to each batch (a busy market's aggregation period)
    stream_refuses: bool = False  # the account streamer answers the connect with an error
    alert_sessions: int = 0

    def transport(self) -> SharedASGITransport:  # type: ignore[override]
        return SharedASGITransport(self.app)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            host = scope["server"][0]
            if host == "tasty-openapi-ws.dxfeed.com":
                await self._dxlink(receive, send)
            else:
                await self._alerts(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        host = dict(scope["headers"]).get(b"host", b"api.tastyworks.com").decode()
        url = f"{scope['scheme']}://{host}{scope['path']}"
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode()
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        request = httpx2.Request(scope["method"], url, headers=headers, content=body)
        if request.url.path == "/api-quote-tokens":
            self.requests.append(request)
            response = httpx2.Response(
                200, json={"data": {"token": DX_TOKEN, "dxlink-url": DXLINK_URL, "level": "api"}}
            )
        elif request.url.path.startswith("/option-chains/"):
            self.requests.append(request)
            chain = self.option_chain if self.option_chain is not None else fixture("option_chain_spx.json")
            response = httpx2.Response(200, json=chain)
        else:
            response = self.handle(request)
        raw = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": response.content})

    async def _dxlink(self, receive: Receive, send: Send) -> None:
        """DXLink as the SDK speaks it (tastytrade/streamer.py `DXLinkStreamer`): SETUP, AUTH_STATE, AUTH,
        CHANNEL_REQUEST → CHANNEL_OPENED, FEED_SETUP → FEED_CONFIG (dxFeed's DXLink protocol: the server
        confirms the data format and the event fields it will send), FEED_SUBSCRIPTION → FEED_DATA.

        Data comes COMPACT, as the SDK asks for it (`acceptDataFormat`) and reads it (`_map_message`):
        `["Quote", [values of event 1 in the accepted field order, values of event 2, ...]]`, one batch
        message per channel for everything a subscription brought (the real feed batches each aggregation
        period, `acceptAggregationPeriod`, so a big subscription comes back as one big message). A missing
        value is the string "NaN", as DXLink sends it (the SDK's `NAN_VALUES`, dxfeed/event.py). A batch over
        the SDK's 64 KiB message limit (httpx2's DEFAULT_MAX_MESSAGE_SIZE_BYTES) makes the client close the
        socket with 1009, which the SDK raises as "Subscription message too long!"."""
        self.dxlink_sessions += 1
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        data = self.dxlink_events if self.dxlink_events is not None else fixture("dxlink_events.json")
        by_symbol = {kind: {e["eventSymbol"]: e for e in events} for kind, events in data.items()}
        fields: dict[int, tuple[str, list[str]]] = {}  # channel → (event type, accepted fields)

        async def say(message: dict[str, Any]) -> None:
            await send({"type": "websocket.send", "text": json.dumps(message)})

        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            message = json.loads(event["text"])
            kind, channel = message["type"], message.get("channel", 0)
            if kind == "SETUP":
                await say({"type": "SETUP", "channel": 0, "keepaliveTimeout": 60, "acceptKeepaliveTimeout": 60})
                await say({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
            elif kind == "AUTH":
                state = "AUTHORIZED" if message["token"] == DX_TOKEN else "UNAUTHORIZED"
                await say({"type": "AUTH_STATE", "channel": 0, "state": state})
            elif kind == "CHANNEL_REQUEST":
                await say({"type": "CHANNEL_OPENED", "channel": channel, "service": "FEED"})
            elif kind == "FEED_SETUP":
                ((event_type, accepted),) = message["acceptEventFields"].items()
                fields[channel] = (event_type, accepted)
                await say(
                    {
                        "type": "FEED_CONFIG", "channel": channel, "dataFormat": "COMPACT",
                        "aggregationPeriod": message.get("acceptAggregationPeriod", 0.1),
                        "eventFields": {event_type: accepted},
                    }
                )  # fmt: skip
            elif kind == "FEED_SUBSCRIPTION":
                if self.dxlink_drop:
                    await send({"type": "websocket.close", "code": 1011, "reason": "upstream failure"})
                    return
                event_type, accepted = fields[channel]
                symbols = [item["symbol"] for item in message.get("add", []) if item["type"] == event_type]
                self.subscriptions.append((event_type, symbols))
                flat: list[Any] = []
                for symbol in symbols:
                    found = by_symbol.get(event_type, {}).get(symbol)
                    if found is not None:
                        flat.extend(found.get(name, "NaN") for name in accepted)
                if flat:
                    batch: dict[str, Any] = {"type": "FEED_DATA", "channel": channel, "data": [event_type, flat]}
                    if self.dxlink_padding:
                        batch["padding"] = "x" * self.dxlink_padding
                    await say(batch)

    def _publish(self, order: dict[str, Any]) -> None:
        self.live_orders[:] = [o for o in self.live_orders if o["id"] != order["id"]] + [order]

    async def _alerts(self, receive: Receive, send: Send) -> None:
        connection = self.alert_sessions
        self.alert_sessions += 1
        for order in self.unstreamed[connection] if connection < len(self.unstreamed) else []:
            self._publish(order)
        await receive()
        await send({"type": "websocket.accept"})
        event = await receive()
        request = json.loads(event["text"])
        ok = request.get("auth-token") == f"Bearer {self.tokens[-1]}" and request.get("value") == [ACCOUNT]
        ok = ok and not self.stream_refuses
        reply = {"status": "ok" if ok else "error", "action": request["action"], "request-id": request["request-id"]}
        if not ok:
            reply["message"] = "invalid auth token"
        await send({"type": "websocket.send", "text": json.dumps(reply)})
        if ok:
            for message in self.account_messages:
                await send({"type": "websocket.send", "text": json.dumps(message)})
            for order in self.order_events[connection] if connection < len(self.order_events) else []:
                self._publish(order)
                await send({"type": "websocket.send", "text": json.dumps({"type": "Order", "data": order})})
        await send({"type": "websocket.close", "code": 1011, "reason": "session expired"})  # the session lapses


def full_spxw_expiry(
    expiry: str = "2026-12-04",
    spot: float = 5950.0,
    low: int = 3000,
    high: int = 8000,
    step: int = 5,
    root: str = "SPXW",
    underlying: str = "SPX",
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A whole SPXW expiry as the API lists it (one `Option` per strike and right, the shape of
    option_chain_spx.json) with a Quote and a Greeks event for each and SPX's Trade: 3000 to 8000 by 5 is
    2,002 options, about the size users report DXLink failing at. Prices are rough (intrinsic plus a
    time value falling away from the money); what matters here is the count and the message sizes."""
    template = fixture("option_chain_spx.json")["data"]["items"][0]
    day = date.fromisoformat(expiry)
    items, quotes, greeks = [], [], []
    for strike in range(low, high + step, step):
        for right in ("P", "C"):
            streamer = f".{root}{day:%y%m%d}{right}{strike}"
            occ = f"{root:<6}{day:%y%m%d}{right}{strike * 1000:08d}"
            items.append(
                {**template, "symbol": occ, "strike-price": f"{strike}.0", "option-type": right,
                 "expiration-date": expiry, "streamer-symbol": streamer, "root-symbol": root,
                 "underlying-symbol": underlying}
            )  # fmt: skip
            intrinsic = max(0.0, (spot - strike) if right == "C" else (strike - spot))
            value = round(intrinsic + 40.0 * math.exp(-abs(spot - strike) / 150.0), 2)
            moneyness = (spot - strike) / 150.0
            delta = 1 / (1 + math.exp(-moneyness)) - (1.0 if right == "P" else 0.0)
            quotes.append(
                {"eventSymbol": streamer, "eventTime": 0, "sequence": 0, "timeNanoPart": 0, "bidTime": 0,
                 "bidExchangeCode": "C", "askTime": 0, "askExchangeCode": "C", "bidPrice": max(0.0, value - 0.1),
                 "askPrice": value + 0.1, "bidSize": 10, "askSize": 10}
            )  # fmt: skip
            greeks.append(
                {"eventSymbol": streamer, "eventTime": 0, "eventFlags": 0, "index": 0, "time": 0, "sequence": 0,
                 "price": value, "volatility": 0.16, "delta": round(delta, 4), "gamma": 0.001, "theta": -1.5,
                 "rho": 0.0, "vega": 1.2}
            )  # fmt: skip
    trade = [{**fixture("dxlink_events.json")["Trade"][0], "eventSymbol": underlying, "price": spot}]
    return {"data": {"items": items}}, {"Quote": quotes, "Greeks": greeks, "Trade": trade}
