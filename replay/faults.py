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
  reconciled with the broker's holdings.
All draws come from a generator seeded by the run's seed, so a run with faults is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCONNECT_MINUTES = 30  # longer than disconnect_critical_minutes' default (5): the CRITICAL alert fires too


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True)
class Faults:
    reject: float = 0.0
    partial: float = 0.0
    delay: float = 0.0
    disconnect: float = 0.0
    restart_daily: bool = False

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """`reject=0.05,partial=0.10,restart=daily` (any subset; empty for none)."""
        values: dict[str, float] = {}
        restart = False
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, eq, value = item.partition("=")
            if name == "restart" and eq and value == "daily":
                restart = True
            elif name in ("reject", "partial", "delay", "disconnect") and eq:
                try:
                    share = float(value)
                except ValueError:
                    raise FaultSpecError(f"--faults {name}={value}: not a number") from None
                if not 0.0 <= share <= 1.0:
                    raise FaultSpecError(f"--faults {name}={value}: a share from 0 to 1")
                values[name] = share
            else:
                raise FaultSpecError(
                    f"--faults '{item}': use reject=, partial=, delay=, disconnect= (a share each) or restart=daily"
                )
        if sum(v for k, v in values.items() if k != "disconnect") > 1.0:
            raise FaultSpecError("--faults: reject + partial + delay must not exceed 1")
        return cls(
            reject=values.get("reject", 0.0),
            partial=values.get("partial", 0.0),
            delay=values.get("delay", 0.0),
            disconnect=values.get("disconnect", 0.0),
            restart_daily=restart,
        )

    def describe(self) -> str:
        parts = [
            f"reject {self.reject:.0%}" if self.reject else "",
            f"partial {self.partial:.0%}" if self.partial else "",
            f"delay {self.delay:.0%}" if self.delay else "",
            f"disconnect on {self.disconnect:.0%} of sessions" if self.disconnect else "",
        ]
        parts.append("a restart before every session" if self.restart_daily else "")
        return ", ".join(p for p in parts if p) or "none"
