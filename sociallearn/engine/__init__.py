"""llama.cpp behind the `LanguageModel` interface, split by job.

- `llama.LlamaEngine`: loading, tokens, completion and chat (llama-cpp-python's own);
- `scoring.PrefixScorer`: likelihoods that decode shared prefixes once and read logits only
  at the scored rows;
- `sampling.StreamSampler`: samples, or many prompts' completions, decoded together, one KV
  stream each;
- `ranking.TreeRanker`: the Secret Sharer's rank, through the strings' token trie in KV streams;
- `decoding`: the batches and contexts they share;
- `pool.ModelPool`: the models of a run, loaded once.
"""

from sociallearn.engine.llama import LlamaEngine, default_gpu_layers
from sociallearn.engine.pool import ModelPool

__all__ = ["LlamaEngine", "ModelPool", "default_gpu_layers"]
