"""Evaluating the student: accuracy of its answers on labelled examples after a prompt."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from tqdm import tqdm

from sociallearn.core.lm import PARALLEL_SEQUENCES
from sociallearn.tasks import Example
from sociallearn.teaching.student import Student


class Prediction(BaseModel):
    input: str
    gold: str
    predicted: str
    correct: bool


class Evaluation(BaseModel):
    accuracy: float
    n: int
    predictions: list[Prediction]


def evaluate(
    student: Student,
    preamble: str,
    examples: Sequence[Example],
    *,
    progress: bool = False,
    desc: str = "evaluating",
) -> Evaluation:
    """The student's accuracy on `examples` when its prompt starts with `preamble`.

    The student answers `PARALLEL_SEQUENCES` examples at a time (generations decoded together),
    calibrated on the inputs of all of them (`Student.adapt_to`).
    """
    student.adapt_to([example.input for example in examples])
    predictions = []
    with tqdm(total=len(examples), desc=desc, disable=not progress, leave=False) as bar:
        for begin in range(0, len(examples), PARALLEL_SEQUENCES):
            chunk = examples[begin : begin + PARALLEL_SEQUENCES]
            answers = student.answer_many(preamble, [example.input for example in chunk])
            predictions += [
                Prediction(
                    input=example.input,
                    gold=example.answer,
                    predicted=answer.answer,
                    correct=student.task.is_correct(answer.answer, example),
                )
                for example, answer in zip(chunk, answers, strict=True)
            ]
            bar.update(len(chunk))
    correct = sum(p.correct for p in predictions)
    return Evaluation(
        accuracy=correct / len(predictions) if predictions else 0.0,
        n=len(predictions),
        predictions=predictions,
    )
