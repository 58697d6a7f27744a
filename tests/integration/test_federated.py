"""Teachers as services: real `sociallearn serve-teacher` processes on LangGraph's server, each
with its own private file, reached by a real coordinator through `RemoteGraph`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from teacher_services import CLI, HungService, Service, free_port, start_service

from sociallearn.apps.run import teach
from sociallearn.stores.silo import load_split, share_of
from sociallearn.tasks import get_task
from sociallearn.teaching.settings import Settings

TASK = get_task("sms_spam")


def write_silos(folder: Path, teachers: int) -> list[Path]:
    """Private files, one per data holder, as `sociallearn silos` writes them."""
    split = load_split(TASK, None, teachers, test_size=20, seed=0)
    return [
        TASK.write(share_of(silo), folder / f"{teacher}.tsv")
        for teacher, silo in split.silos.items()
    ]


def configured_services() -> list[Service]:
    """Services started by .ci/run ($SOCIALLEARN_TEACHER_SERVICES), if any."""
    raw = os.environ.get("SOCIALLEARN_TEACHER_SERVICES")
    if not raw:
        return []
    return [
        Service(data=Path(item["data"]), journal=Path(item["journal"]), port=int(item["port"]))
        for item in json.loads(raw)
    ]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Iterator[list[Service]]:
    """Three teacher services, each with another private file, each behind a recording proxy."""
    from teacher_services import RecordingProxy

    ready = configured_services()
    if ready:
        for service in ready:
            service.proxy = RecordingProxy(service.port)
        yield ready
        for service in ready:
            assert service.proxy is not None
            service.proxy.close()
        return
    root = tmp_path_factory.mktemp("services")
    started = [
        start_service(data, root / f"service-{index}")
        for index, data in enumerate(write_silos(root / "silos", 3))
    ]
    yield started
    for service in started:
        service.stop()


def private_texts(files: list[Path]) -> list[str]:
    """The distinctive private messages of the services' files (short ones are common phrases)."""
    texts = [example.input for path in files for example in TASK.load(path)]
    return [text for text in texts if len(text) >= 40]


def forms(text: str) -> list[bytes]:
    """The text as it could appear on the wire or on disk: raw and JSON-escaped."""
    return [
        text.encode(),
        json.dumps(text)[1:-1].encode(),
        json.dumps(text, ensure_ascii=False)[1:-1].encode(),
    ]


