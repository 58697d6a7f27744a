"""Who may ask a teacher service: the coordinators its owner lists, each with a secret token.

The owner writes one line per coordinator, `name token`, in a file that `serve-teacher
--coordinators FILE` reads; the service keeps only each token's SHA-256 (in its process
environment, for the server's auth handler) and never logs a token. A coordinator sends its
token as `Authorization: Bearer <token>`, from `$SOCIALLEARN_TEACHER_TOKEN` (or, one per
service URL, from the file `$SOCIALLEARN_TEACHER_TOKENS` names): never a flag.

`auth` is LangGraph's own custom authentication (`langgraph_sdk.Auth`), which the server runs
on every request: a caller without a listed token gets 401; a caller may create and read only
its own threads and runs (stamped with its name), read the teacher's assistant, and nothing
else (no assistants of its own, no crons, no store).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from langgraph_sdk import Auth

COORDINATORS_ENV = "SOCIALLEARN_COORDINATORS"  # the service's {name: SHA-256 of token}, as JSON
TOKEN_ENV = "SOCIALLEARN_TEACHER_TOKEN"  # a coordinator's token for every service
TOKENS_FILE_ENV = "SOCIALLEARN_TEACHER_TOKENS"  # a coordinator's file of `URL token` lines
MIN_TOKEN_LENGTH = 16
OWNER_KEY = "coordinator"  # the metadata key naming who created a thread or run


def token_hash(token: str) -> str:
    """What the service keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _pairs(path: Path) -> list[tuple[int, str, str]]:
    """(line number, first word, second word) of each non-blank, non-comment line of `path`;
    a ValueError naming the file and line of one that is not two words."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            raise ValueError(f"{path}:{number}: expected two words, a name and a token")
        pairs.append((number, words[0], words[1]))
    return pairs


def read_coordinators(path: Path) -> dict[str, str]:
    """The coordinators an owner lists in `path` (`name token` per line, # comments), as
    {name: token hash}; a ValueError naming the file and line of a bad entry."""
    hashes: dict[str, str] = {}
    for number, name, token in _pairs(path):
        where = f"{path}:{number}"
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{where}: the token of {name} is shorter than {MIN_TOKEN_LENGTH}")
        if name in hashes:
            raise ValueError(f"{where}: {name} is listed twice")
        if token_hash(token) in hashes.values():
            raise ValueError(f"{where}: {name} has another coordinator's token")
        hashes[name] = token_hash(token)
    if not hashes:
        raise ValueError(f"{path}: lists no coordinator (one `name token` per line)")
    return hashes


def identify(authorization: str | None, hashes: dict[str, str]) -> str | None:
    """The coordinator whose token `authorization` ("Bearer <token>") carries, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    offered = token_hash(token.strip())
    found = None
    for name, known in hashes.items():  # compare with every entry: no early exit to time
        if hmac.compare_digest(offered, known):
            found = name
    return found


def coordinator_token(url: str) -> str | None:
    """The token this coordinator sends to the service at `url`: its line in the file
    `$SOCIALLEARN_TEACHER_TOKENS` names, else `$SOCIALLEARN_TEACHER_TOKEN`, else none."""
    if file := os.environ.get(TOKENS_FILE_ENV):
        for _, where, token in _pairs(Path(file)):
            if where.rstrip("/") == url.rstrip("/"):
                return token
    return os.environ.get(TOKEN_ENV) or None


auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """A listed coordinator, by its token; 401 otherwise."""
    name = identify(authorization, json.loads(os.environ.get(COORDINATORS_ENV, "{}")))
    if name is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail="unknown or missing token")
    return {"identity": name}


@auth.on
async def deny(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Anything not allowed below is refused (403)."""
    return False


@auth.on(resources="threads", actions=["create", "create_run"])
async def stamp(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """A coordinator's thread or run carries its name, and only its own are found."""
    value.setdefault("metadata", {})[OWNER_KEY] = ctx.user.identity
    return {OWNER_KEY: ctx.user.identity}


@auth.on(resources="threads", actions=["read", "search", "update", "delete"])
async def own_threads(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """A coordinator sees only its own threads and their runs."""
    return {OWNER_KEY: ctx.user.identity}


@auth.on(resources="assistants", actions=["read", "search"])
async def read_the_teacher(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """The teacher's assistant may be read by a listed coordinator, never changed."""
    return True
