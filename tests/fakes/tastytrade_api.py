"""An in-process fake of TastyTrade's REST API for the `tastytrade` SDK (through `httpx2.MockTransport`).

Responses come from the JSON fixtures in tests/fixtures/tasty (the API's real shape: kebab-case under
`data`). It checks what a real server would: the refresh-token grant, a bearer token on every other
request, known accounts; it records every request so tests can see what the tool sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
from httpx2.websockets import ASGIWebSocketTransport

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tasty"
ACCOUNT = "5WT00001"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class FakeTastytrade:
    refresh_token: str = "refresh-ok"
    token_lifetime: int = 900  # seconds; under the SDK's 60-second margin every request refreshes first
    down: bool = False  # the network fails
    echo_secrets_in_errors: bool = False  # a careless server that repeats what it was sent
    positions: list[dict[str, Any]] | None = None  # replaces the fixture's positions
    live_orders: list[dict[str, Any]] = field(default_factory=list)  # today's orders, latest state of each
    requests: list[httpx2.Request] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

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
        if path == "/oauth/token":
            grant = json.loads(request.content)
            if grant.get("grant_type") != "refresh_token" or grant.get("refresh_token") != self.refresh_token:
                echoed = f"got {grant.get('refresh_token')}" if self.echo_secrets_in_errors else ""
                return self._error(401, "error_invalid_grant.json", echoed)
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
            response = httpx2.Response(200, json=fixture("option_chain_spx.json"))
        else:
            response = self.handle(request)
        raw = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": response.content})

    async def _dxlink(self, receive: Receive, send: Send) -> None:
        self.dxlink_sessions += 1
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        data = fixture("dxlink_events.json")

        async def say(message: dict[str, Any]) -> None:
            await send({"type": "websocket.send", "text": json.dumps(message)})

        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            message = json.loads(event["text"])
            kind = message["type"]
            if kind == "SETUP":
                await say({"type": "SETUP", "channel": 0, "keepaliveTimeout": 60, "acceptKeepaliveTimeout": 60})
                await say({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
            elif kind == "AUTH":
                state = "AUTHORIZED" if message["token"] == DX_TOKEN else "UNAUTHORIZED"
                await say({"type": "AUTH_STATE", "channel": 0, "state": state})
            elif kind == "CHANNEL_REQUEST":
                await say({"type": "CHANNEL_OPENED", "channel": message["channel"], "service": "FEED"})
            elif kind == "FEED_SUBSCRIPTION":
                for item in message.get("add", []):
                    for found in data.get(item["type"], []):
                        if found["eventSymbol"] == item["symbol"]:
                            await say({"type": "FEED_DATA", "channel": message["channel"], "data": [found]})

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
