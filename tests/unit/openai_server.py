"""A fake OpenAI-compatible server for the served model's unit tests (an httpx transport).

Its "model" tokenises text into words with their leading space and punctuation, and gives a
token log-probability −0.5 per character, or −8 for a token that repeats the one before it:
a score is then a sum anyone can work out by hand. Its completions always answer " Rome",
the first generated token listed with the alternatives in `VOCABULARY` (as many as asked).
`flavour` says which server it behaves like:

- "llama-cpp-python": echoes the prompt's tokens with their log-probabilities (the first one
  None), as llama-cpp-python's server does for a model with a beginning-of-text token;
- "vllm": the same, after a "<s>" token whose text the offsets count;
- "one-off": echoes each prompt token with the probability of it coming after itself, and
  not the generated tokens, as llama-cpp-python 0.3's server does for models without a
  beginning-of-text token;
- "llama-server": the generated token's log-probability only, in the chat-style object, and
  echo refused with HTTP 500, as llama.cpp's server does;
- "no-logprobs": no log-probabilities at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

URL = "http://127.0.0.1:8080/v1"
ANSWER = " Rome"
VOCABULARY = (ANSWER, " spam", " ham", " free")  # the first generated token's alternatives
TOKEN = re.compile(r"\s?\w+|\s?[^\w\s]|\s+")


def tokens_of(text: str) -> list[str]:
    return TOKEN.findall(text)


def logprob(context: list[str], token: str) -> float:
    """The toy model's log-probability of `token` after `context`."""
    return -8.0 if context and context[-1] == token else -0.5 * len(token)


@dataclass
class FakeOpenAI:
    """Answers completions and chat completions; records every request."""

    flavour: str = "llama-cpp-python"
    chat_reply: Callable[[str], str] = lambda prompt: "Spam offers prizes; ham is personal."
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if request.url.path.endswith("/chat/completions"):
            content = self.chat_reply(body["messages"][-1]["content"])
            return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})
        try:
            return httpx.Response(200, json=self.completion(body))
        except Refusal as refusal:
            return httpx.Response(refusal.status, json={"error": {"message": refusal.message}})

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["prompt"]
        prompt_tokens = tokens_of(prompt)
        choice: dict[str, Any] = {"text": ANSWER, "index": 0, "finish_reason": "length"}
        usage = {"prompt_tokens": len(prompt_tokens), "completion_tokens": 1}
        generated = logprob(prompt_tokens, ANSWER)
        if body.get("logprobs") is None or self.flavour == "no-logprobs":
            return {"choices": [choice | {"logprobs": None}], "usage": usage}
        alternatives = sorted(
            ((token, logprob(prompt_tokens, token)) for token in VOCABULARY),
            key=lambda pair: -pair[1],
        )[: body["logprobs"]]
        if self.flavour == "llama-server":
            if body.get("echo"):
                raise Refusal(500, "Only no echo is supported")
            top = [{"token": token, "logprob": value} for token, value in alternatives]
            first = {"token": ANSWER, "logprob": generated, "top_logprobs": top}
            return {"choices": [choice | {"logprobs": {"content": [first]}}], "usage": usage}
        if not body.get("echo"):
            choice["logprobs"] = table([ANSWER], [len(prompt)], [generated])
            choice["logprobs"]["top_logprobs"] = [dict(alternatives)]
            return {"choices": [choice], "usage": usage}
        values: list[float | None] = [None]
        for i in range(1, len(prompt_tokens)):
            seen = prompt_tokens[: i + 1] if self.flavour == "one-off" else prompt_tokens[:i]
            values.append(logprob(seen, prompt_tokens[i]))
        shown, lead = [*prompt_tokens, ANSWER], ""
        if self.flavour == "one-off":
            shown = prompt_tokens
        else:
            values.append(generated)
        if self.flavour == "vllm":
            shown, lead, values = ["<s>", *shown], "<s>", [None, *values]
        offsets, at = [], 0
        for token in shown:
            offsets.append(at)
            at += len(token)
        choice["text"] = prompt + ANSWER
        choice["logprobs"] = table(shown, offsets, values)
        assert "".join(shown) in {lead + prompt + ANSWER, prompt}
        return {"choices": [choice], "usage": usage}


def table(tokens: list[str], offsets: list[int], values: list[float | None]) -> dict[str, Any]:
    """OpenAI's legacy logprobs object."""
    return {
        "tokens": tokens,
        "text_offset": offsets,
        "token_logprobs": values,
        "top_logprobs": [
            None if v is None else {t: v} for t, v in zip(tokens, values, strict=True)
        ],
    }


class Refusal(Exception):
    """An error answer, as the server would give it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
