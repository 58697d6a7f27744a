"""The models of a run (or of many runs): each loaded once, on first use, and shared."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial

from sociallearn.core.lm import LanguageModel, MemoisedSampling
from sociallearn.core.models import GIVEN_PREFIX, SERVED_PREFIX, ModelError
from sociallearn.engine.served import ServedModel, ServedOptions

Loader = Callable[[str, "int | None"], LanguageModel]


def load_llama(name: str, n_gpu_layers: int | None) -> LanguageModel:
    """A llama.cpp engine on an embedded model name or a GGUF path."""
    from sociallearn.engine.llama import LlamaEngine

    return LlamaEngine(name, n_gpu_layers=n_gpu_layers)


def load_model(
    name: str, n_gpu_layers: int | None, served: ServedOptions | None = None
) -> LanguageModel:
    """The model a name gives: `openai:<URL>#<model>` a served model (asked as `served` says),
    an embedded name or a GGUF path a llama.cpp engine in this process."""
    if name.startswith(SERVED_PREFIX):
        return ServedModel.from_spec(name, served)
    if name.startswith(GIVEN_PREFIX):
        raise ModelError(
            f"{name} names a model given from Python, and none was: pass it to the run's pool, "
            f"ModelPool(models={{{name!r}: model}})"
        )
    return load_llama(name, n_gpu_layers)


class ModelPool:
    """Models by name, loaded once per pool, also when several teachers ask at once.

    Whoever runs teach runs owns the pool and decides how long models live: a CLI command holds
    one for its run, an experiment one for all its cells. `models` are given ones by name (a
    LangChain chat model through `sociallearn.engine.chat.ChatModelTeacher`, under a `python:`
    name); the rest are loaded by `loader` (by default `load_model`, served models asked as
    `served` says). Samples are remembered per model (`MemoisedSampling`): a seeded sample is a
    function of its arguments.
    """

    def __init__(
        self,
        loader: Loader | None = None,
        *,
        n_gpu_layers: int | None = None,
        served: ServedOptions | None = None,
        models: Mapping[str, LanguageModel] | None = None,
    ) -> None:
        self._loader = loader or partial(load_model, served=served)
        self.n_gpu_layers = n_gpu_layers
        self._models: dict[str, LanguageModel] = {
            name: MemoisedSampling(model) for name, model in (models or {}).items()
        }
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, model: LanguageModel) -> ModelPool:
        """A pool that answers every name with `model` (scripted models in tests)."""
        return cls(lambda name, n_gpu_layers: model)

    def get(self, name: str) -> LanguageModel:
        """The model called `name` (given, served, embedded or a GGUF path), loaded on first use."""
        with self._lock:
            if name not in self._models:
                self._models[name] = MemoisedSampling(self._loader(name, self.n_gpu_layers))
            return self._models[name]
