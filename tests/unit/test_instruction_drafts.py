"""benchmarks/instruction_drafts.py: drafts read by the student on held-back and dev examples,
the choice among them, and the chat opener, with a scripted model."""

from __future__ import annotations

import json

from benchmarks import instruction_drafts, readme_tables
from benchmarks.specs import refined_specs
from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool

OPENER = "Sure, I'd be happy to help you with that:\n\n"
RULE = "Spam offers prizes; ham is personal chat."


def test_the_opener_is_only_a_chat_models_first_line():
    assert instruction_drafts.without_opener(OPENER + RULE) == RULE
    assert instruction_drafts.without_opener("Certainly! Rules:\n1. x") == "1. x"
    for kept in (RULE, "Check for a surely unusual sender.\nSure signs: prizes"):
        assert instruction_drafts.without_opener(kept) == kept


def test_each_run_reads_every_draft_and_reports_no_text(larger_sms_file):
    model = ScriptedLM(
        lambda prompt, i: OPENER + RULE if prompt.endswith("Instructions:") else "private notes"
    )
    (spec,) = refined_specs()
    spec = spec.replace(data_path=str(larger_sms_file), test_size=4, teachers=1)
    report = instruction_drafts.measure(
        spec, [0, 1], ModelPool.fixed(model), sampled=2, dev=2, checks=(1, 2)
    )

    assert [run["seed"] for run in report["runs"]] == [0, 1]
    for run in report["runs"]:
        assert len(run["drafts"]) == 3  # the greedy draft and 2 sampled
        assert set(run["drafts"][0]) == {"held_back_1", "held_back_2", "dev"}
        devs = [draft["dev"] for draft in run["drafts"]]
        assert run["greedy"] == devs[0] and run["best_draft"] == max(devs)
        assert run["chosen_on_1"] in devs and run["chosen_on_2"] in devs
        assert run["greedy_without_opener"] is not None
    assert set(report["mean"]) == {
        "zero_shot", "original_examples", "greedy", "chosen_on_1", "chosen_on_2",
        "mean_draft", "best_draft",
    }  # fmt: skip
    # A scripted student answers alike whatever it reads: the opener changes nothing.
    assert report["opener"]["runs"] == 2 and report["opener"]["p"] == 1.0
    text = json.dumps(report)
    assert RULE not in text and "private notes" not in text


def test_the_readme_table_shows_each_run_and_the_opener(larger_sms_file, tmp_path):
    model = ScriptedLM(lambda prompt, i: OPENER + RULE)
    (spec,) = refined_specs()
    spec = spec.replace(data_path=str(larger_sms_file), test_size=4, teachers=1)
    report = instruction_drafts.measure(
        spec, [3], ModelPool.fixed(model), sampled=1, dev=2, checks=(1, 2)
    )
    path = tmp_path / "instruction_drafts.json"
    path.write_text(json.dumps(report))

    lines = readme_tables.instruction_drafts_rows(path)
    header = next(line for line in lines if line.startswith("| run |"))
    assert "chosen on 1 held back" in header and "greedy, opener removed" in header
    (row,) = [line for line in lines if line.startswith("| 3 |")]
    assert row.count("|") == header.count("|")
    assert any(line.startswith("Chat opener:") and "1 runs × 2" in line for line in lines)
