"""A model behind an OpenAI-compatible HTTP server, through the `LanguageModel` interface.

It is named `openai:<base URL>#<served model name>`, e.g. `openai:http://127.0.0.1:8080/v1#qwen`
(without the fragment, requests name no model, which a server of one model accepts). A server
that wants an API key gets it from $SOCIALLEARN_OPENAI_API_KEY, else $OPENAI_API_KEY: never from
the name, a flag or a file, and it is never logged or put in an error message.

How each operation is asked:

- `instruct`: chat completions, the prompt as one user turn (the server applies the model's chat
  template; `base_prompt`, for models without one, is not used);
- `complete`, `complete_batch`: completions of the raw prompt, `concurrency` requests at a time;
- `sample`: n completions of the prompt, sample i seeded with seed + i, as the llama.cpp engine;
- `score`, `score_pairs`, `rank`: a label (a continuation that may be one token: no space
  after its first character, at most `ONE_TOKEN_CHARS`) is read from the first generated
  token's top `TOP_ALTERNATIVES` log-probabilities, one request per prefix for all its labels,
  which every such server returns (llama.cpp's `llama-server` included), exact as the engine
  scores it (prefix and continuation tokenised apart). Any other continuation, or a label not
  among them, is read from the prompt's log-probabilities (completions with `echo` and
  `logprobs`, which llama-cpp-python's server and vLLM return and `llama-server` does not): its
  score sums the echoed tokens that reach into it, the same tokens as the engine's wherever the
  continuation starts a word.

At first use of likelihoods (or `check_likelihoods`, which a run calls before teaching), two
small requests check them: a server that returns no log-probabilities is refused for every
likelihood, and one that echoes no prompt log-probabilities, or echoes them one token off
(llama-cpp-python 0.3's server on models without a beginning-of-text token, such as SmolLM2
and Qwen2.5: it gives each prompt token the probability of the token after it), for all but
labels, with `MissingOperation` naming the operation and the URL.

Sampling settings are sent as the engine uses them (top-p 0.95; llama.cpp's top-k 40, min-p
0.05 and repeat penalty 1.0, where llama-cpp-python's server would default to 1.1), and a
task's `grammar` in llama.cpp's `grammar` field. A server that refuses a request because of
these llama.cpp fields (HTTP 400 or 422, and the same request without them is answered) is not
sent them again: its answers then come unconstrained, and the task's answer extraction reads
them (vLLM ignores the fields it does not know, so its answers are unconstrained too).

A server that is unreachable, slower than `timeout` or failing (HTTP 408, 429, 5xx) is asked again
`retries` times; then, or at once for any other refusal or for an answer that is not the API's,
`ModelUnavailable` names the URL, and a teach run drops the teacher.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from sociallearn.core.lm import (
    LIKELIHOODS,
    MissingOperation,
    ModelUnavailable,
    Score,
    rank_by_scores,
)
from sociallearn.core.models import SERVED_PREFIX

log = logging.getLogger(__name__)
T = TypeVar("T")

API_KEY_ENVS = ("SOCIALLEARN_OPENAI_API_KEY", "OPENAI_API_KEY")  # the first one set is used
CONNECT_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 1.0  # before the first retry; doubled for each next one
MAX_RETRY_PAUSE_S = 30.0
REFUSED_FIELDS = (400, 422)  # statuses with which a server may refuse llama.cpp's fields
RETRIED_STATUSES = {408, 429}  # and every 5xx
ERROR_TEXT_CHARS = 300  # of a server's error body, quoted in the error
# As the llama.cpp engine samples (llama-cpp-python's `create_completion` defaults).
TOP_P = 0.95
LLAMA_FIELDS = {"top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}
# llama-cpp-python reads max_tokens 0 as "until the context is full": echo asks for one token.
ECHO_MAX_TOKENS = 1
TOP_ALTERNATIVES = 20  # the first generated token's, for labels (vLLM's default cap)
ONE_TOKEN_CHARS = 24  # a longer continuation is never one token: it is scored from the echo
# The likelihood check: a prompt with a clear next token, scored as generated and as echoed.
PROBE_PROMPT = "The capital of France is Paris. The capital of Italy is"
PROBE_TOLERANCE = 0.25  # nats between the two, beyond rounding on a GPU server


@dataclass(frozen=True)
class ServedOptions:
    """How a served model is asked: seconds per request, retries, and requests at once."""

    timeout: float = 120.0
    retries: int = 2
    concurrency: int = 4


@dataclass(frozen=True)
class ServedSpec:
    """A served model's name, parsed: the API's base URL and the served model's name."""

    base_url: str
    model: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ServedSpec:
        """`openai:<http(s) URL>[#model]`; a `ValueError` saying what is wrong otherwise."""
        if not spec.startswith(SERVED_PREFIX):
            raise ValueError(f"a served model is named {SERVED_PREFIX}<URL>#<model>, not {spec}")
        url, hashed, model = spec.removeprefix(SERVED_PREFIX).partition("#")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{spec}: not an http(s) URL after {SERVED_PREFIX} (e.g. "
                f"{SERVED_PREFIX}http://127.0.0.1:8080/v1#qwen)"
            )
        if parts.username or parts.password or parts.query:
            raise ValueError(
                f"{SERVED_PREFIX}{parts.scheme}://{parts.hostname}…: no credentials or query in "
                f"a model's name (it is recorded with the lessons); put the API key in "
                f"${API_KEY_ENVS[0]}"
            )
        if hashed and not model:
            raise ValueError(f"{spec}: an empty model name after '#' (leave out the '#')")
        return cls(url.rstrip("/"), model or None)

    def __str__(self) -> str:
        return f"{SERVED_PREFIX}{self.base_url}" + (f"#{self.model}" if self.model else "")


