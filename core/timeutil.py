"""Time arithmetic that cannot go wrong across DST: Python subtracts two datetimes that share a tzinfo by
wall clock (2024-03-08 10:30 to 2024-03-11 16:00 New York is 77.5 "hours", really 76.5). Use these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from `start` to `end`, both timezone-aware."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("elapsed needs timezone-aware datetimes")
    return end.astimezone(UTC) - start.astimezone(UTC)
