"""Bad flags and bad data: refused before any teaching, with the flag, file and line named."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sociallearn.apps.cli import main

SMALL = ["--teachers", "1", "--samples", "1", "--keep", "1", "--test-size", "2"]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--teachers", "0", "no teacher: give --teachers at least 1 or a --remote-teachers URL"),
        ("--remote-teachers", "host:1", "--remote-teachers: Value error, not an http(s) URL"),
        ("--teachers", "-1", "--teachers: Input should be greater than or equal to 0"),
        ("--shots", "0", "--shots: Input should be greater than or equal to 1"),
        ("--samples", "0", "--samples: Input should be greater than or equal to 1"),
        ("--keep", "0", "--keep: Input should be greater than or equal to 1"),
        ("--temperature", "-1", "--temperature: Input should be greater than or equal to 0"),
        ("--test-size", "-5", "--test-size: Input should be greater than or equal to 2"),
        ("--max-retries", "-1", "--max-retries: Input should be greater than or equal to 0"),
        ("--retrieve", "-1", "--retrieve: Input should be greater than or equal to 0"),
        ("--student-model", "missing.gguf", "model file not found: missing.gguf"),
        ("--aggregator", "loudest", "--aggregator: Value error, unknown aggregator 'loudest'"),
        ("--task", "chess", "--task: Value error, unknown task 'chess'"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(tmp_path, capsys, flag, value, message):
    library = tmp_path / "library"
    assert main(["teach", flag, value, "--library", str(library)]) == 2
    assert message in capsys.readouterr().err
    assert not library.exists()  # nothing was created


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("spam\tWin a prize\n".encode("utf-16"), "line 1: UTF-16 text: save the file as UTF-8"),
        (b"spam\tcaf\xe9\n", "line 1: not UTF-8 text (invalid continuation byte at byte 9)"),
        (b"ham\tok\n" + bytes(range(256)), "line 2: a NUL byte: not a text file"),
        (b"ham\tok\nspam\t" + b"x" * 1_000_000 + b"\n", "line 2: 1,000,005 characters"),
        (b"spam\tWin a prize\nspam\tFree entry\nspam\tClaim cash\n", "no example labelled ham"),
        (b"spam\tWin\nham\tHi\nspam\tCash\n", "cannot give a test set of 2"),
        (b"spam\tWin\nmaybe\tHi\n", "line 2: field 'label' is 'maybe'"),
    ],
    ids=["utf-16", "latin-1", "binary", "1 MB example", "one label", "too small", "bad label"],
)
def test_bad_data_is_refused_naming_file_and_line(tmp_path, capsys, data, message):
    path = write(tmp_path / "SMSSpamCollection", data)
    library = tmp_path / "library"
    assert main(["teach", "--data", str(path), "--library", str(library), *SMALL]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert str(path) in error or "line" not in message
    assert not (library / "chroma.sqlite3").exists()  # nothing was taught or stored


def test_an_unreadable_results_file_is_refused_and_kept(tmp_path, capsys):
    results = write(tmp_path / "results.json", b'{"results": []}')
    argv = ["experiment", "--out", str(tmp_path), "--methods", "zero_shot", "--test-size", "4"]
    assert main(argv) == 2
    assert f"{results}: not experiment results (KeyError('experiments'))" in capsys.readouterr().err
    assert results.read_bytes() == b'{"results": []}'  # not overwritten
    assert not (tmp_path / "cells").exists()  # nothing was run


def test_help_answers_at_once():
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "sociallearn.apps.cli", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0 and "teach" in run.stdout
    assert time.perf_counter() - started < 4.0  # no model, Chroma or LangGraph at start-up
    flags = subprocess.run(
        [sys.executable, "-m", "sociallearn.apps.cli", "privacy", "run", "--help"],
        capture_output=True,
        text=True,
    )
    assert "T: repetitions" in flags.stdout and "N: the canary" in flags.stdout


def test_doctor_decodes_with_each_model_in_a_child_process():
    from sociallearn.apps.cli import decode_check

    status, path = decode_check("smollm2")
    assert status == 0 and path.endswith(".gguf") and Path(path).is_file()
    status, error = decode_check("missing.gguf")
    assert status > 0 and "model file not found: missing.gguf" in error


def test_doctor_reports_a_llama_build_that_crashes(monkeypatch, capsys):
    """A build for CPU features this machine lacks dies of a signal; doctor names it and exits
    with the status that makes setup.sh rebuild llama-cpp-python."""
    import sociallearn.apps.cli as cli

    monkeypatch.setattr(cli, "DECODE_CHECK", "import os, signal; os.kill(os.getpid(), 11)")
    assert cli.decode_check("smollm2") == (-11, "crashed decoding (SIGSEGV)")
    assert main(["doctor"]) == cli.DECODE_CRASHED
    assert "rebuilds it from source" in capsys.readouterr().err
