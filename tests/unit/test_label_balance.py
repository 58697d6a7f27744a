"""benchmarks/label_balance.py: each teacher's labels at each stage of drafting synthetic
examples (shots, samples, the likeliest kept, filtered), with a scripted teacher."""

from __future__ import annotations

import json

from benchmarks import label_balance, readme_tables
from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.experiments.spec import ExperimentSpec

SPAM = "Congratulations, you won a cash prize! Email claim@prizes-example.com to get it today"
SAMPLES = [f" {SPAM}\nLabel: spam", " ok see you at 5\nLabel: ham", " running late\nLabel: ham"]


def test_stages_count_labels_as_drafting_and_the_filter_leave_them(sms_file):
    # Per teacher: the spam sample twice (kept once), two ham samples, and one without a label.
    teacher = ScriptedLM(lambda prompt, i: [*SAMPLES, SAMPLES[0], " no label"][i % 5])
    spec = ExperimentSpec(
        data_path=str(sms_file), teachers=2, shots=4, samples=5, keep=2, test_size=4
    )
    report = label_balance.measure(spec, [0, 1], ModelPool.fixed(teacher), "spam")

    for run in report["runs"]:
        for stages in run["teachers"]:
            assert len(stages["shots"]) == 4
            assert stages["sampled"].count("spam") == 1 and len(stages["sampled"]) == 3
            # The scripted likelihood prefers short texts: both kept examples are ham.
            assert stages["kept"] == ["ham", "ham"]
            assert stages["passed"] == ["ham", "ham"]
    total = report["summary"]
    assert total["sampled"] == {"examples": 12, "spam": 4}
    assert total["kept"] == {"examples": 8, "spam": 0}
    assert total["mean_logprob_by_label"]["ham"] > total["mean_logprob_by_label"]["spam"]
    shots = [label for r in report["runs"] for t in r["teachers"] for label in t["shots"]]
    assert total["shots"] == {"examples": 16, "spam": shots.count("spam")}


def test_a_kept_spam_example_with_an_email_passes_redacted(sms_file):
    teacher = ScriptedLM(lambda prompt, i: SAMPLES[i % 3])
    spec = ExperimentSpec(
        data_path=str(sms_file), teachers=1, shots=4, samples=3, keep=3, test_size=4
    )
    report = label_balance.measure(spec, [0], ModelPool.fixed(teacher), "spam")

    (stages,) = report["runs"][0]["teachers"]
    assert stages["kept"] == ["ham", "ham", "spam"]
    assert sorted(stages["passed"]) == ["ham", "ham", "spam"]
    assert stages["redacted"] == 1 and report["summary"]["redacted"] == 1


def test_the_readme_table_shows_each_stage_from_the_json(sms_file, tmp_path):
    teacher = ScriptedLM(lambda prompt, i: [*SAMPLES, " no label"][i % 4])
    spec = ExperimentSpec(
        data_path=str(sms_file), teachers=2, shots=4, samples=4, keep=2, test_size=4
    )
    report = label_balance.measure(spec, [3], ModelPool.fixed(teacher), "spam")
    path = tmp_path / "label_balance.json"
    path.write_text(json.dumps(report))

    rows = readme_tables.label_balance_rows(path)
    run_row, all_row = rows[-2], rows[-1]
    shots = report["summary"]["shots"]["spam"]
    assert run_row.startswith(f"| 3 | {shots}/8 | 2/6 | 0/4 | 0/4 | ")
    assert all_row.startswith("| all | ") and run_row.endswith("| 0; nothing |")
