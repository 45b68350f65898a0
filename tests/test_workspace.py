"""The lean CLI's workspace files: lean.json written from a template by `make`, untracked; data/ ignored; the
CLI's ids kept out of config.json's diff by a git clean filter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from core.settings import Settings
from deploy.lean_ids import IDS, without_ids

ROOT = Path(__file__).resolve().parent.parent
needs_tools = pytest.mark.skipif(not (shutil.which("make") and shutil.which("git")), reason="needs make and git")


def test_the_template_tells_the_user_to_fill_the_organization_id_and_where_it_is() -> None:
    template = json.loads((ROOT / "lean.template.json").read_text())
    assert template["data-folder"] == "data" and template["organization-id"] == ""
    description = template["description"]
    assert "Fill organization-id in by hand" in description
    assert "https://www.quantconnect.com/organization/" in description
    assert "not the shared folder itself" in description  # the CLI overwrites its market-hours files


def test_git_ignores_the_workspace_files_the_cli_rewrites_and_the_data_it_downloads() -> None:
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert {"lean.json", "data/", "dist/"} <= ignored
    assert "/config.json filter=lean-ids" in (ROOT / ".gitattributes").read_text().splitlines()


def test_the_filter_drops_only_the_clis_ids() -> None:
    committed = (ROOT / "config.json").read_text()
    assert without_ids(committed) == committed  # committed without ids, byte for byte
    config = json.loads(committed)
    # what the CLI's Storage writes after a run and a push: json.dumps(indent=4) with the ids added at the end
    written = json.dumps({**config, "local-id": 512345678, "cloud-id": 214, "organization-id": "ab"}, indent=4)
    assert without_ids(written + "\n") == committed
    assert without_ids("{not json") == "{not json" and without_ids("[1]") == "[1]"
    assert set(IDS) == {"cloud-id", "local-id", "organization-id"}


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_tools
def test_make_writes_lean_json_once_and_git_does_not_see_the_clis_ids(tmp_path: Path) -> None:
    # a clone of the files involved, in its own repository: the real one's git config is shared by worktrees
    for name in ("Makefile", "lean.template.json", "config.json", ".gitattributes", ".gitignore", "deploy/lean_ids.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    run(["git", "init", "-q"], tmp_path)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "."], tmp_path)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone"], tmp_path)

    run(["make", "workspace", f"PYTHON={sys.executable}"], tmp_path)
    assert (tmp_path / "lean.json").read_text() == (ROOT / "lean.template.json").read_text()
    mine = '{"data-folder": "data", "organization-id": "5cad178b20a1d52567b534553413b691"}'
    (tmp_path / "lean.json").write_text(mine)
    run(["make", "workspace", f"PYTHON={sys.executable}"], tmp_path)
    assert (tmp_path / "lean.json").read_text() == mine  # never over the user's

    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "local-id": 512345678}, indent=4) + "\n")
    assert run(["git", "diff"], tmp_path) == ""  # the local-id filtered out
    # git status trusts a changed file size before the filter (read-cache.c `ie_modified`): config.json shows
    # as modified until `git add`, which stages nothing; lean.json never shows
    assert run(["git", "status", "--porcelain"], tmp_path) == " M config.json\n"
    run(["git", "add", "config.json"], tmp_path)
    assert run(["git", "status", "--porcelain"], tmp_path) == ""
    assert run(["git", "show", ":config.json"], tmp_path) == (ROOT / "config.json").read_text()
    config["parameters"]["daily_loss_limit"] = "0.04"
    (tmp_path / "config.json").write_text(json.dumps({**config, "local-id": 512345678}, indent=4) + "\n")
    diff = run(["git", "diff"], tmp_path)
    assert '+        "daily_loss_limit": "0.04",' in diff and "local-id" not in diff


def docker_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## With Docker and a QuantConnect account")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_readme_walks_the_lean_cli_in_the_order_a_user_meets_it() -> None:
    section = docker_section()
    steps = ["**0. Set up", "**1. Local backtest", "**2. Optimise", "**3. Bundle", "**4. Push", "**5. Cloud backtest"]
    steps += ["**6. Paper and live", "**Live at TastyTrade**"]
    at = [section.index(step) for step in steps]
    assert at == sorted(at)


def test_the_readmes_optimisation_examples_run_through_the_settings_as_leans_optimizer_sends_them() -> None:
    sweeps = re.findall(r"--parameter (\w+) ([\d.]+) ([\d.]+) ([\d.]+)", docker_section())
    assert len(sweeps) >= 4  # the local and the cloud example, two parameters each
    for name, low, high, step in sweeps:
        start, end, by = Decimal(repr(float(low))), Decimal(repr(float(high))), Decimal(repr(float(step)))
        values = [str(start + n * by) for n in range(int((end - start) / by) + 1)]
        assert len(values) > 1
        for value in values:
            Settings.from_parameters({name: value})  # raises, naming the parameter, if one were refused
