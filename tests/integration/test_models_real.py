"""Loading the embedded GGUF models, and clear errors for bad model files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociallearn.core.models import ModelError
from sociallearn.engine import LlamaEngine


@pytest.mark.parametrize("name", ["smollm2", "gemma3"])
def test_embedded_models_generate_and_score(name: str):
    engine = LlamaEngine(name)
    assert engine.complete("1, 2, 3, 4,", max_tokens=4).strip()
    likely, unlikely = engine.score("1, 2, 3, 4,", [" 5", " banana"])
    assert likely.logprob > unlikely.logprob


def test_grammar_constrains_output():
    engine = LlamaEngine("smollm2")
    text = engine.complete(
        "Is the sky blue? Answer:", max_tokens=4, grammar='root ::= " yes" | " no"'
    )
    assert text in {" yes", " no"}


def test_missing_model_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ModelError, match=r"model file not found: .*nope\.gguf"):
        LlamaEngine(str(tmp_path / "nope.gguf"))


def test_broken_model_is_a_clear_error(tmp_path: Path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        LlamaEngine(str(broken))
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="could not load"):
        LlamaEngine(str(truncated))
