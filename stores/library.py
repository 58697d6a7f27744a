"""The lesson library: lessons that passed the privacy filter, kept in Chroma.

Works against an embedded `PersistentClient` folder or a Chroma server (`chroma run`).
Each lesson is one document; its metadata carries task, kind, teacher, models, run, settings,
the filter's verdict and the time. Lessons are keyed by run, teacher and content hash:

- Re-publishing a lesson id already present is a no-op (a resumed run writes nothing twice).
- A duplicate is a lesson whose content hash (task, kind, text) the task already holds under
  another id: it is not stored again, but recorded in the `<collection>-duplicates` collection
  as a sighting of the earlier lesson, with its own provenance.
- A version is one run of one teacher on one task: re-teaching adds a new version and never
  overwrites. Versions are numbered 1, 2, … per (task, teacher) in order of their lessons'
  creation time, so they number the same after a merge or concurrent writers.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from pydantic import BaseModel, ValidationError

from sociallearn.schema import Lesson
from sociallearn.stores.embeddings import embedding_function

DEFAULT_COLLECTION = "lessons"
DUPLICATES_SUFFIX = "-duplicates"
Status = Literal["new", "present", "duplicate"]


class Publication(BaseModel):
    """What publishing one lesson did: `stored_as` is the id its content is kept under."""

    id: str
    stored_as: str
    status: Status


class Version(BaseModel):
    """One teacher's lessons from one run on one task."""

    task: str
    teacher_id: str
    version: int
    run_id: str
    created_at: datetime
    lessons: list[str]  # ids the run's lessons are kept under (earlier ids for duplicates)


class ExportLine(BaseModel):
    """One line of a JSON Lines export: a lesson, or a duplicate sighting of an earlier one."""

    id: str
    duplicate_of: str | None = None
    lesson: Lesson


class LibraryFormatError(ValueError):
    """An import file is malformed; the message names the file, line and field."""


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


def _order(lesson: Lesson) -> tuple[datetime, str]:
    return (lesson.created_at, lesson.id)


