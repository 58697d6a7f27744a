"""The experiment spec: which task, methods, settings and models; loadable from YAML or JSON.

A method is written as a name with options joined by '+': `zero_shot`, `original_examples`,
`instructions`, `synthetic_examples+random`, `synthetic_examples+voting`, and the options beyond
the paper, `+balanced` (class-balanced generation; with voting, balanced selection too) and `+checked` (teachers check candidates on
their own held-back data before sharing them), e.g. `synthetic_examples+voting+balanced`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MethodName = Literal["zero_shot", "original_examples", "instructions", "synthetic_examples"]
BASELINES = ("zero_shot", "original_examples")
OPTIONS = ("random", "voting", "balanced", "checked")


class SpecError(ValueError):
    """A spec file or flag is invalid; the message names the file, line and field."""


class MethodSpec(BaseModel):
    """One column of the results table: a method and its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: MethodName
    aggregator: Literal["random", "voting"] = "random"
    balanced: bool = False  # examples conditioned on a label; with voting, labels kept equal
    checked: bool = False  # teachers keep only candidates that help their held-back data

    @model_validator(mode="before")
    @classmethod
    def _from_label(cls, value: Any) -> Any:
        """Accept a label such as 'synthetic_examples+voting+balanced'."""
        if not isinstance(value, str):
            return value
        name, *options = [part.strip() for part in value.strip().split("+")]
        unknown = [option for option in options if option not in OPTIONS]
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} in {value!r}; known: {', '.join(OPTIONS)}"
            )
        if "random" in options and "voting" in options:
            raise ValueError(f"{value!r} names two aggregators")
        settings: dict[str, Any] = {"method": name}
        if "voting" in options:
            settings["aggregator"] = "voting"
        settings.update({option: True for option in ("balanced", "checked") if option in options})
        return settings

    @model_validator(mode="after")
    def _options_fit(self) -> MethodSpec:
        if self.method != "synthetic_examples" and (
            self.aggregator != "random" or self.balanced or self.checked
        ):
            raise ValueError(
                "options voting/balanced/checked apply to synthetic_examples only, "
                f"not {self.method}"
            )
        return self

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        """A method from its label, e.g. 'synthetic_examples+voting+balanced'."""
        return cls.model_validate(text)

    @property
    def label(self) -> str:
        if self.method != "synthetic_examples":
            return self.method
        options = [self.aggregator] + ["balanced"] * self.balanced + ["checked"] * self.checked
        return "+".join([self.method, *options])

    @property
    def teaches(self) -> bool:
        """Whether the method runs the social-learning graph (the baselines do not)."""
        return self.method not in BASELINES


def parse_methods(labels: Iterable[str]) -> list[MethodSpec]:
    """Methods from their labels."""
    return [MethodSpec.parse(label) for label in labels]


PAPER_METHODS = (
    "zero_shot",
    "original_examples",
    "instructions",
    "synthetic_examples+random",
    "synthetic_examples+voting",
)


class ExperimentSpec(BaseModel):
    """Everything an experiment needs: one task, its methods, and the shared settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = "experiment"
    task: str = "sms_spam"
    data_path: str | None = None
    methods: list[MethodSpec] = Field(
        default_factory=lambda: parse_methods(PAPER_METHODS), min_length=1
    )  # labels such as "synthetic_examples+voting", or a comma-separated string of them
    shots: int = Field(default=8, ge=1, description="n: private examples a teacher reads")
    teachers: int = Field(default=8, ge=1, description="m: teachers for synthetic examples")
    temperature: float = Field(default=0.7, ge=0.0, description="τ: sampling temperature")
    samples: int = Field(default=16, ge=1, description="k: candidates each teacher samples")
    keep: int = Field(
        default=8, ge=1, description="candidates each teacher shares, most likely first"
    )
    lessons: int = Field(default=8, ge=1, description="synthetic examples in the student's prompt")
    votes_held_out: int = Field(
        default=8, ge=1, description="held-back examples a teacher votes/checks with"
    )
    test_size: int = Field(default=200, ge=2)
    runs: int = Field(default=3, ge=1, description="seeds: first_seed, first_seed + 1, ...")
    first_seed: int = 0
    teacher_model: str = "smollm2"
    student_model: str = "smollm2"
    calibrate: bool = True  # contextual calibration of the student's label scores
    max_retries: int = Field(default=2, ge=0)
    permutations: int = Field(
        default=10_000, ge=100, description="reshuffles of the permutation test"
    )

    @field_validator("methods", mode="before")
    @classmethod
    def _parse_methods(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _unique_methods(self) -> ExperimentSpec:
        labels = [m.label for m in self.methods]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"methods repeated: {', '.join(repeated)}")
        return self

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.runs))

    def cell_key(self, method: MethodSpec, seed: int) -> str:
        """A short hash of every setting that a cell's result depends on."""
        settings = self.model_dump(
            exclude={"name", "methods", "runs", "first_seed", "permutations"}
        )
        if not method.teaches:
            for unused in (
                "teachers",
                "temperature",
                "samples",
                "keep",
                "lessons",
                "votes_held_out",
                "teacher_model",
                "max_retries",
            ):
                settings.pop(unused)
        payload = json.dumps({**settings, "method": method.label, "seed": seed}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_specs(path: Path, overrides: dict[str, Any] | None = None) -> list[ExperimentSpec]:
    """The spec(s) in a YAML or JSON file: one mapping, or a list of mappings.

    `overrides` (e.g. from command-line flags) replace the file's values in every spec.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec file ({exc.strerror})") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from exc
    entries = data if isinstance(data, list) else [data]
    specs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SpecError(
                f"{path}: expected a mapping of settings (or a list of them), "
                f"found {type(entry).__name__}"
            )
        try:
            specs.append(ExperimentSpec.model_validate({**entry, **(overrides or {})}))
        except ValidationError as exc:
            prefix = [index] if isinstance(data, list) else []
            raise SpecError(_describe(path, text, exc, prefix)) from exc
    return specs


def spec_from_values(values: dict[str, Any]) -> ExperimentSpec:
    """A spec from flag values (no file); errors name the flag's field."""
    try:
        return ExperimentSpec.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"field {field!r}: {first['msg']}") from exc


def _describe(path: Path, text: str, exc: ValidationError, prefix: list[Any]) -> str:
    """'file, line L: field F: message' for the first error of a validation."""
    first = exc.errors()[0]
    loc = [*prefix, *first["loc"]]
    line = _line_of(text, loc)
    where = f"{path}, line {line}" if line else str(path)
    field = ".".join(str(part) for part in first["loc"]) or "(spec)"
    return f"{where}: field {field!r}: {first['msg']}"


def _line_of(text: str, loc: list[Any]) -> int | None:
    """The 1-based line of the value at `loc` (or of its deepest existing parent), if found."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node, line = match, match.start_mark.line + 1
    return line
