"""In-memory fakes of the shell ports, shared by the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.ports import AlertLevel


@dataclass
class MemoryStore:
    data: dict[str, str] = field(default_factory=dict)

    def save(self, key: str, text: str) -> None:
        self.data[key] = text

    def load(self, key: str) -> str | None:
        return self.data.get(key)


@dataclass
class RecordingAlerts:
    sent: list[tuple[AlertLevel, str, str]] = field(default_factory=list)

    def send(self, level: AlertLevel, title: str, body: str) -> None:
        self.sent.append((level, title, body))


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment
