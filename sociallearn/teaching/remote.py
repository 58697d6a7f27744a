"""Teachers on other machines: a teacher service reached through LangGraph's `RemoteGraph`.

A teacher service (`sociallearn serve-teacher`, `sociallearn.teaching.service`) runs the teacher
subgraph next to its owner's data. The coordinator sends it the run's public settings and a
teacher id and gets back what crosses the privacy filter: lessons, drops with their reasons and
held-back accuracies. Voting asks it for scores of public lessons on its held-back data. No
private example travels either way. A service whose owner reviews lessons first streams
{"pending_review": n} while they wait (logged here); `remote_timeout` bounds that wait too.
"""

from __future__ import annotations

import concurrent.futures
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sociallearn.core.schema import Lesson, TeacherDrop
from sociallearn.teaching.service_auth import coordinator_token

if TYPE_CHECKING:
    from sociallearn.teaching.settings import Settings

log = logging.getLogger(__name__)
SERVICE_GRAPH = "teacher_service"  # the graph's name in the service's langgraph.json
CONNECT_TIMEOUT_S = 10.0


class TeacherServiceError(RuntimeError):
    """A teacher service could not be reached, failed, or did not answer in time."""


@dataclass(frozen=True)
class RemoteTeacher:
    """One teacher service, by URL."""

    url: str
    timeout: float

    def teach(self, teacher_id: str, run_id: str, settings: Settings) -> dict[str, Any]:
        """The teacher's filtered lessons, drops and held-back accuracies for this run."""
        request = {"request": "teach", "teacher_id": teacher_id, "run_id": run_id}
        output = self._call({**request, "settings": settings.public()})
        return {
            "candidates": [Lesson.model_validate(item) for item in output.get("candidates", [])],
            "dropped": [TeacherDrop.model_validate(item) for item in output.get("dropped", [])],
            "held_out_accuracy": dict(output.get("held_out_accuracy") or {}),
            "acceptance": dict(output.get("acceptance") or {}),
        }

    def judge(self, teacher_id: str, settings: Settings, preambles: list[str]) -> list[float]:
        """The teacher's scores of student prompt preambles on its held-back examples."""
        request = {"request": "judge", "teacher_id": teacher_id, "preambles": preambles}
        output = self._call({**request, "settings": settings.public()})
        scores = output.get("scores")
        if not isinstance(scores, list) or len(scores) != len(preambles):
            reasons = [
                reason
                for item in output.get("dropped", [])
                for reason in TeacherDrop.model_validate(item).reasons
            ]
            raise TeacherServiceError(
                f"{self.url}: no scores for {len(preambles)} lessons ({'; '.join(reasons)})"
            )
        return [float(score) for score in scores]

    def _call(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One run of the service's graph, its final state; a `TeacherServiceError` when it is
        unreachable, fails or takes longer than `timeout` (the request is then abandoned)."""
        import httpx  # the client's libraries load when a service is first called
        from langgraph.pregel.remote import RemoteGraph
        from langgraph_sdk import get_sync_client

        connect = min(CONNECT_TIMEOUT_S, self.timeout)
        token = coordinator_token(self.url)
        client = get_sync_client(
            url=self.url,
            api_key=None,
            headers={"Authorization": f"Bearer {token}"} if token else None,
            timeout=(connect, self.timeout, self.timeout, connect),
        )
        remote = RemoteGraph(SERVICE_GRAPH, sync_client=client)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        future = pool.submit(self._final_state, remote, payload)
        try:
            output = future.result(timeout=self.timeout)
        except httpx.ConnectError as exc:
            raise TeacherServiceError(f"{self.url}: unreachable ({exc})") from None
        except (concurrent.futures.TimeoutError, httpx.ReadTimeout):
            raise TeacherServiceError(
                f"{self.url}: no answer within {self.timeout:g} s (remote_timeout)"
            ) from None
        except httpx.HTTPStatusError as exc:
            raise TeacherServiceError(
                f"{self.url}: HTTP {exc.response.status_code} ({exc.response.text[:200]})"
            ) from None
        except Exception as exc:  # a dropped connection, a failed run, ...
            raise TeacherServiceError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        finally:
            client.http.client.close()  # ends a stream still waiting after a timeout
            pool.shutdown(wait=False)
        if not isinstance(output, dict):
            raise TeacherServiceError(f"{self.url}: answered {type(output).__name__}, not a state")
        return output

    def _final_state(self, remote: Any, payload: dict[str, Any]) -> Any:
        """The run's last state, streamed; its custom events (lessons waiting for the owner's
        review) logged on the way."""
        output = None
        for part in remote.stream(payload, stream_mode=["values", "custom"], version="v2"):
            if part["type"] == "values":
                output = part["data"]
            elif isinstance(part["data"], dict) and "pending_review" in part["data"]:
                waiting = part["data"]["pending_review"]
                log.warning("%s: %s lessons wait for the data owner's review", self.url, waiting)
        return output
