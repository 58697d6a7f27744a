"""Teachers in-process vs teachers as services, side by side with the same seeds.

    .venv/bin/python benchmarks/federated.py                 # m = 4, instructions and synthetic
    .venv/bin/python benchmarks/federated.py --seeds 0 1 --methods instructions

For each method and seed:
1. in-process: one teach run with m teachers in this process (`--teachers m`);
2. services: the same data split written to m files (`sociallearn silos`), m teacher services
   (`sociallearn serve-teacher`) on loopback ports, one teach run with `--teachers 0
   --remote-teachers ...` and the same run id;
3. one service alone: the same run with only the first service, for the parallel speed-up.

Reported: whether the lessons are identical (teacher, text, label), the wall time of each run,
the services' overhead (client-side time of each request minus the service's own time for it,
from its journal, as a share of the run's wall time) and wall(m services) / wall(one service).
All services share this machine's cores: the JSON records how many. Writes
benchmarks/results/federated.json. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sociallearn.engine import ModelPool
from sociallearn.schema import Lesson
from sociallearn.service_cli import start_teacher_service
from sociallearn.settings import Settings
from sociallearn.stores.silo import load_split, share_of
from sociallearn.tasks import get_task
from sociallearn.teaching import teach

RESULTS = Path(__file__).parent / "results" / "federated.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed_teach(settings: Settings, run_id: str, models: ModelPool | None) -> dict[str, Any]:
    """One teach run: its lessons, wall time and when each teacher's answer arrived."""
    started = time.perf_counter()
    arrived: dict[str, float] = {}
    fanned_out = 0.0

    def note(node: str, update: dict[str, Any]) -> None:
        nonlocal fanned_out
        if node == "assign_teachers":
            fanned_out = time.perf_counter()
        elif node in ("teach", "remote_teach"):
            for item in update.get("candidates", []) + update.get("dropped", []):
                arrived.setdefault(item.teacher_id, time.perf_counter() - fanned_out)

    state = teach(settings, models=models, run_id=run_id, on_update=note)
    return {
        "wall_s": time.perf_counter() - started,
        "answered_after_s": arrived,
        "lessons": sorted(key(lesson) for lesson in state.get("candidates", [])),
        "dropped": [drop.model_dump() for drop in state.get("dropped", [])],
    }


def key(lesson: Lesson) -> tuple[str, str, str]:
    return (lesson.teacher_id, lesson.text, lesson.answer or "")


def journal_seconds(journal: Path, run_id: str) -> float:
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    return sum(e["seconds"] for e in entries if e["run_id"] == run_id and e["request"] == "teach")


def measure(method: str, seed: int, teachers: int, folder: Path) -> dict[str, Any]:
    task = get_task("sms_spam")
    common: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "test_size": 100,
        "samples": 8,
        "keep": 4,
    }
    run_id = f"federated-{seed}"  # the same run in both places
    split = load_split(task, None, teachers, 100, seed)
    files = [task.write(share_of(s), folder / f"{t}.tsv") for t, s in split.silos.items()]
    local_settings = Settings(teachers=teachers, library=str(folder / "in-process"), **common)
    local = timed_teach(local_settings, run_id, ModelPool())
    services = []
    try:
        for index, data in enumerate(files):
            port, journal = free_port(), folder / f"journal-{index}.jsonl"
            process = start_teacher_service(
                data, port, log=folder / f"service-{index}.log", options=("--journal", str(journal))
            )
            services.append((f"http://127.0.0.1:{port}", journal, process))
        urls = [url for url, _, _ in services]
        remote_settings = Settings(
            teachers=0, remote_teachers=urls, library=str(folder / "services"), **common
        )
        remote = timed_teach(remote_settings, run_id, None)
        alone = timed_teach(
            remote_settings.replace(remote_teachers=urls[:1]), f"alone-{seed}", None
        )
    finally:
        for _, _, process in services:
            process.terminate()
            process.wait(timeout=30)
    overheads = [
        remote["answered_after_s"][f"teacher-{index}"] - journal_seconds(journal, run_id)
        for index, (_, journal, _) in enumerate(services)
    ]
    local_lessons = [list(item) for item in local["lessons"]]
    remote_lessons = [list(item) for item in remote["lessons"]]
    return {
        "method": method,
        "seed": seed,
        "teachers": teachers,
        "identical_lessons": local_lessons == remote_lessons,
        "lessons": len(remote_lessons),
        "differing_lessons": len(
            {tuple(x) for x in local_lessons} ^ {tuple(x) for x in remote_lessons}
        ),
        "in_process_wall_s": round(local["wall_s"], 2),
        "services_wall_s": round(remote["wall_s"], 2),
        "one_service_wall_s": round(alone["wall_s"], 2),
        "parallel_ratio": round(remote["wall_s"] / alone["wall_s"], 2),
        "overhead_per_request_s": [round(x, 3) for x in overheads],
        "overhead_share": round(statistics.mean(overheads) / remote["wall_s"], 4),
        "dropped": remote["dropped"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["instructions", "synthetic_examples"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--teachers", type=int, default=4)
    args = parser.parse_args()
    rows = []
    for method in args.methods:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as folder:
                row = measure(method, seed, args.teachers, Path(folder))
            rows.append(row)
            print(
                f"{method} seed {seed}: identical lessons {row['identical_lessons']} "
                f"({row['differing_lessons']} differ of {row['lessons']}); in-process "
                f"{row['in_process_wall_s']} s, {args.teachers} services {row['services_wall_s']} s, "
                f"one service {row['one_service_wall_s']} s (ratio {row['parallel_ratio']}); "
                f"overhead {row['overhead_share']:.1%} of the run",
                flush=True,
            )
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "platform": platform.platform(),
                    "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
                },
                "model": "smollm2 (teachers and student)",
                "runs": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
