"""What nodes open from their run context: the data split, a teacher's silo, engines, the library."""

from __future__ import annotations

from sociallearn.engine import Engine, get_engine
from sociallearn.graphs.context import Context
from sociallearn.stores.library import LessonLibrary
from sociallearn.stores.silo import DataSplit, TeacherSilo, open_split
from sociallearn.tasks import Task


def split_of(context: Context) -> DataSplit:
    return open_split(
        context.task,
        context.data_path,
        context.teachers,
        context.test_size,
        context.seed,
        context.canary,
        context.canary_answer,
    )


def task_of(context: Context) -> Task:
    return split_of(context).task


def silo_of(context: Context, teacher_id: str) -> TeacherSilo:
    return split_of(context).silos[teacher_id]


def teacher_engine(context: Context) -> Engine:
    return get_engine(context.teacher_model, context.n_gpu_layers)


def student_engine(context: Context) -> Engine:
    return get_engine(context.student_model, context.n_gpu_layers)


def library_of(context: Context) -> LessonLibrary:
    return LessonLibrary.open(context.library, context.collection)


def settings_of(context: Context) -> dict[str, str | int | float | bool]:
    """The run settings recorded on every lesson (provenance)."""
    return {
        "shots": context.shots,
        "teachers": context.teachers,
        "temperature": context.temperature,
        "samples": context.samples,
        "keep": context.keep,
        "aggregator": context.aggregator,
        "balanced_generation": context.balanced_generation,
        "teacher_check": context.teacher_check,
        "seed": context.seed,
        "lessons": context.lessons,
        "max_retries": context.max_retries,
        "student_model": context.student_model,
        "filter_pii": context.privacy.pii,
        "filter_near_copy_distance": context.privacy.near_copy_distance,
        "filter_ngram": context.privacy.ngram,
    }
