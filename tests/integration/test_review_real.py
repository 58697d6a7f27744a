"""The owner's review on a real teacher service (`serve-teacher --review`, smollm2): the
coordinator's request waits for the owner and gets exactly the lessons the owner approved."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from teacher_services import coordinators_file

from sociallearn.apps.service_cli import free_port, start_teacher_service
from sociallearn.stores.silo import load_split, share_of
from sociallearn.tasks import get_task
from sociallearn.teaching.remote import RemoteTeacher
from sociallearn.teaching.settings import Settings

pytestmark = pytest.mark.integration
TASK = get_task("sms_spam")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Iterator[tuple[str, Path]]:
    """A reviewing teacher service on one silo of the real SMS data (its URL and journal)."""
    folder = tmp_path_factory.mktemp("review")
    silo = next(iter(load_split(TASK, None, 3, test_size=20, seed=0).silos.values()))
    data = TASK.write(share_of(silo), folder / "silo.tsv")
    port = free_port()
    options = (
        "--teacher-model", "smollm2", "--threads", "1", "--journal", str(folder / "journal"),
        "--review", "--reviews", str(folder / "reviews.sqlite"),
        "--coordinators", str(coordinators_file(folder, {})),
    )  # fmt: skip
    process = start_teacher_service(data, port, log=folder / "log", options=options)
    yield f"http://127.0.0.1:{port}", folder / "journal"
    process.terminate()
    process.wait(timeout=30)


def test_the_coordinator_gets_exactly_the_approved_lessons(service: tuple[str, Path]):
    url, journal = service
    settings = Settings(method="synthetic_examples", shots=4, samples=4, keep=4, seed=0)
    answer: dict[str, Any] = {}
    request = threading.Thread(
        target=lambda: answer.update(
            RemoteTeacher(url, timeout=1800).teach("teacher-0", "run-review", settings)
        ),
        daemon=True,
    )
    request.start()
    deadline = time.time() + 1200
    while not (pending := httpx.get(f"{url}/review/api/pending").json()["pending"]):
        assert request.is_alive(), f"answered without the owner: {answer}"
        assert time.time() < deadline, "no lesson was held for review"
        time.sleep(2)
    time.sleep(2)
    assert request.is_alive()  # nothing has left yet
    chosen, *others = pending
    api = f"{url}/review/api/lessons"
    assert httpx.post(f"{api}/{chosen['id']}/approve", json={}).status_code == 200
    for lesson in others:
        reject = httpx.post(f"{api}/{lesson['id']}/reject", json={"reason": "not this one"})
        assert reject.status_code == 200
    request.join(timeout=300)
    assert [lesson.text for lesson in answer["candidates"]] == [chosen["text"]]
    assert answer["candidates"][0].review == "approved"
    if others:
        reasons = [reason for drop in answer["dropped"] for reason in drop.reasons]
        assert f"the data owner rejected {len(others)} lessons" in reasons
    history = httpx.get(f"{url}/review/api/history").json()["history"]
    assert sorted(h["status"] for h in history) == sorted(["approved"] + ["rejected"] * len(others))
    (entry,) = [json.loads(line) for line in journal.read_text().splitlines()]
    assert entry["lessons"] == 1 and entry["review"]["approved"] == 1
    assert entry["review"]["rejected"] == len(others)
    assert "not this one" not in json.dumps(answer, default=str) + journal.read_text()
