"""A LangChain chat model (`BaseChatModel`: ChatOpenAI, ChatOllama, ...) as a teacher.

A chat model answers messages, so it gives a teacher `instruct`, `complete` (the prompt as one
user message) and `sample` (n calls, call i seeded with seed + i), but no likelihoods: `score`,
`score_pairs` and `rank` raise `MissingOperation`, and so does `check_likelihoods`, which a run
calls before teaching for every role that scores (the student on a labelled task, a teacher
that ranks synthetic examples by perplexity or votes, canary ranks). Give it to a run from
Python under a `python:` name: `ModelPool(models={"python:gpt": ChatModelTeacher(chat)})` and
`teacher_model="python:gpt"`.

Temperature, seed and the answer's length are set on a copy of the model where it has them as
fields (`temperature`, `seed`, and `max_tokens`, `num_predict` or `max_output_tokens`); a model
without a seed field samples unseeded, so its samples do not repeat. A task's `grammar` is not
sent: answers come unconstrained, and the task's answer extraction reads them. A failing call
(network, provider) raises `ModelUnavailable`, and a teach run drops the teacher.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from sociallearn.core.lm import LIKELIHOODS, MissingOperation, ModelUnavailable, Score
from sociallearn.core.models import GIVEN_PREFIX

# The fields for the answer's length in LangChain's chat models (each model has one of them).
LENGTH_FIELDS = ("max_tokens", "num_predict", "max_output_tokens")


class ChatModelTeacher:
    """A LangChain chat model behind the `LanguageModel` interface, without likelihoods."""

    def __init__(self, model: BaseChatModel, name: str | None = None) -> None:
        self.model = model
        self.name = name or f"{GIVEN_PREFIX}{model.get_name()}"

    def instruct(
        self,
        prompt: str,
        *,
        base_prompt: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        """`prompt` as one user message (`base_prompt`, for models without chat, is not used)."""
        return self._reply(prompt, max_tokens=max_tokens, temperature=temperature, seed=seed)

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
        """The reply to `prompt` as one user message; `grammar` is not sent (see the module)."""
        return self._reply(
            prompt, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop
        )

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> list[str]:
        return [self.complete(prompt, max_tokens=max_tokens, stop=stop) for prompt in prompts]

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
        """`n` replies, reply i asked with seed + i where the model takes a seed."""
        return [
            self.complete(
                prompt, max_tokens=max_tokens, temperature=temperature, seed=seed + i, stop=stop
            )
            for i in range(n)
        ]

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        raise self._no_likelihoods("score")

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        raise self._no_likelihoods("score_pairs")

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        raise self._no_likelihoods("rank")

    def check_likelihoods(self, role: str, *, labels_only: bool = False) -> None:
        """Always refused: a chat model gives no likelihoods."""
        raise self._no_likelihoods(f"the {role}")

    def _no_likelihoods(self, operation: str) -> MissingOperation:
        return MissingOperation(
            f"{operation} needs {LIKELIHOODS}, which {self.name} (a LangChain chat model) cannot "
            "give: use an embedded or GGUF model, or a served one (openai:URL#model) whose server "
            "returns prompt log-probabilities"
        )

    def _reply(self, prompt: str, *, stop: Sequence[str] = (), **settings: Any) -> str:
        model = self._configured(**settings)
        try:
            message = model.invoke([HumanMessage(prompt)], stop=list(stop) or None)
        except Exception as exc:  # a provider's own error types: the teacher is dropped
            raise ModelUnavailable(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc
        return message.text

    def _configured(
        self, *, max_tokens: int, temperature: float, seed: int | None
    ) -> BaseChatModel:
        """A copy of the model with the settings it has fields for."""
        fields = type(self.model).model_fields
        update: dict[str, Any] = {"temperature": temperature, "seed": seed}
        update |= dict.fromkeys(LENGTH_FIELDS, max_tokens)
        kept = {name: value for name, value in update.items() if name in fields}
        if seed is None:  # unseeded: the model's own seed, if it has one
            kept.pop("seed", None)
        return self.model.model_copy(update=kept) if kept else self.model
