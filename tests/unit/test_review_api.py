"""The owner's review API and `sociallearn review-lessons`: for the owner's machine only, JSON
only, no other site; unknown or decided lessons and a service that is down are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sociallearn.apps.cli import main
from sociallearn.apps.review_app import review_app
from sociallearn.apps.service_cli import free_port
from sociallearn.core.schema import Lesson
from sociallearn.stores.reviews import RequestKey
from sociallearn.teaching.service import TeacherService
from sociallearn.teaching.settings import ServiceConfig

SERVICE = "http://127.0.0.1:8101"
INSTRUCTION = "Spam offers prizes or money and asks for a reply; ham is everyday talk."
EDIT = "Spam promises prizes and urges a quick reply; ham is ordinary chat."


@pytest.fixture
def running(sms_file: Path, tmp_path: Path) -> TeacherService:
    """A service with the owner's review and two lessons of alice's run held."""
    config = ServiceConfig(data=str(sms_file), review=True, reviews=str(tmp_path / "r.sqlite"))
    service = TeacherService(config)
    lessons = [
        Lesson(task="sms_spam", kind="instruction", text=text, teacher_id="teacher-0",
               teacher_model="smollm2", run_id="r", method="instructions")
        for text in (INSTRUCTION, "Ham is everyday talk between friends.")
    ]  # fmt: skip
    assert service.review is not None
    service.review.hold(RequestKey("alice", "r", "teacher-0"), {"candidates": lessons})
    return service


def owner(running: TeacherService, client: tuple[str, int] = ("127.0.0.1", 50000)) -> TestClient:
    return TestClient(review_app(lambda: running.review), base_url=SERVICE, client=client)


def test_the_owner_lists_and_decides_held_lessons(running):
    api = owner(running)
    first, second = api.get("/review/api/pending").json()["pending"]
    assert (first["text"], first["coordinator"], first["run_id"]) == (INSTRUCTION, "alice", "r")
    assert first["verdict"]["passed"] and first["status"] == "pending"
    assert (
        api.post(f"/review/api/lessons/{first['id']}/approve", json={}).json()["lesson"]["status"]
        == "approved"
    )
    refused = api.post(f"/review/api/lessons/{second['id']}/edit",
                       json={"text": "Call 07700 900123 to win."})  # fmt: skip
    assert refused.status_code == 422 and "it would redact phone×1" in refused.json()["error"]
    edited = api.post(f"/review/api/lessons/{second['id']}/edit", json={"text": EDIT})
    assert edited.json()["lesson"]["released_text"] == EDIT
    again = api.post(f"/review/api/lessons/{second['id']}/reject", json={"reason": "no"})
    assert again.status_code == 409 and "was edited already" in again.json()["error"]
    missing = api.post("/review/api/lessons/99/approve", json={})
    assert missing.status_code == 404 and "no lesson 99" in missing.json()["error"]
    history = api.get("/review/api/history").json()["history"]
    assert [h["status"] for h in history] == ["edited", "approved"]
    assert api.get("/review/api/pending").json() == {"pending": []}


def test_only_the_owner_on_this_machine_gets_in(running):
    lesson_id = running.review.pending()[0].id
    approve = f"/review/api/lessons/{lesson_id}/approve"
    remote = owner(running, client=("203.0.113.7", 50000))
    assert remote.get("/review/api/pending").status_code == 403
    assert remote.post(approve, json={}).status_code == 403
    api = owner(running)
    for headers in (
        {"Host": "teacher.example.org"},  # DNS rebinding: a foreign name for this machine
        {"X-Forwarded-For": "203.0.113.7"},  # a proxy in front of the service
        {"Authorization": "Bearer a-coordinator-token-0123"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        assert api.get("/review/api/pending", headers=headers).status_code == 403, headers
        assert api.post(approve, json={}, headers=headers).status_code == 403, headers
    form = api.post(approve, data={"x": "1"})  # a form post from a page: not JSON
    assert form.status_code == 415
    assert (
        api.post(approve, content="{}", headers={"Content-Type": "text/plain"}).status_code == 415
    )
    assert api.get(approve).status_code == 405
    assert running.review.pending()[0].id == lesson_id  # nothing was decided
    same_site = api.post(approve, json={}, headers={"Origin": SERVICE})
    assert same_site.status_code == 200


def test_the_page_is_self_contained_and_locked_to_itself(running):
    page = owner(running).get("/review")
    assert page.status_code == 200 and "Lessons waiting for your review" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "src=" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert page.headers["cache-control"] == "no-store"


def test_a_service_without_review_has_no_review(running):
    api = TestClient(review_app(lambda: None), base_url=SERVICE, client=("127.0.0.1", 1))
    assert api.get("/review/api/pending").status_code == 404


def test_the_command_line_reviews_through_the_api(running, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("sociallearn.apps.review_cli.service_client", lambda url: owner(running))
    first, second = (held.id for held in running.review.pending())
    assert main(["review-lessons", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"[{first}] pending instruction from teacher-0, run r, for alice" in listed
    assert INSTRUCTION in listed
    assert main(["review-lessons", "approve", str(first)]) == 0
    assert capsys.readouterr().out == f"lesson {first}: approved\n"
    leaky = tmp_path / "leaky.txt"
    leaky.write_text(f"Spam reads like: {running.examples[0].input}")
    assert main(["review-lessons", "edit", str(second), "--text-file", str(leaky)]) == 2
    assert "the privacy filter refuses the edit: near copy" in capsys.readouterr().err
    assert main(["review-lessons", "reject", str(second), "--reason", "vague"]) == 0
    assert main(["review-lessons", "history"]) == 0
    assert "rejected instruction" in capsys.readouterr().out
    assert main(["review-lessons", "approve", "99"]) == 2
    assert "no lesson 99 is held for review" in capsys.readouterr().err
    assert main(["review-lessons", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_the_command_line_says_when_no_service_answers(capsys):
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["review-lessons", "--service", down, "list"]) == 2
    assert f"no teacher service answers at {down}" in capsys.readouterr().err
