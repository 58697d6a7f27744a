"""The LangGraph surface: langgraph.json, the offline diagram, and the CLI around the library."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from langgraph.graph.state import CompiledStateGraph
from langgraph_cli.config import validate_config_file

from sociallearn.apps.cli import main
from sociallearn.apps.diagram import to_dot
from sociallearn.core.schema import Lesson
from sociallearn.graphs.social_learning import graph
from sociallearn.stores.library import LessonLibrary

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_is_valid_and_names_compiled_graphs():
    config = validate_config_file(ROOT / "langgraph.json")
    assert set(config["graphs"]) == {"social_learning", "teacher", "teacher_service"}
    for spec in config["graphs"].values():
        file, _, attribute = spec.partition(":")
        module_spec = importlib.util.spec_from_file_location("graph_module", ROOT / file)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        assert isinstance(getattr(module, attribute), CompiledStateGraph)


def test_diagram_shows_every_node_and_the_teacher_cluster():
    source = to_dot(graph).source
    for node in (
        "assign_teachers",
        "teach__drafting",
        "teach__privacy_filter",
        "review",
        "publish",
    ):
        assert node in source
    assert "cluster_teach" in source


def test_graph_png_is_rendered_offline(tmp_path: Path):
    target = tmp_path / "flow.png"
    assert main(["graph", "--png", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 5000


def test_cli_exports_imports_and_lists_versions(tmp_path: Path, capsys):
    source = LessonLibrary.open(tmp_path / "a")
    source.publish(
        Lesson(
            task="sms_spam", kind="instruction", text=f"Spam offers prizes ({run}).",
            teacher_id="teacher-0", teacher_model="smollm2", run_id=run, method="instructions",
        )
        for run in ("run-1", "run-2")
    )  # fmt: skip
    path = tmp_path / "lessons.jsonl"
    assert main(["lessons", "export", str(path), "--library", str(tmp_path / "a")]) == 0
    assert len(path.read_text().splitlines()) == 2
    assert main(["lessons", "import", str(path), "--library", str(tmp_path / "b")]) == 0
    assert "2 new, 0 duplicates recorded, 0 already present" in capsys.readouterr().out
    assert main(["lessons", "merge", str(tmp_path / "a"), "--library", str(tmp_path / "b")]) == 0
    assert "0 new, 0 duplicates recorded, 2 already present" in capsys.readouterr().out
    assert (
        main(["lessons", "versions", "--task", "sms_spam", "--library", str(tmp_path / "b")]) == 0
    )
    table = capsys.readouterr().out
    assert "run-1" in table and "run-2" in table
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "lesson": {"task": "sms_spam"}}) + "\n")
    assert main(["lessons", "import", str(bad), "--library", str(tmp_path / "b")]) == 2
    assert "bad.jsonl:1: lesson.kind: Field required" in capsys.readouterr().err.replace("\n", "")


def test_checkpoints_rebuild_lessons_as_registered_types(caplog: pytest.LogCaptureFixture):
    from sociallearn.apps.lifecycle import checkpoint_serializer
    from sociallearn.core.schema import Verdict

    lesson = Lesson(
        task="sms_spam",
        kind="example",
        text="Message: hi\nLabel: ham",
        teacher_id="teacher-0",
        teacher_model="smollm2",
        run_id="r",
        method="synthetic_examples",
        verdict=Verdict(passed=False, reasons=["pii: phone×1"]),
    )
    serializer = checkpoint_serializer()
    back = serializer.loads_typed(serializer.dumps_typed({"lessons": [lesson]}))
    assert back == {"lessons": [lesson]}
    assert "unregistered" not in caplog.text
