"""Teacher services for the tests: real `sociallearn serve-teacher` processes on loopback ports,
each behind a proxy that records every byte sent and received, each answering only the test
coordinator's token (`$SOCIALLEARN_TEACHER_TOKEN`, which the tests' coordinators send)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sociallearn.apps.service_cli import free_port, start_teacher_service
from sociallearn.teaching.service_auth import TOKEN_ENV

CLI = [sys.executable, "-m", "sociallearn.apps.cli"]


class RecordingProxy(socketserver.ThreadingTCPServer):
    """Forwards loopback TCP connections to `upstream` and keeps a copy of all traffic."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sent = bytearray()  # coordinator → service
        self.received = bytearray()  # service → coordinator
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def traffic(self) -> bytes:
        with self.lock:
            return bytes(self.sent) + bytes(self.received)

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Forward(socketserver.BaseRequestHandler):
    server: RecordingProxy

    def handle(self) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.server.upstream))
        pump = threading.Thread(
            target=self._pump, args=(upstream, self.request, self.server.received), daemon=True
        )
        pump.start()
        self._pump(self.request, upstream, self.server.sent)
        pump.join(timeout=5)
        upstream.close()

    def _pump(self, source: socket.socket, target: socket.socket, log: bytearray) -> None:
        try:
            while chunk := source.recv(65536):
                with self.server.lock:
                    log.extend(chunk)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (target, source):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@dataclass
class Service:
    """A running teacher service (its process), its private file and journal."""

    data: Path
    journal: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    proxy: RecordingProxy | None = None
    log: Path = field(default=Path(os.devnull))

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else f"http://127.0.0.1:{self.port}"

    def requests(self, kind: str = "teach") -> list[dict]:
        import json

        if not self.journal.exists():
            return []
        entries = [json.loads(line) for line in self.journal.read_text().splitlines()]
        return [entry for entry in entries if entry["request"] == kind]

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proxy:
            self.proxy.close()


def coordinators_file(folder: Path, others: dict[str, str]) -> Path:
    """An owner's list of coordinators: the tests' coordinator, with the token it sends (one
    made for this session unless .ci/run set one), and `others` (name: token)."""
    listed = {"tests": os.environ.setdefault(TOKEN_ENV, secrets.token_urlsafe(24)), **others}
    path = folder / "coordinators"
    path.write_text("".join(f"{name} {token}\n" for name, token in listed.items()))
    return path


def start_service(
    data: Path,
    folder: Path,
    *,
    model: str = "smollm2",
    record: bool = True,
    threads: int = 1,
    coordinators: dict[str, str] | None = None,
) -> Service:
    """`sociallearn serve-teacher` on a free loopback port (ready when this returns)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    service = Service(data=data, journal=folder / "journal.jsonl", port=port, log=folder / "log")
    options = (
        "--teacher-model", model, "--threads", str(threads), "--journal", str(service.journal),
        "--coordinators", str(coordinators_file(folder, coordinators or {})),
    )  # fmt: skip
    service.process = start_teacher_service(data, port, log=service.log, options=options)
    if record:
        service.proxy = RecordingProxy(port)
    return service


class HungService(socketserver.ThreadingTCPServer):
    """A service that accepts connections and never answers (a stuck machine)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _Hang)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _Hang(socketserver.BaseRequestHandler):
    server: HungService

    def handle(self) -> None:
        self.request.recv(65536)
        self.server.release.wait(timeout=600)
