"""`make bundle`: write the cloud bundle for a QuantConnect tier and print the lean CLI commands for it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deploy.bundle import PRESETS, ROOT, TIERS, BundleError, build

# Where a user finds the id (QuantConnect's API reference examples: "You can find our organization ID at
# https://www.quantconnect.com/organization/"; the id is the 32 hex characters that page's address ends with).
WHERE_THE_ORGANIZATION_ID_IS = (
    "open https://www.quantconnect.com/organization/ while logged in and copy the 32 hex characters at the end "
    "of the address into lean.json's organization-id"
)


def organization_warning(lean_json: Path) -> str | None:
    """What is wrong with the workspace's organization id, if anything. Nothing fills it: `lean login` stores
    only credentials and `lean init` refuses a folder that has a lean.json (lean-cli lean/commands/init.py),
    yet `lean cloud push` creates projects in it and `lean live deploy` installs the brokerage modules
    against it (lean-cli components/util/organization_manager.py `get_organization`, which prefers
    job-organization-id)."""
    if not lean_json.is_file():
        return f"{lean_json} is missing: `make lean.json` writes it from lean.template.json; then " + (
            WHERE_THE_ORGANIZATION_ID_IS
        )
    try:
        config = json.loads(lean_json.read_text())
    except ValueError as err:
        return f"{lean_json} is not valid JSON ({err}): the lean CLI cannot read it either"
    if not isinstance(config, dict):
        return f"{lean_json} is not a JSON object: the lean CLI cannot read it either"
    organization = config.get("job-organization-id") or config.get("organization-id")
    if not organization:
        return f"{lean_json}: organization-id is empty; {WHERE_THE_ORGANIZATION_ID_IS}"
    return None


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
    out = args.out.resolve()
    if not out.is_relative_to(ROOT):
        # `lean cloud push` names the cloud project by the project's path relative to the current folder and
        # fails on a path outside it; the CLI finds lean.json by walking up from that folder (lean-cli
        # components/cloud/push_manager.py `_push_project`, components/config/lean_config_manager.py
        # `get_lean_config_path`). So a bundle can only be pushed from inside this workspace.
        print(
            f"make bundle: --out {out} is outside the workspace {ROOT}: `lean cloud push` runs from the workspace "
            "and pushes only projects inside it; choose a folder under dist/",
            file=sys.stderr,
        )
        return 2
    try:
        bundle = build(TIERS[args.tier], out, overrides)
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
    warning = organization_warning(ROOT / "lean.json")
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    project = bundle.folder.relative_to(ROOT).as_posix()  # the lean CLI names cloud projects by their path
    print(f"push it and backtest it in QuantConnect cloud (after `lean login`), from {ROOT}:")
    print(f'  python -m deploy.push "{project}"    # lean cloud push, failing when the CLI only warns')
    print(f'  lean cloud backtest "{project}" --open')
    return 0


if __name__ == "__main__":
    sys.exit(main())
