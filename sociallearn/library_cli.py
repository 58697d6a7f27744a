"""`sociallearn lessons versions|export|import|merge`: libraries kept across runs and machines."""

from __future__ import annotations

import argparse
from collections import Counter

from rich.console import Console
from rich.table import Table

from sociallearn.stores.library import LessonLibrary, Publication


def library_action(library: LessonLibrary, args: argparse.Namespace, out: Console) -> None:
    """Run one of the library-keeping actions named by `args.action`."""
    if args.action == "versions":
        if not args.task:
            raise ValueError("lessons versions needs --task")
        table = Table("teacher", "version", "run", "created", "lessons")
        for version in library.versions(args.task):
            table.add_row(
                version.teacher_id,
                str(version.version),
                version.run_id,
                version.created_at.isoformat(timespec="seconds"),
                str(len(version.lessons)),
            )
        out.print(table)
        return
    if len(args.query) != 1:
        raise ValueError(f"lessons {args.action} takes one path, got {len(args.query)}")
    target = args.query[0]
    if args.action == "export":
        out.print(f"exported {library.export_jsonl(target)} lines to {target}")
    elif args.action == "import":
        report(library.import_jsonl(target), out)
    elif args.action == "merge":
        report(library.merge(LessonLibrary.open(target, args.collection)), out)


def report(results: list[Publication], out: Console) -> None:
    counts = Counter(result.status for result in results)
    out.print(
        f"{counts['new']} new, {counts['duplicate']} duplicates recorded, "
        f"{counts['present']} already present"
    )
