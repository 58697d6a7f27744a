"""A LangChain chat model as a teacher (`ChatModelTeacher`), with langchain_core's fake chat
models: what it answers, how it samples, and the roles it is refused before a run teaches."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field
from small_context import small_settings

from sociallearn.apps.run import teach
from sociallearn.core.lm import MissingOperation, ModelUnavailable, ScriptedLM
from sociallearn.engine import ChatModelTeacher, ModelPool
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.context import Context
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.roles import check_likelihoods
from sociallearn.teaching.settings import Settings

RULE = "Messages that promise prizes or ask for a reply to claim them are spam."


class SeededChat(FakeListChatModel):
    """A fake chat model with the fields ChatOpenAI has; it records them at each call (its
    copies share its lists of responses and calls)."""

    temperature: float = 0.7
    seed: int | None = None
    max_tokens: int | None = None
    calls: list[dict[str, Any]] = Field(default_factory=list)

    def _call(self, *args: Any, **kwargs: Any) -> str:
        fields = {"temperature": self.temperature, "seed": self.seed}
        self.calls.append(fields | {"max_tokens": self.max_tokens, "stop": kwargs.get("stop")})
        return self.responses.pop(0)


class BrokenChat(FakeListChatModel):
    def _call(self, *args: Any, **kwargs: Any) -> str:
        raise ConnectionError("provider unreachable")


def test_it_instructs_completes_and_samples_with_seeds_it_takes():
    chat = SeededChat(responses=["a", "b", "c", "d"])
    teacher = ChatModelTeacher(chat, name="python:chat")
    assert teacher.instruct("Write a rule.", base_prompt="unused", max_tokens=50) == "a"
    assert teacher.complete("Message:", stop=["\n\n"]) == "b"
    assert teacher.sample("Message:", 2, temperature=0.9, seed=5, max_tokens=20) == ["c", "d"]
    assert chat.calls == [
        {"temperature": 0.0, "seed": None, "max_tokens": 50, "stop": None},
        {"temperature": 0.0, "seed": None, "max_tokens": 256, "stop": ["\n\n"]},
        {"temperature": 0.9, "seed": 5, "max_tokens": 20, "stop": None},
        {"temperature": 0.9, "seed": 6, "max_tokens": 20, "stop": None},
    ]
    assert chat.temperature == 0.7 and chat.seed is None  # set on copies only


def test_a_model_without_those_fields_is_asked_as_it_is():
    teacher = ChatModelTeacher(FakeListChatModel(responses=["x", "y"]))
    assert teacher.name == "python:FakeListChatModel"
    assert teacher.sample("p", 2, temperature=1.0) == ["x", "y"]
    assert teacher.complete_batch(["p"], grammar="root ::= x") == ["x"]


def test_it_gives_no_likelihoods_and_says_so():
    teacher = ChatModelTeacher(FakeListChatModel(responses=["x"]), name="python:chat")
    for call in (
        lambda: teacher.score("p", [" a"]),
        lambda: teacher.score_pairs([("p", " a")]),
        lambda: teacher.rank("p", " a", [" b"]),
    ):
        with pytest.raises(MissingOperation, match=r"python:chat \(a LangChain chat model\)"):
            call()
    with pytest.raises(MissingOperation, match=r"^the student model needs likelihoods"):
        teacher.check_likelihoods("student model")


def test_a_failing_provider_is_a_model_failure():
    teacher = ChatModelTeacher(BrokenChat(responses=[]), name="python:chat")
    with pytest.raises(ModelUnavailable, match="python:chat failed: ConnectionError: provider"):
        teacher.instruct("x")


def pool_with(teacher: ChatModelTeacher) -> ModelPool:
    """The chat teacher by its name; a scripted model for any other name."""
    return ModelPool(
        lambda name, layers: ScriptedLM(lambda prompt, n: ""), models={"python:chat": teacher}
    )


def test_a_chat_teacher_writes_instructions_in_a_run(sms_file, tmp_path):
    teacher = ChatModelTeacher(FakeListChatModel(responses=["notes", RULE]), name="python:chat")
    settings = small_settings(
        sms_file, tmp_path, teachers=1, teacher_model="python:chat", method="instructions"
    )
    state = teach(
        Context(settings=settings, resources=Resources(settings, models=pool_with(teacher)))
    )
    assert state["dropped"] == [] and len(state["published"]) == 1
    (lesson,) = LessonLibrary.open(settings.library).list(task="sms_spam")
    assert lesson.text == RULE and lesson.teacher_model == "python:chat"


@pytest.mark.parametrize(
    ("changes", "queries", "role"),
    [
        ({"teacher_model": "python:chat"}, [], "teacher model (it ranks its synthetic examples"),
        (
            {"teacher_model": "python:chat", "method": "instructions", "aggregator": "voting"},
            [],
            "teacher model (teachers vote with it",
        ),
        (
            {"student_model": "python:chat", "method": "instructions"},
            ["Win cash"],
            "student model (it scores the labels)",
        ),
        (
            {"student_model": "python:chat", "method": "instructions", "refine_rounds": 1},
            [],
            "student model (refining teachers check drafts with it)",
        ),
    ],
)
def test_a_role_that_scores_is_refused_before_anything_is_taught(
    sms_file, tmp_path, changes: dict[str, Any], queries: list[str], role: str
):
    chat = SeededChat(responses=["never"])
    teacher = ChatModelTeacher(chat, name="python:chat")
    settings = small_settings(sms_file, tmp_path, **changes)
    context = Context(settings=settings, resources=Resources(settings, models=pool_with(teacher)))
    with pytest.raises(MissingOperation, match="^the " + re.escape(role)):
        teach(context, queries=queries)
    assert chat.calls == []


def test_a_chat_student_may_answer_a_generation_task_unscored(tmp_path):
    teacher = ChatModelTeacher(FakeListChatModel(responses=["x"]), name="python:chat")
    settings = Settings(
        task="gsm8k", student_model="python:chat", method="instructions", library=str(tmp_path)
    )
    check_likelihoods(Resources(settings, models=pool_with(teacher)), student_answers=True)
