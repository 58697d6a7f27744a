"""Lesson drafting: instructions written from private examples, or synthetic examples.

Drafts go to the teacher's private workspace, not to the graph state: they have not yet
been through the privacy filter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from sociallearn.engine import Engine
from sociallearn.graphs.context import Context
from sociallearn.graphs.state import TeacherState
from sociallearn.nodes import prompts
from sociallearn.nodes.held_out import held_out_scores
from sociallearn.nodes.resources import silo_of, task_of, teacher_engine
from sociallearn.nodes.student import build_prompt
from sociallearn.nodes.teacher import show_examples
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, Task


@dataclass(frozen=True)
class Draft:
    """An unfiltered candidate: instruction text, or a synthetic example with its likelihood."""

    text: str
    example: Example | None = None
    mean_logprob: float | None = None


def draft_lessons(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft this attempt's candidates into the teacher's workspace; report how many."""
    context = runtime.context
    silo = silo_of(context, state["teacher_id"])
    attempt = state.get("attempt", 0)
    seed = context.seed * 1000 + attempt
    if context.method == "instructions":
        notes = silo.notes.get(state["run_id"], "")
        text = write_instruction(context, silo, notes, state.get("feedback", []), seed)
        drafts = [Draft(text)] if text else []
    else:
        drafts = synthesize_examples(context, silo, seed)
    silo.drafts[state["run_id"]] = drafts
    return {"attempt": attempt + 1, "drafted": len(drafts)}


def write_instruction(
    context: Context, silo: TeacherSilo, notes: str, feedback: list[str], seed: int
) -> str:
    task = task_of(context)
    engine = teacher_engine(context)
    shots = silo.shots(context.shots, context.seed)
    examples = show_examples(task, shots)
    retry = prompts.RETRY_FEEDBACK.format(reasons="; ".join(feedback)) if feedback else ""
    prompt = prompts.WRITE_INSTRUCTION.format(
        description=task.description,
        examples=examples,
        notes=notes or "(none)",
        feedback=retry,
    )
    base = prompts.WRITE_INSTRUCTION_BASE.format(description=task.description, examples=examples)
    return engine.instruct(
        prompt,
        base_prompt=base,
        max_tokens=200,
        temperature=context.temperature if feedback else 0.0,
        seed=seed,
    ).strip()


def synthesize_examples(context: Context, silo: TeacherSilo, seed: int) -> list[Draft]:
    """k examples sampled at temperature τ from a few-shot prompt, the `keep` most likely kept.

    With `Context.teacher_check`, only examples that help the teacher's own held-back examples
    (see `helpful_on_held_out`) are kept.
    """
    task = task_of(context)
    engine = teacher_engine(context)
    if context.balanced_generation and task.labels:
        ranked = _balanced_samples(context, engine, task, silo, seed)
    else:
        shots = silo.shots(context.shots, context.seed)
        prompt = few_shot_prompt(task, shots) + f"{task.input_field}:"
        texts = _samples(
            engine,
            prompt,
            context.samples,
            temperature=context.temperature,
            seed=seed,
            stop=(prompts.EXAMPLE_SEPARATOR,),
            max_tokens=task.max_answer_tokens + 96,
        )
        parsed = _unique(task.parse_generated(text) for text in texts)
        scored = [(e, f" {e.input}\n{task.output_field}: {e.output}") for e in parsed]
        ranked = _rank(engine, prompt, scored)
    drafts = [Draft(task.format_example(example), example, score) for example, score in ranked]
    if context.teacher_check:
        drafts = helpful_on_held_out(context, task, silo, drafts)
    return drafts[: context.keep]


def helpful_on_held_out(
    context: Context, task: Task, silo: TeacherSilo, drafts: list[Draft]
) -> list[Draft]:
    """The drafts that, as the student's only example, raise the likelihood of the teacher's
    held-back examples above the 0-shot prompt (order kept). Beyond the paper: it catches
    mislabelled or off-task examples before they are shared."""
    if not drafts:
        return []
    preambles = [build_prompt(task)] + [build_prompt(task, examples=[d.text]) for d in drafts]
    baseline, *scores = held_out_scores(context, task, silo, preambles)
    return [draft for draft, score in zip(drafts, scores, strict=True) if score > baseline]


@functools.lru_cache(maxsize=1024)
def _cached_samples(
    engine: Engine,
    prompt: str,
    n: int,
    temperature: float,
    seed: int,
    stop: tuple[str, ...],
    max_tokens: int,
) -> tuple[str, ...]:
    return tuple(
        engine.sample(
            prompt, n, temperature=temperature, seed=seed, stop=stop, max_tokens=max_tokens
        )
    )


def _samples(
    engine: Engine,
    prompt: str,
    n: int,
    *,
    temperature: float,
    seed: int,
    stop: tuple[str, ...],
    max_tokens: int,
) -> list[str]:
    """Seeded samples, remembered in this process's memory (the teachers' side): runs that
    differ only after drafting (random vs voting aggregation, with or without checks) then
    share the same candidates instead of sampling them again."""
    return list(_cached_samples(engine, prompt, n, temperature, seed, stop, max_tokens))


def few_shot_prompt(task: Task, shots: list[Example]) -> str:
    blocks = prompts.EXAMPLE_SEPARATOR.join(task.format_example(e) for e in shots)
    return (
        prompts.SYNTHETIC_PREAMBLE.format(description=task.description)
        + blocks
        + prompts.EXAMPLE_SEPARATOR
    )


def _balanced_samples(
    context: Context, engine: Engine, task: Task, silo: TeacherSilo, seed: int
) -> list[tuple[Example, float]]:
    """Label-first few-shot prompts: each sample is conditioned on a label, labels alternate."""
    shots = silo.balanced_shots(context.shots, task.labels, context.seed)
    blocks = prompts.EXAMPLE_SEPARATOR.join(
        f"{task.output_field}: {e.answer}\n{task.input_field}: {e.input}" for e in shots
    )
    preamble = prompts.SYNTHETIC_PREAMBLE.format(description=task.description) + blocks
    per_label = max(1, context.samples // len(task.labels))
    ranked_by_label = []
    for index, label in enumerate(task.labels):
        prompt = (
            f"{preamble}{prompts.EXAMPLE_SEPARATOR}"
            f"{task.output_field}: {label}\n{task.input_field}:"
        )
        texts = _samples(
            engine,
            prompt,
            per_label,
            temperature=context.temperature,
            seed=seed * 10 + index,
            stop=("\n",),
            max_tokens=96,
        )
        examples = _unique(
            Example(input=text.strip(), output=label, answer=label) if text.strip() else None
            for text in texts
        )
        ranked_by_label.append(_rank(engine, prompt, [(e, f" {e.input}") for e in examples]))
    return [e for group in zip(*ranked_by_label, strict=False) for e in group]


def _unique(examples: Any) -> list[Example]:
    seen: dict[str, Example] = {}
    for example in examples:
        if example is not None and example.input not in seen:
            seen[example.input] = example
    return list(seen.values())


def _rank(
    engine: Engine, prompt: str, items: list[tuple[Example, str]]
) -> list[tuple[Example, float]]:
    """Examples ordered by lowest perplexity (highest mean log-probability) under the teacher."""
    if not items:
        return []
    scores = engine.score(prompt, [text for _, text in items])
    order = sorted(range(len(items)), key=lambda i: -scores[i].mean)
    return [(items[i][0], scores[i].mean) for i in order]
