"""Command line for teachers on several machines: `serve-teacher` and `silos`."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sociallearn.apps.flags import add_flags, add_preset_flag, values_from
from sociallearn.apps.presets import with_preset
from sociallearn.teaching.registries import check_registered
from sociallearn.teaching.settings import (
    SERVICE_CONFIG_ENV,
    SERVICE_OWNED,
    ServiceConfig,
    TeachSettings,
)

CLI = (sys.executable, "-m", "sociallearn.apps.cli")  # `sociallearn`, in this Python
SILO_FILE = {"sms_spam": "{teacher}.tsv", "gsm8k": "{teacher}.jsonl"}


def cmd_serve_teacher(args: argparse.Namespace) -> int:
    """Check the data and the model, then serve the teacher graph on LangGraph's server."""
    from langgraph_api.cli import run_server

    import sociallearn.graphs.teacher_service as service_graph
    from sociallearn.apps import review_app
    from sociallearn.teaching import service_auth
    from sociallearn.teaching.service import current_service

    owner = TeachSettings.model_validate(
        with_preset(values_from(args, TeachSettings), args.preset, SERVICE_OWNED)
    )
    check_registered(owner)
    config = ServiceConfig.model_validate({**values_from(args, ServiceConfig), "owner": owner})
    if config.coordinators is None and not loopback(args.host):
        raise ValueError(
            f"--host {args.host} serves beyond this machine: list the coordinators allowed to "
            "call with --coordinators FILE (one `name token` line each, tokens of 16+ "
            "characters; each coordinator sets $SOCIALLEARN_TEACHER_TOKEN to its token)"
        )
    auth = None
    if config.coordinators:
        hashes = service_auth.read_coordinators(Path(config.coordinators))  # bad lines fail here
        os.environ[service_auth.COORDINATORS_ENV] = json.dumps(hashes)
        auth = {"path": f"{service_auth.__file__}:auth"}
    absolute = {"data": str(Path(config.data).resolve())}
    for name in ("journal", "coordinators", "reviews"):
        if value := getattr(config, name):
            absolute[name] = str(Path(value).resolve())
    config = config.model_copy(update=absolute)
    os.environ[SERVICE_CONFIG_ENV] = config.model_dump_json()
    service = current_service()  # a bad data file or model fails here, before serving
    service.models.get(owner.teacher_model)
    callers = f"{len(hashes)} coordinators" if auth else "anyone on this machine"
    http: dict[str, Any] = dict(CLOSED_ROUTES)
    reviewed = ""
    if config.review:  # the owner's page and API, beside the graph, outside the coordinators' auth
        http = {**CLOSED_ROUTES, "app": f"{review_app.__file__}:app"}
        reviewed = f"; lessons wait for the owner at http://127.0.0.1:{args.port}/review"
    print(
        f"teacher service: {len(service.examples)} private examples from {config.data}, "
        f"model {owner.teacher_model}, on http://{args.host}:{args.port}, for {callers}"
        f"{reviewed}",
        file=sys.stderr,
        flush=True,
    )
    state = Path(".sociallearn", f"teacher-service-{args.port}").resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.chdir(state)  # where LangGraph's server keeps its queue files, out of the user's folder
    run_server(
        args.host,
        args.port,
        reload=False,
        graphs={"teacher_service": f"{service_graph.__file__}:graph"},
        open_browser=False,
        allow_blocking=True,  # the teacher's nodes are plain synchronous Python
        disable_persistence=True,  # the service keeps no run state on disk
        server_level="WARNING",
        auth=auth,
        http=http,
    )
    return 0


# LangGraph's routes a teacher service does not need: runs, threads, assistants and a bare /ok
# remain (no /info, /metrics or /docs).
CLOSED_ROUTES = {
    "disable_store": True, "disable_ui": True, "disable_mcp": True, "disable_a2a": True,
    "disable_webhooks": True, "disable_meta": True,
}  # fmt: skip


def loopback(host: str) -> bool:
    """Whether `host` listens on this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve beyond this machine
        return False


def cmd_silos(args: argparse.Namespace) -> int:
    """Write each teacher's silo of a split to its own file (to try several services)."""
    settings = TeachSettings.model_validate(values_from(args, TeachSettings))
    check_registered(settings)
    for path in silo_files(
        settings.task, settings.data_path, settings.teachers, settings.test_size, settings.seed,
        args.out,
    ):  # fmt: skip
        print(path)
    return 0


def silo_files(
    task_name: str, data_path: str | Path | None, teachers: int, test_size: int, seed: int,
    out: Path,
) -> list[Path]:  # fmt: skip
    """Each teacher's silo of the split a run makes, written to its own file in `out`."""
    from sociallearn.stores.silo import load_split, share_of
    from sociallearn.tasks import get_task

    task = get_task(task_name)
    split = load_split(task, data_path, teachers, test_size, seed)
    pattern = SILO_FILE.get(task.family, "{teacher}.txt")
    return [
        task.write(share_of(silo), out / pattern.format(teacher=teacher))
        for teacher, silo in split.silos.items()
    ]


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_teacher_service(
    data: Path, port: int, *, log: Path, options: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """`sociallearn serve-teacher` in a new process on a loopback port, ready when this returns
    (for trying several services on one machine, benchmarks and tests)."""
    command = [*CLI, "serve-teacher", "--data", str(data), "--port", str(port), *options]
    process = launch(command, log)
    wait_ready(process, f"http://127.0.0.1:{port}/ok", log, 180)
    return process


def launch(command: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """`command` in a new process, its output in `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(list(command), stdout=output, stderr=subprocess.STDOUT)


def wait_ready(
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    seconds: float,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Wait until `url` answers 200 (asked with `headers`); a `RuntimeError` with the end of
    `log` if `process` stops first, or after `seconds` (the process killed)."""
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process logging to {log} stopped:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s (log: {log})")


def add_service_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve-teacher",
        help="serve one data holder's teacher on LangGraph's server (for --remote-teachers)",
    )
    add_preset_flag(serve)
    add_flags(serve, ServiceConfig, exclude={"owner"})
    add_flags(serve, TeachSettings, only=SERVICE_OWNED)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8101, help="port to listen on")
    serve.set_defaults(func=cmd_serve_teacher)

    silos = sub.add_parser(
        "silos", help="split a dataset as a run would and write each teacher's silo to a file"
    )
    add_flags(silos, TeachSettings, only={"task", "data_path", "teachers", "test_size", "seed"})
    silos.add_argument("--out", type=Path, required=True, help="folder for the silo files")
    silos.set_defaults(func=cmd_silos)
