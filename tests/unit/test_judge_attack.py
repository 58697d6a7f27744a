"""benchmarks/judge_attack.py on a scripted model that copies a label it was shown: exact judge
answers give members away; ε-DP answers and a request budget do not."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from benchmarks import judge_attack, readme_tables
from sociallearn.core.lm import Score, ScriptedLM


class CopyingLM(ScriptedLM):
    """Scores a label high only when the prompt already showed that message with that label."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, call: "")

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        shown, _, query = prefix.rpartition("Message:")
        copied = [f"Message:{query}{text}" in shown for text in continuations]
        return [Score(-0.1 if hit else -3.0, 1) for hit in copied]


def test_the_attack_finds_members_in_exact_answers_only(sms_writer, tmp_path):
    data = sms_writer(tmp_path / "sms", 60)
    args = argparse.Namespace(targets=8, held=8, budget=24, data_path=data)
    report = judge_attack.run(CopyingLM(), args)
    by_setting = {(s["epsilon"], s["max_requests"]): s for s in report["settings"]}
    exact = by_setting[(None, None)]["results"]
    assert exact[0]["accuracy"] == 1.0 and exact[0]["repeats"] == 1
    private = by_setting[(0.1, None)]["results"]  # noise 2·10/(8·0.1) = 25 ≫ a member's 0.36
    assert sum(r["accuracy"] for r in private) / len(private) < 0.8  # chance: 0.5
    budgeted = by_setting[(None, 24)]
    assert budgeted["refused"] == 3 * 8 * (16 - 1)  # 24 requests: one per target, then refused
    assert budgeted["results"][0]["accuracy"] == 1.0  # one exact answer each is enough here
    models = {"models": {"copying": report, "other": report}}
    (tmp_path / "attack.json").write_text(json.dumps(models), encoding="utf-8")
    rows = readme_tables.judge_attack_rows(tmp_path / "attack.json")
    assert rows[4].startswith("| exact | none | 100% |") and rows[-1].startswith("| exact | 24 |")
    assert rows.count(rows[4]) == 2  # a table per model
    judge_attack.plot(models["models"], tmp_path / "attack.png")
    assert (tmp_path / "attack.png").read_bytes().startswith(b"\x89PNG")
