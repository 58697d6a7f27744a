"""Social learning: LLM agents teach each other in natural language without sharing private data.

Layers, lowest first; a module imports its own layer or lower ones only:
`core` → `engine`, `tasks`, `privacy`, `stores` → `teaching` → `nodes` → `graphs` →
`apps`, `experiments`.
"""
