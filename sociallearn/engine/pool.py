"""The models of a run (or of many runs): each loaded once, on first use, and shared."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sociallearn.core.lm import LanguageModel, MemoisedSampling

Loader = Callable[[str, "int | None"], LanguageModel]


def load_llama(name: str, n_gpu_layers: int | None) -> LanguageModel:
    """A llama.cpp engine on an embedded model name or a GGUF path."""
    from sociallearn.engine.llama import LlamaEngine

    return LlamaEngine(name, n_gpu_layers=n_gpu_layers)


class ModelPool:
    """Models by name, loaded once per pool, also when several teachers ask at once.

    Whoever runs teach runs owns the pool and decides how long models live: a CLI command holds
    one for its run, an experiment one for all its cells. Samples are remembered per model
    (`MemoisedSampling`): a seeded sample is a function of its arguments.
    """

    def __init__(self, loader: Loader | None = None, *, n_gpu_layers: int | None = None) -> None:
        self._loader = loader or load_llama
        self.n_gpu_layers = n_gpu_layers
        self._models: dict[str, LanguageModel] = {}
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, model: LanguageModel) -> ModelPool:
        """A pool that answers every name with `model` (scripted models in tests)."""
        return cls(lambda name, n_gpu_layers: model)

    def get(self, name: str) -> LanguageModel:
        """The model called `name` (an embedded model or a GGUF path), loaded on first use."""
        with self._lock:
            if name not in self._models:
                self._models[name] = MemoisedSampling(self._loader(name, self.n_gpu_layers))
            return self._models[name]
