"""The TastyTrade session: OAuth credentials from the environment, errors an operator can act on, and
nothing secret ever printed.

- `TT_SECRET` (the OAuth provider secret) and `TT_REFRESH` (the user's refresh token) come from the
  environment only; there is no password login (REFERENCE.md). `--sandbox` uses the certification API.
- The SDK logs at DEBUG by default and can log bearer tokens: its logger is held at WARNING here.
- Every text this tool prints goes through `Redactor`, which blanks the secret, the refresh token and the
  access token wherever they appear (an API error that echoes a request, a traceback).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from tastytrade import Session
from tastytrade.utils import TastytradeError

logging.getLogger("tastytrade").setLevel(logging.WARNING)

SECRET_VARIABLE = "TT_SECRET"
REFRESH_VARIABLE = "TT_REFRESH"


class ToolError(Exception):
    """Something the operator can fix, said in words (no traceback, no secret)."""


def find_error(
    err: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """`err` if it is one of `kinds`, else the first such error inside it when it is an exception group (the
    SDK's and anyio's task groups wrap what went wrong in them), else None."""
    if isinstance(err, kinds):
        return err
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            found = find_error(inner, kinds)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Credentials:
    secret: str
    refresh: str

    def __repr__(self) -> str:  # never in a log or a traceback
        return "Credentials(***)"


def credentials_from(environ: dict[str, str] | None = None) -> Credentials:
    env = os.environ if environ is None else environ
    missing = [name for name in (SECRET_VARIABLE, REFRESH_VARIABLE) if not env.get(name)]
    if missing:
        raise ToolError(
            f"{' and '.join(missing)} not set: export the OAuth provider secret as {SECRET_VARIABLE} and the "
            f"refresh token as {REFRESH_VARIABLE} (TastyTrade: Manage > My Profile > API > OAuth applications)"
        )
    return Credentials(env[SECRET_VARIABLE], env[REFRESH_VARIABLE])


class Redactor:
    """Blanks every secret this process knows of in a text."""

    def __init__(self, *secrets: str) -> None:
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


@asynccontextmanager
async def open_session(
    credentials: Credentials, sandbox: bool, redact: Redactor, **client_kwargs: Any
) -> AsyncIterator[Session]:
    """A refreshed session, or a ToolError that says what went wrong. `client_kwargs` reach the SDK's HTTP
    client (the tests pass a mock transport)."""
    session = Session(credentials.secret, credentials.refresh, is_test=sandbox, **client_kwargs)
    async with session:
        try:
            await session.refresh(force=True)
        except TastytradeError as err:
            said = redact(str(err).strip()) or "no reason given"
            raise ToolError(
                f"TastyTrade refused the refresh token ({said}): it may have expired or been revoked; create "
                f"a new one and export it as {REFRESH_VARIABLE}"
            ) from None
        except httpx2.TransportError as err:
            raise ToolError(f"cannot reach TastyTrade ({type(err).__name__}: {redact(str(err))})") from None
        redact.add(session.session_token)
        yield session
