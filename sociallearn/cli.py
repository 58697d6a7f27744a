"""Command line: teach, ask, lessons, graph, demo, doctor."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sociallearn.graphs.context import Context
from sociallearn.privacy.filter import FilterSettings

console = Console(stderr=True)
out = Console()


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Flags for every Context field a user may want to set."""
    defaults = Context()
    parser.add_argument("--task", default=defaults.task)
    parser.add_argument(
        "--data", dest="data_path", default=None, help="dataset file (upstream format)"
    )
    parser.add_argument(
        "--method", choices=["instructions", "synthetic_examples"], default=defaults.method
    )
    parser.add_argument("--teachers", type=int, default=defaults.teachers, help="m")
    parser.add_argument("--shots", type=int, default=defaults.shots, help="n")
    parser.add_argument("--temperature", type=float, default=defaults.temperature, help="τ")
    parser.add_argument("--samples", type=int, default=defaults.samples, help="k")
    parser.add_argument("--keep", type=int, default=defaults.keep)
    parser.add_argument("--lessons", type=int, default=defaults.lessons)
    parser.add_argument(
        "--retrieve",
        type=int,
        default=defaults.retrieve,
        metavar="K",
        help="the student retrieves the K nearest lessons per query from the library",
    )
    parser.add_argument("--aggregator", choices=["random", "voting"], default=defaults.aggregator)
    parser.add_argument(
        "--balanced-generation",
        action="store_true",
        help="condition each synthetic example on a label (with voting: labels kept equal)",
    )
    parser.add_argument(
        "--teacher-check", action="store_true", help="share only examples that help held-back data"
    )
    parser.add_argument(
        "--teacher-model", default=defaults.teacher_model, help="smollm2, gemma3 or a GGUF path"
    )
    parser.add_argument(
        "--student-model", default=defaults.student_model, help="smollm2, gemma3 or a GGUF path"
    )
    parser.add_argument("--n-gpu-layers", type=int, default=None)
    parser.add_argument("--library", default=defaults.library, help="folder, or http://host:port")
    parser.add_argument("--collection", default=defaults.collection)
    parser.add_argument("--test-size", type=int, default=defaults.test_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--max-retries", type=int, default=defaults.max_retries)
    parser.add_argument("--pii", choices=["redact", "reject"], default=defaults.privacy.pii)
    parser.add_argument(
        "--near-copy-distance", type=float, default=defaults.privacy.near_copy_distance
    )


def context_from_args(args: argparse.Namespace) -> Context:
    names = {f.name for f in fields(Context)}
    values = {key: value for key, value in vars(args).items() if key in names}
    privacy = FilterSettings(pii=args.pii, near_copy_distance=args.near_copy_distance)
    return Context(**values, privacy=privacy)


def cmd_teach(args: argparse.Namespace) -> int:
    from sociallearn.lifecycle import ask_in_terminal, teach_until_done

    context = context_from_args(args)

    def show(node: str, update: dict[str, Any]) -> None:
        details = ", ".join(
            f"{key}={len(value) if isinstance(value, list) else value}"
            for key, value in update.items()
        )
        console.print(f"[dim]✓ {node}[/dim] {escape(details)}")

    state = teach_until_done(
        context,
        decide=ask_in_terminal(console),
        run_id=args.run_id,
        checkpoint=args.checkpoint,
        thread_id=args.thread_id,
        on_update=show,
    )
    if args.checkpoint:
        console.print(f"thread {state['thread_id']} in {args.checkpoint}")
    print_lessons(state.get("lessons", []))
    for drop in state.get("dropped", []):
        console.print(
            f"[yellow]dropped {drop.teacher_id}[/yellow] after {drop.attempts} drafts: {drop.reasons}"
        )
    console.print(
        f"run {state['run_id']}: {len(state.get('published', []))} lessons in {context.library}"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from sociallearn.engine import get_engine
    from sociallearn.nodes.student import Student, prompt_from_lessons
    from sociallearn.retrieval import retrieval_preamble
    from sociallearn.stores.library import LessonLibrary
    from sociallearn.tasks import get_task
    from sociallearn.teaching import latest_lessons

    task = get_task(args.task)
    library = LessonLibrary.open(args.library, args.collection)
    lessons = latest_lessons(library, task.name, args.run)
    if not lessons:
        console.print("[yellow]no lessons in the library for this task: answering 0-shot[/yellow]")
    student = Student(get_engine(args.student_model), task)
    preamble = prompt_from_lessons(task, lessons)
    for text in args.text:
        if args.retrieve:
            preamble = retrieval_preamble(library, student, text, args.retrieve)
        answer = student.answer(preamble, text)
        if args.json:
            print(json.dumps(answer.model_dump()))  # one unwrapped line per answer
        else:
            out.print(answer.answer)
    return 0


def print_lessons(lessons: Sequence[Any]) -> None:
    table = Table("id", "kind", "teacher", "verdict", "text", show_lines=True)
    for lesson in lessons:
        verdict = "passed" if lesson.verdict.passed else "; ".join(lesson.verdict.reasons)
        if lesson.verdict.redactions:
            verdict += " (redacted " + ", ".join(lesson.verdict.redactions) + ")"
        table.add_row(lesson.id, lesson.kind, lesson.teacher_id, verdict, lesson.text[:300])
    out.print(table)


def cmd_lessons(args: argparse.Namespace) -> int:
    from sociallearn.stores.library import LessonLibrary

    library = LessonLibrary.open(args.library, args.collection)
    if args.action == "list":
        lessons = library.list(task=args.task, run_id=args.run)
        if args.json:
            for lesson in lessons:
                print(json.dumps({"id": lesson.id, **lesson.model_dump(mode="json")}))
        else:
            print_lessons(lessons)
    elif args.action == "search":
        for lesson, distance in library.search(" ".join(args.query), task=args.task, k=args.k):
            out.print(f"[bold]{distance:.3f}[/bold] {lesson.id} {lesson.text[:200]!r}")
    elif args.action == "runs":
        for run in library.runs(args.task):
            out.print(run)
    else:
        from sociallearn.library_cli import library_action

        library_action(library, args, out)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from sociallearn.graphs.social_learning import graph

    if args.png:
        from sociallearn.diagram import write_png

        console.print(f"wrote {write_png(graph, args.png)}")
        return 0
    if args.dot:
        from sociallearn.diagram import to_dot

        out.print(to_dot(graph).source, markup=False, highlight=False)
        return 0
    drawable = graph.get_graph(xray=True)
    out.print(drawable.draw_mermaid(), markup=False, highlight=False)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sociallearn.demo import run_demo

    run_demo(context_from_args(args), eval_size=args.eval_size, json_path=args.json_out)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from sociallearn.engine import default_gpu_layers, get_engine
    from sociallearn.models import EMBEDDED_MODELS
    from sociallearn.stores.embeddings import embedding_function
    from sociallearn.tasks import default_data_dir

    for name, description in EMBEDDED_MODELS.items():
        engine = get_engine(name)
        console.print(f"model {name}: {engine.path} ({description})")
    embedding_function()(["offline embedding check"])
    console.print("embeddings: all-MiniLM-L6-v2 (offline ONNX) ok")
    console.print(f"GPU layers by default: {default_gpu_layers()}")
    data = default_data_dir()
    state = "found" if data.is_dir() else "missing (set SOCIALLEARN_DATA_DIR or pass --data)"
    console.print(f"datasets: {data} {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sociallearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    teach = sub.add_parser("teach", help="run the social-learning graph and publish lessons")
    add_run_options(teach)
    teach.add_argument("--run-id", default=None)
    teach.add_argument(
        "--checkpoint", default=None, help="SQLite file: the run resumes after a crash"
    )
    teach.add_argument("--thread-id", default=None, help="the run to resume (default: the run id)")
    teach.add_argument(
        "--approve", action="store_true", help="show the lessons and ask before publishing"
    )
    teach.set_defaults(func=cmd_teach)

    ask = sub.add_parser("ask", help="ask the student, using the library's lessons")
    ask.add_argument("text", nargs="+")
    ask.add_argument("--task", default="sms_spam")
    ask.add_argument("--library", default=Context().library)
    ask.add_argument("--collection", default=Context().collection)
    ask.add_argument("--run", default=None, help="use this run's lessons (default: latest)")
    ask.add_argument("--student-model", default="smollm2")
    ask.add_argument("--json", action="store_true")
    ask.add_argument(
        "--retrieve", type=int, default=0, metavar="K", help="K nearest lessons per query"
    )
    ask.set_defaults(func=cmd_ask)

    lessons = sub.add_parser("lessons", help="list or search the lesson library")
    lessons.add_argument(
        "action", choices=["list", "search", "runs", "versions", "export", "import", "merge"]
    )
    lessons.add_argument(
        "query", nargs="*", help="search: words; export/import: a .jsonl file; merge: a library"
    )
    lessons.add_argument("--task", default=None)
    lessons.add_argument("--run", default=None)
    lessons.add_argument("-k", type=int, default=4)
    lessons.add_argument("--library", default=Context().library)
    lessons.add_argument("--json", action="store_true", help="list: one JSON object per line")
    lessons.add_argument("--collection", default=Context().collection)
    lessons.set_defaults(func=cmd_lessons)

    graph = sub.add_parser("graph", help="the agent flow: Mermaid text, DOT, or a PNG")
    graph.add_argument("--png", type=Path, default=None, help="render a PNG offline (Graphviz)")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    graph.set_defaults(func=cmd_graph)

    demo = sub.add_parser("demo", help="teach with both methods and compare the student's accuracy")
    add_run_options(demo)
    demo.add_argument("--eval-size", type=int, default=200)
    demo.add_argument("--json-out", type=Path, default=None)
    demo.set_defaults(func=cmd_demo)

    from sociallearn.experiments.cli import add_experiment_parser

    add_experiment_parser(sub)

    doctor = sub.add_parser("doctor", help="check models, embeddings and datasets")
    doctor.set_defaults(func=cmd_doctor)

    from sociallearn.privacy.cli import add_privacy_parser

    add_privacy_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
