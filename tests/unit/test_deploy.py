"""`sociallearn deploy`: the commands a deployment hands the coordinator and the student."""

from __future__ import annotations

from pathlib import Path

from sociallearn.apps.cli import build_parser
from sociallearn.apps.deploy import Deployment, cmd_deploy


def test_deploy_parses_with_served_defaults():
    args = build_parser().parse_args(["deploy", "--teachers", "2", "--teach"])
    assert args.func is cmd_deploy and args.teach and args.teachers == 2
    assert (args.teacher_model, args.student_model) == ("gemma3", "gemma3")
    assert args.teach_flags == "--preset quick --method instructions"


def test_teach_and_ask_use_only_the_deployed_parts(tmp_path: Path):
    deployment = Deployment(
        tmp_path,
        teachers=["http://127.0.0.1:9001", "http://127.0.0.1:9002"],
        teacher_models=["openai:http://127.0.0.1:9101/v1", "openai:http://127.0.0.1:9102/v1"],
        student_model="openai:http://127.0.0.1:9200/v1",
        library="http://127.0.0.1:9300",
    )
    teach = deployment.teach_command(["--method", "instructions"])
    assert teach[teach.index("--teachers") + 1] == "0"  # no teacher in the coordinator
    start = teach.index("--remote-teachers") + 1
    assert teach[start : start + 2] == deployment.teachers
    assert teach[teach.index("--library") + 1] == deployment.library
    assert teach[teach.index("--student-model") + 1] == deployment.student_model
    ask = deployment.ask_command(["lunch at 1?"])
    assert ask[-1] == "lunch at 1?" and deployment.library in ask
    deployment.save()
    assert '"library": "http://127.0.0.1:9300"' in (tmp_path / "deployment.json").read_text()
