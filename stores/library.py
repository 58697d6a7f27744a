"""The lesson library: lessons that passed the privacy filter, kept in Chroma.

Works against an embedded `PersistentClient` folder or a Chroma server (`chroma run`).
Each lesson is one document; its metadata carries task, kind, teacher, models, run, settings,
the filter's verdict and the time. Lessons are keyed by run, teacher and content hash, so
re-teaching adds new versions and re-publishing the same lesson is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from sociallearn.schema import Lesson
from sociallearn.stores.embeddings import embedding_function

DEFAULT_COLLECTION = "lessons"


def _metadata(lesson: Lesson) -> dict[str, Any]:
    record = lesson.model_dump(mode="json", exclude={"text"})
    return {
        "task": lesson.task,
        "kind": lesson.kind,
        "teacher_id": lesson.teacher_id,
        "teacher_model": lesson.teacher_model,
        "run_id": lesson.run_id,
        "method": lesson.method,
        "passed_filter": lesson.verdict.passed,
        "content_hash": lesson.content_hash,
        "created_at": record["created_at"],
        "record": json.dumps(record, sort_keys=True),
    }


def _lesson(document: str, metadata: dict[str, Any]) -> Lesson:
    record = json.loads(metadata["record"])
    return Lesson.model_validate({**record, "text": document})


class LessonLibrary:
    """A searchable, persistent collection of lessons."""

    def __init__(self, client: ClientAPI, collection: str = DEFAULT_COLLECTION) -> None:
        self.client = client
        self.collection: Collection = client.get_or_create_collection(
            collection,
            embedding_function=embedding_function(),  # type: ignore[arg-type]
            metadata={"hnsw:space": "cosine"},
        )

    @classmethod
    def open(cls, location: str | Path, collection: str = DEFAULT_COLLECTION) -> LessonLibrary:
        """A library in a local folder, or on a Chroma server given as http://host:port."""
        text = str(location)
        if text.startswith(("http://", "https://")):
            host_port = text.split("://", 1)[1].rstrip("/")
            host, _, port = host_port.partition(":")
            client = chromadb.HttpClient(
                host=host, port=int(port or 8000), ssl=text.startswith("https")
            )
        else:
            Path(text).expanduser().mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(Path(text).expanduser()))
        return cls(client, collection)

    def add(self, lessons: Iterable[Lesson]) -> list[str]:
        """Store lessons; returns the ids newly written (ones already present are skipped)."""
        batch = {lesson.id: lesson for lesson in lessons}
        if not batch:
            return []
        existing = set(self.collection.get(ids=list(batch), include=[])["ids"])
        new = [lesson for key, lesson in batch.items() if key not in existing]
        if new:
            self.collection.add(
                ids=[lesson.id for lesson in new],
                documents=[lesson.text for lesson in new],
                metadatas=[_metadata(lesson) for lesson in new],
            )
        return [lesson.id for lesson in new]

    def get(self, ids: list[str]) -> list[Lesson]:
        """Lessons by id, in the order given."""
        if not ids:
            return []
        found = self.collection.get(ids=ids, include=["documents", "metadatas"])
        by_id = {
            key: _lesson(doc, dict(meta))
            for key, doc, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or []
            )
        }
        return [by_id[key] for key in ids if key in by_id]

    def list(
        self, *, task: str | None = None, run_id: str | None = None, kind: str | None = None
    ) -> list[Lesson]:
        """All lessons matching the filters, oldest first."""
        found = self.collection.get(
            where=self._where(task=task, run_id=run_id, kind=kind),
            include=["documents", "metadatas"],
        )
        lessons = [
            _lesson(doc, dict(meta))
            for doc, meta in zip(found["documents"] or [], found["metadatas"] or [])
        ]
        return sorted(lessons, key=lambda lesson: (lesson.created_at, lesson.id))

    def search(
        self, query: str, *, task: str | None = None, kind: str | None = None, k: int = 4
    ) -> list[tuple[Lesson, float]]:
        """The k lessons closest in meaning to `query`, with their cosine distances."""
        if self.count() == 0:
            return []
        found = self.collection.query(
            query_texts=[query],
            n_results=k,
            where=self._where(task=task, kind=kind),
            include=["documents", "metadatas", "distances"],
        )
        documents = (found["documents"] or [[]])[0]
        metadatas = (found["metadatas"] or [[]])[0]
        distances = (found["distances"] or [[]])[0]
        return [
            (_lesson(doc, dict(meta)), float(dist))
            for doc, meta, dist in zip(documents, metadatas, distances)
        ]

    def runs(self, task: str | None = None) -> list[str]:
        """Run ids present in the library, oldest first."""
        seen: dict[str, None] = {}
        for lesson in self.list(task=task):
            seen.setdefault(lesson.run_id, None)
        return list(seen)

    def count(self) -> int:
        return self.collection.count()

    def __iter__(self) -> Iterator[Lesson]:
        return iter(self.list())

    @staticmethod
    def _where(**filters: str | None) -> Any:
        clauses = [{key: value} for key, value in filters.items() if value is not None]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
