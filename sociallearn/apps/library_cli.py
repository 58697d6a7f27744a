"""`sociallearn lessons ACTION`: list, search and keep the lesson library.

Actions that only read (list, search, runs, versions, export) open an existing library and
fail on a path where there is none, rather than answering from a new, empty one. Errors and
machine-readable lines are printed plainly: never wrapped to the terminal's width.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sociallearn.core.schema import Lesson

if TYPE_CHECKING:  # Chroma loads when a command opens a library, not for --help
    from sociallearn.stores.library import LessonLibrary, Publication

READ_ONLY = {"list", "search", "runs", "versions", "export"}

console = Console()


def add_lessons_parser(sub: Any, *, library: str, collection: str) -> None:
    """Register `lessons` and its actions; `library` and `collection` are the defaults."""
    lessons = sub.add_parser("lessons", help="list, search, export, import and merge lessons")
    actions = lessons.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", default=library, help="folder, or http://host:port")
    common.add_argument("--collection", default=collection)

    def action(name: str, summary: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[common], help=summary)
        parser.set_defaults(func=run_lessons)
        return parser

    listing = action("list", "the lessons, oldest first")
    listing.add_argument("--task", default=None)
    listing.add_argument("--run", default=None)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    search = action("search", "the lessons closest in meaning to the words")
    search.add_argument("query", nargs="+")
    search.add_argument("--task", default=None)
    search.add_argument("-k", type=int, default=4)
    action("runs", "run ids, oldest first").add_argument("--task", default=None)
    action("versions", "each teacher's runs on a task").add_argument("--task", required=True)
    export = action("export", "write the library to a JSON Lines file")
    export.add_argument("path")
    export.add_argument("--force", action="store_true", help="replace an existing file")
    action("import", "add the lessons of a JSON Lines export").add_argument("path")
    action("merge", "add the lessons of another library").add_argument("other")


def run_lessons(args: argparse.Namespace) -> int:
    """Run one `lessons` action; 0 on success, 2 after printing what went wrong."""
    from sociallearn.stores.library import LessonLibrary

    try:
        library = LessonLibrary.open(
            args.library, args.collection, create=args.action not in READ_ONLY
        )
        ACTIONS[args.action](library, args)
    except FileExistsError as exc:
        return fail(f"{exc}; pass --force to replace it")
    except (OSError, ValueError, RuntimeError) as exc:
        return fail(str(exc))
    return 0


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def lessons_table(lessons: Sequence[Lesson]) -> Table:
    """Lessons with their filter verdicts, for people to read (their texts as written: a model's
    "[/INST]" is no markup)."""
    table = Table("id", "kind", "teacher", "verdict", "text", show_lines=True)
    for lesson in lessons:
        verdict = "passed" if lesson.verdict.passed else "; ".join(lesson.verdict.reasons)
        if lesson.verdict.redactions:
            verdict += " (redacted " + ", ".join(lesson.verdict.redactions) + ")"
        table.add_row(
            lesson.id, lesson.kind, Text(lesson.teacher_id), Text(verdict), Text(lesson.text[:300])
        )
    return table


def list_lessons(library: LessonLibrary, args: argparse.Namespace) -> None:
    lessons = library.list(task=args.task, run_id=args.run)
    if not args.json:
        console.print(lessons_table(lessons))
        return
    for lesson in lessons:
        print(json.dumps({"id": lesson.id, **lesson.model_dump(mode="json")}))


def search_lessons(library: LessonLibrary, args: argparse.Namespace) -> None:
    for lesson, distance in library.search(" ".join(args.query), task=args.task, k=args.k):
        print(f"{distance:.3f} {lesson.id} {lesson.text[:200]!r}")


def list_runs(library: LessonLibrary, args: argparse.Namespace) -> None:
    for run in library.runs(args.task):
        print(run)


def list_versions(library: LessonLibrary, args: argparse.Namespace) -> None:
    table = Table("teacher", "version", "run", "created", "lessons")
    for version in library.versions(args.task):
        table.add_row(
            version.teacher_id,
            str(version.version),
            version.run_id,
            version.created_at.isoformat(timespec="seconds"),
            str(len(version.lessons)),
        )
    console.print(table)


def export_lessons(library: LessonLibrary, args: argparse.Namespace) -> None:
    count = library.export_jsonl(args.path, overwrite=args.force)
    print(f"exported {count} lines to {args.path}")


def import_lessons(library: LessonLibrary, args: argparse.Namespace) -> None:
    report(library.import_jsonl(args.path))


def merge_libraries(library: LessonLibrary, args: argparse.Namespace) -> None:
    report(library.merge(type(library).open(args.other, args.collection, create=False)))


def report(results: list[Publication]) -> None:
    counts = Counter(result.status for result in results)
    print(
        f"{counts['new']} new, {counts['duplicate']} duplicates recorded, "
        f"{counts['present']} already present"
    )


ACTIONS: dict[str, Callable[[LessonLibrary, argparse.Namespace], None]] = {
    "list": list_lessons,
    "search": search_lessons,
    "runs": list_runs,
    "versions": list_versions,
    "export": export_lessons,
    "import": import_lessons,
    "merge": merge_libraries,
}
