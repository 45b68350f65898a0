"""A progress bar on the terminal for a replay: drawn only once a run has lasted `AFTER_SECONDS` (a short run
stays silent), redrawn in place at most a few times a second, with the session reached, net liq, trades and
the time left at the pace so far. The caller decides whether to show it at all (`--quiet` or a standard
output that is not a terminal: never)."""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import TextIO

AFTER_SECONDS = 2.0
EVERY_SECONDS = 0.25
WIDTH = 30


class ProgressBar:
    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.out = out or sys.stdout
        self.started = time.perf_counter()
        self.last_drawn = -1.0
        self.drawn = False

    def line(self, done: int, day: date, net_liq: float, trades: int, now: float) -> str:
        share = min(done / self.total, 1.0)
        filled = round(WIDTH * share)
        elapsed = now - self.started
        left = elapsed * (self.total - done) / done if done else 0.0
        bar = "#" * filled + "." * (WIDTH - filled)
        return (
            f"\r[{bar}] {share:4.0%} {day}  net liq {net_liq:12,.0f}  trades {trades:5d}"
            f"  {int(left) // 60:d}m{int(left) % 60:02d}s left"
        )

    def update(self, done: int, day: date, net_liq: float, trades: int) -> None:
        now = time.perf_counter()
        if now - self.started < AFTER_SECONDS or (now - self.last_drawn < EVERY_SECONDS and done < self.total):
            return
        self.last_drawn = now
        self.drawn = True
        self.out.write(self.line(done, day, net_liq, trades, now))
        self.out.flush()

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


class RunsBar:
    """The same bar for a batch of replays (a sweep, the chaos run): runs finished out of the total, how many
    came from the cache, and the time left at the pace of the runs actually done here."""

    def __init__(self, total: int, out: TextIO | None = None, label: str = "runs") -> None:
        self.total = max(total, 1)
        self.out = out or sys.stdout
        self.label = label
        self.started = time.perf_counter()
        self.last_drawn = -1.0
        self.drawn = False
        self.done = 0
        self.cached = 0

    def line(self, now: float) -> str:
        share = min(self.done / self.total, 1.0)
        filled = round(WIDTH * share)
        ran = self.done - self.cached
        left = (now - self.started) * (self.total - self.done) / ran if ran else 0.0
        bar = "#" * filled + "." * (WIDTH - filled)
        return (
            f"\r[{bar}] {self.done}/{self.total} {self.label} ({self.cached} cached)"
            f"  {int(left) // 60:d}m{int(left) % 60:02d}s left"
        )

    def update(self, cached: bool = False) -> None:
        self.done += 1
        self.cached += int(cached)
        now = time.perf_counter()
        if now - self.started < AFTER_SECONDS or (now - self.last_drawn < EVERY_SECONDS and self.done < self.total):
            return
        self.last_drawn = now
        self.drawn = True
        self.out.write(self.line(now))
        self.out.flush()

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
