"""The run settings: every knob of a teach run, defined once, with its description.

`TeachSettings` holds what teach runs, experiments and privacy measurements share; `Settings`
adds the choices of one teach run (method, aggregator, library, ...). The CLI's flags, the
experiment spec (`ExperimentSpec`) and the privacy config are built from these classes, and
the graph's runtime context (`Context`) is a `Settings` with the run's resources. The task,
method and aggregator are names: their registries refuse unknown ones (`registries`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sociallearn.core.literals import Calibration
from sociallearn.core.models import (
    DEFAULT_MODEL,
    EMBEDDED_MODELS,
    GIVEN_PREFIX,
    OPTIONAL_MODELS,
    SERVED_PREFIX,
)
from sociallearn.engine.served import ServedOptions, ServedSpec
from sociallearn.privacy.filter import FilterSettings

# How served models are asked: no result depends on them, so no key (run id, cell) does.
SERVING = ("served_timeout", "served_retries", "served_concurrency")
# The settings of the differentially private aggregators (`dp_voting`, `dp_choice`).
DP_SETTINGS = ("dp_epsilon", "dp_delta", "dp_secure_noise")
# Settings of one component, shown in their own group of a command's help (the rest: the main
# group); the privacy filter's settings get theirs from `flags`.
HELP_GROUPS: dict[str, tuple[str, ...]] = {
    "synthetic examples": ("temperature", "samples", "keep", "balanced_generation",
                           "teacher_check"),
    "refinement (--refine-rounds R, or a method's +refined)": (
        "refine_rounds", "refine_candidates", "instruction_revision", "separate_feedback"),
    "voting (aggregators that vote, and refining teachers' checks)": (
        "votes_held_out", "vote_judge"),
    "differential privacy (--aggregator dp_voting or dp_choice)": DP_SETTINGS,
    "teacher services": ("remote_teachers", "remote_timeout"),
    "privacy measurement": ("canary", "canary_answer"),
    f"served models ({SERVED_PREFIX}URL#model)": SERVING,
}  # fmt: skip
# What a teacher service's owner decides for its teacher (`ServiceConfig.owner`); a coordinator
# decides the rest of a run's settings.
SERVICE_OWNED = ("task", "teacher_model", "privacy", "n_gpu_layers", *SERVING)
# Never sent to a teacher service: what its owner decides (but the task, which the service
# checks) and what only the coordinator uses.
_COORDINATOR_ONLY = {*SERVICE_OWNED, "data_path", "library", "collection", "approve", "retrieve",
                     "remote_teachers", "remote_timeout", "canary", "canary_answer", "final"} - {"task"}  # fmt: skip
# The settings recorded on every lesson, besides the filter's main settings.
_PROVENANCE = {"shots", "teachers", "temperature", "samples", "keep", "aggregator",
               "balanced_generation", "teacher_check", "seed", "lessons", "max_retries",
               "student_model", "refine_rounds", "refine_candidates", "vote_judge",
               "instruction_revision", "separate_feedback"}  # fmt: skip


class TeachSettings(BaseModel):
    """Settings shared by teach runs, experiments and privacy measurements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = Field(default="sms_spam", description="the task")
    data_path: str | None = Field(
        default=None,
        description="a dataset file in the task's upstream format (default: the shared datasets)",
    )
    teachers: int = Field(
        default=4, ge=0, description="m: teachers in this process, each with a private silo"
    )
    shots: int = Field(default=8, ge=1, description="n: private examples a teacher reads")
    temperature: float = Field(
        default=0.7, ge=0.0, le=5.0, description="τ: sampling temperature of synthetic examples"
    )
    samples: int = Field(default=16, ge=1, description="k: synthetic candidates per teacher")
    keep: int = Field(
        default=8, ge=1, description="candidates each teacher shares, lowest perplexity first"
    )
    lessons: int = Field(default=8, ge=1, description="synthetic examples in the student's prompt")
    refine_candidates: int = Field(
        default=1,
        ge=1,
        description="K: revisions a refining teacher proposes per round (the first greedy, the "
        "rest sampled at τ); the next round checks each and keeps the best",
    )
    instruction_revision: Literal["rewrite", "redraft"] = Field(
        default="rewrite",
        description="how a refining teacher revises an instruction from the student's errors: "
        "rewrites it whole, or writes a new one from its examples and the errors without "
        "seeing the current one (which a rewrite may copy)",
    )
    separate_feedback: bool = Field(
        default=False,
        description="a refining teacher reads the student's errors on its teaching examples "
        "(not its shots), not on the held-back ones it checks revisions on, so that no revision "
        "is chosen for fixing the very errors it was shown",
    )
    votes_held_out: int = Field(
        default=8, ge=1, description="held-back examples a teacher votes or checks with"
    )
    vote_judge: Literal["teacher", "student"] = Field(
        default="teacher",
        description="the model a voting teacher scores candidates with on its held-back data: "
        "its own (the paper) or a local copy of the student's (the one that will read them)",
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        description="R: redrafts after the filter rejects all of a teacher's drafts",
    )
    test_size: int = Field(
        default=200, ge=2, description="examples kept out of every silo to evaluate the student"
    )
    seed: int = Field(default=0, description="seed of the data split, drafting and aggregation")
    final: bool = Field(
        default=False,
        description="test the student on the locked part of the data, which nothing else "
        "reads (a final evaluation: recorded, and refused for a configuration already "
        "evaluated); otherwise on the tuning part",
    )
    teacher_model: str = Field(
        default=DEFAULT_MODEL,
        description=f"the teachers' model: {', '.join(EMBEDDED_MODELS)}, a GGUF path or a "
        f"served model, {SERVED_PREFIX}URL#model",
    )
    student_model: str = Field(
        default=DEFAULT_MODEL,
        description=f"the student's model: {', '.join(EMBEDDED_MODELS)}, a GGUF path or a "
        f"served model, {SERVED_PREFIX}URL#model",
    )
    n_gpu_layers: int | None = Field(
        default=None,
        ge=-1,
        description="layers on the GPU (-1: all; default: all if llama.cpp has GPU support)",
    )
    served_timeout: float = Field(
        default=120.0,
        gt=0,
        description="seconds a served model's server may take to answer one request before it "
        "is asked again",
    )
    served_retries: int = Field(
        default=2,
        ge=0,
        description="times a served model's server is asked again after it failed (HTTP 408, 429 or "
        "5xx), timed out or could not be reached",
    )
    served_concurrency: int = Field(
        default=4,
        ge=1,
        description="requests sent to a served model's server at once (batches, samples, scores)",
    )
    calibration: Calibration = Field(
        default="content_free",
        description="the label prior the student's label scores are calibrated against: none, "
        "content_free (of an 'N/A' input) or domain (of random strings of the words of 8 or more queries answered together, "
        "Fei et al. 2023; content_free with fewer)",
    )
    privacy: FilterSettings = Field(
        default_factory=FilterSettings, description="the privacy filter's settings"
    )
    dp_epsilon: float = Field(
        default=1.0,
        gt=0,
        description="ε per selection (report-noisy-max, Laplace scale 2/ε; dp_choice makes one, "
        "dp_voting one per lesson); the run's total ε is recorded on its lessons",
    )
    dp_delta: float = Field(
        default=1e-5,
        ge=0,
        lt=1,
        description="dp_voting: δ at which advanced composition bounds the total ε "
        "(0: basic composition, k·ε)",
    )
    dp_secure_noise: bool = Field(
        default=True,
        description="dp_voting, dp_choice: noise from the OS's entropy, which nobody can "
        "recompute (off: noise seeded from the published run id and seed, so runs repeat, for "
        "measuring accuracy only: it protects nothing)",
    )

    @model_validator(mode="after")
    def _someone_teaches(self) -> Self:
        if self.teacher_count() < 1:
            raise ValueError("no teacher: give --teachers at least 1 or a --remote-teachers URL")
        return self

    def teacher_count(self) -> int:
        """All teachers of a run."""
        return self.teachers

    def judging_model(self) -> str:
        """The model a voting teacher scores candidates with (`vote_judge`)."""
        return self.student_model if self.vote_judge == "student" else self.teacher_model

    def served_options(self) -> ServedOptions:
        """How served models are asked (`served_timeout`, `served_retries`, ...)."""
        return ServedOptions(
            timeout=self.served_timeout,
            retries=self.served_retries,
            concurrency=self.served_concurrency,
        )

    @field_validator("teacher_model", "student_model")
    @classmethod
    def _model_exists(cls, model: str) -> str:
        if model.startswith(SERVED_PREFIX):
            return str(ServedSpec.parse(model))  # its server is asked at first use
        if model.startswith(GIVEN_PREFIX) and model != GIVEN_PREFIX:
            return model  # the run's model pool has it (`ModelPool(models=...)`)
        known = model in EMBEDDED_MODELS or model in OPTIONAL_MODELS  # optional: load says how
        if not known and not Path(model).expanduser().is_file():
            raise ValueError(
                f"model file not found: {model} (embedded models: {', '.join(EMBEDDED_MODELS)}; "
                f"a served model: {SERVED_PREFIX}URL#model)"
            )
        return model

    @field_validator("data_path")
    @classmethod
    def _data_exists(cls, path: str | None) -> str | None:
        if path is not None and not Path(path).expanduser().is_file():
            raise ValueError(f"dataset file not found: {path}")
        return path

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated again."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def key(self, *, exclude: Collection[str] = (), **extra: Any) -> str:
        """A short hash of the settings (less `exclude`, plus `extra`) a result depends on."""
        values = self.model_dump(mode="json", exclude={*exclude, *SERVING})
        payload = json.dumps({**values, **extra}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Settings(TeachSettings):
    """The settings of one teach run."""

    method: str = Field(default="synthetic_examples", description="the teaching method")
    aggregator: str = Field(default="random", description="builds the student's prompt")
    balanced_generation: bool = Field(
        default=False, description="condition each synthetic example on a label, labels in turn"
    )
    teacher_check: bool = Field(
        default=False, description="teachers share only examples that help their held-back data"
    )
    refine_rounds: int = Field(
        default=0,
        ge=0,
        description="R > 0: teachers check a draft with a local copy of the student on their "
        "held-back data and redraft it from the errors, up to R times while it improves",
    )
    retrieve: int = Field(
        default=0, ge=0, description="K > 0: the student retrieves the K nearest lessons per query"
    )
    approve: bool = Field(
        default=False, description="stop before publishing for a person to approve, edit or reject"
    )
    library: str = Field(
        default=".sociallearn/library", description="lesson library: a folder, or http://host:port"
    )
    collection: str = Field(default="lessons", description="the library's collection")
    canary: str | None = Field(
        default=None, description="a text planted in every teacher's data (privacy measurement)"
    )
    canary_answer: str | None = Field(default=None, description="the planted canary's answer")
    remote_teachers: list[str] = Field(
        default_factory=list,
        description="teacher services (sociallearn serve-teacher) by URL, e.g. "
        "http://host:8101: teachers on other machines, after the m local ones",
    )
    remote_timeout: float = Field(
        default=900.0,
        gt=0,
        description="seconds a teacher service may take to teach or vote before it is dropped",
    )

    @field_validator("remote_teachers")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        bad = [url for url in urls if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"not an http(s) URL: {', '.join(bad)}")
        return [url.rstrip("/") for url in urls]

    def teacher_count(self) -> int:
        return self.teachers + len(self.remote_teachers)

    def run_key(self) -> str:
        """The default run id: the same settings and seed make the same run."""
        return "run-" + self.key(
            exclude={"approve", "library", "collection", "retrieve", "remote_timeout"}
        )

    def public(self) -> dict[str, Any]:
        """What a teacher service is told of the run: these settings less what each service
        decides for itself (data, model, filter, hardware) or only the coordinator uses."""
        public = self.model_dump(mode="json", exclude=_COORDINATOR_ONLY)
        return {**public, "teachers": self.teacher_count()}  # m: the run's teachers, all told

    def step_limit(self) -> int:
        """LangGraph's step limit for a run: a teacher reasons, then on each attempt
        (`max_retries` + 1) drafts, refines (R + 1 rounds, and again after lost drafts) and
        filters."""
        return 25 + (self.max_retries + 1) * (2 * self.refine_rounds + 6)

    def provenance(self) -> dict[str, str | int | float | bool]:
        """The settings recorded on every lesson."""
        recorded = self.model_dump(include=_PROVENANCE)
        recorded |= {
            "filter_pii": self.privacy.pii,
            "filter_near_copy_distance": self.privacy.near_copy_distance,
            "filter_ngram": self.privacy.ngram,
        }
        return recorded


SERVICE_CONFIG_ENV = "SOCIALLEARN_TEACHER_SERVICE"  # a teacher service's config, as JSON


class ServiceConfig(BaseModel):
    """A teacher service's settings (`sociallearn serve-teacher`): the owner's data file and
    process, and the owner's share of the run settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field(description="the private data file, in the task's upstream format")
    threads: int | None = Field(
        default=None, ge=1, description="CPU threads of the model (default: all cores)"
    )
    journal: str | None = Field(
        default=None, description="a JSONL file recording every request served (no private text)"
    )
    coordinators: str | None = Field(
        default=None,
        description="the owner's file of the coordinators allowed to call, `name token` per "
        "line (required to listen beyond this machine)",
    )
    max_requests: int | None = Field(
        default=None, ge=0, description="teach and judge requests each coordinator may make"
    )
    max_lessons: int | None = Field(
        default=None, ge=0, description="lessons the service may release to each coordinator"
    )
    judge_epsilon: float | None = Field(
        default=None,
        gt=0,
        description="ε of each judge answer: held-back scores leave with Laplace noise "
        "(default: exact scores)",
    )
    max_epsilon: float | None = Field(
        default=None, gt=0, description="the ε each coordinator's judge answers may spend in all"
    )
    max_held_out: int = Field(
        default=32, ge=1, description="the most held-back examples a request may judge on"
    )
    max_samples: int = Field(
        default=16, ge=1, description="the most synthetic candidates a request may sample"
    )
    max_shots: int = Field(default=16, ge=1, description="the most shots a request may read")
    max_rounds: int = Field(
        default=3, ge=0, description="the most refinement rounds a request may ask for"
    )
    max_candidates: int = Field(
        default=3, ge=1, description="the most revisions per refinement round a request may ask"
    )
    review: bool = Field(
        default=False,
        description="hold every lesson that passed the filter until the owner approves, edits "
        "or rejects it (the page /review on this machine, or `sociallearn review-lessons`)",
    )
    reviews: str | None = Field(
        default=None,
        description="a SQLite file keeping the held lessons and the owner's decisions across "
        "restarts (required with --review)",
    )
    review_timeout: float = Field(
        default=3600.0,
        gt=0,
        description="seconds a teach request waits for the owner's decisions; lessons still "
        "undecided then are dropped",
    )
    owner: TeachSettings = Field(
        default_factory=TeachSettings,
        description=f"the owner's {', '.join(SERVICE_OWNED)} (the rest: the coordinator's)",
    )

    @model_validator(mode="after")
    def _budgets_and_reviews_are_remembered(self) -> Self:
        budgets = [n for n in ("max_requests", "max_lessons", "max_epsilon") if getattr(self, n)]
        if budgets and self.journal is None:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in budgets)
            raise ValueError(
                f"{flags} need --journal FILE, where the service remembers what each "
                "coordinator has spent across restarts"
            )
        if self.max_epsilon is not None and self.judge_epsilon is None:
            raise ValueError("--max-epsilon needs --judge-epsilon: exact scores spend no finite ε")
        if self.review and self.reviews is None:
            raise ValueError(
                "--review needs --reviews FILE, where the held lessons and the owner's "
                "decisions outlive a restart"
            )
        return self

    def cost_limits(self) -> dict[str, int]:
        """The most each run setting that drives a request's cost may be."""
        return {
            "votes_held_out": self.max_held_out,
            "samples": self.max_samples,
            "shots": self.max_shots,
            "refine_rounds": self.max_rounds,
            "refine_candidates": self.max_candidates,
        }

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """The config that `serve-teacher` (or a person) put in $SOCIALLEARN_TEACHER_SERVICE."""
        raw = os.environ.get(SERVICE_CONFIG_ENV)
        if not raw:
            raise RuntimeError(
                f"${SERVICE_CONFIG_ENV} is not set: start the service with `sociallearn "
                f'serve-teacher --data FILE`, or set it to JSON such as \'{{"data": "silo.tsv"}}\''
            )
        return cls.model_validate_json(raw)
