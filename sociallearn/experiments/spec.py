"""The experiment spec: which task, methods, settings and models; loadable from YAML or JSON.

A method is written as a name with options joined by '+': `zero_shot`, `original_examples`,
`instructions`, `synthetic_examples+random`, `synthetic_examples+voting`, and the options beyond
the paper, `+balanced` (class-balanced generation; with voting, balanced selection too) and
`+checked` (teachers check candidates on their own held-back data before sharing them), e.g.
`synthetic_examples+voting+balanced`, and `+refined` (teachers check their lessons with a local
copy of the student and redraft them, up to `REFINED_ROUNDS` rounds) for the methods that
teach, e.g. `instructions+refined`. `+dp` chooses by differentially private voting (aggregator
`dp_voting`, ε per selection from the spec's `dp_epsilon`), e.g. `synthetic_examples+dp`;
`+dp_choice` makes one differentially private choice of the whole prompt (aggregator
`dp_choice`), e.g. `public_examples+dp_choice` (examples drafted without the silos: the run's ε
covers everything the silos give). `+merge` (instructions only, aggregator `merge`): m teachers
each write an instruction, one merged instruction is written from them, and the teachers' vote
on their held-back data picks the student's instruction among the merged and the single ones,
e.g. `instructions+merge` or `instructions+merge+refined`; `instructions+voting` is the same
vote without the merge (the best single teacher's instruction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sociallearn.tasks import get_task
from sociallearn.teaching.methods import METHODS, get_method
from sociallearn.teaching.settings import DP_SETTINGS, TeachSettings

AggregatorOption = Literal["random", "voting", "dp", "dp_choice", "merge"]
AGGREGATOR_OPTIONS: tuple[str, ...] = get_args(AggregatorOption)
OPTIONS = (*AGGREGATOR_OPTIONS, "balanced", "checked", "refined")
DP_OPTIONS = ("dp", "dp_choice")  # the aggregators that read the DP settings
# The methods whose candidates are drafted examples, which every aggregator can choose among.
EXAMPLE_DRAFTERS = ("synthetic_examples", "public_examples")
REFINED_ROUNDS = 3  # refine_rounds of a `+refined` method
DEFAULT_OUT = Path(".sociallearn/experiments")  # cells, library and checkpoints


class SpecError(ValueError):
    """A spec file or flag is invalid; the message names the file, line and field."""


# Aggregators that choose one instruction among m teachers' (`instructions+voting`: the best
# single teacher's by the vote; `instructions+merge`: the same with their merge competing).
SINGLE_LESSON_AGGREGATORS = ("voting", "merge")


class MethodSpec(BaseModel):
    """One column of the results table: a method and its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = Field(description=f"a registered method: {', '.join(METHODS)}")
    aggregator: AggregatorOption = "random"
    balanced: bool = False  # examples conditioned on a label; with voting, labels kept equal
    checked: bool = False  # teachers keep only candidates that help their held-back data
    refined: bool = False  # teachers refine their lessons with a local copy of the student

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
        aggregators = [option for option in options if option in AGGREGATOR_OPTIONS]
        if len(aggregators) > 1:
            raise ValueError(f"{value!r} names two aggregators")
        settings: dict[str, Any] = {"method": name}
        if aggregators:
            settings["aggregator"] = aggregators[0]
        settings.update(
            {option: True for option in ("balanced", "checked", "refined") if option in options}
        )
        return settings

    @field_validator("method")
    @classmethod
    def _known(cls, method: str) -> str:
        get_method(method)  # the registry refuses a name it does not know
        return method

    @model_validator(mode="after")
    def _options_fit(self) -> MethodSpec:
        if self.aggregator == "merge" and self.method != "instructions":
            raise ValueError(f"option merge applies to instructions only, not {self.method}")
        one_of_many = self.method == "instructions" and self.aggregator in SINGLE_LESSON_AGGREGATORS
        aggregated = self.aggregator != "random" and not one_of_many
        if self.method not in EXAMPLE_DRAFTERS and aggregated:
            raise ValueError(
                f"options voting/dp/dp_choice apply to {' and '.join(EXAMPLE_DRAFTERS)} only "
                f"(voting and merge to instructions too), not {self.method}"
            )
        if self.method != "synthetic_examples" and (self.balanced or self.checked):
            raise ValueError(
                f"options balanced/checked apply to synthetic_examples only, not {self.method}"
            )
        if self.refined and not self.teaches:
            raise ValueError(f"option refined applies to methods that teach, not {self.method}")
        return self

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        """A method from its label, e.g. 'synthetic_examples+voting+balanced'."""
        return cls.model_validate(text)

    @property
    def label(self) -> str:
        refined = ["refined"] * self.refined
        if self.method not in EXAMPLE_DRAFTERS:
            chosen = [self.aggregator] * (self.aggregator in SINGLE_LESSON_AGGREGATORS)
            return "+".join([self.method, *chosen, *refined])
        options = [self.aggregator] + ["balanced"] * self.balanced + ["checked"] * self.checked
        return "+".join([self.method, *options, *refined])

    @property
    def extends(self) -> str | None:
        """The label of the method this one improves on, to test it against: a refined method
        its unrefined form, merged instructions the best single one (voting); else None."""
        if self.refined:
            return self.model_copy(update={"refined": False}).label
        if self.aggregator == "merge":
            return self.model_copy(update={"aggregator": "voting"}).label
        return None

    @property
    def teaches(self) -> bool:
        """Whether the method runs the social-learning graph (the baselines do not)."""
        return METHODS[self.method].teaches

    @property
    def one_teacher(self) -> bool:
        """Whether a cell gives the method one teacher (with the n examples `original_examples`
        shows); merging or voting needs the spec's m teachers."""
        return METHODS[self.method].one_teacher and self.aggregator == "random"

    def settings(self) -> dict[str, Any]:
        """The run settings this method and its options stand for."""
        aggregator = {
            "voting": "balanced_voting" if self.balanced else "voting",
            "dp": "dp_voting",
        }.get(self.aggregator, self.aggregator)
        return {
            "method": self.method,
            "aggregator": aggregator,
            "balanced_generation": self.balanced,
            "teacher_check": self.checked,
            "refine_rounds": REFINED_ROUNDS if self.refined else 0,
        }


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
# Settings a baseline's result does not depend on (it teaches nothing).
_TEACHING_ONLY = {
    "teachers", "temperature", "samples", "keep", "lessons", "votes_held_out", "teacher_model",
    "max_retries", "privacy",
}  # fmt: skip


