"""GSM8K: grade-school math word problems with a final numeric answer after '#### '."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sociallearn.tasks.base import (
    DataError,
    Example,
    Task,
    check_file,
    default_data_dir,
    text_lines,
)

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
# Constrains the student's final line to '#### <number>' after free reasoning lines.
ANSWER_GRAMMAR = r"""
root ::= line{0,8} "#### " number "\n"
line ::= [^#\n] [^\n]{0,200} "\n"
number ::= "-"? [0-9] [0-9,]{0,12} ("." [0-9]{1,4})?
"""


def _clean_number(text: str) -> str:
    value = text.replace(",", "").strip()
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value


class Gsm8k(Task):
    name = "gsm8k"
    kind = "generation"
    description = "Solve a grade-school math word problem; end with '#### <number>'."
    input_field = "Question"
    output_field = "Answer"
    zero_shot_instruction = (
        "Solve each math word problem step by step, then give the final number "
        "on its own line after '#### '."
    )
    max_answer_tokens = 256
    grammar = ANSWER_GRAMMAR

    def load(self, path: Path | None = None) -> list[Example]:
        path = check_file(path or default_data_dir() / "gsm8k" / "train.jsonl")
        examples = []
        for number, line in text_lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}: invalid JSON ({exc.msg})") from exc
            for field in ("question", "answer"):
                if not isinstance(record.get(field), str) or not record[field].strip():
                    raise DataError(f"{path}, line {number}: field {field!r} missing or empty")
            answer = record["answer"]
            if "####" not in answer:
                raise DataError(
                    f"{path}, line {number}: field 'answer' has no '#### ' final answer"
                )
            final = _clean_number(answer.rsplit("####", 1)[1])
            examples.append(
                Example(input=record["question"].strip(), output=answer.strip(), answer=final)
            )
        if not examples:
            raise DataError(f"{path}: no examples")
        return examples

    def lines(self, examples: list[Example]) -> list[str]:
        return [
            json.dumps({"question": example.input, "answer": example.output}, ensure_ascii=False)
            for example in examples
        ]

    def format_example(self, example: Example) -> str:
        return f"{self.input_field}: {example.input}\n{self.output_field}: {example.output}"

    def extract_answer(self, completion: str) -> str:
        if "####" in completion:
            completion = completion.split("####", 1)[1]
            match = _NUMBER.search(completion)
        else:
            numbers = _NUMBER.findall(completion)
            return _clean_number(numbers[-1]) if numbers else ""
        return _clean_number(match.group()) if match else ""

    def is_correct(self, prediction: str, example: Example) -> bool:
        try:
            return float(prediction) == float(example.answer)
        except ValueError:
            return False