class LessonLibrary:
    """A searchable, persistent collection of lessons."""

    def __init__(self, client: ClientAPI, collection: str = DEFAULT_COLLECTION) -> None:
        self.client = client
        embed = embedding_function()
        self.collection: Collection = client.get_or_create_collection(
            collection,
            embedding_function=embed,
            metadata={"hnsw:space": "cosine"},
        )
        self.duplicates: Collection = client.get_or_create_collection(
            collection + DUPLICATES_SUFFIX,
            embedding_function=embed,
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
        """Store lessons; returns the ids newly written (present ids and duplicates are not)."""
        return [p.id for p in self.publish(lessons) if p.status == "new"]

    def publish(self, lessons: Iterable[Lesson]) -> list[Publication]:
        """Store new lessons, record duplicates, skip ids already present; one result per lesson."""
        batch = list({lesson.id: lesson for lesson in lessons}.values())
        if not batch:
            return []
        ids = [lesson.id for lesson in batch]
        present = {key: key for key in self.collection.get(ids=ids, include=[])["ids"]}
        sightings = self.duplicates.get(ids=ids, include=["metadatas"])
        for key, meta in zip(sightings["ids"], sightings["metadatas"] or [], strict=True):
            present[key] = str(meta["duplicate_of"])
        earlier = self._canonical_ids(batch)
        results: list[Publication] = []
        new: list[Lesson] = []
        repeats: list[tuple[Lesson, str]] = []
        for lesson in batch:
            content = (lesson.task, lesson.content_hash)
            status: Status
            if lesson.id in present:
                stored_as, status = present[lesson.id], "present"
            elif content in earlier:
                stored_as, status = earlier[content], "duplicate"
                repeats.append((lesson, stored_as))
            else:
                stored_as, status = lesson.id, "new"
                earlier[content] = lesson.id
                new.append(lesson)
            results.append(Publication(id=lesson.id, stored_as=stored_as, status=status))
        if new:
            self.collection.add(
                ids=[lesson.id for lesson in new],
                documents=[lesson.text for lesson in new],
                metadatas=[_metadata(lesson) for lesson in new],
            )
        if repeats:
            self.duplicates.add(
                ids=[lesson.id for lesson, _ in repeats],
                documents=[f"duplicate of {original}" for _, original in repeats],
                metadatas=[{**_metadata(dup), "duplicate_of": to} for dup, to in repeats],
            )
        return results

    def _canonical_ids(self, lessons: list[Lesson]) -> dict[tuple[str, str], str]:
        """(task, content hash) → id of the earliest stored lesson with that content."""
        hashes = sorted({lesson.content_hash for lesson in lessons})
        where: Any = {"content_hash": {"$in": hashes}}
        found = self.collection.get(where=where, include=["metadatas"])
        stored = sorted(
            (str(meta["created_at"]), key, str(meta["task"]), str(meta["content_hash"]))
            for key, meta in zip(found["ids"], found["metadatas"] or [], strict=True)
        )
        canonical: dict[tuple[str, str], str] = {}
        for _, key, task, digest in stored:
            canonical.setdefault((task, digest), key)
        return canonical

    def get(self, ids: list[str]) -> list[Lesson]:
        """Lessons by id, in the order given; a duplicate's id gives the earlier lesson."""
        if not ids:
            return []
        by_id = self._by_id(ids)
        missing = list(dict.fromkeys(key for key in ids if key not in by_id))
        if missing:
            sightings = self.duplicates.get(ids=missing, include=["metadatas"])
            originals = {
                key: str(meta["duplicate_of"])
                for key, meta in zip(sightings["ids"], sightings["metadatas"] or [], strict=True)
            }
            found = self._by_id(sorted(set(originals.values())))
            by_id.update({key: found[orig] for key, orig in originals.items() if orig in found})
        return [by_id[key] for key in ids if key in by_id]

    def _by_id(self, ids: list[str]) -> dict[str, Lesson]:
        if not ids:
            return {}
        unique = list(dict.fromkeys(ids))  # Chroma refuses repeated ids
        found = self.collection.get(ids=unique, include=["documents", "metadatas"])
        return {
            key: _lesson(doc, dict(meta))
            for key, doc, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
        }

    def duplicate_sightings(self, task: str | None = None) -> list[tuple[Lesson, str]]:
        """Lessons that repeated earlier content, with the earlier lesson's id, oldest first."""
        found = self.duplicates.get(where=self._where(task=task), include=["metadatas"])
        metas = [dict(meta) for meta in found["metadatas"] or []]
        originals = self._by_id(sorted({str(meta["duplicate_of"]) for meta in metas}))
        sightings = [
            (_lesson(originals[str(meta["duplicate_of"])].text, meta), str(meta["duplicate_of"]))
            for meta in metas
            if str(meta["duplicate_of"]) in originals
        ]
        return sorted(sightings, key=lambda pair: _order(pair[0]))

    def versions(self, task: str, teacher_id: str | None = None) -> list[Version]:
        """Every (teacher, run) that published on `task`, numbered per teacher by creation time."""
        entries = [(lesson, lesson.id) for lesson in self.list(task=task)]
        entries += self.duplicate_sightings(task)
        groups: dict[tuple[str, str], list[tuple[Lesson, str]]] = {}
        for lesson, stored_as in entries:
            if teacher_id is None or lesson.teacher_id == teacher_id:
                key = (lesson.teacher_id, lesson.run_id)
                groups.setdefault(key, []).append((lesson, stored_as))
        ordered = sorted(
            groups.items(), key=lambda item: (item[0][0], min(_order(m) for m, _ in item[1]))
        )
        versions: list[Version] = []
        for (teacher, run_id), members in ordered:
            number = 1 + sum(v.teacher_id == teacher for v in versions)
            members.sort(key=lambda pair: _order(pair[0]))
            versions.append(
                Version(
                    task=task,
                    teacher_id=teacher,
                    version=number,
                    run_id=run_id,
                    created_at=members[0][0].created_at,
                    lessons=[stored_as for _, stored_as in members],
                )
            )
        return versions

    def export_lines(self) -> list[ExportLine]:
        """The whole library, lessons first, then duplicate sightings, each oldest first."""
        lines = [ExportLine(id=lesson.id, lesson=lesson) for lesson in self.list()]
        lines += [
            ExportLine(id=lesson.id, duplicate_of=original, lesson=lesson)
            for lesson, original in self.duplicate_sightings()
        ]
        return lines

    def export_jsonl(self, path: str | Path) -> int:
        """Write the library as JSON Lines; returns the number of lines."""
        lines = self.export_lines()
        Path(path).write_text(
            "".join(line.model_dump_json(exclude_defaults=False) + "\n" for line in lines),
            encoding="utf-8",
        )
        return len(lines)

    def import_jsonl(self, path: str | Path) -> list[Publication]:
        """Add the lessons of a JSON Lines export (bad lines raise, naming file, line and field)."""
        return self.import_lines(read_jsonl(path))

    def import_lines(self, lines: Iterable[ExportLine]) -> list[Publication]:
        """Add exported lines: lessons before sightings, so sightings find their earlier lesson."""
        ordered = sorted(
            lines, key=lambda line: (line.duplicate_of is not None, *_order(line.lesson))
        )
        return self.publish(line.lesson for line in ordered)

    def merge(self, other: LessonLibrary) -> list[Publication]:
        """Add every lesson and sighting of `other`; content already here becomes a sighting."""
        return self.import_lines(other.export_lines())

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
            for doc, meta in zip(found["documents"] or [], found["metadatas"] or [], strict=True)
        ]
        return sorted(lessons, key=lambda lesson: (lesson.created_at, lesson.id))

    def search(
        self, query: str, *, task: str | None = None, kind: str | None = None, k: int = 4
    ) -> builtins.list[tuple[Lesson, float]]:
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
            for doc, meta, dist in zip(documents, metadatas, distances, strict=True)
        ]

    def runs(self, task: str | None = None) -> builtins.list[str]:
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


def read_jsonl(path: str | Path) -> list[ExportLine]:
    """Parse a library export, checking every line."""
    lines: list[ExportLine] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = ExportLine.model_validate_json(text)
            except ValidationError as exc:
                error = exc.errors()[0]
                field = ".".join(str(part) for part in error["loc"]) or "(line)"
                raise LibraryFormatError(f"{path}:{number}: {field}: {error['msg']}") from exc
            if line.id != line.lesson.id:
                raise LibraryFormatError(
                    f"{path}:{number}: id: {line.id!r} does not match the lesson's content "
                    f"(expected {line.lesson.id!r})"
                )
            lines.append(line)
    return lines
