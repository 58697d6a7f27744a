"""Models behind the `LanguageModel` interface: llama.cpp in this process, split by job, and
models elsewhere.

- `llama.LlamaEngine`: loading, tokens, completion and chat (llama-cpp-python's own);
- `scoring.PrefixScorer`: likelihoods that decode shared prefixes once and read logits only
  at the scored rows;
- `sampling.StreamSampler`: samples, or many prompts' completions, decoded together, one KV
  stream each;
- `ranking.TreeRanker`: the Secret Sharer's rank, through the strings' token trie in KV streams;
- `snapshots.PrefixSnapshots`: saved KV states of prompts other calls pushed out of the cache;
- `decoding`: the batches and contexts they share;
- `served.ServedModel`: a model on an OpenAI-compatible server (`openai:<URL>#<model>`);
- `chat.ChatModelTeacher`: a LangChain chat model as a teacher (no likelihoods);
- `pool.ModelPool`: the models of a run, loaded once.
"""

from sociallearn.engine.chat import ChatModelTeacher
from sociallearn.engine.llama import LlamaEngine, default_gpu_layers
from sociallearn.engine.pool import ModelPool
from sociallearn.engine.served import ServedModel, ServedOptions

__all__ = [
    "ChatModelTeacher",
    "LlamaEngine",
    "ModelPool",
    "ServedModel",
    "ServedOptions",
    "default_gpu_layers",
]
