"""`make push`: `lean cloud push` for the bundle, failing loudly when the push did not happen.

The lean CLI catches every error of a push, logs "Cannot push '<project>': <reason>" as a warning and exits
0 (lean-cli lean/components/cloud/push_manager.py, `PushManager.push_projects`), so a quota rejection or a
lost login leaves the old code in the cloud while a script carries on. This runs the push, shows its output
as it comes, and exits 1 unless the CLI said it updated the project and the bundle still holds its cloud-id.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from deploy.bundle import ROOT

DEFAULT_PROJECT = "dist/options-income"
# push_manager.py: `_push_metadata` ends a push with "Successfully updated ... for '<name>'" and
# `_push_project` logs "Successfully created cloud project '<name>'" for a new one; a local rename, which
# leaves the bundle at another path, is "Renaming '<old>' to '<new>'".
CONFIRMED = ("Successfully updated", "Successfully created cloud project")
FAILED = "Cannot push"
RENAMED = "Renaming '"


class PushError(RuntimeError):
    pass


def verdict(output: str, project: Path) -> None:
    """Raise PushError saying why the push in `output` cannot be trusted to have updated `project`."""
    lines = output.splitlines()
    failures = [line.strip() for line in lines if FAILED in line]
    if failures:
        raise PushError("the lean CLI could not push (it only warns and exits 0): " + " | ".join(failures))
    renamed = [line.strip() for line in lines if line.strip().startswith(RENAMED)]
    if renamed:
        raise PushError(
            f"the lean CLI renamed the local project ({renamed[0]}): its cloud link did not match; "
            f"`lean cloud backtest` on the old name would run another cloud project"
        )
    if not any(text in output for text in CONFIRMED):
        raise PushError("the lean CLI did not confirm the push (no 'Successfully updated' in its output)")
    config = json.loads((project / "config.json").read_text())
    if not config.get("cloud-id"):
        raise PushError(f"{project / 'config.json'} has no cloud-id after the push")


def push(project: str, lean: str = "lean", workspace: Path = ROOT) -> int:
    folder = (workspace / project).resolve()
    if not (folder / "config.json").is_file():
        print(f"make push: {folder} is not a LEAN project (no config.json): run `make bundle` first", file=sys.stderr)
        return 2
    # From the workspace: the CLI names the cloud project by its path relative to the current folder.
    command = [lean, "cloud", "push", "--project", folder.relative_to(workspace).as_posix()]
    try:
        run = subprocess.Popen(
            command, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except FileNotFoundError:
        print(f"make push: {lean} not found: install the lean CLI (`pip install lean`)", file=sys.stderr)
        return 2
    assert run.stdout is not None
    seen: list[str] = []
    for line in run.stdout:
        print(line, end="")
        seen.append(line)
    code = run.wait()
    try:
        if code != 0:
            raise PushError(f"`{' '.join(command)}` exited {code}")
        verdict("".join(seen), folder)
    except PushError as err:
        print(f"make push: FAILED: {err}", file=sys.stderr)
        return 1
    print(f"make push: {folder.relative_to(workspace).as_posix()} is in QuantConnect cloud")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.push", description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=DEFAULT_PROJECT, help="the bundle, relative to the workspace")
    parser.add_argument("--lean", default="lean", help="the lean CLI executable")
    args = parser.parse_args(argv)
    return push(args.project, args.lean)


if __name__ == "__main__":
    sys.exit(main())
