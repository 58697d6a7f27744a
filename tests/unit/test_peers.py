"""The DSPy peer (benchmarks/peers.py): its `dspy.BaseLM` over our models, the same split as ours,
what each DSPy method is allowed to see, and its report. Scripted models only; DSPy must be
installed (the `peers` extra, part of `dev`), else these tests are skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.resources import Resources

pytestmark = pytest.mark.filterwarnings("ignore:Implementing custom LMs:DeprecationWarning")
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
LABEL_REPLY = "[[ ## label ## ]]\n{label}\n\n[[ ## completed ## ]]"
PROPOSAL = (
    "[[ ## proposed_instruction ## ]]\nSay spam for prizes and offers, ham otherwise.\n\n"
    "[[ ## proposed_prefix_for_output_field ## ]]\nLabel:\n\n[[ ## completed ## ]]"
)


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    from benchmarks import dspy_peer

    cache = tmp_path_factory.mktemp("dspy-cache")
    dspy_peer.configure_offline(str(cache))
    pytest.importorskip("dspy", reason="DSPy is the optional `peers` extra")
    dspy_peer.disable_cache()
    return dspy_peer, cache


def keyword_script(prompt: str, _: int) -> str:
    """Answers like a tiny model that learnt one rule; proposes an instruction when asked to."""
    if "proposed_instruction" in prompt:
        return PROPOSAL
    query = prompt.rsplit("[[ ## text ## ]]", 1)[-1].lower()
    return LABEL_REPLY.format(label="spam" if "free" in query or "win" in query else "ham")


def test_engine_lm_answers_through_our_model_and_dspy_parses_it(peer):
    dspy_peer, cache = peer
    import dspy

    model = ScriptedLM(keyword_script)
    lm = dspy_peer.engine_lm(model, max_tokens=24)
    dspy.configure(lm=lm)
    program = dspy.Predict(dspy_peer.classify_signature(get_task("sms_spam")))
    assert program(text="win a free car").label == "spam"
    assert program(text="see you at lunch").label == "ham"
    assert lm.calls == 2 and len(model.prompts) == 2
    # The task's own 0-shot instruction is the signature's; the labels are its only answers.
    assert get_task("sms_spam").zero_shot_instruction in model.prompts[0]
    assert "Literal['spam', 'ham']" in model.prompts[0]
    # Nothing reaches a disk cache: every call reached the model, the cache folder stays empty.
    program(text="win a free car")
    assert lm.calls == 3 and not any(cache.rglob("*"))


def test_replies_are_cut_at_the_marker_and_unparsable_ones_count_as_wrong(peer):
    dspy_peer, _ = peer
    import dspy

    model = ScriptedLM(lambda prompt, i: "[[ ## text ## ]]\nan echo of the input")
    lm = dspy_peer.engine_lm(model)
    dspy.configure(lm=lm)
    program = dspy.Predict(dspy_peer.classify_signature(get_task("sms_spam")))
    examples = [Example(input="win now", output="spam", answer="spam")]
    result = dspy_peer.evaluate_program(program, examples)
    assert result.unparsed == 1 and result.accuracy == 0.0
    assert lm.calls == 2  # ChatAdapter, then DSPy's JSON fallback: both replies unparsable

    rambling = ScriptedLM(lambda p, i: LABEL_REPLY.format(label="ham") + " and more text")
    answer = dspy_peer.engine_lm(rambling).forward(messages=[{"role": "user", "content": "x"}])
    assert (
        answer.choices[0].message.content
        == LABEL_REPLY.format(label="ham").split(dspy_peer.COMPLETED)[0]
    )
    # A completion after "Assistant:" starts with a space; DSPy must still find the header.
    spaced = ScriptedLM(lambda p, i: " " + LABEL_REPLY.format(label="spam"))
    lm = dspy_peer.engine_lm(spaced)
    dspy.configure(lm=lm)
    assert program(text="win now").label == "spam" and lm.calls == 1  # no JSON fallback


def test_sampled_replies_are_seeded_per_call_and_reply(peer):
    dspy_peer, _ = peer
    seeds: list[object] = []

    class Recording(ScriptedLM):
        def complete(self, prompt: str, **options: object) -> str:
            seeds.append(options.get("seed"))
            return super().complete(prompt)

    lm = dspy_peer.engine_lm(Recording(lambda p, i: f"reply {i}"), seed=7)
    first = lm.forward(prompt="propose", temperature=1.0, n=3)
    lm.forward(prompt="propose", temperature=1.0, n=3)
    greedy = lm.forward(prompt="answer", n=3)  # temperature 0: one reply
    assert [c.message.content for c in first.choices] == ["reply 1", "reply 2", "reply 3"]
    assert len(greedy.choices) == 1
    assert seeds == [7, 8, 9, 1007, 1008, 1009, 2007]


def test_peer_cells_use_our_split_and_see_what_they_should(peer, sms_file, tmp_path):
    from benchmarks import peers

    model = ScriptedLM(keyword_script)
    models = ModelPool.fixed(model)
    settings = peers.PeerSettings(
        data_path=str(sms_file), test_size=6, shots=4, copro_breadth=2, copro_depth=1
    )
    # Our original_examples cell of the same seed: its test set and its n private examples.
    spec = ExperimentSpec(data_path=str(sms_file), test_size=6, shots=4, seed=1)
    ours = cell_settings(spec, MethodSpec.parse("original_examples"), 1, tmp_path / "lib")
    split = Resources(ours, models=models).split
    shots = split.silos["teacher-0"].shots(4, 1)

    cells = {m: peers.run_cell(settings, m, 1, models) for m in peers.PEER_METHODS}
    for cell in cells.values():
        assert [p.input for p in cell.predictions] == [e.input for e in split.test]
        assert cell.n == 6 and cell.unparsed == 0
    assert cells["predict"].demos == [] and cells["predict"].ours_scored is None
    # BootstrapFewShot's demos are the private examples themselves (as original_examples).
    assert sorted(cells["bootstrap"].demos) == sorted((e.input, e.answer) for e in shots)
    # COPRO's prompt model wrote the instruction; no demos reach the student.
    assert cells["copro"].demos == []
    assert cells["copro"].instruction == "Say spam for prizes and offers, ham otherwise."
    assert cells["copro"].prompt_lm_calls >= 1 and cells["copro"].ours_scored is not None

    # Keys: the same settings and seed give the same key; COPRO's settings key COPRO only.
    wider = settings.model_copy(update={"copro_breadth": 3})
    assert settings.key("predict", 1) == wider.key("predict", 1)
    assert settings.key("copro", 1) != wider.key("copro", 1)
    assert settings.key("predict", 1) != settings.key("predict", 2)

    # The report: JSON with every cell, markdown made from it, p-values against our bar.
    experiment = {
        "experiments": [
            {
                "spec": {"student_model": "gemma3", "teacher_model": "smollm2"},
                "summaries": [
                    {
                        "method": "original_examples",
                        "runs": 1,
                        "accuracies": [1.0],
                        "interval": {"mean": 1.0, "low": 1.0, "high": 1.0},
                        "p_value": None,
                        "seconds": 3.0,
                    }
                ],
                "cells": [
                    {
                        "method": "original_examples",
                        "seed": 1,
                        "predictions": [{"input": e.input, "correct": True} for e in split.test],
                    }
                ],
            }
        ]
    }
    compare = tmp_path / "experiment.json"
    compare.write_text(json.dumps(experiment))
    other_student = cells["predict"].model_copy(
        update={"settings": settings.model_copy(update={"student_model": "qwen1.5b"})}
    )
    json_path = peers.write_report(
        [*cells.values(), other_student], tmp_path / "out" / "peers", compare
    )
    assert [p.name for p in json_path.parent.iterdir()] == ["peers.json"]  # no copies beside it
    report = json.loads(json_path.read_text())
    table = peers.to_markdown(report)
    # Beside an experiment, only its student's cells are reported.
    assert {c["settings"]["student_model"] for c in report["cells"]} == {"gemma3"}
    assert {s["method"] for s in report["summaries"]} == set(peers.PEER_METHODS)
    assert all(s["p_value"] is not None for s in report["summaries"])
    assert "ours: original_examples" in table
    # Each of our methods is tested against each DSPy method on the same test examples.
    [ours_row] = report["ours"]
    copro = f"copro (prompt model {settings.prompt_model})"
    assert set(ours_row["p_against_dspy"]) == {"predict", "bootstrap", copro}
    assert all(0.0 < p <= 1.0 for p in ours_row["p_against_dspy"].values())
    assert "(p against DSPy predict " in table
    moved = {1: [("another message", True)] * 6}
    with pytest.raises(ValueError, match="different tests"):
        peers.p_against([cells["predict"]], moved)

    # A fresh clone reuses the committed report's cells; a cell already there is kept.
    folder = tmp_path / "fresh" / "cells"
    folder.mkdir(parents=True)
    kept = peers.cell_path(folder, "gemma3", "predict", 1, cells["predict"].key)
    kept.write_text(cells["predict"].model_copy(update={"accuracy": 0.125}).model_dump_json())
    peers.restore_cells(folder, [json_path, tmp_path / "missing.json"])
    restored = {(c.method, c.accuracy) for c in peers.load_cells(folder)}
    assert restored == {(m, c.accuracy if m != "predict" else 0.125) for m, c in cells.items()}


def test_dspy_is_optional_for_the_project():
    """The package and the benchmark's adapter module import without DSPy."""
    source = (BENCHMARKS / "dspy_peer.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("dspy" in line for line in top_level)
    assert not any(
        "dspy" in line
        for path in Path(__file__).resolve().parents[2].joinpath("sociallearn").rglob("*.py")
        for line in path.read_text().splitlines()
        if line.startswith(("import ", "from "))
    )


def test_copro_that_gets_no_readable_proposal_is_recorded_not_fatal(peer, sms_file):
    from benchmarks import peers

    model = ScriptedLM(
        lambda prompt, i: (
            "I will rephrase it." if "proposed_instruction" in prompt else keyword_script(prompt, i)
        )
    )
    models = ModelPool.fixed(model)
    settings = peers.PeerSettings(
        data_path=str(sms_file), test_size=6, shots=4, copro_breadth=2, copro_depth=1
    )
    start = peers.run_cell(settings, "predict", 0, models)
    calls = len(model.prompts)
    cell = peers.run_cell(settings, "copro", 0, models, start)
    assert cell.compile_error and "AdapterParseError" in cell.compile_error
    assert cell.instruction == get_task("sms_spam").zero_shot_instruction
    # The student holds predict's program: its answers are predict's, not asked again.
    assert [p.answer for p in cell.predictions] == [p.answer for p in start.predictions]
    tested = [p.input for p in start.predictions]
    assert not any(text in prompt for prompt in model.prompts[calls:] for text in tested)
    assert "COPRO failed" in peers.to_markdown(
        {
            "task": "sms_spam",
            "test_size": 6,
            "shots": 4,
            "dspy": "3",
            "cpu_count": 2,
            "summaries": [],
            "cells": [cell.model_dump()],
        }
    )
