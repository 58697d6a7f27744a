"""Task loaders, answer extraction and the data split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sociallearn.stores.silo import split_data
from sociallearn.tasks import DataError, get_task


def test_sms_loader_reads_upstream_format(sms_file: Path):
    examples = get_task("sms_spam").load(sms_file)
    assert len(examples) == 20
    assert {e.answer for e in examples} == {"spam", "ham"}
    assert all(e.output == e.answer for e in examples)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("spam no tab here", "line 2: expected 'label<TAB>text'"),
        ("junk\thello", "line 2: field 'label' is 'junk'"),
        ("ham\t   ", "line 2: field 'text' is empty"),
    ],
)
def test_sms_loader_names_file_and_line(tmp_path: Path, line: str, message: str):
    path = tmp_path / "sms.tsv"
    path.write_text(f"ham\tfine\n{line}\n")
    with pytest.raises(DataError, match=message) as error:
        get_task("sms_spam").load(path)
    assert str(path) in str(error.value)


def test_gsm8k_loader_and_answers(tmp_path: Path):
    path = tmp_path / "test.jsonl"
    records = [
        {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3+4=<<3+4=7>>7\n#### 7"},
        {"question": "A shop sells 1,200 pens.", "answer": "#### 1,200"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    task = get_task("gsm8k")
    examples = task.load(path)
    assert [e.answer for e in examples] == ["7", "1200"]
    assert task.extract_answer("so 3+4 = 7\n#### 7\n") == "7"
    assert task.extract_answer("The answer is 12.50 dollars") == "12.5"
    assert task.is_correct("1200", examples[1]) and not task.is_correct("12", examples[1])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q", "answer": "no final"}', "field 'answer' has no '#### '"),
        ('{"question": "", "answer": "#### 1"}', "field 'question' missing or empty"),
        ("{not json", "invalid JSON"),
    ],
)
def test_gsm8k_loader_errors(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n' + content + "\n")
    with pytest.raises(DataError, match=f"{path}, line 2: {message}"):
        get_task("gsm8k").load(path)


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DataError, match="dataset file not found"):
        get_task("sms_spam").load(tmp_path / "nope")


def test_random_insertion_is_deterministic_and_recoverable():
    task = get_task("random_insertion")
    first, second = task.load(), get_task("random_insertion").load()
    assert first == second and len(first) >= 1000
    for example in first[:50]:
        recovered = "".join(ch for ch in example.input if ch.isalpha())
        assert recovered == example.answer


def test_split_is_balanced_disjoint_and_plants_canary(sms_file: Path):
    task = get_task("sms_spam")
    examples = task.load(sms_file)
    canary = examples[0].model_copy(update={"input": "my secret code is 1234"})
    split = split_data(task, examples, teachers=2, test_size=4, seed=1, canary=canary)
    assert sorted(e.answer for e in split.test) == ["ham", "ham", "spam", "spam"]
    test_inputs = {e.input for e in split.test}
    for silo in split.silos.values():
        assert silo.examples[0] == canary
        assert not test_inputs & set(silo.private_texts())
    assert split_data(task, examples, teachers=2, test_size=4, seed=1).test == split.test


def test_generation_tasks_split_into_a_full_test_set():
    task = get_task("random_insertion")
    split = split_data(task, task.load(), teachers=4, test_size=200, seed=0)
    assert len(split.test) == 200 and all(len(s.examples) > 2 for s in split.silos.values())
