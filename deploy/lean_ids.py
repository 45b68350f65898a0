"""The git clean filter that keeps the lean CLI's ids out of config.json's diff (`make` configures it).

The lean CLI writes a random local-id into the project's config.json on every local run, and `lean cloud
push` a cloud-id and organization-id (lean-cli components/config/lean_config_manager.py
`get_complete_lean_config` → project_config_manager.py `get_local_id`; components/cloud/push_manager.py
`_push_project`). They name one machine's and one account's projects, not the project, so git sees
config.json without them: `.gitattributes` sends the root config.json through this filter, which drops the
three keys and leaves every other byte as the CLI wrote it (its `Storage` saves `json.dumps(indent=4)`, the
format config.json is committed in). Stdlib only: git runs it with the system python3 from the work tree's top.
"""

from __future__ import annotations

import json
import sys

IDS = ("cloud-id", "local-id", "organization-id")


def without_ids(text: str) -> str:
    """`text` without the CLI's ids; unchanged when it has none or is not a JSON object (a filter that
    failed would stop `git add`, and git must never lose a file it was given)."""
    try:
        config = json.loads(text)
    except ValueError:
        return text
    if not isinstance(config, dict) or not any(key in config for key in IDS):
        return text
    return json.dumps({k: v for k, v in config.items() if k not in IDS}, indent=4) + "\n"


if __name__ == "__main__":
    sys.stdout.write(without_ids(sys.stdin.read()))
