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

Nothing is lost and nothing fails silently:

- Opening checks a local library's database (`PRAGMA integrity_check`; an empty file is refused)
  and, with `create=False`, that a library is there at all. Creating a library and every
  publication hold an inter-process lock on the folder, so concurrent writers neither race
  Chroma's table creation nor store the same content twice.
- `check_writable()` tells before a long run whether publishing would fail, and `spill()` keeps
  lessons that could not be published in a file `import` accepts.
- Imports and merges admit only lessons that pass the checks of `stores.admission`, all or
  nothing; exports never overwrite a file unasked, never write into the library's own folder,
  and appear whole or not at all.

Nothing else of the process goes into a local library's files either. Chroma's HNSW index
writes buffers it allocated without clearing them, at their full capacity (chroma-core/chroma
#7688), so a library folder could hold leftovers of the process's memory: private examples,
prompts. Before the first local library opens, glibc is told to fill every new allocation
with zeros and every freed block with 0xff (`mallopt(M_PERTURB)`); elsewhere this is not
available, and a library that must hold nothing else is best written by a process (or a Chroma
server) that never held private data.
"""

from __future__ import annotations

import builtins
import ctypes
import functools
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError

from sociallearn.core.schema import Lesson
from sociallearn.stores.admission import refusal
from sociallearn.stores.embeddings import embedding_function

DEFAULT_COLLECTION = "lessons"
DUPLICATES_SUFFIX = "-duplicates"
DATABASE_FILE = "chroma.sqlite3"  # what Chroma keeps in a library folder
LOCK_FILE = ".sociallearn.lock"
LOCK_TIMEOUT_S = 300.0
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
    """An import file is malformed or holds a lesson that may not be stored; the message names
    the file, line and field or reason."""


class LibraryError(RuntimeError):
    """A library cannot be opened, read or written; the message names the path and the reason."""


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
    """The stored lesson; `ValueError` if its record is unreadable or does not match its text."""
    try:
        lesson = Lesson.model_validate({**json.loads(metadata["record"]), "text": document})
    except (KeyError, TypeError, ValueError) as exc:  # json's and pydantic's errors included
        raise ValueError(f"unreadable record: {exc}") from exc
    if lesson.content_hash != metadata.get("content_hash"):
        raise ValueError("its text does not match its content hash")
    return lesson


def _order(lesson: Lesson) -> tuple[datetime, str]:
    return (lesson.created_at, lesson.id)


class LessonLibrary:
    """A searchable, persistent collection of lessons."""

    def __init__(
        self,
        client: ClientAPI,
        collection: str = DEFAULT_COLLECTION,
        *,
        folder: Path | None = None,
        location: str = "the Chroma client's library",
        create: bool = True,
    ) -> None:
        clear_new_memory()  # before Chroma allocates this library's index buffers
        self.client = client
        self.folder = folder  # None for a library on a Chroma server
        self.location = str(folder) if folder is not None else location
        embed = embedding_function()
        names = (collection, collection + DUPLICATES_SUFFIX)
        try:
            if create:
                self.collection: Collection = client.get_or_create_collection(
                    names[0], embedding_function=embed, metadata={"hnsw:space": "cosine"}
                )
                self.duplicates: Collection = client.get_or_create_collection(
                    names[1], embedding_function=embed
                )
            else:
                self.collection = client.get_collection(names[0], embedding_function=embed)
                self.duplicates = client.get_collection(names[1], embedding_function=embed)
        except Exception as exc:  # Chroma's errors for bad or missing names have no common type
            raise LibraryError(
                f"{self.location}: cannot open collection {collection!r}: {exc}"
            ) from exc

    @classmethod
    def open(
        cls, location: str | Path, collection: str = DEFAULT_COLLECTION, *, create: bool = True
    ) -> LessonLibrary:
        """A library in a local folder, or on a Chroma server given as http://host:port.

        With `create=False` (read-only use) the library must exist already, so a mistyped path
        fails instead of answering from a new, empty library. A local library's database is
        checked on opening; a damaged one raises `LibraryError` naming the file.
        """
        text = str(location)
        if text.startswith(("http://", "https://")):
            host_port = text.split("://", 1)[1].rstrip("/")
            host, _, port = host_port.partition(":")
            client = chromadb.HttpClient(
                host=host, port=int(port or 8000), ssl=text.startswith("https")
            )
            return cls(client, collection, location=text, create=create)
        folder = Path(text).expanduser()
        if not create:
            _check_database(folder, must_exist=True)
            return cls(_persistent_client(folder), collection, folder=folder, create=False)
        _check_folder(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(
                f"{folder}: cannot create the library folder: {_reason(exc)}"
            ) from exc
        with _locked(folder):
            _check_database(folder, must_exist=False)
            return cls(_persistent_client(folder), collection, folder=folder)

    def check_writable(self) -> None:
        """Raise `LibraryError`, naming the path and the reason, if publishing here would fail.

        Meant for the start of a long run. A local library's folders must take new files and its
        database a write transaction; a server library was reached when it was opened.
        """
        if self.folder is None:
            return
        folders = [self.folder, *(path for path in self.folder.rglob("*") if path.is_dir())]
        for folder in folders:
            try:
                tempfile.TemporaryFile(dir=folder).close()
            except OSError as exc:
                raise LibraryError(f"{folder}: cannot write there: {_reason(exc)}") from exc
        database = self.folder / DATABASE_FILE
        try:
            with closing(sqlite3.connect(_uri(database, "rw"), uri=True, timeout=60)) as db:
                db.execute("BEGIN IMMEDIATE")
                db.rollback()
        except sqlite3.Error as exc:
            raise LibraryError(f"{database}: cannot write the library's database: {exc}") from exc

    @staticmethod
    def spill(lessons: Iterable[Lesson], folder: str | Path) -> Path:
        """Keep lessons that could not be published: a new JSONL file in `folder`, its path
        returned, that `lessons import` (`import_jsonl`) takes once the library is mended."""
        directory = Path(folder).expanduser()
        directory.mkdir(parents=True, exist_ok=True)
        text = _jsonl(ExportLine(id=lesson.id, lesson=lesson) for lesson in lessons)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        attempt = 0
        while True:
            suffix = f"-{attempt}" if attempt else ""
            target = directory / f"unpublished-lessons-{stamp}{suffix}.jsonl"
            try:
                _write_atomically(target, text, overwrite=False)
                return target
            except FileExistsError:
                attempt += 1

    def add(self, lessons: Iterable[Lesson]) -> list[str]:
        """Store lessons; returns the ids newly written (present ids and duplicates are not)."""
        return [p.id for p in self.publish(lessons) if p.status == "new"]

    def publish(self, lessons: Iterable[Lesson]) -> list[Publication]:
        """Store new lessons, record duplicates, skip ids already present; one result per lesson.

        A local library holds its lock meanwhile, so the duplicate check and the write are one
        step for every process publishing into the same folder.
        """
        batch = list({lesson.id: lesson for lesson in lessons}.values())
        if not batch:
            return []
        with _locked(self.folder) if self.folder is not None else nullcontext():
            return self._publish(batch)

    def _publish(self, batch: list[Lesson]) -> list[Publication]:
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

    def _read(self, document: str | None, metadata: Any) -> Lesson:
        """A stored lesson, checked: a damaged one raises `LibraryError` naming the library."""
        meta = dict(metadata or {})
        try:
            return _lesson(document or "", meta)
        except ValueError as exc:
            stored = f"{meta.get('run_id')}:{meta.get('teacher_id')}:{meta.get('content_hash')}"
            raise LibraryError(
                f"{self.location}: stored lesson {stored} is damaged ({exc}); "
                "restore the library from a backup or an export"
            ) from exc

    def _by_id(self, ids: list[str]) -> dict[str, Lesson]:
        if not ids:
            return {}
        unique = list(dict.fromkeys(ids))  # Chroma refuses repeated ids
        found = self.collection.get(ids=unique, include=["documents", "metadatas"])
        return {
            key: self._read(doc, meta)
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
            (self._read(originals[str(meta["duplicate_of"])].text, meta), str(meta["duplicate_of"]))
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

    def export_jsonl(self, path: str | Path, *, overwrite: bool = False) -> int:
        """Write the library as JSON Lines; returns the number of lines.

        The file appears whole or not at all. An existing file is replaced only with
        `overwrite=True` (else `FileExistsError`), and never inside the library's own folder.
        """
        target = Path(path).expanduser()
        if self.folder is not None and target.resolve().is_relative_to(self.folder.resolve()):
            raise LibraryError(f"{target}: inside the library's own folder {self.folder}")
        lines = self.export_lines()
        _write_atomically(target, _jsonl(lines), overwrite=overwrite)
        return len(lines)

    def import_jsonl(self, path: str | Path) -> list[Publication]:
        """Add the lessons of a JSON Lines export, all or none: a malformed line or a lesson
        that may not be stored raises `LibraryFormatError` naming file, line and reason."""
        return self.import_lines(read_jsonl(path))

    def import_lines(self, lines: Iterable[ExportLine]) -> list[Publication]:
        """Add exported lines: lessons before sightings, so sightings find their earlier lesson."""
        ordered = sorted(
            lines, key=lambda line: (line.duplicate_of is not None, *_order(line.lesson))
        )
        return self.publish(line.lesson for line in ordered)

    def merge(self, other: LessonLibrary) -> list[Publication]:
        """Add every lesson and sighting of `other`; content already here becomes a sighting.
        A lesson of `other` that may not be stored stops the merge before anything is added."""
        lines = other.export_lines()
        for line in lines:
            if reason := refusal(line.lesson):
                raise LibraryFormatError(f"{other.location}: lesson {line.id}: {reason}")
        return self.import_lines(lines)

    def list(
        self, *, task: str | None = None, run_id: str | None = None, kind: str | None = None
    ) -> list[Lesson]:
        """All lessons matching the filters, oldest first."""
        found = self.collection.get(
            where=self._where(task=task, run_id=run_id, kind=kind),
            include=["documents", "metadatas"],
        )
        lessons = [
            self._read(doc, meta)
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
            (self._read(doc, meta), float(dist))
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
    """Parse a library export, checking every line's form and that its lesson may be stored."""
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
            if reason := refusal(line.lesson):
                raise LibraryFormatError(f"{path}:{number}: refused: {reason}")
            lines.append(line)
    return lines


def _jsonl(lines: Iterable[ExportLine]) -> str:
    return "".join(line.model_dump_json() + "\n" for line in lines)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _uri(database: Path, mode: Literal["ro", "rw"]) -> str:
    return f"{database.resolve().as_uri()}?mode={mode}"


def _check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise LibraryError(f"{folder}: not a folder, so not a library")


def _check_database(folder: Path, *, must_exist: bool) -> None:
    """Refuse a folder that is a file, a missing library (if `must_exist`) or a damaged one."""
    _check_folder(folder)
    database = folder / DATABASE_FILE
    if not database.exists():
        if must_exist:
            raise LibraryError(f"no library at {folder} (no {DATABASE_FILE} there)")
        return
    if database.stat().st_size == 0:
        raise LibraryError(
            f"{database}: the library's database is empty (0 bytes), so truncated or replaced; "
            "restore it from a backup or an export"
        )
    try:
        with closing(sqlite3.connect(_uri(database, "ro"), uri=True, timeout=60)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.Error as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        summary = "; ".join(" ".join(problem.split()) for problem in problems[:3])
        raise LibraryError(
            f"{database}: the library's database is damaged ({summary}); "
            "restore it from a backup or an export"
        )


M_PERTURB = -6  # glibc's mallopt option: fill new allocations and freed blocks


@functools.cache
def clear_new_memory() -> bool:
    """Have glibc hand out zeroed memory and wipe freed blocks (0xff) from now on, so buffers
    that Chroma writes before filling carry no leftovers; whether it could (glibc only)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_PERTURB, 0xFF))  # new memory is filled with 0xff ^ 0xff = 0


def _persistent_client(folder: Path) -> ClientAPI:
    clear_new_memory()
    try:
        return chromadb.PersistentClient(path=str(folder))
    except Exception as exc:  # Chroma raises its own types, or plain ones, for an unusable folder
        raise LibraryError(f"{folder}: cannot open the library: {exc}") from exc


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the library's inter-process lock (a file in its folder)."""
    lock = FileLock(folder / LOCK_FILE, timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LibraryError(
            f"{folder}: another process held the library's lock for {LOCK_TIMEOUT_S:.0f} s"
        ) from exc
    except OSError as exc:
        raise LibraryError(f"{folder}: cannot write there: {_reason(exc)}") from exc
    try:
        yield
    finally:
        lock.release()


def _write_atomically(target: Path, text: str, *, overwrite: bool) -> None:
    """Write `text` to `target` through a temporary file, so readers see the whole file or none.
    Without `overwrite` an existing target is left as it is and `FileExistsError` raised."""
    if target.is_dir():
        raise LibraryError(f"{target}: is a folder")
    if not target.parent.is_dir():
        raise LibraryError(f"{target.parent}: no such folder")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o644)  # mkstemp's 0o600 would hide the file from others
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)  # fails, rather than replaces, if target appeared
            except FileExistsError:
                raise FileExistsError(f"{target} already exists: not overwritten") from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
