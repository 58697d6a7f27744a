"""Teaching-method registry: a new method is one module plus one line here."""

from __future__ import annotations

from sociallearn.core.registry import build
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.methods.instructions import Instructions
from sociallearn.teaching.methods.manual_prompt import ManualPrompt
from sociallearn.teaching.methods.original_examples import OriginalExamples
from sociallearn.teaching.methods.public_examples import PublicExamples
from sociallearn.teaching.methods.synthetic_examples import SyntheticExamples
from sociallearn.teaching.methods.zero_shot import ZeroShot

METHODS: dict[str, type[TeachingMethod]] = {
    "zero_shot": ZeroShot,
    "manual_prompt": ManualPrompt,
    "original_examples": OriginalExamples,
    "instructions": Instructions,
    "synthetic_examples": SyntheticExamples,
    "public_examples": PublicExamples,
}


def get_method(name: str) -> TeachingMethod:
    """The method registered under `name` (a `ValueError` listing the known ones otherwise)."""
    return build(METHODS, "method", name)


__all__ = ["METHODS", "TeachingMethod", "get_method"]
