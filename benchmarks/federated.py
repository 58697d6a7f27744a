"""Teachers in-process vs teachers as services, side by side with the same seeds.

    .venv/bin/python -m benchmarks.federated                 # m = 4, instructions and synthetic
    .venv/bin/python -m benchmarks.federated --seeds 0 1 --methods instructions

For each method and seed:
1. in-process: one teach run with m teachers in this process (`--teachers m`);
2. services: the same data split written to m files (`sociallearn silos`), m teacher services
   (`sociallearn serve-teacher`) on loopback ports, one teach run with `--teachers 0
   --remote-teachers ...` and the same run id;
3. parallel: fresh services with one thread each (a core each on this machine), the same run
   with one of them, then with two.

Reported: whether the lessons of 1 and 2 are identical (teacher, text, label), their wall times,
the services' overhead (client-side time of each request minus the service's own time for it,
from its journal, as a share of the run's wall time) and wall(two services) / wall(one). In 2,
m services share the machine's cores (the JSON records how many), so they cannot all run at
full speed at once; 3 is what "each service has its own cores" allows here. Writes
benchmarks/results/federated.json. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sociallearn.apps.run import teach
from sociallearn.apps.service_cli import free_port, start_teacher_service
from sociallearn.core.schema import Lesson
from sociallearn.engine import ModelPool
from sociallearn.stores.silo import load_split, share_of
from sociallearn.tasks import get_task
from sociallearn.teaching.settings import Settings

RESULTS = Path(__file__).parent / "results" / "federated.json"


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


class Services:
    """Teacher services on loopback ports, one per file, stopped on exit."""

    def __init__(self, files: list[Path], folder: Path, options: tuple[str, ...] = ()) -> None:
        self.files, self.folder, self.options = files, folder, options
        self.urls: list[str] = []
        self.journals: list[Path] = []
        self.processes: list[Any] = []

    def __enter__(self) -> Services:
        for data in self.files:
            port = free_port()
            journal = self.folder / f"journal-{port}.jsonl"
            log = self.folder / f"service-{port}.log"
            options = (*self.options, "--journal", str(journal))
            self.processes.append(start_teacher_service(data, port, log=log, options=options))
            self.urls.append(f"http://127.0.0.1:{port}")
            self.journals.append(journal)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)


def measure(method: str, seed: int, teachers: int, folder: Path) -> dict[str, Any]:
    """In-process vs services (identical lessons, overhead), then the parallel speed-up."""
    task = get_task("sms_spam")
    common: dict[str, Any] = {
        "method": method, "seed": seed, "test_size": 100, "samples": 8, "keep": 4
    }  # fmt: skip
    run_id = f"federated-{seed}"  # the same run in both places
    split = load_split(task, None, teachers, 100, seed)
    files = [task.write(share_of(s), folder / f"{t}.tsv") for t, s in split.silos.items()]
    local_settings = Settings(teachers=teachers, library=str(folder / "in-process"), **common)
    local = timed_teach(local_settings, run_id, ModelPool())
    with Services(files, folder) as services:
        remote_settings = Settings(
            teachers=0, remote_teachers=services.urls, library=str(folder / "services"), **common
        )
        remote = timed_teach(remote_settings, run_id, None)
    overheads = [
        remote["answered_after_s"][f"teacher-{index}"] - journal_seconds(journal, run_id)
        for index, journal in enumerate(services.journals)
    ]
    walls = {}
    for count in (1, 2):  # fresh services with a core each (nothing remembered from above)
        with Services(files[:count], folder, ("--threads", "1")) as own_cores:
            settings = remote_settings.replace(remote_teachers=own_cores.urls)
            walls[count] = timed_teach(settings, f"parallel-{count}-{seed}", None)["wall_s"]
    local_lessons = [list(item) for item in local["lessons"]]
    remote_lessons = [list(item) for item in remote["lessons"]]
    differ = {tuple(x) for x in local_lessons} ^ {tuple(x) for x in remote_lessons}
    return {
        "method": method,
        "seed": seed,
        "teachers": teachers,
        "identical_lessons": local_lessons == remote_lessons,
        "lessons": len(remote_lessons),
        "differing_lessons": len(differ),
        "in_process_wall_s": round(local["wall_s"], 2),
        "services_wall_s": round(remote["wall_s"], 2),
        "overhead_per_request_s": [round(x, 3) for x in overheads],
        "overhead_share": round(statistics.mean(overheads) / remote["wall_s"], 4),
        "one_service_own_core_wall_s": round(walls[1], 2),
        "two_services_own_cores_wall_s": round(walls[2], 2),
        "parallel_ratio": round(walls[2] / walls[1], 2),
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
                f"{row['in_process_wall_s']} s, {args.teachers} services {row['services_wall_s']} s "
                f"(overhead {row['overhead_share']:.1%} of the run); a core each: one service "
                f"{row['one_service_own_core_wall_s']} s, two {row['two_services_own_cores_wall_s']}"
                f" s (ratio {row['parallel_ratio']})",
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