def _known_task(task: str) -> str:
    """A task the registry knows (the settings hold its name only)."""
    get_task(task)
    return task


class ExperimentSpec(TeachSettings):
    """Everything an experiment needs: the shared run settings, the methods and the runs.

    Run i uses seed `seed + i`.
    """

    name: str = Field(default="experiment", description="the experiment's name in reports")
    methods: list[MethodSpec] = Field(
        default_factory=lambda: parse_methods(PAPER_METHODS),
        min_length=1,
        description="method labels, e.g. zero_shot,synthetic_examples+voting (comma-separated)",
    )
    runs: int = Field(default=3, ge=1, description="runs (seeds seed, seed + 1, ...)")
    permutations: int = Field(
        default=10_000, ge=100, description="reshuffles of the permutation test"
    )

    _task = field_validator("task")(_known_task)

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
        return list(range(self.seed, self.seed + self.runs))

    def cell_key(self, method: MethodSpec, seed: int) -> str:
        """A short hash of every setting that a cell's result depends on."""
        unused = {"name", "methods", "runs", "seed", "permutations"}
        if not method.teaches:
            unused |= _TEACHING_ONLY
        if method.aggregator not in DP_OPTIONS:
            unused |= set(DP_SETTINGS)
        if method.aggregator == "random":  # the others vote
            unused.add("vote_judge")
        if not method.refined:
            unused |= {"refine_candidates", "separate_feedback"}
        if not method.refined or method.method != "instructions":
            unused.add("instruction_revision")
        return self.key(exclude=unused, method=method.label, seed=seed)


# The methods a privacy measurement compares (`experiments.leakage`).
MethodName = Literal[
    "original_examples", "instructions", "synthetic_examples", "synthetic_unfiltered"
]
PRIVACY_METHODS: tuple[MethodName, ...] = (
    "original_examples",
    "instructions",
    "synthetic_examples",
    "synthetic_unfiltered",
)
LABELS = {
    "original_examples": "original examples",
    "instructions": "instructions (filter)",
    "synthetic_examples": "synthetic examples (filter)",
    "synthetic_unfiltered": "synthetic examples (no filter)",
}


class PrivacyConfig(TeachSettings):
    """Settings of a privacy experiment: the run settings, T repetitions and N strings.

    Repetition t uses seed `seed + t`.
    """

    repetitions: int = Field(default=100, ge=1, description="T: repetitions, each a new canary")
    comparisons: int = Field(
        default=1000,
        ge=2,
        description="N: the canary and N−1 comparison strings it is ranked among",
    )
    measured: list[MethodName] = Field(
        default_factory=lambda: list(PRIVACY_METHODS),
        description="the methods whose leakage is measured",
    )

    _task = field_validator("task")(_known_task)


PRESETS: dict[str, PrivacyConfig] = {
    # The paper's scale: T = 100 social-learning runs per method with the default run settings.
    "full": PrivacyConfig(),
    # The committed benchmark: smaller teaching runs and T = 20 so that it fits 2 CPU cores.
    "results": PrivacyConfig(repetitions=20, teachers=2, samples=8, keep=4, lessons=4),
    # A minute-scale check of the whole pipeline (tests).
    "smoke": PrivacyConfig(
        repetitions=2,
        comparisons=50,
        teachers=1,
        shots=4,
        samples=3,
        keep=2,
        lessons=2,
        test_size=20,
    ),
}


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
