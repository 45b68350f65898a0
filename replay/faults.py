"""Faults the replay broker injects, by parameter (`--faults reject=0.05,partial=0.10,delay=0.05,restart=daily`).

- reject: the share of marketable orders the broker rejects (a leg refused) instead of filling;
- partial: the share of marketable orders that fill only part: some legs of a combo (orphan legs for the
  fill checks to close) or, for one leg, half the quantity; the rest never fills and waits for the cancel;
- delay: the share of marketable orders whose fill arrives only after the fill checks have timed out and
  sent the cancel (the cancel then does nothing: a late fill);
- disconnect: about the share of sessions in which the broker connection drops for `DISCONNECT_MINUTES` at
  a scheduled step (drawn at each step with the share spread over a day's steps, so a session may see none
  or, rarely, two): no orders go out or fill, the connection safety halts entries, and on reconnect the
  book is reconciled with the broker's holdings before trading resumes;
- restart=daily: before every session the algorithm is thrown away and rebuilt from its saved state,
  reconciled with the broker's holdings; restart=SHARE: the same at a share of all steps, at any moment
  (between an order and its fill too: the open orders are cancelled and the ones in flight resume);
- corrupt: the share of restarts that find the saved state truncated (trading must come back HALTED);
- ignore_cancel: the share of cancels the broker acknowledges without acting (the plugin bug in
  REFERENCE.md): the order stays working and may still fill;
- gap: the share of steps at which no data arrives (the step does not happen);
- bad_quotes: the share of steps whose chains carry crossed, zero or missing quotes on some rows;
- disconnect_minutes=LO-HI: how long a disconnect lasts, drawn in minutes (default 30-30).
All draws come from a generator seeded by the run's seed, so a run with faults is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCONNECT_MINUTES = 30  # longer than disconnect_critical_minutes' default (5): the CRITICAL alert fires too


class FaultSpecError(ValueError):
    pass


SHARES = ("reject", "partial", "delay", "disconnect", "restart", "corrupt", "ignore_cancel", "gap", "bad_quotes")


@dataclass(frozen=True)
class Faults:
    reject: float = 0.0
    partial: float = 0.0
    delay: float = 0.0
    disconnect: float = 0.0
    restart_daily: bool = False
    restart: float = 0.0  # share of steps with a restart at that moment
    corrupt: float = 0.0  # share of restarts that find the state file truncated
    ignore_cancel: float = 0.0
    gap: float = 0.0
    bad_quotes: float = 0.0
    disconnect_minutes: tuple[int, int] = (DISCONNECT_MINUTES, DISCONNECT_MINUTES)

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """`reject=0.05,partial=0.10,restart=daily` (any subset; empty for none)."""
        values: dict[str, float] = {}
        restart = False
        minutes = (DISCONNECT_MINUTES, DISCONNECT_MINUTES)
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, eq, value = item.partition("=")
            if name == "restart" and eq and value == "daily":
                restart = True
            elif name == "disconnect_minutes" and eq:
                low, _, high = value.partition("-")
                try:
                    minutes = (int(low), int(high or low))
                except ValueError:
                    raise FaultSpecError(f"--faults {item}: minutes as LO-HI, e.g. 1-30") from None
                if not 1 <= minutes[0] <= minutes[1] <= 390:
                    raise FaultSpecError(f"--faults {item}: 1 <= LO <= HI <= 390 minutes")
            elif name in SHARES and eq:
                try:
                    share = float(value)
                except ValueError:
                    raise FaultSpecError(f"--faults {name}={value}: not a number") from None
                if not 0.0 <= share <= 1.0:
                    raise FaultSpecError(f"--faults {name}={value}: a share from 0 to 1")
                values[name] = share
            else:
                raise FaultSpecError(
                    f"--faults '{item}': use {'=, '.join(SHARES)}= (a share each), restart=daily or "
                    "disconnect_minutes=LO-HI"
                )
        if sum(values.get(k, 0.0) for k in ("reject", "partial", "delay")) > 1.0:
            raise FaultSpecError("--faults: reject + partial + delay must not exceed 1")
        return cls(restart_daily=restart, disconnect_minutes=minutes, **values)

    def describe(self) -> str:
        parts = [
            f"reject {self.reject:.0%}" if self.reject else "",
            f"partial {self.partial:.0%}" if self.partial else "",
            f"delay {self.delay:.0%}" if self.delay else "",
            f"disconnect on {self.disconnect:.0%} of sessions" if self.disconnect else "",
        ]
        parts += [
            f"restart at {self.restart:.1%} of steps" if self.restart else "",
            f"{self.corrupt:.0%} of restarts on a truncated state file" if self.corrupt else "",
            f"{self.ignore_cancel:.0%} of cancels ignored" if self.ignore_cancel else "",
            f"no data at {self.gap:.0%} of steps" if self.gap else "",
            f"bad quotes at {self.bad_quotes:.0%} of steps" if self.bad_quotes else "",
        ]
        parts.append("a restart before every session" if self.restart_daily else "")
        return ", ".join(p for p in parts if p) or "none"
