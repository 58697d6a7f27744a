"""Command line: teach, ask, lessons, graph, demo, doctor, serve-teacher, silos, deploy,
review-lessons."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from sociallearn.apps.flags import add_flags, add_preset_flag, values_from
from sociallearn.apps.presets import default_preset, load_presets, with_preset
from sociallearn.teaching.registries import check_registered
from sociallearn.teaching.settings import Settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def choose_preset(args: argparse.Namespace, purpose: Literal["teach", "demo"]) -> None:
    """Without `--preset`, run the command's default preset (`default_preset`) and say why."""
    if args.preset is None:
        preset, why = default_preset(purpose, task=getattr(args, "task", None) or Settings().task)
        args.preset = preset.name
        console.print(f"preset {preset.name}: {why} (--preset none: no preset)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The run settings given on the command line, over its `--preset` (the rest: defaults)."""
    values = with_preset(
        values_from(args, Settings), getattr(args, "preset", None), Settings.model_fields
    )
    settings = Settings.model_validate(values)
    check_registered(settings)
    return settings


def cmd_teach(args: argparse.Namespace) -> int:
    from sociallearn.apps.library_cli import lessons_table
    from sociallearn.apps.lifecycle import ask_in_terminal, teach_until_done

    choose_preset(args, "teach")
    settings = settings_from_args(args)

    def show(node: str, update: dict[str, Any]) -> None:
        details = ", ".join(
            f"{key}={len(value) if isinstance(value, list) else value}"
            for key, value in update.items()
        )
        console.print(f"[dim]✓ {node}[/dim] {escape(details)}")

    signal.signal(signal.SIGINT, _stop_at_once(args.checkpoint))
    state = teach_until_done(
        settings,
        decide=ask_in_terminal(console),
        run_id=args.run_id,
        checkpoint=args.checkpoint,
        thread_id=args.thread_id,
        on_update=show,
    )
    if state.get("finished_before"):
        console.print(
            f"thread {state['thread_id']} had already finished: its lessons are shown, nothing "
            "was taught again (use another --thread-id or seed for a new run)"
        )
    if args.checkpoint:
        console.print(f"thread {state['thread_id']} in {args.checkpoint}")
    out.print(lessons_table(state.get("lessons", [])))
    for drop in state.get("dropped", []):
        console.print(
            f"[yellow]dropped {escape(drop.teacher_id)}[/yellow] after {drop.attempts} drafts: "
            f"{escape(str(drop.reasons))}"
        )
    console.print(
        f"run {state['run_id']}: {len(state.get('published', []))} lessons in {settings.library}"
    )
    if not state.get("published") and not settings.approve:
        print("error: no lesson was published (see the dropped teachers above)", file=sys.stderr)
        return 1
    return 0


def _stop_at_once(checkpoint: str | None) -> Callable[[int, Any], None]:
    """A Ctrl-C handler: stop now, like a kill, so a checkpointed run resumes where it was."""

    def stop(signum: int, frame: Any) -> None:
        where = (
            f"rerun the same command to resume from {checkpoint}"
            if checkpoint
            else "nothing was published; pass --checkpoint FILE to make runs resumable"
        )
        print(f"\ninterrupted: {where}", file=sys.stderr, flush=True)
        os._exit(130)

    return stop


def cmd_ask(args: argparse.Namespace) -> int:
    from sociallearn.apps.run import latest_lessons
    from sociallearn.engine import ModelPool
    from sociallearn.stores.library import LessonLibrary
    from sociallearn.tasks import get_task
    from sociallearn.teaching.retrieval import retrieval_preamble
    from sociallearn.teaching.student import Student, prompt_from_lessons

    settings = settings_from_args(args)
    task = get_task(settings.task)
    library = LessonLibrary.open(settings.library, settings.collection, create=False)
    lessons = latest_lessons(library, task.name, args.run)
    if not lessons:
        console.print("[yellow]no lessons in the library for this task: answering 0-shot[/yellow]")
    pool = ModelPool(n_gpu_layers=settings.n_gpu_layers, served=settings.served_options())
    model = pool.get(settings.student_model)
    student = Student.for_settings(model, task, settings)
    student.adapt_to(args.text)
    preamble = prompt_from_lessons(task, lessons)
    for text in args.text:
        if settings.retrieve:
            preamble = retrieval_preamble(library, student, text, settings.retrieve)
        answer = student.answer(preamble, text)
        if args.json:
            print(json.dumps(answer.model_dump()))  # one unwrapped line per answer
        else:
            out.print(answer.answer)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from sociallearn.graphs.social_learning import graph

    if args.png:
        from sociallearn.apps.diagram import write_png

        console.print(f"wrote {write_png(graph, args.png)}")
        return 0
    if args.dot:
        from sociallearn.apps.diagram import to_dot

        out.print(to_dot(graph).source, markup=False, highlight=False)
        return 0
    drawable = graph.get_graph(xray=True)
    out.print(drawable.draw_mermaid(), markup=False, highlight=False)
    return 0


TEST_PARTS = {
    "locked": "on the locked test part",
    "tuning": "on the tuning part",
    "all": "on test messages drawn before the locked split",
}


def cmd_presets(args: argparse.Namespace) -> int:
    out.print("Presets: `--preset NAME` on teach, demo, experiment and serve-teacher; flags given "
              "beside it override it.")  # fmt: skip
    tasks: set[str] = set()
    for preset in load_presets().values():
        missing = preset.missing_models()
        note = f" [red](needs {', '.join(missing)}: not installed)[/red]" if missing else ""
        out.print(f"\n[bold]{preset.name}[/bold]{note}: {escape(preset.description)}")
        measurement = preset.measurement()
        if measurement is None or preset.measured is None:
            out.print("  measured: no committed result here")
        else:
            tasks.add(measurement.task)
            runs = ", ".join(f"{100 * a:.0f}" for a in measurement.accuracies)
            worst = measurement.worst_margin
            margin = (
                "" if worst is None else f", worst run {100 * worst:+.0f} points over its 0-shot"
            )
            out.print(
                f"  measured: {100 * measurement.mean:.1f}% [{100 * measurement.low:.1f}, "
                f"{100 * measurement.high:.1f}] over {len(measurement.accuracies)} runs ({runs}) "
                f"{TEST_PARTS.get(measurement.test_part, measurement.test_part)}{margin}, "
                f"{measurement.minutes_per_run:.1f} min per run on 2 cores; by "
                f"{escape(preset.measured.command)}"
            )
        out.print("  settings: " + " ".join(f"{k}={v}" for k, v in preset.settings.items()))
    for command in ("teach", "demo"):
        chosen, why = default_preset(command, task=Settings().task)
        out.print(f"\nWithout --preset, {command} runs [bold]{chosen.name}[/bold]: {escape(why)}.")
    out.print(f"\nOn a task other than {', '.join(sorted(tasks))}, where no preset was measured, teach "
              "runs the demo's.")  # fmt: skip
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sociallearn.apps.demo import run_demo

    choose_preset(args, "demo")
    settings = settings_from_args(args)
    sized = {} if args.eval_size is None else {"eval_size": args.eval_size}
    run_demo(settings, runs=args.runs, json_path=args.json_out, **sized)
    return 0


DECODE_CHECK = (
    "import sys; from sociallearn.engine import LlamaEngine; engine = LlamaEngine(sys.argv[1]); "
    "engine.complete('The sky is', max_tokens=2); print(engine.path)"
)
DECODE_CRASHED = 3  # doctor's exit status when llama.cpp crashes decoding (setup.sh rebuilds it)


def decode_check(model: str) -> tuple[int, str]:
    """Load `model` and decode with it in a child process (a llama.cpp build that does not run
    on this CPU crashes the process that decodes): its exit status (< 0: killed by that
    signal), and the model's path or the error."""
    child = subprocess.run(
        [sys.executable, "-c", DECODE_CHECK, model], capture_output=True, text=True, check=False
    )
    if child.returncode == 0:
        return 0, child.stdout.strip().splitlines()[-1]
    if child.returncode < 0:
        return child.returncode, f"crashed decoding ({signal.Signals(-child.returncode).name})"
    return child.returncode, (child.stderr.strip().splitlines() or ["failed"])[-1]


def cmd_doctor(args: argparse.Namespace) -> int:
    from sociallearn.core.models import EMBEDDED_MODELS
    from sociallearn.engine import default_gpu_layers
    from sociallearn.stores.embeddings import embedding_function
    from sociallearn.tasks import default_data_dir

    for name, description in EMBEDDED_MODELS.items():
        status, detail = decode_check(name)
        if status == 0:
            console.print(f"model {name}: {detail} ({description}) decodes")
            continue
        console.print(f"[red]model {name}: {escape(detail)}[/red]")
        if status > 0:
            return 1
        console.print(
            "llama-cpp-python was built for CPU features this machine does not run: "
            "bash scripts/setup.sh rebuilds it from source, without pip's cached wheel"
        )
        return DECODE_CRASHED
    embedding_function()(["offline embedding check"])
    console.print("embeddings: all-MiniLM-L6-v2 (offline ONNX) ok")
    console.print(f"GPU layers by default: {default_gpu_layers()}")
    data = default_data_dir()
    state = "found" if data.is_dir() else "missing (set SOCIALLEARN_DATA_DIR or pass --data-path)"
    console.print(f"datasets: {data} {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sociallearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    teach = sub.add_parser("teach", help="run the social-learning graph and publish lessons")
    add_preset_flag(teach, "the most accurate installed preset")
    add_flags(teach, Settings, exclude={"final"})
    teach.add_argument("--run-id", default=None, help="default: a key of the settings")
    teach.add_argument(
        "--checkpoint", default=None, help="SQLite file: the run resumes after a crash"
    )
    teach.add_argument("--thread-id", default=None, help="the run to resume (default: the run id)")
    teach.set_defaults(func=cmd_teach)

    ask = sub.add_parser("ask", help="ask the student, using the library's lessons")
    ask.add_argument("text", nargs="+")
    add_flags(
        ask, Settings, only={"task", "library", "collection", "student_model", "retrieve",
                             "n_gpu_layers", "calibration"}
    )  # fmt: skip
    ask.add_argument("--run", default=None, help="use this run's lessons (default: latest)")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.set_defaults(func=cmd_ask)

    from sociallearn.apps.library_cli import add_lessons_parser

    defaults = Settings()
    add_lessons_parser(sub, library=defaults.library, collection=defaults.collection)

    graph = sub.add_parser("graph", help="the agent flow: Mermaid text, DOT, or a PNG")
    graph.add_argument("--png", type=Path, default=None, help="render a PNG offline (Graphviz)")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    graph.set_defaults(func=cmd_graph)

    demo = sub.add_parser(
        "demo", help="teach with both methods over several seeds; the student's accuracy"
    )
    add_preset_flag(demo, "the most accurate installed preset with a gap of 15 points")
    add_flags(
        demo,
        Settings,
        exclude={"method", "approve", "retrieve", "canary", "canary_answer", "final"},
    )
    demo.add_argument("--runs", type=int, default=3, help="runs (seeds seed, seed + 1, ...)")
    demo.add_argument(
        "--eval-size",
        type=int,
        default=None,
        help="held-out messages a run (default: 50, with which 3 runs of the paper preset "
        "take about 18 minutes on 2 cores)",
    )
    demo.add_argument("--json-out", type=Path, default=None)
    demo.set_defaults(func=cmd_demo)

    from sociallearn.experiments.cli import add_experiment_parser

    add_experiment_parser(sub)

    presets = sub.add_parser("presets", help="the measured configurations --preset names")
    presets.set_defaults(func=cmd_presets)

    doctor = sub.add_parser("doctor", help="check models, embeddings and datasets")
    doctor.set_defaults(func=cmd_doctor)

    from sociallearn.experiments.privacy_cli import add_privacy_parser

    add_privacy_parser(sub)

    from sociallearn.apps.service_cli import add_service_parsers

    add_service_parsers(sub)

    from sociallearn.apps.deploy import add_deploy_parser

    add_deploy_parser(sub)

    from sociallearn.apps.review_cli import add_review_parser

    add_review_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        for error in exc.errors():
            flag = "-".join(str(part) for part in error["loc"]).replace("_", "-")
            where = f"--{flag}: " if flag else ""  # a check across several settings names none
            print(f"error: {where}{error['msg']}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
