"""python -m deploy: where a bundle may go, and the organization id nothing fills in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from deploy.__main__ import main, organization_warning
from deploy.push import push

ROOT = Path(__file__).resolve().parent.parent


def test_a_bundle_outside_the_workspace_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path / "elsewhere")]) == 2
    err = capsys.readouterr().err
    assert "outside the workspace" in err and "lean cloud push" in err and "dist/" in err
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "is missing: `make lean.json`"),
        ("{", "not valid JSON"),
        ('{"data-folder": "data", "organization-id": ""}', "organization-id is empty"),
        ('{"data-folder": "data"}', "organization-id is empty"),
    ],
)
def test_an_empty_organization_id_is_a_warning_that_says_where_to_find_it(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    lean_json = tmp_path / "lean.json"
    if content is not None:
        lean_json.write_text(content)
    warning = organization_warning(lean_json)
    assert warning is not None and expected in warning
    if content is None or "organization-id" in content or content == '{"data-folder": "data"}':
        assert "https://www.quantconnect.com/organization/" in warning


def test_a_filled_organization_id_needs_no_warning(tmp_path: Path) -> None:
    for config in ({"organization-id": "5cad178b20a1d52567b534553413b691"}, {"job-organization-id": "abc"}):
        (tmp_path / "lean.json").write_text(json.dumps(config))
        assert organization_warning(tmp_path / "lean.json") is None


FAKE_LEAN = """#!{python}
import json, pathlib, sys
assert sys.argv[1:4] == ["cloud", "push", "--project"], sys.argv
project = pathlib.Path(sys.argv[4])
if {save_id}:
    config = json.loads((project / "config.json").read_text())
    config["cloud-id"] = 21400001
    (project / "config.json").write_text(json.dumps(config))
print({output!r})
sys.exit({code})
"""


def fake_lean(tmp_path: Path, output: str, code: int = 0, save_id: bool = True) -> str:
    script = tmp_path / "lean"
    script.write_text(FAKE_LEAN.format(python=sys.executable, output=output, code=code, save_id=save_id))
    script.chmod(0o755)
    return str(script)


def workspace_with_bundle(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / "dist" / "options-income").mkdir(parents=True)
    (workspace / "dist" / "options-income" / "config.json").write_text('{"parameters": {}}')
    return workspace


@pytest.mark.parametrize(
    ("output", "code", "save_id", "expected"),
    [
        # push_manager.py's warning for any error, the CLI still exiting 0
        (
            "[1/1] Pushing 'dist/options-income'\nCannot push 'dist/options-income': Too many files (60 > 50)",
            0,
            False,
            "could not push (it only warns and exits 0): Cannot push 'dist/options-income': Too many files",
        ),
        ("Renaming 'dist/options-income' to 'dist/options-income 2'\nSuccessfully updated files", 0, True, "renamed"),
        ("[1/1] Pushing 'dist/options-income'", 0, True, "did not confirm"),
        ("Successfully updated name and files for 'dist/options-income'", 0, False, "no cloud-id after the push"),
        ("Error: not logged in", 1, False, "exited 1"),
    ],
)
def test_a_push_the_cli_only_warned_about_fails_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, code: int, save_id: bool, expected: str
) -> None:
    workspace = workspace_with_bundle(tmp_path)
    assert push("dist/options-income", fake_lean(tmp_path, output, code, save_id), workspace) == 1
    shown = capsys.readouterr()
    assert output.splitlines()[0] in shown.out  # the CLI's own words are shown as they come
    assert "make push: FAILED" in shown.err and expected in shown.err


def test_a_confirmed_push_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = workspace_with_bundle(tmp_path)
    said = "[1/1] Pushing 'dist/options-income'\nSuccessfully updated name, files, and libraries for 'x'"
    assert push("dist/options-income", fake_lean(tmp_path, said), workspace) == 0
    assert "is in QuantConnect cloud" in capsys.readouterr().out


def test_pushing_without_a_bundle_or_a_cli_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert push("dist/options-income", "lean", tmp_path) == 2
    assert "run `make bundle` first" in capsys.readouterr().err
    workspace = workspace_with_bundle(tmp_path)
    assert push("dist/options-income", str(tmp_path / "no-such-lean"), workspace) == 2
    assert "install the lean CLI" in capsys.readouterr().err
