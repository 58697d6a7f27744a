"""Who may call a teacher service: the owner's list of coordinators and their tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langgraph_sdk import Auth

from sociallearn.apps.cli import main
from sociallearn.teaching import service_auth
from sociallearn.teaching.service_auth import (
    COORDINATORS_ENV,
    TOKEN_ENV,
    TOKENS_FILE_ENV,
    coordinator_token,
    identify,
    read_coordinators,
    token_hash,
)

ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_owner_lists_coordinators_and_the_service_keeps_only_hashes(tmp_path):
    listed = write(tmp_path / "c", f"# who may ask\nalice {ALICE}\n\nbob {BOB}  # lab B\n")
    hashes = read_coordinators(listed)
    assert hashes == {"alice": token_hash(ALICE), "bob": token_hash(BOB)}
    assert ALICE not in json.dumps(hashes)
    assert identify(f"Bearer {ALICE}", hashes) == "alice"
    assert identify(f"bearer {BOB}", hashes) == "bob"
    for wrong in (None, "", "Bearer", f"Basic {ALICE}", f"Bearer {ALICE}x", ALICE):
        assert identify(wrong, hashes) is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"alice {ALICE} extra\n", r"c:1: expected two words"),
        ("\nalice short\n", r"c:2: the token of alice is shorter than 16"),
        (f"alice {ALICE}\nalice {BOB}\n", r"c:2: alice is listed twice"),
        (f"alice {ALICE}\nbob {ALICE}\n", r"c:2: bob has another coordinator's token"),
        ("# nobody\n", r"c: lists no coordinator"),
    ],
)
def test_a_bad_list_is_refused_naming_file_and_line(tmp_path, text, error):
    with pytest.raises(ValueError, match=error):
        read_coordinators(write(tmp_path / "c", text))


def test_a_coordinator_sends_its_token_per_service_or_for_all(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(TOKENS_FILE_ENV, raising=False)
    assert coordinator_token("http://a:8101") is None
    monkeypatch.setenv(TOKEN_ENV, ALICE)
    assert coordinator_token("http://a:8101") == ALICE
    monkeypatch.setenv(TOKENS_FILE_ENV, str(write(tmp_path / "t", f"http://b:8101/ {BOB}\n")))
    assert coordinator_token("http://b:8101") == BOB
    assert coordinator_token("http://a:8101") == ALICE


def test_the_server_handler_admits_listed_tokens_only(monkeypatch):
    monkeypatch.setenv(COORDINATORS_ENV, json.dumps({"alice": token_hash(ALICE)}))
    user = asyncio.run(service_auth.authenticate(f"Bearer {ALICE}"))  # type: ignore[call-arg]
    assert user == {"identity": "alice"}
    for wrong in (None, f"Bearer {BOB}"):
        with pytest.raises(Auth.exceptions.HTTPException) as refused:
            asyncio.run(service_auth.authenticate(wrong))  # type: ignore[call-arg]
        assert refused.value.status_code == 401


def test_serving_beyond_loopback_needs_a_list_of_coordinators(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        "sociallearn.engine.pool.load_llama", lambda *a: pytest.fail("a model loaded")
    )
    data = write(tmp_path / "silo.tsv", "spam\tWin a prize now\nham\tSee you at noon\n")
    assert main(["serve-teacher", "--data", str(data), "--host", "0.0.0.0"]) == 2
    assert "--host 0.0.0.0 serves beyond this machine: list the coordinators" in (
        capsys.readouterr().err
    )
    bad = write(tmp_path / "c", "alice\n")
    args = ["serve-teacher", "--data", str(data), "--coordinators", str(bad)]
    assert main(args) == 2
    assert f"{bad}:1: expected two words" in capsys.readouterr().err