def api_key() -> str | None:
    """The API key from the environment (`API_KEY_ENVS`), if any."""
    return next((os.environ[name] for name in API_KEY_ENVS if os.environ.get(name)), None)


class ServedModel:
    """A model on an OpenAI-compatible server; calls from several threads may overlap."""

    def __init__(
        self,
        spec: ServedSpec,
        options: ServedOptions | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.name = str(spec)
        self.url = spec.base_url
        self.options = options = options or ServedOptions()
        self._key = api_key()
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(
            base_url=self.url + "/",
            headers=headers,
            timeout=httpx.Timeout(options.timeout, connect=min(CONNECT_TIMEOUT_S, options.timeout)),
            transport=transport,
        )
        self._llama_fields = True  # until the server refuses them
        # What is wrong with the server's likelihoods (for all of them, for labels), once checked.
        self._likelihood_problems: tuple[MissingOperation | None, MissingOperation | None] | None
        self._likelihood_problems = None
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, options: ServedOptions | None = None) -> ServedModel:
        return cls(ServedSpec.parse(spec), options)

    # ------------------------------------------------------------- generation
    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> str:
        """Raw completion of `prompt` (greedy when temperature is 0)."""
        body = self._sampling(max_tokens, temperature, seed) | {"prompt": prompt}
        if stop:
            body["stop"] = list(stop)
        reply = self._post("completions", body, grammar=grammar)
        return str(_field(reply, self.url, "choices", 0, "text"))

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> list[str]:
        """Greedy completions of `prompts`, `concurrency` requests at a time."""
        return self._each(
            lambda prompt: self.complete(prompt, max_tokens=max_tokens, stop=stop, grammar=grammar),
            prompts,
        )

    def instruct(
        self,
        prompt: str,
        *,
        base_prompt: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        """`prompt` as one user turn of a chat; `base_prompt` is not used (see the module)."""
        body = self._sampling(max_tokens, temperature, seed)
        body["messages"] = [{"role": "user", "content": prompt}]
        reply = self._post("chat/completions", body)
        content = _field(reply, self.url, "choices", 0, "message", "content")
        return str(content or "")

    def sample(
        self,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
    ) -> list[str]:
        """`n` samples of `prompt`: `complete(prompt, seed=seed + i, ...)` for i < n."""
        return self._each(
            lambda i: self.complete(
                prompt, max_tokens=max_tokens, temperature=temperature, seed=seed + i, stop=stop
            ),
            range(n),
        )

    # ------------------------------------------------------------ likelihoods
    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        """Log-likelihood of each continuation after `prefix`."""
        return self.score_pairs([(prefix, text) for text in continuations])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Log-likelihood of each (prefix, continuation): labels from one request per prefix,
        other continuations from one echo request each (see the module)."""
        scores: list[Score | None] = [None if text else Score(0.0, 0) for _, text in pairs]
        found: dict[str, dict[str, float]] = {}
        prefixes = list(
            dict.fromkeys(prefix for prefix, text in pairs if text and _may_be_one_token(text))
        )
        if prefixes:
            self._require_likelihoods("score", labels_only=True)
            alternatives = self._each(self._first_token_alternatives, prefixes)
            found = dict(zip(prefixes, alternatives, strict=True))
            for i, (prefix, text) in enumerate(pairs):
                if scores[i] is None and text in found.get(prefix, {}):
                    scores[i] = Score(found[prefix][text], 1)
        rest = [i for i, score in enumerate(scores) if score is None]
        if rest:
            missed = [pairs[i][1] for i in rest if pairs[i][0] in found]
            try:
                self._require_likelihoods("score")
            except MissingOperation as missing:
                if not missed:
                    raise
                raise MissingOperation(
                    f"{missing} ({missed[0]!r} is not among the first generated token's top "
                    f"{TOP_ALTERNATIVES}, where labels are read)"
                ) from None
            echoed = self._each(lambda i: self._echo_score(*pairs[i]), rest)
            for i, score in zip(rest, echoed, strict=True):
                scores[i] = score
        return [score for score in scores if score is not None]

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        """How many of `others` have a higher mean log-likelihood after `prefix` than `target`."""
        return rank_by_scores(self, prefix, target, others)

    def check_likelihoods(self, role: str, *, labels_only: bool = False) -> None:
        """Raise `MissingOperation` naming `role` unless the server gives the likelihoods it
        needs: exact echoed prompt log-probabilities, or for `labels_only` the first generated
        token's (checked once, with two small requests)."""
        self._require_likelihoods(f"the {role}", labels_only=labels_only)

    # -------------------------------------------------------------- protocol
    def _sampling(self, max_tokens: int, temperature: float, seed: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": TOP_P,
        }
        if seed is not None:
            body["seed"] = seed
        if self.spec.model:
            body["model"] = self.spec.model
        return body

    def _each(self, call: Callable[[Any], T], items: Sequence[Any] | range) -> list[T]:
        """`[call(item) for item in items]`, `concurrency` at a time."""
        if len(items) <= 1 or self.options.concurrency == 1:
            return [call(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
            return list(pool.map(call, items))

    def _post(self, path: str, body: dict[str, Any], *, grammar: str | None = None) -> Any:
        """The JSON answer to `body`, with llama.cpp's fields while the server takes them."""
        extras = {**LLAMA_FIELDS, **({"grammar": grammar} if grammar else {})}
        if not self._llama_fields:
            return self._answer(path, body)
        try:
            return self._answer(path, body | extras)
        except _Refused as refused:
            answer = self._answer(path, body)  # refused again: an error of its own
            self._llama_fields = False
            log.warning(
                "%s refused llama.cpp's fields (%s); they are not sent again: grammar-constrained "
                "answers come unconstrained, and the task's answer extraction reads them",
                self.url,
                refused,
            )
            return answer

    def _answer(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` to `path`, asking again after failures that may pass."""
        where = f"the model server at {self.url} ({path})"
        tries = self.options.retries + 1
        for attempt in range(tries):
            try:
                response = self._client.post(path, json=body)
            except httpx.TimeoutException:
                problem = f"did not answer within {self.options.timeout:g} s"
            except httpx.HTTPError as exc:
                problem = f"could not be reached: {type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    try:
                        return response.json()
                    except ValueError:
                        raise ModelUnavailable(
                            self._hidden(
                                f"{where} answered with no JSON: {self._quote(response.text)}"
                            )
                        ) from None
                problem = f"answered HTTP {response.status_code}: {self._quote(response.text)}"
                if response.status_code in REFUSED_FIELDS:
                    raise _Refused(self._hidden(f"{where} {problem}"))
                if response.status_code < 500 and response.status_code not in RETRIED_STATUSES:
                    raise ModelUnavailable(self._hidden(f"{where} {problem}"))
            if attempt + 1 < tries:
                pause = min(RETRY_PAUSE_S * 2**attempt, MAX_RETRY_PAUSE_S)
                log.warning("%s %s; trying again in %g s", where, self._hidden(problem), pause)
                time.sleep(pause)
        raise ModelUnavailable(self._hidden(f"{where} {problem} (tried {tries} times)"))

    def _quote(self, text: str) -> str:
        text = " ".join(text.split())
        return repr(text[:ERROR_TEXT_CHARS] + ("…" if len(text) > ERROR_TEXT_CHARS else ""))

    def _hidden(self, message: str) -> str:
        """`message` without the API key, should a server have echoed it."""
        return message.replace(self._key, "[API key]") if self._key else message

    # ---------------------------------------------------- prompt log-probabilities
    def _echo(self, prompt: str) -> list[tuple[float | None, int, int]]:
        """The echoed prompt tokens: (log-probability, start, end) character offsets in
        `prompt`, or an empty list when the server echoes none."""
        body = self._sampling(ECHO_MAX_TOKENS, 0.0, None)
        body |= {"prompt": prompt, "echo": True, "logprobs": 1}
        reply = self._post("completions", body)
        logprobs = _field(reply, self.url, "choices", 0, "logprobs")
        if not isinstance(logprobs, dict) or not logprobs.get("token_logprobs"):
            return []
        values, tokens = logprobs["token_logprobs"], logprobs.get("tokens")
        offsets = logprobs.get("text_offset")
        if not (
            isinstance(tokens, list)
            and isinstance(offsets, list)
            and all(isinstance(offset, int) for offset in offsets)
        ):
            raise ModelUnavailable(
                f"the model server at {self.url} echoed log-probabilities without their tokens "
                "and text offsets"
            )
        if not len(values) == len(tokens) == len(offsets):
            raise ModelUnavailable(
                f"the model server at {self.url} echoed {len(values)} log-probabilities for "
                f"{len(tokens)} tokens and {len(offsets)} offsets"
            )
        generated = (reply.get("usage") or {}).get("completion_tokens")
        if offsets[-1] + len(str(tokens[-1])) == len(prompt):
            count = len(values)  # the echo ends where the prompt ends: no generated tokens
        elif isinstance(generated, int) and 0 <= generated <= len(values):
            count = len(values) - generated
        else:  # no usage: the tokens that start inside the prompt
            count = sum(offset < len(prompt) for offset in offsets)
        spans = [(values[i], offsets[i], offsets[i] + len(str(tokens[i]))) for i in range(count)]
        # The echoed text ends where the prompt ends; offsets beyond it belong to a leading
        # special token's text (e.g. "<s>"), which this takes off.
        shift = max(spans[-1][2] - len(prompt), 0) if spans else 0
        return [(value, start - shift, end - shift) for value, start, end in spans]

    def _echo_score(self, prefix: str, text: str) -> Score:
        if not prefix:
            raise ValueError("an empty prefix has no token to predict a continuation from")
        spans = self._echo(prefix + text)
        if not spans:
            raise self._no_echo("score")
        values = [value for value, _, end in spans if end > len(prefix)]
        finite = [float(v) for v in values if isinstance(v, float | int) and math.isfinite(v)]
        if not values or len(finite) < len(values):
            raise ModelUnavailable(
                f"the model server at {self.url} echoed no log-probability for a token of "
                f"the continuation {text[:40]!r}"
            )
        return Score(sum(finite), len(finite))

    def _first_token_alternatives(self, prefix: str) -> dict[str, float]:
        """The first token generated after `prefix`: its top alternatives' log-probabilities."""
        if not prefix:
            raise ValueError("an empty prefix has no token to predict a continuation from")
        body = self._sampling(1, 0.0, None) | {"prompt": prefix, "logprobs": TOP_ALTERNATIVES}
        reply = self._post("completions", body)
        return _first_token(_field(reply, self.url, "choices", 0, "logprobs"))[1]

    def _require_likelihoods(self, operation: str, *, labels_only: bool = False) -> None:
        """Check once what the server's log-probabilities allow (see the module)."""
        with self._lock:
            if self._likelihood_problems is None:
                self._likelihood_problems = self._checked_logprobs()
        problem = self._likelihood_problems[labels_only]
        if problem is not None:
            raise MissingOperation(f"{operation} needs {LIKELIHOODS}: {problem}")

    def _checked_logprobs(self) -> tuple[MissingOperation | None, MissingOperation | None]:
        """What is wrong with the server's log-probabilities, for all likelihoods and for
        labels: the probe's next token scored when generated (exact on every server) and when
        echoed."""
        body = self._sampling(1, 0.0, None) | {"prompt": PROBE_PROMPT, "logprobs": 1}
        reply = self._post("completions", body)
        generated = str(_field(reply, self.url, "choices", 0, "text"))
        expected, _ = _first_token(_field(reply, self.url, "choices", 0, "logprobs"))
        if expected is None:
            none = MissingOperation(
                f"the model server at {self.url} returns no log-probabilities at all"
            )
            return none, none
        try:
            spans = self._echo(PROBE_PROMPT + generated)
        except (
            ModelUnavailable
        ) as refused:  # llama-server refuses echo: "Only no echo is supported"
            return self._no_echo_reason(f" (it answered: {refused})"), None
        if not spans:
            return self._no_echo_reason(), None
        echoed = next((v for v, start, _ in spans if start == len(PROBE_PROMPT)), None)
        if not generated or not isinstance(echoed, float | int):
            return None, None  # nothing to compare: no answer, or one tokenised otherwise
        if abs(echoed - expected) > PROBE_TOLERANCE:
            return MissingOperation(
                f"the model server at {self.url} echoes prompt log-probabilities that are not "
                f"the prompt tokens' ({generated!r} after the probe: {expected:.3f} when "
                f"generated, {echoed:.3f} when echoed), as llama-cpp-python's server does, one "
                "token off, for models without a beginning-of-text token (e.g. SmolLM2, "
                "Qwen2.5): labels are read from generated tokens; for other likelihoods use a "
                "model with it (gemma3), vLLM, or the model in-process"
            ), None
        return None, None

    def _no_echo_reason(self, answer: str = "") -> MissingOperation:
        return MissingOperation(
            f"the model server at {self.url} does not return the prompt's log-probabilities "
            f"(completions with echo and logprobs){answer}: llama.cpp's llama-server does not; "
            "llama-cpp-python's server and vLLM do (labels are read from generated tokens)"
        )

    def _no_echo(self, operation: str) -> MissingOperation:
        return MissingOperation(f"{operation} needs {LIKELIHOODS}: {self._no_echo_reason()}")


def _may_be_one_token(text: str) -> bool:
    """Whether `text` may be one token: short, with no space after its first character."""
    return len(text) <= ONE_TOKEN_CHARS and not any(c.isspace() for c in text[1:])


def _first_token(logprobs: Any) -> tuple[float | None, dict[str, float]]:
    """The first generated token's log-probability and its top alternatives', from OpenAI's
    legacy completions object (llama-cpp-python, vLLM) or the chat-style one (llama-server)."""
    if not isinstance(logprobs, dict):
        return None, {}
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        value = content[0].get("logprob")
        listed = content[0].get("top_logprobs") or []
        pairs = [(a.get("token"), a.get("logprob")) for a in listed if isinstance(a, dict)]
    else:
        value = (logprobs.get("token_logprobs") or [None])[0]
        top = (logprobs.get("top_logprobs") or [None])[0]
        pairs = list(top.items()) if isinstance(top, dict) else []
    alternatives: dict[str, float] = {}
    for token, logprob in pairs:  # the likelier first, where two tokens read the same
        if isinstance(token, str) and (finite := _finite(logprob)) is not None:
            alternatives.setdefault(token, finite)
    return _finite(value), alternatives


def _finite(value: Any) -> float | None:
    """`value` as a float if it is a finite number, else None."""
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


class _Refused(ModelUnavailable):
    """The server refused the request (HTTP 400 or 422)."""


def _field(reply: Any, url: str, *path: str | int) -> Any:
    """`reply[path[0]][path[1]]...`, or `ModelUnavailable` naming what is missing."""
    value = reply
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            trail = ".".join(str(p) for p in path)
            raise ModelUnavailable(
                f"the model server at {url} answered without {trail}: not an OpenAI-style reply"
            ) from None
    return value
