"""`sociallearn deploy` on loopback: teacher services each asking their own model server, the
student on a shared model server, the library on a Chroma server, all real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from sociallearn.stores.library import LessonLibrary

CLI = [sys.executable, "-m", "sociallearn.apps.cli", "deploy"]


def refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_a_deployment_teaches_through_every_server_and_stops_them_all(
    tmp_path: Path, datasets: Path
) -> None:
    out = tmp_path / "deployment"
    query = "WINNER! You have won a cash prize, call now to claim"
    run = subprocess.run(
        [*CLI, "--teachers", "2", "--test-size", "20", "--out", str(out), "--teach",
         "--ask", query],
        capture_output=True, text=True, timeout=1500, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    deployment = json.loads((out / "deployment.json").read_text(encoding="utf-8"))
    assert len(deployment["teachers"]) == 2 == len(set(deployment["teacher_models"]))
    assert deployment["student_model"] not in deployment["teacher_models"]
    # Each teacher service asked its own model server; the student's server answered the query.
    for i in range(2):
        assert "POST /v1/" in (out / f"teacher-{i}-model.log").read_text(encoding="utf-8")
        journal = (out / f"teacher-{i}-journal.jsonl").read_text(encoding="utf-8")
        assert journal.strip(), f"teacher {i} served no request"
    assert "POST /v1/completions" in (out / "student-model.log").read_text(encoding="utf-8")
    assert run.stdout.strip().splitlines()[-1] in {"spam", "ham"}
    # The lessons live in the Chroma server's folder, each taught by a teacher's own model.
    lessons = LessonLibrary.open(str(out / "library")).list(task="sms_spam")
    assert lessons and {lesson.teacher_model for lesson in lessons} <= set(
        deployment["teacher_models"]
    )
    assert (out / "coordinator-token").stat().st_mode & 0o077 == 0
    # Everything stopped: no server answers any more.
    urls = [*deployment["teachers"], deployment["library"]]
    urls += [
        m.removeprefix("openai:")
        for m in [*deployment["teacher_models"], deployment["student_model"]]
    ]
    assert all(refused(url) for url in urls)


def test_a_part_that_cannot_start_is_named_and_the_rest_stopped(tmp_path: Path) -> None:
    out = tmp_path / "deployment"
    run = subprocess.run(
        [*CLI, "--student-model", str(tmp_path / "missing.gguf"), "--out", str(out), "--teach"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "missing.gguf" in run.stderr
    library = json.loads((out / "deployment.json").read_text(encoding="utf-8"))["library"]
    assert library.startswith("http://127.0.0.1:")  # it was up before the student's server
    assert refused(f"{library}/api/v2/heartbeat")
