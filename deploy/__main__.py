"""`make bundle`: write the cloud bundle for a QuantConnect tier and print the lean CLI commands for it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy.bundle import PRESETS, ROOT, TIERS, BundleError, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--tier", choices=sorted(TIERS), default="researcher", help="QuantConnect tier to fit")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "options-income", help="bundle folder")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named set of parameters (start-small)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a parameter")
    args = parser.parse_args(argv)
    overrides = dict(PRESETS[args.preset]) if args.preset else {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            parser.error(f"--set {item}: expected KEY=VALUE")
        overrides[key.strip()] = value.strip()
    try:
        bundle = build(TIERS[args.tier], args.out.resolve(), overrides)
    except BundleError as err:
        print(f"make bundle: {err}", file=sys.stderr)
        return 1
    name, size = bundle.largest
    tier = bundle.tier
    print(f"bundle: {bundle.folder} ({bundle.layout} layout)")
    print(f"  {len(bundle.files)} files (the {tier.name} tier allows {tier.max_files}); largest {name} {size:,} bytes")
    print(f"  (limit {tier.max_bytes:,})")
    if overrides:
        print("  parameters changed in its config.json: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())))
    try:
        project = bundle.folder.relative_to(ROOT).as_posix()  # the lean CLI names cloud projects by their path
    except ValueError:
        project = str(bundle.folder)
    print("push it and backtest it in QuantConnect cloud (after `lean login`):")
    print(f"  lean cloud push --project {project}")
    print(f'  lean cloud backtest "{project}" --open')
    return 0


if __name__ == "__main__":
    sys.exit(main())