def test_only_filtered_lessons_cross_the_network(services: list[Service], tmp_path: Path):
    start = {service.url: len(service.requests()) for service in services}
    checkpoint = tmp_path / "checkpoint.sqlite"
    settings = Settings(
        teachers=0,
        remote_teachers=[service.url for service in services],
        method="synthetic_examples",
        aggregator="voting",
        samples=8,
        keep=2,
        lessons=2,  # fewer than the candidates, so that the teachers vote
        test_size=20,
        library=str(tmp_path / "library"),
    )
    with SqliteSaver.from_conn_string(str(checkpoint)) as saver:
        state = teach(settings, checkpointer=saver, thread_id="federated")
    assert state["published"], state.get("dropped")
    # A teacher may share nothing when its own classifier disputes every label it sampled
    # (smollm2's "spam" is often ham) or the filter rejects the rest: it is dropped with its
    # reasons, and the others teach.
    dropped = {drop.teacher_id for drop in state.get("dropped", [])}
    assert all(drop.reasons for drop in state.get("dropped", []))
    assert {lesson.teacher_id for lesson in state["candidates"]} == {
        "teacher-0", "teacher-1", "teacher-2",
    } - dropped  # fmt: skip
    assert len(dropped) < 3
    for index, service in enumerate(services):
        assert len(service.requests()) == start[service.url] + 1  # taught once
        if f"teacher-{index}" not in dropped:
            assert service.requests("judge"), "voting asks each teaching service to judge"
    traffic = {
        f"traffic with {service.url}": service.proxy.traffic()
        for service in services
        if service.proxy
    }
    assert all(b"/runs/stream" in blob and b"teacher-" in blob for blob in traffic.values())
    stored = {
        str(path.relative_to(tmp_path)): path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    assert any(b"teacher-1" in blob for blob in stored.values()), "checkpoint/library not scanned"
    private = private_texts([service.data for service in services])
    assert len(private) > 100
    places = {**traffic, **stored}
    leaked = {
        text[:40]: where
        for text in private
        if (where := [name for name, blob in places.items() if any(f in blob for f in forms(text))])
    }
    assert leaked == {}


def test_down_hung_and_dying_services_are_dropped_and_the_run_goes_on(
    tmp_path: Path, datasets: Path
):
    silos = write_silos(tmp_path / "silos", 2)
    alive = start_service(silos[0], tmp_path / "alive")
    dying = start_service(silos[1], tmp_path / "dying")
    hung = HungService()
    down = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        teachers=0,
        remote_teachers=[alive.url, down, hung.url, dying.url],
        remote_timeout=60,
        method="instructions",
        test_size=20,
        library=str(tmp_path / "library"),
    )

    def kill_when_asked() -> None:  # the dying service goes down while it teaches
        assert dying.proxy is not None
        while b"/runs/stream" not in dying.proxy.traffic():
            time.sleep(0.05)
        time.sleep(1.0)
        dying.kill()

    import threading

    killer = threading.Thread(target=kill_when_asked, daemon=True)
    killer.start()
    try:
        started = time.time()
        state = teach(settings)
        took = time.time() - started
    finally:
        for service in (alive, dying):
            service.stop()
        hung.close()
    reasons = {drop.teacher_id: " ".join(drop.reasons) for drop in state["dropped"]}
    assert set(reasons) == {"teacher-1", "teacher-2", "teacher-3"}
    assert "unreachable" in reasons["teacher-1"]
    assert "no answer within 60 s" in reasons["teacher-2"]
    assert dying.url in reasons["teacher-3"]
    assert [lesson.teacher_id for lesson in state["lessons"]] == ["teacher-0"]
    assert state["published"]
    assert took < 180  # the hung service cost its timeout, not the run


def finished_teachers(checkpoint: Path) -> set[str]:
    """The teachers whose answers the coordinator durably wrote to its checkpoint."""
    if not checkpoint.exists():
        return set()
    db = sqlite3.connect(checkpoint)
    try:
        blobs = db.execute(
            "SELECT value FROM writes WHERE channel IN ('candidates', 'dropped')"
            " AND checkpoint_ns = ''"
        ).fetchall()
    except sqlite3.OperationalError:
        return set()
    finally:
        db.close()
    return {
        f"teacher-{index}"
        for (blob,) in blobs
        for index in range(4)
        if f"teacher-{index}".encode() in bytes(blob)
    }


def test_a_killed_coordinator_resumes_without_asking_finished_teachers_again(
    tmp_path: Path, datasets: Path
):
    silos = write_silos(tmp_path / "silos", 2)
    fast = start_service(silos[0], tmp_path / "fast", record=False)
    slow = start_service(silos[1], tmp_path / "slow", model="gemma3", record=False)
    checkpoint = tmp_path / "checkpoint.sqlite"
    command = [
        *CLI, "teach", "--preset", "none", "--teachers", "0", "--remote-teachers", fast.url, slow.url,
        "--method", "instructions", "--test-size", "20", "--library", str(tmp_path / "library"),
        "--checkpoint", str(checkpoint), "--thread-id", "federated",
    ]  # fmt: skip
    try:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 600
        while not (done := finished_teachers(checkpoint)):
            assert first.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no teacher answered in time"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        asked_before = {"teacher-0": len(fast.requests()), "teacher-1": len(slow.requests())}
        second = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr
        asked = {"teacher-0": len(fast.requests()), "teacher-1": len(slow.requests())}
    finally:
        fast.stop()
        slow.stop()
    for teacher in done:  # answered before the kill: not asked again
        assert asked[teacher] == asked_before[teacher] == 1
    for teacher in {"teacher-0", "teacher-1"} - done:  # asked again after the kill
        assert asked[teacher] >= 1
    with SqliteSaver.from_conn_string(str(checkpoint)) as saver:
        from sociallearn.graphs.social_learning import builder

        final = builder.compile(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "federated"}}
        )
    assert not final.next and final.values["published"]
