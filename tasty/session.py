"""The TastyTrade session: OAuth credentials from the environment, errors an operator can act on, and
nothing secret ever printed.

- `TT_SECRET` (the OAuth provider secret) and `TT_REFRESH` (the user's refresh token) come from the
  environment only; there is no password login (REFERENCE.md). `--sandbox` uses the certification API.
- The SDK logs at DEBUG by default and can log bearer tokens: its logger is held at WARNING here, and
  while the tool runs a `RedactingFilter` on its logger (and httpx2's) blanks secrets in every record, so
  an operator who turns the level up still sees no token.
- Every text this tool prints goes through `Redactor`, which blanks the secret, the refresh token and
  every access token the session has held (a long watch refreshes it every 15 minutes: `RedactedSession`
  hands each new one over as it arrives), wherever they appear (an API error that echoes a request, a
  traceback); and any `Bearer ...` or token field it was never told of (the DXLink token, one minted by
  a streamer) by its shape.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
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


# A token by its shape: a bearer credential, or a JSON or dict field that carries one (the DXLink AUTH
# message's "token", the OAuth grant's "refresh_token" and "client_secret", the streamer's "auth-token").
SHAPES = (
    re.compile(r"(Bearer\s+)[^\s'\",}]+"),
    re.compile(r"""(["'](?:token|access_token|refresh_token|client_secret|auth-token)["']\s*:\s*["'])[^"']+"""),
)


class Redactor:
    """Blanks every secret this process knows of in a text, and anything shaped like a token."""

    def __init__(self, *secrets: str) -> None:
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        for shape in SHAPES:
            text = shape.sub(r"\1***", text)
        return text


class RedactingFilter(logging.Filter):
    """Rewrites each log record with its secrets blanked (the message with its arguments put in first)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


LOGGERS = ("tastytrade", "httpx2")  # the SDK logs on one logger (tastytrade/__init__.py), its client on httpx2


@contextmanager
def redacting_logs(redact: Redactor) -> Iterator[None]:
    """A RedactingFilter on the SDK's and its HTTP client's loggers for the duration."""
    found = RedactingFilter(redact)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    for logger in loggers:
        logger.addFilter(found)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(found)


class RedactedSession(Session):
    """The SDK's session, handing every access token it is given to the redactor as it arrives."""

    def __init__(self, secret: str, refresh: str, redact: Redactor, is_test: bool, **client_kwargs: Any) -> None:
        super().__init__(secret, refresh, is_test=is_test, **client_kwargs)
        self.redact = redact

    async def refresh(self, force: bool = False) -> None:
        await super().refresh(force)
        self.redact.add(self.session_token)


# The token endpoint answers errors in OAuth's shape, {"error_code", "error_description"}, which the SDK's
# validate_response does not know: it raises "Couldn't parse response: {...}" with the dict's repr
# (tastyware/tastytrade#281). Read the two fields back out of it.
OAUTH_FIELD = re.compile(r"""['"]error_(code|description)['"]\s*:\s*['"]([^'"]*)['"]""")


def oauth_error(text: str) -> tuple[str, str]:
    """(error code, "code: description") from the SDK's message for a token-endpoint error; for any other
    message, ("", the message)."""
    found = dict(OAUTH_FIELD.findall(text))
    if "code" not in found:
        return "", " ".join(text.split())
    description = found.get("description", "")
    return found["code"], f"{found['code']}: {description}" if description else found["code"]


@asynccontextmanager
async def open_session(
    credentials: Credentials, sandbox: bool, redact: Redactor, **client_kwargs: Any
) -> AsyncIterator[Session]:
    """A refreshed session, or a ToolError that says what went wrong. `client_kwargs` reach the SDK's HTTP
    client (the tests pass a mock transport)."""
    session = RedactedSession(credentials.secret, credentials.refresh, redact, sandbox, **client_kwargs)
    async with session:
        try:
            await session.refresh(force=True)
        except TastytradeError as err:
            code, said = oauth_error(str(err))
            said = redact(said) or "no reason given"
            if code == "invalid_client":
                raise ToolError(
                    f"TastyTrade refused the OAuth provider secret ({said}): check {SECRET_VARIABLE} against "
                    "the OAuth application's client secret"
                ) from None
            raise ToolError(
                f"TastyTrade refused the refresh token ({said}): it may have expired or been revoked; create "
                f"a new one and export it as {REFRESH_VARIABLE}"
            ) from None
        except httpx2.TransportError as err:
            raise ToolError(f"cannot reach TastyTrade ({type(err).__name__}: {redact(str(err))})") from None
        yield session
