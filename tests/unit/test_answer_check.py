"""benchmarks/answer_check.py and rare_numbers.py on a small GSM8K file: taught examples
re-checked against their silos, and the private-numbers layer's limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import answer_check, rare_numbers
from sociallearn.experiments.harness import CellResult
from sociallearn.experiments.spec import ExperimentSpec

PROBLEMS = [
    {
        "question": f"Ann has {i} apples and buys {i + 1} more. How many?",
        "answer": f"#### {2 * i + 1}",
    }
    for i in range(2000, 2030)
] + [{"question": "The locker code plus 25 is 7671. What is the code?", "answer": "#### 7646"}]


@pytest.fixture
def gsm8k_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(problem) + "\n" for problem in PROBLEMS))
    return path


def cell(lessons: list[str]) -> CellResult:
    return CellResult(
        task="gsm8k", method="synthetic_examples+random", seed=0, key="k", accuracy=0.0, n=0,
        seconds=0.0, cpu_seconds=0.0, predictions=[], lessons=lessons,
    )  # fmt: skip


def test_taught_answers_are_rechecked_as_free_text_and_as_answers(gsm8k_file):
    spec = ExperimentSpec(task="gsm8k", data_path=str(gsm8k_file), teachers=2, test_size=4)
    lessons = [
        "Question: Bo has 3 pens and 4 more. How many pens?\nAnswer: 3 + 4 = 7\n#### 7",
        "Question: A locker has a code. What is it?\nAnswer: The code is 7646.\n#### 7646",
        "Question: A shop has 4000 pens and gets 1 more. Total?\nAnswer: 4000+1=<<4000+1=4001>>4001\n"
        "#### 4001",
        "Question: Tell Jennifer: 2 pens and 2 more?\nAnswer: Jennifer has 2 + 2 = 4\n#### 4",
        "not an example",
    ]
    report = answer_check.measure(spec, [cell(lessons)])
    assert report["examples"] == 4
    # the code the answer introduces is dropped, not 4001: a private number, but computed
    assert report["as_answer"] == {"dropped": 1, "changed": 1}  # the name is redacted
    assert report["as_answer_reasons"] == {"private number": 1}
    # through the whole filter the calculation's numbers read as rare private numbers
    assert report["free_text"]["changed"] >= 2
    assert report["checks"] >= 4


def test_a_higher_limit_protects_more_codes_and_redacts_more(gsm8k_file, monkeypatch):
    monkeypatch.setenv("SOCIALLEARN_DATA_DIR", str(gsm8k_file.parent.parent))
    (gsm8k_file.parent.parent / "gsm8k").mkdir()
    gsm8k_file.rename(gsm8k_file.parent.parent / "gsm8k" / "train.jsonl")
    report = rare_numbers.measure("gsm8k", [1, 2, 5], seed=0)
    rows = report["rows"]
    assert report["texts"] == len(PROBLEMS)
    unprotected = [row["unprotected_codes_whole"] for row in rows]
    redacted = [row["new_texts_redacted"] for row in rows]
    assert unprotected == sorted(unprotected, reverse=True) and unprotected[0] > 0
    assert redacted == sorted(redacted) and 0 < redacted[-1] <= 1
