"""The shell ports for the replay: alerts kept for the report (and written to alerts.log), and a Store on a
folder (one file per key) or in memory (the run's state between restarts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.ports import AlertLevel, AlertMessage


@dataclass
class ListAlerts:
    sent: list[AlertMessage] = field(default_factory=list)

    def send(self, level: AlertLevel, title: str, body: str) -> None:
        self.sent.append(AlertMessage(level, title, body))


@dataclass
class FolderStore:
    folder: Path

    def save(self, key: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(path)  # a crash mid-write leaves the previous file, never half of one

    def load(self, key: str) -> str | None:
        path = self.folder / f"{key}.json"
        return path.read_text() if path.exists() else None


@dataclass
class MemoryStore:
    texts: dict[str, str] = field(default_factory=dict)
    saves: int = 0

    def save(self, key: str, text: str) -> None:
        self.texts[key] = text
        self.saves += 1

    def load(self, key: str) -> str | None:
        return self.texts.get(key)
