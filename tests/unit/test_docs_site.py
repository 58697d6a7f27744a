"""The documentation site builds offline, with every link and reference resolved, and shows
the notebooks with their committed outputs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly_with_every_page(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pages = ["index.html", "results/index.html", "design/index.html", "api/index.html",
             "notebooks/01_quickstart/index.html"]  # fmt: skip
    assert all((site / page).is_file() for page in pages)
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert (
        "sociallearn.teaching.settings.Settings" in api
        and "sociallearn.teaching.student.Student" in api
    )
    results = (site / "results" / "index.html").read_text(encoding="utf-8")
    assert "Results that hold" in results
    for notebook in ("01_quickstart", "02_experiments", "03_privacy"):  # committed executed
        page = (site / "notebooks" / notebook / "index.html").read_text(encoding="utf-8")
        assert re.search(r'<img [^>]*src="data:image/png', page), f"{notebook}: no figure shown"
