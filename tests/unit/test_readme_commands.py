"""The README's commands are valid commands: each parses with the real argument parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sociallearn.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
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


def test_readme_tables_are_generated_from_the_committed_json(benchmark):
    text = README.read_text(encoding="utf-8")
    assert text.count("<!-- table: ") >= 4
    assert benchmark("readme_tables").render(text) == text, "run benchmarks/readme_tables.py"


def test_a_table_cell_marks_both_tests_and_the_gap(benchmark):
    percent = benchmark("readme_tables").percent
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
