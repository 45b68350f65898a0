"""`make bench`: every benchmark, written to reports/bench.json and printed as the README's table.

Speed targets live here, never in timed tests. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import pipeline_bench, pricing_bench, replay_bench, risk_bench, strategies_bench, sweep_bench

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "bench.json"


def main() -> int:
    results = [
        pricing_bench.run(),
        risk_bench.run(),
        strategies_bench.run(),
        replay_bench.run(),
        pipeline_bench.run(),
        sweep_bench.run(),
    ]
    rows = [r for result in results for r in result.rows]
    REPORT.parent.mkdir(exist_ok=True)
    existing = json.loads(REPORT.read_text()) if REPORT.exists() else {"rows": []}
    names = {r["name"] for r in rows}
    merged = [r for r in existing.get("rows", []) if r.get("name") not in names] + rows
    REPORT.write_text(json.dumps({"rows": merged}, indent=2) + "\n")
    print("| benchmark | ours (ms) | baseline | baseline (ms) | ratio | n |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']}×"
        cells = [r["name"], r["median_ms"], r["baseline"] or "", r["baseline_median_ms"] or "", ratio, r["n"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for result in results:
        for line in result.lines:
            print(line)
    return 0 if all(result.met for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
