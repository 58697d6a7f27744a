"""The task interface: how a task's data is read, shown to a model, and judged."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Example(BaseModel):
    """One labelled example: the input, the full target text, and the gold answer."""

    model_config = ConfigDict(frozen=True)

    input: str
    output: str
    answer: str


class DataError(ValueError):
    """A dataset file is malformed; the message names the file, line and field."""


def default_data_dir() -> Path:
    """Datasets folder: $SOCIALLEARN_DATA_DIR, else ../shared/datasets beside the project."""
    if env := os.environ.get("SOCIALLEARN_DATA_DIR"):
        return Path(env)
    candidates = [
        Path(__file__).resolve().parents[2].parent / "shared" / "datasets",
        Path.cwd().parent / "shared" / "datasets",
        Path.cwd() / "shared" / "datasets",
    ]
    return next((path for path in candidates if path.is_dir()), candidates[0])


class Task(ABC):
    """A task. Classification tasks score labels; generation tasks parse a final answer."""

    name: str
    kind: Literal["classification", "generation"]
    labels: tuple[str, ...] = ()
    description: str
    input_field: str
    output_field: str
    # Shown to the student before lessons, and the whole prompt preamble at 0-shot.
    zero_shot_instruction: str
    max_answer_tokens: int = 16

    @property
    def family(self) -> str:
        """The task whose data and hand-written prompts a variant shares (itself by default)."""
        return self.name

    @abstractmethod
    def load(self, path: Path | None = None) -> list[Example]:
        """All examples of the task's default file, or of `path` (same upstream format)."""

    @abstractmethod
    def lines(self, examples: list[Example]) -> list[str]:
        """`examples` as lines of the task's upstream format (what `load` reads back)."""

    def write(self, examples: list[Example], path: Path) -> Path:
        """Write `examples` to `path` in the task's upstream format."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in self.lines(examples)), encoding="utf-8")
        return path

    def format_query(self, text: str) -> str:
        """The prompt fragment that asks for the output of `text`."""
        return f"{self.input_field}: {text}\n{self.output_field}:"

    def format_example(self, example: Example) -> str:
        return f"{self.format_query(example.input)} {example.output}"

    def extract_answer(self, completion: str) -> str:
        """The gold-comparable answer inside a model's completion."""
        return completion.strip().split("\n")[0].strip()

    def is_correct(self, prediction: str, example: Example) -> bool:
        return normalise(prediction) == normalise(example.answer)

    def parse_generated(self, text: str) -> Example | None:
        """Parse a teacher's generated '<input>\\n<Output>: <output>' block, or None."""
        pattern = (
            rf"^\s*(?P<input>.+?)\s*\n\s*{re.escape(self.output_field)}\s*:\s*(?P<output>.+?)\s*$"
        )
        match = re.match(pattern, text.strip(), flags=re.S)
        if not match:
            return None
        source, output = match["input"].strip(), match["output"].strip()
        answer = self.extract_answer(output)
        if not source or not answer or (self.labels and answer not in self.labels):
            return None
        return Example(input=source, output=output if not self.labels else answer, answer=answer)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(".")


def check_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path}: dataset file not found")
    return path


# An example longer than this cannot fit a few-shot prompt in the models' context window.
MAX_EXAMPLE_CHARS = 8_000


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file; a DataError names the first line that is not."""
    with check_file(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DataError(f"{path}, line 1: UTF-16 text: save the file as UTF-8")
            if b"\0" in raw:
                raise DataError(f"{path}, line {number}: a NUL byte: not a text file")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}, line {number}: not UTF-8 text ({exc.reason} at byte {exc.start + 1})"
                ) from None
            if len(line) > MAX_EXAMPLE_CHARS:
                raise DataError(
                    f"{path}, line {number}: {len(line):,} characters; an example longer than "
                    f"{MAX_EXAMPLE_CHARS:,} does not fit the models' context"
                )
            yield number, line
