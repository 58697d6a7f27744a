"""Teacher services without a model server: routing, the service's own side, the client's
faults (a real unreachable port and a real socket that never answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from small_context import small_context
from teacher_services import HungService, free_port

from sociallearn.apps.cli import main
from sociallearn.core.lm import ScriptedLM
from sociallearn.core.schema import Lesson
from sociallearn.engine import ModelPool
from sociallearn.graphs.social_learning import fan_out
from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.stores.silo import load_split, share_of
from sociallearn.tasks import get_task
from sociallearn.teaching.aggregators.base import Ballot
from sociallearn.teaching.aggregators.voting import score_table
from sociallearn.teaching.remote import RemoteTeacher, TeacherServiceError
from sociallearn.teaching.service import TeacherService
from sociallearn.teaching.settings import ServiceConfig, Settings

INSTRUCTION = "Spam offers prizes or money and asks for a reply; ham is everyday talk."


def instruction_model() -> ScriptedLM:
    return ScriptedLM(lambda prompt, call: INSTRUCTION)


def service_on(sms_file: Path, tmp_path: Path, model: ScriptedLM) -> TeacherService:
    config = ServiceConfig(data=str(sms_file), journal=str(tmp_path / "journal.jsonl"))
    service = TeacherService(config)
    service.models = ModelPool.fixed(model)
    return service


def run_teacher_graph(teacher_id: str, run_id: str):
    def run(context):
        return teacher_graph.invoke({"teacher_id": teacher_id, "run_id": run_id}, context=context)

    return run


def test_settings_need_a_teacher_and_urls():
    assert Settings(teachers=0, remote_teachers=["http://a:1/"]).remote_teachers == ["http://a:1"]
    with pytest.raises(ValueError, match="no teacher"):
        Settings(teachers=0)
    with pytest.raises(ValueError, match="not an http"):
        Settings(remote_teachers=["a:1"])


def test_services_teach_after_the_local_teachers(sms_file: Path, tmp_path: Path):
    urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    context = small_context(sms_file, tmp_path, instruction_model(), remote_teachers=urls)
    resources = context.resources
    assert resources.teacher_ids() == ["teacher-0", "teacher-1", "teacher-2", "teacher-3"]
    services = {t: remote.url for t, remote in resources.remote_teachers.items()}
    sends = fan_out({"run_id": "r", "teacher_ids": resources.teacher_ids(), "services": services})
    assert [send.node for send in sends] == ["teach", "teach", "remote_teach", "remote_teach"]


def test_a_service_is_told_only_the_public_settings():
    settings = Settings(
        teachers=1, remote_teachers=["http://h:1"], data_path=None, canary="secret 1234"
    )
    public = settings.public()
    for private in ("data_path", "teacher_model", "privacy", "canary", "library"):
        assert private not in public
    assert public["teachers"] == 2 and public["method"] == settings.method


def test_the_service_teaches_from_its_own_file_and_journals(sms_file: Path, tmp_path: Path):
    service = service_on(sms_file, tmp_path, instruction_model())
    public = Settings(method="instructions", teachers=3).public()
    answer = service.teach("teacher-2", "run-1", public, run_teacher_graph("teacher-2", "run-1"))
    lessons = answer["candidates"]
    assert [lesson.teacher_id for lesson in lessons] == ["teacher-2"]
    assert lessons[0].text == INSTRUCTION and lessons[0].settings["teachers"] == 3
    journal = Path(service.config.journal or "").read_text()
    (entry,) = [json.loads(line) for line in journal.splitlines()]
    assert entry["request"] == "teach" and entry["outcome"] == "served" and entry["lessons"] == 1
    private = [example.input for example in service.examples]
    assert not any(text in journal for text in private)


def test_the_service_refuses_another_task(sms_file: Path, tmp_path: Path):
    service = service_on(sms_file, tmp_path, instruction_model())
    public = Settings(task="gsm8k", method="instructions").public()
    answer = service.teach("teacher-0", "run-1", public, run_teacher_graph("teacher-0", "run-1"))
    (drop,) = answer["dropped"]
    assert "this service teaches sms_spam, not gsm8k" in drop.reasons[0]


def test_a_failing_teacher_reports_no_private_text(sms_file: Path, tmp_path: Path):
    service = service_on(sms_file, tmp_path, instruction_model())
    secret = service.examples[0].input

    def leaky(context):
        raise RuntimeError(f"could not parse {secret!r}")

    answer = service.teach("teacher-0", "run-1", Settings().public(), leaky)
    (drop,) = answer["dropped"]
    assert "RuntimeError" in drop.reasons[0] and secret not in drop.reasons[0]


def test_the_service_judges_on_its_held_back_examples(sms_file: Path, tmp_path: Path):
    service = service_on(sms_file, tmp_path, instruction_model())
    loaded: list[str] = []
    service.models = ModelPool(
        lambda name, n_gpu_layers: loaded.append(name) or instruction_model()
    )
    answer = service.judge("teacher-0", Settings().public(), ["short", "a longer one"])
    assert len(answer["scores"]) == 2 and loaded == ["smollm2"]  # the owner's teacher model
    by_student = Settings(student_model="gemma3", vote_judge="student").public()
    assert len(service.judge("teacher-0", by_student, ["short"])["scores"]) == 1
    assert loaded == ["smollm2", "gemma3"]  # the coordinator's student, as `vote_judge` asks


def test_an_unreachable_service_is_reported():
    remote = RemoteTeacher(f"http://127.0.0.1:{free_port()}", timeout=10)
    with pytest.raises(TeacherServiceError, match="unreachable"):
        remote.teach("teacher-0", "run-1", Settings())


def test_a_service_that_never_answers_times_out():
    hung = HungService()
    try:
        with pytest.raises(TeacherServiceError, match=r"no answer within 1\.5 s"):
            RemoteTeacher(hung.url, timeout=1.5).teach("teacher-0", "run-1", Settings())
    finally:
        hung.close()


def test_a_service_that_cannot_vote_abstains(sms_file: Path, tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    context = small_context(sms_file, tmp_path, instruction_model(), remote_teachers=[url])
    lessons = [
        Lesson(
            task="sms_spam",
            kind="instruction",
            text=text,
            teacher_id="teacher-0",
            teacher_model="m",
            run_id="r",
            method="instructions",
        )
        for text in ("one", "two")
    ]
    table = score_table(Ballot(context, "r", context.resources.teacher_ids()), lessons)
    assert len(table) == 2  # the two local teachers; the unreachable service abstained


def test_bad_service_data_fails_before_serving(tmp_path: Path, capsys):
    bad = tmp_path / "silo.tsv"
    bad.write_text("ham\thello there\nspam no tab here\n", encoding="utf-8")
    assert main(["serve-teacher", "--data", str(bad), "--port", str(free_port())]) == 2
    assert f"{bad}, line 2: expected 'label<TAB>text'" in capsys.readouterr().err
    assert main(["serve-teacher", "--port", "1"]) == 2
    assert "--data: Field required" in capsys.readouterr().err


def test_silo_files_hold_each_teachers_share(tmp_path: Path, sms_file: Path):
    gsm8k_file = tmp_path / "gsm8k.jsonl"
    problems = [{"question": f"What is {i} + {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"}
                for i in range(12)]  # fmt: skip
    gsm8k_file.write_text("".join(json.dumps(p) + "\n" for p in problems), encoding="utf-8")
    for task, data in (("sms_spam", sms_file), ("gsm8k", gsm8k_file)):
        out = tmp_path / task
        command = ["silos", "--task", task, "--data-path", str(data), "--teachers", "2",
                   "--test-size", "4", "--out", str(out)]  # fmt: skip
        assert main(command) == 0
        split = load_split(get_task(task), str(data), 2, 4, 0)
        files = sorted(out.iterdir())
        assert len(files) == 2
        for path, silo in zip(files, split.silos.values(), strict=True):
            assert get_task(task).load(path) == share_of(silo)
