"""Notebooks are committed executed (`scripts/run_notebooks.py`), so that the documentation
site shows their outputs: every code cell ran once, in order, without an error, and each
notebook that plots shows its figure."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_executed_in_order(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), (
        "run .venv/bin/python scripts/run_notebooks.py"
    )
    outputs = [output for cell in code for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    if "matplotlib" in "".join(cell.source for cell in code):
        assert any("image/png" in output.get("data", {}) for output in outputs), "no figure"
