"""An in-process fake of TastyTrade's REST API for the `tastytrade` SDK (through `httpx2.MockTransport`).

Responses come from the JSON fixtures in tests/fixtures/tasty (the API's real shape: kebab-case under
`data`). It checks what a real server would: the refresh-token grant, a bearer token on every other
request, known accounts; it records every request so tests can see what the tool sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

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
            f"/accounts/{ACCOUNT}/orders/dry-run": "dry_run.json",
        }
        if path in routes:
            return httpx2.Response(200, json=fixture(routes[path]))
        if path == f"/customers/me/accounts/{ACCOUNT}":
            return httpx2.Response(200, json={"data": fixture("accounts.json")["data"]["items"][0]["account"]})
        if path == f"/accounts/{ACCOUNT}/positions":
            body = fixture("positions.json")
            if self.positions is not None:
                body["data"]["items"] = self.positions
            return httpx2.Response(200, json=body)
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
