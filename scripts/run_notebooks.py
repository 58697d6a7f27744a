"""Execute the notebooks in place, so that the documentation site shows their outputs.

    flock /tmp/sociallearn-model.lock .venv/bin/python scripts/run_notebooks.py [NOTEBOOK ...]

Every notebook in notebooks/ (or those named) runs top to bottom in a fresh kernel, in a scratch
folder, at the size CI runs it (SOCIALLEARN_NOTEBOOK_SMALL=1, as the integration test
tests/integration/test_notebooks.py does), each cell within --timeout seconds. A notebook that
runs through is written back with its outputs and, in its metadata, the SHA-256 of the code they
came from (`sociallearn.source_sha256`): tests/unit/test_notebooks_executed.py fails when a
notebook's code has changed since. A notebook with a failing cell is left as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_sha256(notebook: nbformat.NotebookNode) -> str:
    """The SHA-256 of the notebook's code cells' sources, in order."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def execute(path: Path, timeout: int) -> None:
    """Run the notebook at `path` and write it back with its outputs and its code's hash."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="sociallearn-notebook-run-") as scratch:
        NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,  # no timestamps in the committed cells
            resources={"metadata": {"path": scratch}},
        ).execute()
    notebook.metadata["sociallearn"] = {"source_sha256": code_sha256(notebook)}
    nbformat.write(notebook, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=NOTEBOOKS)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    os.environ["SOCIALLEARN_NOTEBOOK_SMALL"] = "1"  # the kernels inherit it
    failed = []
    for path in args.notebooks:
        print(f"running {path.name}", flush=True)
        try:
            execute(path, args.timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            print(f"{path.name} left as it was: {error}", file=sys.stderr)
            failed.append(path.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
