"""The record of final evaluations: which configurations have been tested on the locked part.

A final evaluation (`final`) tests the student on the locked part of the data, which nothing
else reads. Every cell it computes is appended to a ledger (one JSON line: the cell's key, its
accuracy, when, at which commit). A cell whose key is in the ledger is not computed again: its
recorded result is reused where it is at hand, and otherwise the experiment is refused before
any model loads, unless forced (a forced evaluation is recorded as one more). So a configuration
cannot be tried on the locked part until it looks good.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

LEDGER_NAME = "final_ledger.jsonl"


class FinalEvaluation(BaseModel):
    """One cell evaluated on the locked part."""

    key: str
    task: str
    method: str
    seed: int
    accuracy: float
    n: int
    at: str  # UTC, ISO 8601
    commit: str | None = None  # the code's git commit, where known
    forced: bool = False  # evaluated again although already recorded


class AlreadyEvaluated(RuntimeError):
    """A final evaluation would test a configuration on the locked part a second time."""


class FinalLedger:
    """An append-only JSON-lines file of final evaluations."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[FinalEvaluation]:
        """Every recorded evaluation; a malformed line is an error naming it."""
        if not self.path.is_file():
            return []
        entries = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(FinalEvaluation.model_validate_json(line))
            except ValidationError as exc:
                error = exc.errors()[0]
                field = ".".join(map(str, error["loc"])) or "(line)"
                raise ValueError(
                    f"{self.path}, line {number}: field {field!r}: {error['msg']}"
                ) from None
        return entries

    def by_key(self) -> dict[str, list[FinalEvaluation]]:
        """The recorded evaluations of each cell key, oldest first."""
        recorded: dict[str, list[FinalEvaluation]] = {}
        for entry in self.entries():
            recorded.setdefault(entry.key, []).append(entry)
        return recorded

    def record(
        self, *, key: str, task: str, method: str, seed: int, accuracy: float, n: int, forced: bool
    ) -> FinalEvaluation:
        """Append one evaluation (flushed to disk before returning)."""
        entry = FinalEvaluation(
            key=key,
            task=task,
            method=method,
            seed=seed,
            accuracy=accuracy,
            n=n,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            commit=code_commit(),
            forced=forced,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(entry.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return entry


def code_commit(where: Path = Path(__file__).parent) -> str | None:
    """The git commit of this package's source tree, '+changes' after it when its code (Python
    files, requirements) has uncommitted changes; results written meanwhile do not count.
    None outside a git checkout."""
    head = _git(where, "rev-parse", "HEAD")
    if not head:
        return None
    code = (":(top)*.py", ":(top)pyproject.toml", ":(top)requirements*.txt")
    changed = _git(where, "status", "--porcelain", "--untracked-files=no", "--", *code)
    return head + ("+changes" if changed else "")


def _git(where: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
