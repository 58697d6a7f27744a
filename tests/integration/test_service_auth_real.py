"""A real teacher service with its owner's list of coordinators, called as an outsider would."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from teacher_services import Service, start_service

from sociallearn.teaching.remote import RemoteTeacher, TeacherServiceError
from sociallearn.teaching.service_auth import TOKEN_ENV
from sociallearn.teaching.settings import Settings

pytestmark = pytest.mark.integration
OTHER = "another-coordinator-0123456789"  # a second coordinator the owner lists


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    data = folder / "silo.tsv"
    data.write_text("spam\tWin a prize now, text WIN\nham\tSee you at noon\n" * 4)
    running = start_service(data, folder, record=False, coordinators={"other": OTHER})
    yield running
    running.stop()


def as_caller(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_no_token_or_a_wrong_one_gets_nothing(service: Service):
    for headers in ({}, as_caller("not-a-listed-token-at-all"), {"x-api-key": "anything"}):
        for method, path in (("POST", "/assistants/search"), ("POST", "/threads/search"),
                             ("POST", "/runs/wait"), ("GET", "/info"), ("GET", "/metrics")):  # fmt: skip
            answer = httpx.request(method, service.url + path, headers=headers, json={}, timeout=30)
            assert answer.status_code in (401, 403, 404), (path, headers, answer.status_code)


def test_a_listed_coordinator_sees_the_teacher_and_only_its_own_threads(service: Service):
    token = os.environ[TOKEN_ENV]
    found = httpx.post(f"{service.url}/assistants/search", headers=as_caller(token), json={})
    assert found.status_code == 200
    assert [a["graph_id"] for a in found.json()] == ["teacher_service"]
    created = httpx.post(f"{service.url}/threads", headers=as_caller(token), json={})
    assert created.status_code == 200 and created.json()["metadata"]["coordinator"] == "tests"
    made = httpx.post(
        f"{service.url}/assistants", headers=as_caller(token), json={"graph_id": "teacher_service"}
    )
    assert made.status_code == 403  # no assistants of its own
    assert httpx.put(f"{service.url}/store/items", headers=as_caller(token), json={}).status_code in (
        404, 405,
    )  # fmt: skip


def test_another_coordinator_cannot_see_or_use_the_first_ones_thread(service: Service):
    thread = httpx.post(
        f"{service.url}/threads", headers=as_caller(os.environ[TOKEN_ENV]), json={}
    ).json()["thread_id"]
    other = as_caller(OTHER)
    assert httpx.get(f"{service.url}/threads/{thread}", headers=other).status_code == 404
    found = httpx.post(f"{service.url}/threads/search", headers=other, json={}).json()
    assert thread not in {t["thread_id"] for t in found}
    run = {"assistant_id": "teacher_service", "input": {"request": "judge"}}
    answer = httpx.post(f"{service.url}/threads/{thread}/runs", headers=other, json=run)
    assert answer.status_code == 404
    assert httpx.delete(f"{service.url}/threads/{thread}", headers=other).status_code == 404


def test_the_coordinator_is_served_with_its_token_and_refused_without(
    service: Service, monkeypatch
):
    teacher = RemoteTeacher(service.url, timeout=300)
    settings = Settings(votes_held_out=2, test_size=2)
    scores = teacher.judge("teacher-0", settings, ["Message: Win a prize\nLabel: spam"])
    assert len(scores) == 1 and service.requests("judge")
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(TeacherServiceError, match=r"HTTP 401"):
        teacher.judge("teacher-0", settings, ["Message: Win a prize\nLabel: spam"])
