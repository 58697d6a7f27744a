"""The data owner's review: no lesson leaves a teacher service before its owner approves it.

With `serve-teacher --review`, the lessons of a teach request that passed the privacy filter are
held in the review store (`stores.reviews`) instead of going back, and the request waits,
without the service's lock, until the owner approves, edits or rejects each (the page
`/review`, `sociallearn review-lessons`) or until `review_timeout` has passed since they were
held. Approved lessons go back; an edit goes back only if the same filter, on the owner's data,
passes it as written (it is refused, with the filter's reasons, if the filter rejects it or
would redact anything), and the lesson stays pending until a decision that holds. Rejected and
expired lessons become drops whose reasons name no text: the owner's reasons stay here.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sociallearn.core.schema import Lesson, TeacherDrop
from sociallearn.privacy.filter import FilterSettings, check
from sociallearn.stores.reviews import DECISIONS, HeldLesson, RequestKey, ReviewStore, Status
from sociallearn.stores.silo import own_silo
from sociallearn.tasks import Example, Task
from sociallearn.teaching.review import edited
from sociallearn.teaching.sharing import check_example

POLL_S = 1.0  # how often a waiting request looks at the store besides being woken


class UnknownLesson(LookupError):
    """No held lesson has this id."""


class AlreadyDecided(ValueError):
    """The lesson was decided before (approved, edited, rejected or expired)."""


class EditRefused(ValueError):
    """The privacy filter does not pass the owner's edit as written (the message says why)."""


class OwnerReview:
    """Holds teach answers for the owner's decisions, and records them."""

    def __init__(
        self,
        store: ReviewStore,
        task: Task,
        examples: list[Example],
        privacy: FilterSettings,
        timeout: float,
    ) -> None:
        self.store = store
        self.task = task
        self.privacy = privacy
        self.timeout = timeout
        self._private = own_silo("owner", examples)  # all the owner's examples, for the filter
        self._decided = threading.Condition()

    def holds(self, key: RequestKey) -> bool:
        """Whether this request was taught and held before (a retry, or after a restart)."""
        return self.store.request(key) is not None

    def hold(self, key: RequestKey, answer: dict[str, Any]) -> None:
        """Keep a teach answer's lessons for the owner, and the rest of it for the reply."""
        rest = {
            "dropped": [drop.model_dump(mode="json") for drop in answer.get("dropped", [])],
            "held_out_accuracy": answer.get("held_out_accuracy", {}),
            "acceptance": answer.get("acceptance", {}),
        }
        self.store.hold(key, list(answer.get("candidates", [])), rest)

    def answer(
        self, key: RequestKey, on_pending: Callable[[int], None] | None = None
    ) -> dict[str, Any]:
        """The held request's answer once the owner has decided every lesson or the time is up
        (`on_pending` is told how many wait first): the released lessons, drops for the rest,
        and under "review" the decisions counted (for the journal)."""
        request = self.store.request(key)
        if request is None:
            raise LookupError(f"no held request {key}")
        deadline = request.held_at + self.timeout
        waiting = self._waiting(key)
        if waiting and on_pending is not None:
            on_pending(waiting)
        with self._decided:
            while self._waiting(key) and (left := deadline - time.time()) > 0:
                self._decided.wait(min(left, POLL_S))
        self.store.expire(key, f"no decision within {self.timeout:g} s")
        lessons = self.store.lessons_of(key)
        counts = Counter(held.status for held in lessons)
        dropped = [TeacherDrop.model_validate(item) for item in request.rest.get("dropped", [])]
        for status, why in (
            ("rejected", "the data owner rejected {n} lessons"),
            ("expired", "{n} lessons had no decision from the data owner within the review time"),
        ):
            if counts[status]:
                reason = why.format(n=counts[status])
                dropped.append(TeacherDrop(teacher_id=key.teacher_id, attempts=0, reasons=[reason]))
        return {
            "candidates": [held.released for held in lessons if held.released is not None],
            "dropped": dropped,
            "held_out_accuracy": request.rest.get("held_out_accuracy", {}),
            "acceptance": request.rest.get("acceptance", {}),
            "review": {status: counts[status] for status in DECISIONS},
        }

    def pending(self) -> list[HeldLesson]:
        return self.store.pending()

    def history(self) -> list[HeldLesson]:
        return self.store.history()

    def approve(self, lesson_id: int) -> HeldLesson:
        """Release the lesson as it passed the filter."""
        held = self._pending(lesson_id)
        approved = held.lesson.model_copy(update={"review": "approved"})
        return self._decide(held, "approved", released=approved)

    def edit(self, lesson_id: int, text: str) -> HeldLesson:
        """Release the owner's text instead, if the filter passes it as written; an
        `EditRefused` saying why otherwise (the lesson stays pending, the text is not kept)."""
        held = self._pending(lesson_id)
        return self._decide(held, "edited", released=self.recheck(held.lesson, text))

    def reject(self, lesson_id: int, reason: str) -> HeldLesson:
        """Never release the lesson; the reason stays with the owner."""
        return self._decide(self._pending(lesson_id), "rejected", reason=reason.strip())

    def recheck(self, lesson: Lesson, text: str) -> Lesson:
        """The lesson with the owner's text, checked by the privacy filter with the owner's
        data; an `EditRefused` if the filter rejects it or would change it."""
        try:
            candidate = edited(self.task, lesson, text)
        except ValueError as exc:
            raise EditRefused(str(exc)) from None
        texts, records = self._private.private_texts(), self._private.private_records()
        if candidate.kind == "instruction":
            verdict, shared = check(candidate.text, texts, self.privacy, number_texts=records)
            update: dict[str, Any] = {"text": shared}
        else:
            example = Example(
                input=candidate.input or "", output=candidate.output or "",
                answer=candidate.answer or "",
            )  # fmt: skip
            verdict, passed = check_example(
                example, texts, self.privacy, records=records, labels=self.task.labels
            )
            update = {"text": self.task.format_example(passed), "input": passed.input,
                      "output": passed.output, "answer": passed.answer}  # fmt: skip
        problems = [] if verdict.passed else list(verdict.reasons)
        if verdict.redactions:
            kinds = ", ".join(f"{kind}×{n}" for kind, n in sorted(verdict.redactions.items()))
            problems.append(f"it would redact {kinds}")
        if problems:
            raise EditRefused(f"the privacy filter refuses the edit: {'; '.join(problems)}")
        return candidate.model_copy(update={**update, "verdict": verdict})

    def _pending(self, lesson_id: int) -> HeldLesson:
        held = self.store.lesson(lesson_id)
        if held is None:
            raise UnknownLesson(f"no lesson {lesson_id} is held for review")
        if held.status != "pending":
            raise AlreadyDecided(f"lesson {lesson_id} was {held.status} already")
        return held

    def _decide(self, held: HeldLesson, status: Status, **decision: Any) -> HeldLesson:
        if not self.store.decide(held.id, status, **decision):
            raise AlreadyDecided(f"lesson {held.id} was decided meanwhile")
        with self._decided:
            self._decided.notify_all()
        decided = self.store.lesson(held.id)
        assert decided is not None
        return decided

    def _waiting(self, key: RequestKey) -> int:
        return sum(held.status == "pending" for held in self.store.lessons_of(key))
