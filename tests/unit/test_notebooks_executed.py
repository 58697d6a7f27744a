"""Notebooks are committed executed (`scripts/run_notebooks.py`), so that the documentation
site shows their outputs: every code cell ran once, in order, without an error, from the code
the notebook holds now, and each notebook that plots shows its figure."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from scripts.run_notebooks import NOTEBOOKS, code_sha256

RUN = "run: flock /tmp/sociallearn-model.lock .venv/bin/python scripts/run_notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_executed_from_its_current_code(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    recorded = notebook.metadata.get("sociallearn", {}).get("source_sha256")
    assert recorded == code_sha256(notebook), (
        f"{path.name}: its outputs are not from its current code; {RUN} notebooks/{path.name}"
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), RUN
    outputs = [output for cell in code for output in cell.outputs]
    assert outputs and not [output for output in outputs if output.output_type == "error"]
    if "matplotlib" in "".join(cell.source for cell in code):
        assert any("image/png" in output.get("data", {}) for output in outputs), "no figure"
