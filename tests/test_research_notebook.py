"""research.ipynb runs top to bottom offline (nbclient on the venv's own kernel) and shows what it promises:
the chain, the strategy's decision with its reason, a proposal's buying power, and both reviews' verdicts."""

from __future__ import annotations

import re
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent


def test_the_research_notebook_runs_offline_and_shows_the_decisions() -> None:
    notebook = nbformat.read(ROOT / "research.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": ROOT}}
    ).execute()
    text = "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    )
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    assert "offline: modelled chains" in text
    assert "refused: 0DTE short delta band" in text  # a wrong what-if is refused, with its rule
    assert "default settings: ['zero_dte:" in text  # the strategy's own words
    assert "buying power" in text and "risk manager:" in text and "safety gate:" in text
    real_part = text.split("safety gate:")[-1]
    # The notebook reads ../shared/lean-data beside the project; which branch ran must match what is there.
    if (ROOT.parent / "shared" / "lean-data" / "indexoption" / "usa" / "minute" / "spxw").is_dir():
        assert "LEAN sample data not found" not in real_part
        found = re.search(r"SPX (\d+\.\d+); SPXW (\d+) quotes, (\d+) expiring today", real_part)
        assert found, real_part
        spx, quotes, expiring = float(found[1]), int(found[2]), int(found[3])
        assert 3_500 < spx < 4_000  # SPX on 2021-01-08, the sample day
        assert quotes > expiring > 0
    else:
        assert "LEAN sample data not found: skipped" in real_part
