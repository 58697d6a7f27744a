"""`serve-teacher --review` on LangGraph's real server, its model scripted: the coordinator's
request waits for the owner, who decides through the review routes that the same server
serves beside the graph, outside the coordinators' auth."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sociallearn.apps.cli import main
from sociallearn.apps.service_cli import free_port
from sociallearn.teaching.remote import RemoteTeacher
from sociallearn.teaching.service_auth import TOKEN_ENV
from sociallearn.teaching.settings import Settings

INSTRUCTION = "Spam offers prizes or money and asks for a reply; ham is everyday talk."
TOKEN = "the-tests-coordinator-token-0123"
# `sociallearn serve-teacher ...` whose model answers every prompt with sys.argv[1].
SCRIPTED_SERVICE = (
    "import sys; from sociallearn.core.lm import ScriptedLM; "
    "from sociallearn.teaching.service import TeacherService; "
    "TeacherService._load = lambda self, name, layers: ScriptedLM(lambda p, n: sys.argv[1]); "
    "from sociallearn.apps.cli import main; sys.exit(main(sys.argv[2:]))"
)


@pytest.fixture
def service(sms_file: Path, tmp_path: Path) -> Iterator[str]:
    """A reviewing teacher service that answers only the tests' coordinator."""
    (tmp_path / "coordinators").write_text(f"tests {TOKEN}\n")
    port = free_port()
    command = [
        sys.executable, "-c", SCRIPTED_SERVICE, INSTRUCTION, "serve-teacher",
        "--data", str(sms_file), "--port", str(port), "--review",
        "--reviews", str(tmp_path / "reviews.sqlite"), "--journal", str(tmp_path / "journal"),
        "--coordinators", str(tmp_path / "coordinators"),
    ]  # fmt: skip
    log = tmp_path / "log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while not ready(url):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.time() < deadline, "the service did not start within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ok", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_coordinator_gets_what_the_owner_approved(service, monkeypatch, caplog, capsys):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    answer: dict[str, Any] = {}
    teacher = RemoteTeacher(service, timeout=300)
    settings = Settings(method="instructions")
    with caplog.at_level(logging.WARNING, logger="sociallearn.teaching.remote"):
        request = threading.Thread(
            target=lambda: answer.update(teacher.teach("teacher-0", "r", settings)), daemon=True
        )
        request.start()
        deadline = time.time() + 120
        while not (pending := httpx.get(f"{service}/review/api/pending").json()["pending"]):
            assert time.time() < deadline and request.is_alive(), answer
            time.sleep(0.5)
        (lesson,) = pending
        assert (lesson["text"], lesson["coordinator"]) == (INSTRUCTION, "tests")
        coordinator = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{service}/review/api/pending", headers=coordinator).status_code == 403
        assert httpx.post(f"{service}/threads/search", json={}).status_code == 401  # auth holds
        assert main(["review-lessons", "--service", service, "approve", str(lesson["id"])]) == 0
        assert f"lesson {lesson['id']}: approved" in capsys.readouterr().out
        request.join(timeout=120)
    assert [(c.text, c.review) for c in answer["candidates"]] == [(INSTRUCTION, "approved")]
    assert "1 lessons wait for the data owner's review" in caplog.text
