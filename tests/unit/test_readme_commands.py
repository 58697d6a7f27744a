"""The commands of the README and the docs are valid commands: each parses with the real
argument parser; their tables are generated from the committed JSON."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from benchmarks import calibration, readme_tables
from sociallearn.apps.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TABLE = re.compile(r"<!-- table: ([\w-]+) -->")


def readme_commands() -> list[str]:
    text = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    joined = [block.replace("\\\n", " ") for block in blocks]  # continued lines
    lines = [line.split("  #")[0].strip() for block in joined for line in block.splitlines()]
    commands = []
    for line in lines:
        for part in line.split("&&"):
            words = shlex.split(part.strip())
            if words and words[0].endswith("sociallearn"):
                commands.append(shlex.join(words[1:]))
    return commands


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 15


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_parses(command: str):
    args = build_parser().parse_args(shlex.split(command))
    assert callable(args.func)


def test_benchmark_commands_run_modules_of_the_benchmarks_package():
    text = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    named = set(re.findall(r"-m benchmarks\.(\w+)", text))
    assert named and all((ROOT / "benchmarks" / f"{name}.py").is_file() for name in named)
    assert "python benchmarks/" not in text  # scripts import the package: run them with -m


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_tables_are_generated_from_the_committed_json(document: Path):
    text = document.read_text(encoding="utf-8")
    assert readme_tables.render(text) == text, "run python -m benchmarks.readme_tables"


def test_every_table_is_shown_once_and_the_readme_shows_the_demo():
    shown = [name for doc in DOCUMENTS for name in TABLE.findall(doc.read_text(encoding="utf-8"))]
    assert TABLE.findall(DOCUMENTS[0].read_text(encoding="utf-8")) == ["demo"]
    assert "locked" in TABLE.findall((ROOT / "docs" / "results" / "locked.md").read_text())
    assert sorted(shown) == sorted(readme_tables.TABLES)


# Files under benchmarks/results/ that no table is generated from, each with its reason.
KEPT_WITHOUT_A_TABLE = {
    "final_ledger.jsonl": "the ledger of final evaluations that benchmarks/locked.py keeps",
    "refined.json": "the experiment the `peers` table sets DSPy beside (`peers.py --compare`)",
    "retrieval.json": "docs/results/paper.md reports it in prose (Retrieval)",
}


def test_results_hold_only_files_a_page_shows_or_a_benchmark_reads():
    """One results file per study a page shows: exploration variants live in git history, and
    the benchmarks write no .md or .png copies beside their JSON."""
    shown = {file for file, _ in readme_tables.TABLES.values()}
    inputs = set(calibration.INPUTS)  # re-scored by benchmarks/calibration.py
    allowed = shown | inputs | set(KEPT_WITHOUT_A_TABLE)
    present = {path.name for path in readme_tables.RESULTS.iterdir()}
    assert present <= allowed, f"not shown by any page: {sorted(present - allowed)}"
    assert shown | inputs <= present
    pages = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    assert [name for name in sorted(present) if name not in pages] == [], "name it on its page"


def test_each_results_file_is_named_beside_the_command_that_wrote_it():
    paragraphs = [p for doc in DOCUMENTS for p in doc.read_text(encoding="utf-8").split("\n\n")]
    command = re.compile(r"python -m benchmarks\.\w+|sociallearn \w+")
    unexplained = [
        path.name
        for path in sorted(readme_tables.RESULTS.iterdir())
        if not any(path.name in p and command.search(p) for p in paragraphs)
    ]
    assert unexplained == [], "say in the paragraph that names the file which command wrote it"


def test_a_table_cell_marks_both_tests_and_the_gap():
    percent = readme_tables.percent
    summary = {
        "method": "instructions",
        "interval": {"mean": 0.7, "low": 0.6, "high": 0.8},
        "significant": True,
        "recovered_gap": 0.5,
        "p_vs_zero_shot": 0.01,
    }
    assert percent(summary) == "70.0 [60.0, 80.0]* (+0.50)†"
    assert percent({**summary, "p_vs_zero_shot": 0.2, "significant": False}) == (
        "70.0 [60.0, 80.0] (+0.50)"
    )
