"""DSPy as a peer: a `dspy.BaseLM` over our in-process llama.cpp models, and DSPy programs on a
classification task of ours (`benchmarks/peers.py` runs them beside our methods).

DSPy is an optional benchmark dependency (`pip install -e '.[peers]'`). Nothing here goes to
the network: the adapter calls a `LanguageModel` (our llama.cpp engine, or a scripted model in
tests) in this process, DSPy's cache is switched off (memory and disk) and pointed at a
temporary folder, and LiteLLM is told to use its bundled model-cost map.

    configure_offline()             # before the first `import dspy`
    lm = EngineLM(models.get("gemma3"))
    dspy.configure(lm=lm)
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from sociallearn.core.lm import LanguageModel
from sociallearn.tasks import Example, Task

if TYPE_CHECKING:
    import dspy

# DSPy's answer format ends every reply with this marker; nothing after it is read.
COMPLETED = "[[ ## completed ## ]]"
# Bumped when the adapter changes what a model's reply becomes (results are keyed with it).
ADAPTER_VERSION = 2
_OFFLINE = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # LiteLLM's bundled cost map, not a download
    "DSPY_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
}


def configure_offline(cache_dir: str | None = None) -> str:
    """Environment for DSPy without the network or a disk cache; call before importing dspy.

    Returns the (temporary) folder DSPy is given as its cache directory, which stays empty.
    """
    folder = cache_dir or tempfile.mkdtemp(prefix="dspy-cache-")
    os.environ["DSPY_CACHEDIR"] = folder
    for name, value in _OFFLINE.items():
        os.environ.setdefault(name, value)
    return folder


def disable_cache() -> None:
    """No memory or disk cache: every call reaches the model, so timings are real."""
    import dspy

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)


def render_messages(messages: Sequence[dict[str, Any]]) -> str:
    """Chat messages as plain text, for a model without a chat template."""
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    turns = [f"{names.get(m['role'], m['role'])}: {_content(m)}" for m in messages]
    return "\n\n".join([*turns, "Assistant:"])


def _content(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _make_lm_class() -> type:
    import dspy

    class EngineLM(dspy.BaseLM):
        """DSPy's view of one of our models: OpenAI-shaped replies from a `LanguageModel`.

        Chat messages go through the model's own chat template when it has one (`chat`), else
        are rendered as plain text and completed. Greedy at temperature 0; at a temperature
        above 0 (DSPy's instruction proposals, `n` > 1) reply i is seeded with a seed that
        depends on the call's number and i, so a rerun makes the same calls and the same text.
        Every call is counted with its wall time (`calls`, `seconds`).
        """

        def __init__(
            self,
            model: LanguageModel,
            *,
            max_tokens: int = 256,
            seed: int = 0,
            stop: Sequence[str] = (COMPLETED,),
        ) -> None:
            super().__init__(
                model=f"sociallearn/{model.name}",
                model_type="chat",
                temperature=0.0,
                max_tokens=max_tokens,
                cache=False,
                num_retries=0,
            )
            self.engine = model
            self.seed = seed
            self.stop = tuple(stop)
            self.calls = 0
            self.replies = 0
            self.seconds = 0.0
            self._lock = threading.Lock()

        def forward(
            self,
            prompt: str | None = None,
            messages: list[dict[str, Any]] | None = None,
            **kwargs: Any,
        ) -> SimpleNamespace:
            import time

            messages = messages or [{"role": "user", "content": prompt or ""}]
            options = {**self.kwargs, **kwargs}
            temperature = float(options.get("temperature") or 0.0)
            max_tokens = int(options.get("max_tokens") or 256)
            n = int(options.get("n") or 1) if temperature > 0 else 1
            started = time.time()
            with self._lock:
                call = self.calls
                self.calls += 1
            texts = [
                self._reply(messages, temperature, max_tokens, self.seed + 1000 * call + i)
                for i in range(n)
            ]
            with self._lock:
                self.replies += len(texts)
                self.seconds += time.time() - started
            choices = [
                SimpleNamespace(
                    index=i,
                    finish_reason="stop",
                    message=SimpleNamespace(role="assistant", content=text, tool_calls=None),
                )
                for i, text in enumerate(texts)
            ]
            return SimpleNamespace(
                choices=choices,
                usage={},
                model=self.model,
                _hidden_params={},
                cache_hit=False,
            )

        def _reply(
            self, messages: list[dict[str, Any]], temperature: float, max_tokens: int, seed: int
        ) -> str:
            chat: Callable[..., str] | None = getattr(self.engine, "chat", None)
            if chat is not None and getattr(self.engine, "has_chat_template", False):
                text = chat(
                    [{"role": m["role"], "content": _content(m)} for m in messages],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                )
            else:
                text = self.engine.complete(
                    render_messages(messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                    stop=[*self.stop, "\nUser:", "\nSystem:"],
                )
            for marker in self.stop:  # a chat reply runs on past the marker: cut it there
                text = text.split(marker)[0]
            # A completion after "Assistant:" starts with a space; a chat API's reply does not,
            # and DSPy's parser reads field headers at the start of a line.
            return text.lstrip()

        async def aforward(
            self, prompt: str | None = None, messages: Any = None, **kwargs: Any
        ) -> Any:
            return self.forward(prompt=prompt, messages=messages, **kwargs)

    return EngineLM


_LM_CLASS: type | None = None


def engine_lm(model: LanguageModel, **options: Any) -> dspy.BaseLM:
    """A `dspy.BaseLM` that answers with `model` (see `EngineLM`)."""
    global _LM_CLASS
    if _LM_CLASS is None:
        _LM_CLASS = _make_lm_class()
        warnings.filterwarnings("ignore", message=".*BaseLM.forward.*deprecated.*")
        warnings.filterwarnings("ignore", message=".*OpenAI-style messages.*")
    return _LM_CLASS(model, **options)


# ------------------------------------------------------------------------------ the task
def classify_signature(task: Task) -> type[dspy.Signature]:
    """`text -> label` with the task's own 0-shot instruction and its labels as a Literal."""
    import dspy

    label_type: Any = Literal[task.labels]
    fields = {
        "text": (str, dspy.InputField(desc=f"the {task.input_field.lower()} to classify")),
        "label": (label_type, dspy.OutputField(desc=f"one of: {', '.join(task.labels)}")),
    }
    return dspy.Signature(fields, task.zero_shot_instruction)


def to_dspy(examples: Sequence[Example]) -> list[dspy.Example]:
    import dspy

    return [dspy.Example(text=e.input, label=e.answer).with_inputs("text") for e in examples]


def exact_label(example: Any, prediction: Any, trace: Any = None) -> bool:
    """DSPy's metric: the predicted label is the gold label."""
    return str(getattr(prediction, "label", "")).strip().lower() == str(example.label).lower()


@dataclass
class PeerPrediction:
    input: str
    gold: str
    answer: str | None  # None: DSPy could not parse the model's reply
    correct: bool


@dataclass
class PeerEvaluation:
    predictions: list[PeerPrediction] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(p.correct for p in self.predictions) / max(len(self.predictions), 1)

    @property
    def unparsed(self) -> int:
        return sum(p.answer is None for p in self.predictions)


def evaluate_program(program: Any, examples: Sequence[Example]) -> PeerEvaluation:
    """The program's answer to every example, in order; a reply DSPy cannot parse is wrong."""
    from dspy.utils.exceptions import AdapterParseError

    result = PeerEvaluation()
    for example in examples:
        try:
            answer: str | None = str(program(text=example.input).label).strip()
        except (AdapterParseError, ValueError):
            answer = None
        correct = answer is not None and answer.lower() == example.answer.lower()
        result.predictions.append(PeerPrediction(example.input, example.answer, answer, correct))
    return result


def program_prompt(program: Any) -> tuple[str, list[tuple[str, str]]]:
    """The instruction and the (text, label) demos a compiled single-predictor program holds."""
    predictor = program.predictors()[0]
    demos = [(str(d["text"]), str(d["label"])) for d in predictor.demos]
    return str(predictor.signature.instructions), demos
